"""After the acknowledgement: an envelope record -> the records its tables are built from.

The request path (`ingest`) spooled the items the quotas let through as the SDK sent
them; the flush stage calls `process_records` on each sealed segment, before building
its rows, wherever that stage runs. Per item, in order: filtered by the project's
inbound filters (`filtered`), sampled away by dynamic sampling (`sampled`), or
normalized and scrubbed (`write.event_record`) and kept (`accepted`, counted when
stored). Attachments follow their event. Sessions and client reports are checked
against the Struct their rows are built from. One bad item never loses the good ones
beside it: an undecodable item becomes an `invalid` outcome, as Sentry's Relay records
items that fail processing after it answered 200. Every decision other than `accepted`
becomes an outcome record, so the outcome counts add up to exactly what was sent.

Processing depends only on the record, with one exception: dynamic sampling keeps an
event whose signature this process has not seen yet, which a replay in a fresh
process would judge differently. Each such decision is returned in
`Processed.remembered` (by record and item position); the flusher keeps them on disk
before storing anything and hands them back on a replay (`decided`), so a segment
stored twice is judged the same both times.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from relay.errors import MALFORMED_JSON, BadRequest
from relay.event_view import EventView, read_view
from relay.filters import filter_reason
from relay.items import DECODERS as KEPT_ITEM_DECODERS
from relay.normalize import EventTooOld
from relay.policy import ITEM_CATEGORIES
from relay.records import RawItem, RequestContext, SpoolRecord
from relay.sampling import SeenSignatures, kept, signature
from relay.scrub import DEFAULT_SCRUBBING
from relay.tables import RelayOutcome, encode_outcome
from relay.write import event_record

log = logging.getLogger(__name__)

EVENT_ITEM_TYPES = frozenset({"event", "transaction", "security"})
# Item types kept as sent for a table of their own (decoded by the flusher).
KEPT_ITEM_TYPES = frozenset({"session", "sessions", "client_report"})
# Every item type the relay stores something of; the others are counted and dropped.
HANDLED_ITEM_TYPES = EVENT_ITEM_TYPES | KEPT_ITEM_TYPES | {"attachment"}
_NO_CONTEXT = RequestContext()


@dataclass
class Processed:
    records: list[SpoolRecord] = field(default_factory=list)
    # item type -> items kept, and (outcome, reason, category) -> quantity, for metrics.
    accepted: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # Envelope records whose processing failed for a reason no item explains (a bug).
    failed: list[SpoolRecord] = field(default_factory=list)
    # Decisions that read this process's memory of signatures: (record, item) -> kept.
    remembered: dict[tuple[int, int], bool] = field(default_factory=dict)


class _Dropped(Exception):
    """The item was decided against: (outcome, reason)."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(outcome, reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class _Envelope:
    record: SpoolRecord
    context: RequestContext
    seen: SeenSignatures
    processed: Processed
    # The envelope's event id: its header's, else its first event's (attachments use it).
    event_id: str | None
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # Why the envelope's event was not kept (its attachments follow it).
    event_dropped: tuple[str, str] | None = None
    # The record's position in its segment and the current item's, and the decisions
    # an earlier processing of the segment took from its memory.
    position: tuple[int, int] = (0, 0)
    decided: dict[tuple[int, int], bool] = field(default_factory=dict)


def _policy_view(item: RawItem, context: RequestContext) -> EventView | None:
    """The event, read once for filters and sampling, when the request's policy needs either."""
    if context.filters is None and context.sample_rate >= 1.0:
        return None
    try:
        return read_view(item.payload)
    except MALFORMED_JSON as e:
        raise BadRequest(f"{item.type} is not valid JSON: {e}") from e


def _sampling_decision(view: EventView | None, env: _Envelope) -> float:
    """The sample rate to store with a kept event; raises _Dropped when sampled away."""
    rate = env.context.sample_rate
    if rate >= 1.0:
        return 1.0
    trace_id = env.context.trace_id or (view.trace_id() if view else None) or ""
    if kept(trace_id or env.event_id or "", rate):
        return rate
    if view is not None:
        first_time = env.decided.get(env.position)
        if first_time is None:
            first_time = env.seen.first_time(env.record.project_id, signature(view))
        env.processed.remembered[env.position] = first_time
        if first_time:
            return 1.0  # a signature never seen here: its issue must exist
    raise _Dropped("sampled", "dynamic_sampling")


def _event(item: RawItem, env: _Envelope) -> SpoolRecord:
    context = env.context
    view = _policy_view(item, context)
    if view is not None and context.filters is not None and item.type != "transaction":
        reason = filter_reason(view, context.filters, client_ip=context.client_ip)
        if reason is not None:
            raise _Dropped("filtered", reason)
    rate = _sampling_decision(view, env)
    record = event_record(
        item.payload,
        kind=item.type,
        project_id=env.record.project_id,
        received_at=env.record.received_at,
        drift_s=context.drift_s,
        fallback_event_id=env.event_id or context.fallback_event_id,
        sample_rate=rate,
        head=view,
        scrubbing=context.scrubbing or DEFAULT_SCRUBBING,
    )
    env.event_id = env.event_id or record.event_id
    return record


def _attachment(item: RawItem, env: _Envelope) -> SpoolRecord:
    if env.event_dropped is not None:
        raise _Dropped(*env.event_dropped)
    if env.event_id is None:
        raise BadRequest("attachment without an event id in the envelope")
    return SpoolRecord(
        kind="attachment",
        project_id=env.record.project_id,
        event_id=env.event_id,
        received_at=env.record.received_at,
        payload=item.payload,
        item_headers=item.headers,
    )


def _kept(item: RawItem, env: _Envelope) -> SpoolRecord:
    # Checked by the same Struct its rows are built from: a malformed item becomes an
    # outcome here, never a record that stalls the flush of its segment.
    try:
        KEPT_ITEM_DECODERS[item.type](item.payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise BadRequest(f"{item.type} item is malformed: {e}") from e
    return SpoolRecord(
        kind=item.type,
        project_id=env.record.project_id,
        event_id=env.event_id or "",
        received_at=env.record.received_at,
        payload=item.payload,
    )


def _handler(item_type: str):
    if item_type in EVENT_ITEM_TYPES:
        return _event
    if item_type == "attachment":
        return _attachment
    return _kept


def _process_item(item: RawItem, env: _Envelope) -> None:
    category = ITEM_CATEGORIES.get(item.type, item.type)
    processed = env.processed
    try:
        record = _handler(item.type)(item, env)
    except _Dropped as dropped:
        env.outcomes[(dropped.outcome, dropped.reason, category)] += item.quantity
        if item.type in EVENT_ITEM_TYPES and env.event_dropped is None:
            env.event_dropped = (dropped.outcome, dropped.reason)
        return
    except EventTooOld as e:
        # Relay's `timestamp` discard reason: its table would expire it at once.
        log.info("dropping %s item: %s", item.type, e.detail)
        env.outcomes[("invalid", "timestamp", category)] += 1
        return
    except BadRequest as e:
        log.info("dropping invalid %s item: %s", item.type, e.detail)
        env.outcomes[("invalid", "invalid_item", category)] += 1
        return
    processed.records.append(record)
    processed.accepted[item.type] += 1


def outcome_record(
    project_id: int, received_at: float, decision: tuple[str, str, str], quantity: int
) -> SpoolRecord:
    """An outcome the relay decided: `decision` is (outcome, reason, category)."""
    outcome, reason, category = decision
    return SpoolRecord(
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


def _process_envelope(
    record: SpoolRecord,
    index: int,
    seen: SeenSignatures,
    processed: Processed,
    decided: dict[tuple[int, int], bool],
) -> None:
    env = _Envelope(
        record=record,
        context=record.context or _NO_CONTEXT,
        seen=seen,
        processed=processed,
        event_id=record.event_id or None,
        decided=decided,
    )
    # The request put events first: an attachment learns its event's id and fate.
    for item_index, item in enumerate(record.items):
        env.position = (index, item_index)
        _process_item(item, env)
    for decision, quantity in env.outcomes.items():
        processed.records.append(
            outcome_record(record.project_id, record.received_at, decision, quantity)
        )
    processed.outcomes.update(env.outcomes)


def process_records(
    records: list[SpoolRecord],
    seen: SeenSignatures,
    decided: dict[tuple[int, int], bool] | None = None,
) -> Processed:
    """A segment's records with every envelope record processed (the others as they are).
    `decided`: what an earlier processing of the same segment took from its memory."""
    processed = Processed()
    for index, record in enumerate(records):
        if record.kind != "envelope":
            processed.records.append(record)
            continue
        kept_before = len(processed.records)
        accepted_before = processed.accepted.copy()
        try:
            _process_envelope(record, index, seen, processed, decided or {})
        except Exception:
            log.exception("an envelope record of project %d failed processing", record.project_id)
            del processed.records[kept_before:]
            processed.accepted = accepted_before
            processed.failed.append(record)
    return processed


def internal_outcomes(record: SpoolRecord) -> list[SpoolRecord]:
    """Outcome `invalid`/`internal` (Relay's reason) for each item of a record set aside."""
    if record.kind != "envelope":
        category = {"event": "error", "sessions": "session"}.get(record.kind, record.kind)
        internal = ("invalid", "internal", category)
        return [outcome_record(record.project_id, record.received_at, internal, 1)]
    quantities: Counter[str] = Counter()
    for item in record.items:
        quantities[ITEM_CATEGORIES.get(item.type, item.type)] += item.quantity
    return [
        outcome_record(record.project_id, record.received_at, ("invalid", "internal", c), n)
        for c, n in quantities.items()
    ]
