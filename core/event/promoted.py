"""The fields of a stored event that become ClickHouse columns, decoded lax.

Stored payloads are what the SDK sent unless the relay had to rewrite them, so the
scalars the relay normalizes (timestamp, type, level, platform) are read loosely here
and normally passed in from the relay's normalization instead. The relay builds its
`events` and `transactions` rows from these; the workers read the same fields for
`event_groups`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from core.event.accessors import message_text, raised_exception, text


class _Exception(msgspec.Struct):
    type: Any = None
    value: Any = None


class _Exceptions(msgspec.Struct):
    values: list[_Exception] | None = None


class _LogEntry(msgspec.Struct):
    formatted: Any = None
    message: Any = None


class _User(msgspec.Struct):
    id: Any = None
    email: Any = None
    username: Any = None
    ip_address: Any = None


class _Sdk(msgspec.Struct):
    name: Any = None
    version: Any = None


class _TraceContext(msgspec.Struct):
    trace_id: Any = None
    op: Any = None
    status: Any = None


class _Contexts(msgspec.Struct):
    trace: _TraceContext | None = None


class PromotedFields(msgspec.Struct):
    timestamp: Any = None
    start_timestamp: Any = None
    type: Any = None
    level: Any = None
    platform: Any = None
    release: Any = None
    environment: Any = None
    logger: Any = None
    transaction: Any = None
    message: Any = None
    logentry: _LogEntry | None = None
    exception: _Exceptions | list[_Exception] | None = None
    user: _User | None = None
    sdk: _Sdk | None = None
    contexts: _Contexts | None = None
    tags: dict[str, Any] | list[Any] | None = None

    def raised(self) -> _Exception | None:
        return raised_exception(self.exception)

    def message_text(self) -> str:
        return message_text(self.logentry, self.message, 8192)

    def trace(self) -> _TraceContext | None:
        return self.contexts.trace if self.contexts else None

    def trace_id(self) -> str:
        trace = self.trace()
        return text(trace.trace_id, 64) if trace else ""

    def tag_pairs(self) -> dict[str, str]:
        """Tags as sent, a dict or a list of [key, value] pairs; null values left out."""
        tags = self.tags
        if isinstance(tags, dict):
            return {str(k)[:200]: text(v, 200) for k, v in tags.items() if v is not None}
        if isinstance(tags, list):
            pairs = (t for t in tags if isinstance(t, list | tuple) and len(t) == 2)
            return {str(k)[:200]: text(v, 200) for k, v in pairs if v is not None}
        return {}


_decode_lax = msgspec.json.Decoder(PromotedFields).decode


def decode_promoted(payload: bytes) -> PromotedFields:
    try:
        return _decode_lax(payload)
    except msgspec.ValidationError:
        # An SDK sent an odd shape somewhere we promote; keep the event, lose those columns.
        raw = msgspec.json.decode(payload)
        return PromotedFields(
            timestamp=raw.get("timestamp"),
            type=raw.get("type"),
            level=raw.get("level"),
            platform=raw.get("platform"),
        )


def user_key(fields: PromotedFields) -> str:
    """A stable, non-reversible identifier for "affected users" counts."""
    user = fields.user
    if user is None:
        return ""
    for value in (user.id, user.email, user.username, user.ip_address):
        if value not in (None, ""):
            return hashlib.blake2b(str(value).encode(), digest_size=8).hexdigest()
    return ""
