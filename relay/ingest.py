"""From a parsed request to spool records: only what must be decided before the answer.

The fast acknowledge path. Before a 200 the protocol needs the envelope's framing and
item types (parsed already), its size limits (an oversized item rejects the request
with a 413, as Relay does) and the quotas (a 429 when nothing is left). The items the
quotas let through are spooled as sent, in one `envelope` record with the request's
context (`records.RequestContext`); normalization, scrubbing, inbound filters, dynamic
sampling and their outcomes run after the acknowledgement, in the flush stage
(`process`). No item payload is decoded here.

Per item: an unknown type is counted and dropped; a category refused by a quota or
spike protection is dropped with outcome `rate_limited` (attachments follow their
event), spooled as an outcome record in the same append; the rest is kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from relay.envelope import Envelope, EnvelopeHeaders, Item, ItemHeaders
from relay.errors import MALFORMED_JSON, BadRequest, PayloadTooLarge
from relay.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_BYTES, MAX_EVENT_BYTES
from relay.normalize import clock_drift_s, normalize_event_id
from relay.policy import ITEM_CATEGORIES, RequestPolicy
from relay.process import EVENT_ITEM_TYPES, HANDLED_ITEM_TYPES, outcome_record
from relay.records import RawItem, RequestContext, SpoolRecord, encode_record
from relay.scrub import DEFAULT_SCRUBBING
from relay.write import event_record

__all__ = [
    "IngestResult",
    "event_record",
    "ingest_envelope",
    "single_item_envelope",
    "store_envelope",
]

_NO_POLICY = RequestPolicy()


@dataclass
class IngestResult:
    event_id: str | None = None
    records: list[bytes] = field(default_factory=list)
    # item type -> count spooled for processing / not handled, for metrics. (Plain dicts:
    # three Counters cost a fifth of this module's time per request.)
    accepted: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    # (outcome, reason, category) -> quantity decided at the request (rate limits).
    outcomes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # The quotas that refused some of this request's categories (for the response).
    refusals: list[Any] = field(default_factory=list)

    @property
    def refused_everything(self) -> bool:
        """Nothing was kept and something was rate limited: the answer is a 429."""
        limited = any(outcome == "rate_limited" for outcome, _, _ in self.outcomes)
        return limited and not self.accepted


def _quantity(item: Item) -> int:
    if item.type == "sessions":
        return 1
    return max(1, item.headers.item_count or 1)


def _events_first(envelope: Envelope) -> list[Item]:
    # Attachments are tied to the envelope's event: its fate (and id) is decided first.
    items = envelope.items
    if len(items) < 2:
        return items
    return sorted(items, key=lambda item: item.headers.type not in EVENT_ITEM_TYPES)


class _SizeCheck:
    """Relay's item size limits, checked before the answer (an oversized item is a 413)."""

    def __init__(self) -> None:
        self.attachment_bytes = 0

    def check(self, item: Item) -> None:
        size = len(item.payload)
        if item.type == "attachment":
            self.attachment_bytes += size
            if size > MAX_ATTACHMENT_BYTES or self.attachment_bytes > MAX_ATTACHMENTS_BYTES:
                raise PayloadTooLarge(f"attachments exceed {MAX_ATTACHMENTS_BYTES} bytes")
        elif size > MAX_EVENT_BYTES:
            raise PayloadTooLarge(f"{item.type} item exceeds {MAX_EVENT_BYTES} bytes")


def _context(
    envelope: Envelope, policy: RequestPolicy, received_at: float, items: list[RawItem]
) -> RequestContext:
    needs_id = envelope.headers.event_id is None and any(
        item.type in EVENT_ITEM_TYPES for item in items
    )
    return RequestContext(
        drift_s=clock_drift_s(envelope.headers.sent_at, received_at),
        sample_rate=policy.sample_rate,
        client_ip=policy.client_ip,
        trace_id=policy.trace_id,
        filters=policy.filters,
        fallback_event_id=uuid.uuid4().hex if needs_id else None,
        scrubbing=None if policy.scrubbing == DEFAULT_SCRUBBING else policy.scrubbing,
    )


def ingest_envelope(
    envelope: Envelope,
    *,
    project_id: int,
    received_at: float,
    policy: RequestPolicy = _NO_POLICY,
) -> IngestResult:
    """The records to append for this request, and what the answer needs."""
    result = IngestResult()
    if envelope.headers.event_id:
        result.event_id = normalize_event_id(envelope.headers.event_id)
    sizes = _SizeCheck()
    event_refusal = None
    items: list[RawItem] = []
    for item in _events_first(envelope):
        item_type = item.headers.type
        if item_type not in HANDLED_ITEM_TYPES:
            result.ignored[item_type] = result.ignored.get(item_type, 0) + 1
            continue
        category = ITEM_CATEGORIES.get(item_type, item_type)
        refusal = policy.refused.get(category) if policy.refused else None
        if refusal is None and item_type == "attachment":
            refusal = event_refusal
        if refusal is not None:
            decision = ("rate_limited", refusal.quota.reason, category)
            result.outcomes[decision] = result.outcomes.get(decision, 0) + _quantity(item)
            if item_type in EVENT_ITEM_TYPES and event_refusal is None:
                event_refusal = refusal
            continue
        sizes.check(item)
        items.append(RawItem(item_type, item.raw_headers, item.payload, _quantity(item)))
        result.accepted[item_type] = result.accepted.get(item_type, 0) + 1
    if items:
        record = SpoolRecord(
            kind="envelope",
            project_id=project_id,
            event_id=result.event_id or "",
            received_at=received_at,
            payload=b"",
            items=items,
            context=_context(envelope, policy, received_at, items),
        )
        result.records.append(encode_record(record))
    for decision, quantity in result.outcomes.items():
        result.records.append(
            encode_record(outcome_record(project_id, received_at, decision, quantity))
        )
    return result


def single_item_envelope(
    payload: bytes, item_type: str, *, event_id: str | None = None
) -> Envelope:
    """The legacy endpoints' one event, as an envelope, so it takes the same path."""
    return Envelope(
        headers=EnvelopeHeaders(event_id=event_id),
        raw_headers=b"{}",
        items=[Item(headers=ItemHeaders(type=item_type), raw_headers=b"", payload=payload)],
    )


class _StoreHead(msgspec.Struct):
    event_id: Any = None
    type: Any = None


_decode_store_head = msgspec.json.Decoder(_StoreHead).decode


def store_envelope(body: bytes) -> Envelope:
    """`/store/`: one JSON event per request. Like Relay's store endpoint, the body must
    be a JSON object with a valid event id (if any) before the answer, a 400 otherwise;
    the rest of it is processed after. The event's id is the answer's."""
    try:
        head = _decode_store_head(body)
    except MALFORMED_JSON as e:
        raise BadRequest(f"event is not valid JSON: {e}") from e
    except msgspec.ValidationError as e:
        raise BadRequest("event must be a JSON object") from e
    event_id = normalize_event_id(head.event_id) if head.event_id else uuid.uuid4().hex
    kind = "transaction" if head.type == "transaction" else "event"
    return single_item_envelope(body, kind, event_id=event_id)
