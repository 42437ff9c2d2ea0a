"""Stored event payloads -> Arrow tables for the ClickHouse `events` and `transactions`.

Shared by the relay's flusher and the seeder's direct mode, so both write the
same rows. Only the promoted columns are decoded (lax msgspec Structs that read
just these fields); the payload itself is stored as sent by the relay.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import msgspec
import pyarrow as pa


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


def normalize_level(value: Any) -> str:
    return LEVEL_ALIASES.get(value.lower(), "error") if isinstance(value, str) else "error"


def normalize_platform(value: Any) -> str:
    return value if value in VALID_PLATFORMS else "other"


class PromotedFields(msgspec.Struct):
    """The fields of a stored event that become ClickHouse columns.

    Stored payloads are what the SDK sent unless the relay had to rewrite them, so the
    scalars the relay normalizes (timestamp, type, level, platform) are read loosely here
    and normally passed in from the relay's normalization instead.
    """

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


def _seconds(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _text(value: Any, limit: int = 8192) -> str:
    if value is None:
        return ""
    return (value if isinstance(value, str) else str(value))[:limit]


def _last_exception(fields: PromotedFields) -> _Exception | None:
    values = fields.exception
    if isinstance(values, _Exceptions):
        values = values.values
    return values[-1] if values else None


def _message(fields: PromotedFields) -> str:
    if fields.logentry is not None:
        return _text(fields.logentry.formatted or fields.logentry.message)
    return _text(fields.message)


def user_key(fields: PromotedFields) -> str:
    """A stable, non-reversible identifier for "affected users" counts."""
    user = fields.user
    if user is None:
        return ""
    for value in (user.id, user.email, user.username, user.ip_address):
        if value not in (None, ""):
            return hashlib.blake2b(str(value).encode(), digest_size=8).hexdigest()
    return ""


def _tags(fields: PromotedFields) -> dict[str, str]:
    tags = fields.tags
    if isinstance(tags, dict):
        return {str(k)[:200]: _text(v, 200) for k, v in tags.items() if v is not None}
    if isinstance(tags, list):
        pairs = (t for t in tags if isinstance(t, list | tuple) and len(t) == 2)
        return {str(k)[:200]: _text(v, 200) for k, v in pairs if v is not None}
    return {}


def _trace_id(fields: PromotedFields) -> str:
    trace = fields.contexts.trace if fields.contexts else None
    return _text(trace.trace_id, 64) if trace else ""


EVENT_SCHEMA = pa.schema(
    [
        ("project_id", pa.uint64()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("event_id", pa.binary(16)),
        ("received_at", pa.timestamp("ms", tz="UTC")),
        ("type", pa.string()),
        ("level", pa.string()),
        ("platform", pa.string()),
        ("release", pa.string()),
        ("environment", pa.string()),
        ("logger", pa.string()),
        ("transaction", pa.string()),
        ("exception_type", pa.string()),
        ("exception_value", pa.string()),
        ("message", pa.string()),
        ("user_key", pa.string()),
        ("sdk_name", pa.string()),
        ("sdk_version", pa.string()),
        ("trace_id", pa.string()),
        ("tags", pa.map_(pa.string(), pa.string())),
        ("sample_rate", pa.float32()),
        ("payload", pa.string()),
    ]
)


def _common(
    fields: PromotedFields,
    *,
    project_id: int,
    event_id: str,
    received_at: float,
    timestamp: float,
    payload: bytes,
    sample_rate: float,
) -> dict[str, Any]:
    """The columns `events` and `transactions` share."""
    return {
        "project_id": project_id,
        "timestamp": int(timestamp * 1000),
        "event_id": uuid.UUID(hex=event_id).bytes,
        "received_at": int(received_at * 1000),
        "release": _text(fields.release, 250),
        "environment": _text(fields.environment, 64),
        "platform": normalize_platform(fields.platform),
        "trace_id": _trace_id(fields),
        "user_key": user_key(fields),
        "sample_rate": sample_rate,
        "payload": payload.decode("utf-8", "replace"),
    }


def event_row(
    project_id: int,
    event_id: str,
    received_at: float,
    payload: bytes,
    sample_rate: float = 1.0,
    *,
    timestamp: float | None = None,
    event_type: str | None = None,
) -> dict[str, Any]:
    """One `events` row. `timestamp` and `event_type` are the relay's normalized values;
    without them the payload's own (already normalized) fields are used."""
    fields = decode_promoted(payload)
    exception = _last_exception(fields)
    if timestamp is None:
        timestamp = _seconds(fields.timestamp, received_at)
    row = _common(
        fields,
        project_id=project_id,
        event_id=event_id,
        received_at=received_at,
        timestamp=timestamp,
        payload=payload,
        sample_rate=sample_rate,
    )
    row.update(
        type=event_type or _text(fields.type, 32) or "default",
        level=normalize_level(fields.level),
        logger=_text(fields.logger, 64),
        transaction=_text(fields.transaction, 200),
        exception_type=_text(exception.type, 256) if exception else "",
        exception_value=_text(exception.value) if exception else "",
        message=_message(fields),
        sdk_name=_text(fields.sdk.name, 64) if fields.sdk else "",
        sdk_version=_text(fields.sdk.version, 64) if fields.sdk else "",
        tags=list(_tags(fields).items()),
    )
    return row


TRANSACTION_SCHEMA = pa.schema(
    [
        ("project_id", pa.uint64()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("start_timestamp", pa.timestamp("ms", tz="UTC")),
        ("event_id", pa.binary(16)),
        ("received_at", pa.timestamp("ms", tz="UTC")),
        ("transaction", pa.string()),
        ("op", pa.string()),
        ("status", pa.string()),
        ("duration_ms", pa.float64()),
        ("release", pa.string()),
        ("environment", pa.string()),
        ("platform", pa.string()),
        ("trace_id", pa.string()),
        ("user_key", pa.string()),
        ("sample_rate", pa.float32()),
        ("payload", pa.string()),
    ]
)


def transaction_row(
    project_id: int,
    event_id: str,
    received_at: float,
    payload: bytes,
    sample_rate: float = 1.0,
    *,
    timestamp: float | None = None,
    start_timestamp: float | None = None,
) -> dict[str, Any]:
    fields = decode_promoted(payload)
    if timestamp is None:
        timestamp = _seconds(fields.timestamp, received_at)
    start = start_timestamp
    if start is None:
        start = _seconds(fields.start_timestamp, timestamp)
    trace = fields.contexts.trace if fields.contexts else None
    row = _common(
        fields,
        project_id=project_id,
        event_id=event_id,
        received_at=received_at,
        timestamp=timestamp,
        payload=payload,
        sample_rate=sample_rate,
    )
    row.update(
        start_timestamp=int(start * 1000),
        transaction=_text(fields.transaction, 200),
        op=_text(trace.op, 64) if trace else "",
        status=_text(trace.status, 32) if trace else "",
        duration_ms=max(0.0, (timestamp - start) * 1000),
    )
    return row


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)
