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

from core.ai_answer import (
    CATEGORIES,
    MAX_FIELD_CHARS,
    SEVERITIES,
    IssueAnalysis,
    normalize_category,
    normalize_severity,
)
from workers.ai.errors import MalformedAnswer

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "IssueAnalysis",
    "decode_analysis",
    "normalize_category",
    "normalize_severity",
]

_FIELD_ALIASES = {
    "likely_cause": ("likely_cause", "cause", "root_cause", "probable_cause"),
    "suggested_fix": ("suggested_fix", "fix", "suggestion", "remediation"),
    "severity_reason": ("severity_reason", "reason", "severity_rationale", "justification"),
}


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
