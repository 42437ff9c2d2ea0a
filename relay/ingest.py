"""From a parsed request to spool records: decide, normalize, classify each item.

Per item, in order: refused by a quota or spike protection (outcome `rate_limited`),
filtered by the project's inbound filters (`filtered`), sampled away by dynamic
sampling (`sampled`), or normalized and kept (`accepted`, counted when stored).
Attachments follow their event. Sessions and client reports are kept for their
tables; every other item type is counted and dropped. One bad item never loses the
good ones beside it: an undecodable item is dropped as `invalid`, the rest go on.
Size limits are the exception: like Relay, an oversized item rejects the request.
Every decision other than `accepted` becomes an outcome record in the same spool
append, so the outcome counts add up to exactly what was sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from relay.envelope import Envelope, Item
from relay.errors import MALFORMED_JSON, BadRequest, PayloadTooLarge
from relay.event_view import EventView, read_view
from relay.filters import filter_reason
from relay.items import DECODERS as KEPT_ITEM_DECODERS
from relay.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_BYTES, MAX_EVENT_BYTES
from relay.normalize import EventTooOld, clock_drift_s, normalize_event_id
from relay.policy import ITEM_CATEGORIES, RequestPolicy
from relay.records import SpoolRecord, encode_record
from relay.sampling import kept, signature
from relay.tables import RelayOutcome, encode_outcome
from relay.write import event_record

log = logging.getLogger(__name__)

EVENT_ITEM_TYPES = frozenset({"event", "transaction", "security"})
# Item types kept as sent for a table of their own (decoded by the flusher).
KEPT_ITEM_TYPES = frozenset({"session", "sessions", "client_report"})
_decode_json = msgspec.json.decode
_NO_POLICY = RequestPolicy()


@dataclass
class IngestResult:
    event_id: str | None = None
    records: list[bytes] = field(default_factory=list)
    # item type -> count, by outcome, for metrics.
    accepted: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    # (outcome, reason, category) -> quantity, for the outcomes table.
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # The quotas that refused some of this request's categories (for the response).
    refusals: list[Any] = field(default_factory=list)

    @property
    def refused_everything(self) -> bool:
        """Nothing was kept and something was rate limited: the answer is a 429."""
        limited = any(outcome == "rate_limited" for outcome, _, _ in self.outcomes)
        return limited and not self.accepted


def decode_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        document = _decode_json(payload)
    except MALFORMED_JSON as e:
        raise BadRequest(f"{what} is not valid JSON: {e}") from e
    if not isinstance(document, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return document


@dataclass
class _EnvelopeContext:
    project_id: int
    received_at: float
    drift_s: float
    result: IngestResult
    policy: RequestPolicy
    attachment_bytes: int = 0
    # Why the envelope's event was not kept (its attachments follow it).
    event_dropped: tuple[str, str] | None = None


class _Dropped(Exception):
    """The item was decided against: (outcome, reason)."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(outcome, reason)
        self.outcome = outcome
        self.reason = reason


def _sampling_decision(view: EventView | None, ctx: _EnvelopeContext) -> float:
    """The sample rate to store with a kept event; raises _Dropped when sampled away."""
    policy = ctx.policy
    if policy.sample_rate >= 1.0 or policy.seen is None:
        return 1.0
    trace_id = policy.trace_id or (view.trace_id() if view else None) or ""
    if kept(trace_id or ctx.result.event_id or "", policy.sample_rate):
        return policy.sample_rate
    if view is not None and policy.seen.first_time(ctx.project_id, signature(view)):
        return 1.0  # a signature never seen here: its issue must exist
    raise _Dropped("sampled", "dynamic_sampling")


def _policy_view(item: Item, policy: RequestPolicy) -> EventView | None:
    """The event, read once for filters and sampling, when the policy needs either."""
    if policy.filters is None and (policy.sample_rate >= 1.0 or policy.seen is None):
        return None
    try:
        return read_view(item.payload)
    except MALFORMED_JSON as e:
        raise BadRequest(f"{item.type} is not valid JSON: {e}") from e


def _ingest_event(item: Item, ctx: _EnvelopeContext) -> SpoolRecord:
    policy = ctx.policy
    view = _policy_view(item, policy)
    if view is not None and policy.filters is not None and item.type != "transaction":
        reason = filter_reason(view, policy.filters, client_ip=policy.client_ip)
        if reason is not None:
            raise _Dropped("filtered", reason)
    rate = _sampling_decision(view, ctx)
    record = event_record(
        item.payload,
        kind=item.type,
        project_id=ctx.project_id,
        received_at=ctx.received_at,
        drift_s=ctx.drift_s,
        fallback_event_id=ctx.result.event_id,
        sample_rate=rate,
        head=view,
        scrubbing=policy.scrubbing,
    )
    ctx.result.event_id = ctx.result.event_id or record.event_id
    return record


def _ingest_attachment(item: Item, ctx: _EnvelopeContext) -> SpoolRecord:
    size = len(item.payload)
    ctx.attachment_bytes += size
    if size > MAX_ATTACHMENT_BYTES or ctx.attachment_bytes > MAX_ATTACHMENTS_BYTES:
        raise PayloadTooLarge(f"attachments exceed {MAX_ATTACHMENTS_BYTES} bytes")
    if ctx.event_dropped is not None:
        raise _Dropped(*ctx.event_dropped)
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
    # Its shape is checked now, by the same Struct its rows are built from at the flush:
    # a malformed item is refused here, never stored to stall the flush after it.
    try:
        KEPT_ITEM_DECODERS[item.type](item.payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise BadRequest(f"{item.type} item is malformed: {e}") from e
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
    # Attachments are tied to the envelope's event: learn its id (and fate) first.
    return sorted(envelope.items, key=lambda item: item.type not in EVENT_ITEM_TYPES)


def _quantity(item: Item) -> int:
    if item.type == "sessions":
        return 1
    return max(1, item.headers.item_count or 1)


def _ingest_item(item: Item, ctx: _EnvelopeContext) -> None:
    handler = _handler(item.type)
    result = ctx.result
    if handler is None:
        result.ignored[item.type] += 1
        return
    category = ITEM_CATEGORIES.get(item.type, item.type)
    try:
        refusal = ctx.policy.refused.get(category)
        if refusal is not None:
            raise _Dropped("rate_limited", refusal.quota.reason)
        record = handler(item, ctx)
    except _Dropped as dropped:
        result.outcomes[(dropped.outcome, dropped.reason, category)] += _quantity(item)
        if item.type in EVENT_ITEM_TYPES and ctx.event_dropped is None:
            ctx.event_dropped = (dropped.outcome, dropped.reason)
        return
    except PayloadTooLarge:
        raise
    except EventTooOld as e:
        # Relay's `timestamp` discard reason: its table would expire it at once.
        log.info("dropping %s item: %s", item.type, e.detail)
        result.invalid[item.type] += 1
        result.outcomes[("invalid", "timestamp", category)] += 1
        return
    except BadRequest as e:
        log.info("dropping invalid %s item: %s", item.type, e.detail)
        result.invalid[item.type] += 1
        result.outcomes[("invalid", "invalid_item", category)] += 1
        return
    result.records.append(encode_record(record))
    result.accepted[item.type] += 1


def outcome_records(result: IngestResult, project_id: int, received_at: float) -> list[bytes]:
    return [
        encode_record(
            SpoolRecord(
                kind="outcome",
                project_id=project_id,
                event_id="",
                received_at=received_at,
                payload=encode_outcome(
                    RelayOutcome(
                        timestamp=received_at,
                        outcome=outcome,
                        reason=reason,
                        category=category,
                        quantity=quantity,
                    )
                ),
            )
        )
        for (outcome, reason, category), quantity in result.outcomes.items()
    ]


def ingest_envelope(
    envelope: Envelope,
    *,
    project_id: int,
    received_at: float,
    policy: RequestPolicy = _NO_POLICY,
) -> IngestResult:
    result = IngestResult()
    if envelope.headers.event_id:
        result.event_id = normalize_event_id(envelope.headers.event_id)
    ctx = _EnvelopeContext(
        project_id=project_id,
        received_at=received_at,
        drift_s=clock_drift_s(envelope.headers.sent_at, received_at),
        result=result,
        policy=policy,
    )
    for item in _events_first(envelope):
        _ingest_item(item, ctx)
    result.records += outcome_records(result, project_id, received_at)
    return result


def single_item_envelope(payload: bytes, item_type: str) -> Envelope:
    """The legacy endpoints' one event, as an envelope, so it takes the same path."""
    from relay.envelope import EnvelopeHeaders, ItemHeaders

    return Envelope(
        headers=EnvelopeHeaders(),
        raw_headers=b"{}",
        items=[Item(headers=ItemHeaders(type=item_type), raw_headers=b"", payload=payload)],
    )


def store_envelope(body: bytes) -> Envelope:
    """`/store/`: one JSON event per request; a body that is no event is a 400 here."""
    event = decode_object(body, "event")
    kind = "transaction" if event.get("type") == "transaction" else "event"
    return single_item_envelope(body, kind)
