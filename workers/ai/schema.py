"""The model's answer: a msgspec Struct, decoded laxly and validated strictly.

Lax about form: models wrap JSON in code fences, think aloud before it
(`<think>...</think>`), nest it under one key, use a near-synonym key
(`cause`, `fix`) or a capitalized value ("High"). Strict about content: a
summary, a cause, a fix and a severity we know are required; anything less is
a `MalformedAnswer`, recorded as a failure, never stored as an analysis.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from workers.ai.errors import MalformedAnswer

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
_FIELD_ALIASES = {
    "likely_cause": ("likely_cause", "cause", "root_cause", "probable_cause"),
    "suggested_fix": ("suggested_fix", "fix", "suggestion", "remediation"),
    "severity_reason": ("severity_reason", "reason", "severity_rationale", "justification"),
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


def _candidates(text: str) -> list[str]:
    """Where the object may be: the whole text, a fenced block, or the outermost braces."""
    candidates = [text]
    fenced = re.search(r"(?s)```(?:json)?\s*(.*?)```", text)
    if fenced:
        candidates.append(fenced.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    return candidates


def _json_object(text: str) -> dict[str, Any]:
    text = re.sub(r"(?s)<think>.*?</think>", "", text).strip()
    error: msgspec.DecodeError | None = None
    document: Any = None
    for candidate in _candidates(text):
        try:
            document = msgspec.json.decode(candidate)
        except msgspec.DecodeError as e:
            error = error or e
            continue
        if isinstance(document, dict):
            break
    if not isinstance(document, dict):
        if "{" not in text:
            raise MalformedAnswer("the answer contains no JSON object")
        raise MalformedAnswer(f"the answer is not a valid JSON object: {error}")
    # {"analysis": {...}}: some models wrap the object they were asked for.
    if len(document) == 1 and isinstance(next(iter(document.values())), dict):
        document = next(iter(document.values()))
    return document


def _field(document: dict[str, Any], name: str) -> str:
    for key in _FIELD_ALIASES.get(name, (name,)):
        value = document.get(key)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        if value not in (None, ""):
            return str(value).strip()[:MAX_FIELD_CHARS]
    return ""


def decode_analysis(text: str) -> IssueAnalysis:
    """Parse a model's answer; raises MalformedAnswer naming what is wrong."""
    document = _json_object(text)
    values = {name: _field(document, name) for name in IssueAnalysis.__struct_fields__}
    missing = [n for n in ("summary", "likely_cause", "suggested_fix", "severity") if not values[n]]
    if missing:
        raise MalformedAnswer(f"the answer lacks {', '.join(missing)}")
    severity = normalize_severity(values["severity"])
    if severity is None:
        raise MalformedAnswer(f"unknown severity {values['severity'][:40]!r}")
    values["severity"] = severity
    values["category"] = normalize_category(values["category"])
    return IssueAnalysis(**values)
