"""From a parsed request to spool records: decode, normalize, classify each item.

Events and transactions are normalized and stored; attachments are stored with
their item headers, tied to the envelope's event; sessions and client reports
are kept for their ClickHouse tables; every other item type is counted and
dropped. One bad item never loses the good ones beside it: an item that cannot
be decoded is dropped and counted as invalid, the rest go on. Size limits are
the exception: like Relay, an oversized item rejects the whole request (413).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from relay.envelope import Envelope, Item
from relay.errors import MALFORMED_JSON, BadRequest, PayloadTooLarge
from relay.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_BYTES, MAX_EVENT_BYTES
from relay.normalize import (
    clock_drift_s,
    normalize_event_id,
    normalize_payload,
    normalized_dict,
)
from relay.records import SpoolRecord, encode_record

log = logging.getLogger(__name__)

EVENT_ITEM_TYPES = frozenset({"event", "transaction", "security"})
# Item types kept as sent for a table of their own (decoded by the flusher).
KEPT_ITEM_TYPES = frozenset({"session", "sessions", "client_report"})
_decode_json = msgspec.json.decode


@dataclass
class IngestResult:
    event_id: str | None = None
    records: list[bytes] = field(default_factory=list)
    # item type -> count, by outcome, for metrics and outcomes.
    accepted: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)


def decode_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        document = _decode_json(payload)
    except MALFORMED_JSON as e:
        raise BadRequest(f"{what} is not valid JSON: {e}") from e
    if not isinstance(document, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return document


def event_record(
    payload: bytes,
    *,
    kind: str,
    project_id: int,
    received_at: float,
    event: dict[str, Any] | None = None,
    drift_s: float = 0.0,
    fallback_event_id: str | None = None,
) -> SpoolRecord:
    if len(payload) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"{kind} item exceeds {MAX_EVENT_BYTES} bytes")
    options = {
        "received_at": received_at,
        "drift_s": drift_s,
        "fallback_event_id": fallback_event_id,
        "item_type": kind,
    }
    if event is None:
        normalized = normalize_payload(payload, **options)
    else:
        normalized = normalized_dict(event, payload, **options)
    return SpoolRecord(
        kind="transaction" if kind == "transaction" else "event",
        project_id=project_id,
        event_id=normalized.event_id,
        received_at=received_at,
        payload=normalized.payload,
        timestamp=normalized.timestamp,
        start_timestamp=normalized.start_timestamp,
        event_type=normalized.type,
    )


@dataclass
class _EnvelopeContext:
    project_id: int
    received_at: float
    drift_s: float
    result: IngestResult
    attachment_bytes: int = 0


def _ingest_event(item: Item, ctx: _EnvelopeContext) -> SpoolRecord:
    record = event_record(
        item.payload,
        kind=item.type,
        project_id=ctx.project_id,
        received_at=ctx.received_at,
        drift_s=ctx.drift_s,
        fallback_event_id=ctx.result.event_id,
    )
    ctx.result.event_id = ctx.result.event_id or record.event_id
    return record


def _ingest_attachment(item: Item, ctx: _EnvelopeContext) -> SpoolRecord:
    size = len(item.payload)
    ctx.attachment_bytes += size
    if size > MAX_ATTACHMENT_BYTES or ctx.attachment_bytes > MAX_ATTACHMENTS_BYTES:
        raise PayloadTooLarge(f"attachments exceed {MAX_ATTACHMENTS_BYTES} bytes")
    if ctx.result.event_id is None:
        raise BadRequest("attachment without an event id in the envelope header")
    return SpoolRecord(
        kind="attachment",
        project_id=ctx.project_id,
        event_id=ctx.result.event_id,
        received_at=ctx.received_at,
        payload=item.payload,
        item_headers=item.raw_headers,
    )


def _ingest_kept(item: Item, ctx: _EnvelopeContext) -> SpoolRecord:
    if len(item.payload) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"{item.type} item exceeds {MAX_EVENT_BYTES} bytes")
    decode_object(item.payload, item.type)
    return SpoolRecord(
        kind=item.type,
        project_id=ctx.project_id,
        event_id=ctx.result.event_id or "",
        received_at=ctx.received_at,
        payload=item.payload,
    )


def _handler(item_type: str):
    if item_type in EVENT_ITEM_TYPES:
        return _ingest_event
    if item_type == "attachment":
        return _ingest_attachment
    if item_type in KEPT_ITEM_TYPES:
        return _ingest_kept
    return None


def _events_first(envelope: Envelope) -> list[Item]:
    # Attachments are tied to the envelope's event: learn its id before storing them.
    return sorted(envelope.items, key=lambda item: item.type not in EVENT_ITEM_TYPES)


def ingest_envelope(envelope: Envelope, *, project_id: int, received_at: float) -> IngestResult:
    result = IngestResult()
    if envelope.headers.event_id:
        result.event_id = normalize_event_id(envelope.headers.event_id)
    ctx = _EnvelopeContext(
        project_id=project_id,
        received_at=received_at,
        drift_s=clock_drift_s(envelope.headers.sent_at, received_at),
        result=result,
    )
    for item in _events_first(envelope):
        handler = _handler(item.type)
        if handler is None:
            result.ignored[item.type] += 1
            continue
        try:
            record = handler(item, ctx)
        except PayloadTooLarge:
            raise
        except BadRequest as e:
            log.info("dropping invalid %s item: %s", item.type, e.detail)
            result.invalid[item.type] += 1
            continue
        result.records.append(encode_record(record))
        result.accepted[item.type] += 1
    return result


def ingest_events(
    events: list[dict[str, Any]], raw: bytes, *, kind: str, project_id: int, received_at: float
) -> IngestResult:
    """Already decoded events from one request body (/store/, /security/)."""
    result = IngestResult()
    for event in events:
        record = event_record(
            raw, kind=kind, event=event, project_id=project_id, received_at=received_at
        )
        result.event_id = result.event_id or record.event_id
        result.records.append(encode_record(record))
        result.accepted[kind] += 1
    return result


def ingest_store(body: bytes, *, project_id: int, received_at: float) -> IngestResult:
    """The legacy endpoint: one JSON event per request; errors are the request's errors."""
    event = decode_object(body, "event")
    kind = "transaction" if event.get("type") == "transaction" else "event"
    return ingest_events([event], body, kind=kind, project_id=project_id, received_at=received_at)
