"""The AI's answer about an issue, as stored on it (error_groups.ai_summary): its fields
and the severity and category vocabularies, with the synonyms models use for them.

The workers decode and validate a model's answer into this (workers.ai.schema); the
workbench scores stored answers against the seeder's labels in these terms
(analysis.ai_evaluation).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

SEVERITIES = ("critical", "high", "medium", "low")
# The categories the prompt offers; evaluation scores against the seeder's labels in these terms.
CATEGORIES = (
    "code",
    "database",
    "network",
    "external_api",
    "validation",
    "auth",
    "configuration",
    "performance",
    "resource",
    "frontend",
    "other",
)
MAX_FIELD_CHARS = 2000

_SEVERITY_SYNONYMS = {
    "crit": "critical",
    "fatal": "critical",
    "blocker": "critical",
    "major": "high",
    "error": "high",
    "moderate": "medium",
    "med": "medium",
    "normal": "medium",
    "warning": "medium",
    "minor": "low",
    "info": "low",
    "trivial": "low",
}
_CATEGORY_SYNONYMS = {
    "db": "database",
    "sql": "database",
    "data": "database",
    "api": "external_api",
    "upstream": "external_api",
    "third_party": "external_api",
    "integration": "external_api",
    "dependency": "external_api",
    "input": "validation",
    "user_input": "validation",
    "authentication": "auth",
    "authorization": "auth",
    "permission": "auth",
    "permissions": "auth",
    "security": "auth",
    "config": "configuration",
    "bug": "code",
    "logic": "code",
    "programming": "code",
    "runtime": "code",
    "null_reference": "code",
    "timeout": "performance",
    "latency": "performance",
    "memory": "resource",
    "disk": "resource",
    "capacity": "resource",
    "ui": "frontend",
    "javascript": "frontend",
    "browser": "frontend",
    "connectivity": "network",
    "connection": "network",
    # Finer names, as models answer them and as the seeder labels its root causes
    # (seed/catalogue): ground truth is scored in the same terms.
    **dict.fromkeys(
        ("connection_lost", "constraint_violation", "deadlock", "pool_exhausted", "slow_query"),
        "database",
    ),
    **dict.fromkeys(("connection_refused", "upstream_timeout", "chunk_load"), "network"),
    **dict.fromkeys(
        ("bad_response", "http_4xx", "http_5xx", "logged_failure", "rate_limited"), "external_api"
    ),
    **dict.fromkeys(
        (
            "invalid_format",
            "missing_field",
            "out_of_range",
            "schema",
            "date_parse",
            "number_format",
            "json_decode",
            "unicode_error",
            "illegal_argument",
        ),
        "validation",
    ),
    **dict.fromkeys(
        (
            "arithmetic",
            "class_cast",
            "concurrent_modification",
            "illegal_state",
            "index_out_of_bounds",
            "lazy_initialization",
            "null_pointer",
            "range_error",
            "reference_error",
            "syntax_error",
            "type_error",
            "unhandled_rejection",
            "attribute_error",
            "index_error",
            "key_error",
            "recursion",
            "value_error",
        ),
        "code",
    ),
    **dict.fromkeys(
        (
            "n_plus_one",
            "slow_db_query",
            "slow_http_call",
            "slow_navigation",
            "slow_page_load",
            "slow_serialization",
        ),
        "performance",
    ),
    **dict.fromkeys(("browser_noise", "file_not_found"), "frontend"),
    "quota_exceeded": "resource",
}


class IssueAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    summary: str
    likely_cause: str
    suggested_fix: str
    severity: str
    severity_reason: str = ""
    category: str = "other"


def _label(value: Any) -> str:
    return re.sub(r"[\s-]+", "_", str(value or "").strip().lower())


def normalize_severity(value: Any) -> str | None:
    label = _label(value)
    label = _SEVERITY_SYNONYMS.get(label, label)
    return label if label in SEVERITIES else None


def normalize_category(value: Any) -> str:
    label = _label(value)
    label = _CATEGORY_SYNONYMS.get(label, label)
    return label if label in CATEGORIES else "other"
