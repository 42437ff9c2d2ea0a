"""Accessors for the parts of an event whose shape varies between SDKs.

They take decoded msgspec Structs and plain decoded JSON alike, so the relay's dict
rewrite path, the relay's views, grouping, the AI features and the ClickHouse columns
read an event the same way.
"""

from __future__ import annotations

from typing import Any

import msgspec

VALID_PLATFORMS = frozenset(
    {
        "as3",
        "c",
        "cfml",
        "cocoa",
        "csharp",
        "elixir",
        "go",
        "groovy",
        "haskell",
        "java",
        "javascript",
        "native",
        "node",
        "objc",
        "other",
        "perl",
        "php",
        "python",
        "ruby",
    }
)
LEVEL_ALIASES = {
    "debug": "debug",
    "info": "info",
    "log": "info",
    "warning": "warning",
    "warn": "warning",
    "error": "error",
    "fatal": "fatal",
    "critical": "fatal",
}


_OBJECTS = (dict, msgspec.Struct, msgspec.Raw)


def interface_values(container: Any) -> list[Any]:
    """The entries of a list interface (`exception`, `threads`), sent either as
    `{"values": [...]}` or as the bare list. Entries that are not objects (null, or a
    stray scalar in plain JSON) are left out; entries a view left undecoded
    (`msgspec.Raw`) count as sent. The list may be the container's own: do not modify it."""
    values: Any
    if isinstance(container, list):
        values = container
    elif isinstance(container, dict):
        values = container.get("values")
    else:
        values = getattr(container, "values", None)
    if not isinstance(values, list):
        return []
    for value in values:
        if not isinstance(value, _OBJECTS):
            return [value for value in values if isinstance(value, _OBJECTS)]
    return values


def raised_exception(container: Any) -> Any | None:
    """The exception that was raised: Sentry lists a chain cause first, so the last."""
    values = interface_values(container)
    return values[-1] if values else None


def text(value: Any, limit: int) -> str:
    """A field as text, at most `limit` characters ("" when absent)."""
    if value.__class__ is str:
        return value[:limit]
    return "" if value is None else str(value)[:limit]


def message_text(logentry: Any, message: Any, limit: int) -> str:
    """The event's message: `logentry` (formatted, else its template) when sent, else
    `message`."""
    if logentry is not None:
        return text(logentry.formatted or logentry.message, limit)
    return text(message, limit)


def normalize_level(value: Any) -> str:
    if isinstance(value, str):
        return LEVEL_ALIASES.get(value.lower(), "error")
    return "error"


def normalize_platform(value: Any) -> str:
    return value if value in VALID_PLATFORMS else "other"
