"""The relay's write path, public: an event item -> a spool record -> ClickHouse rows.

    event_record(payload, kind=..., project_id=..., received_at=...)
                                    normalize one event item as the relay stores it
    EventRows / TransactionRows     `events` / `transactions` rows from stored payloads
    is_clean(part) / scrub(event)   the relay's secret check and scrubber
    Rejected                        what `event_record` raises for an unusable event

The request path (`ingest`) and the flusher write through these, and so does anything
else that stores events as the relay would: the seeder's direct mode normalizes each
generated event with `event_record` and builds its tables with `EventRows` and
`TransactionRows`, with no HTTP request and no spool in between. Nothing outside the
relay imports the modules behind it.
"""

from __future__ import annotations

from typing import Any

from core.project_config import ScrubbingSettings
from relay.errors import BadRequest, PayloadTooLarge
from relay.event_rows import EventRows, TransactionRows
from relay.event_view import EventView
from relay.limits import MAX_EVENT_BYTES
from relay.normalize import normalize_payload, normalized_dict
from relay.records import SpoolRecord
from relay.scrub import DEFAULT_SCRUBBING, plan_scrub, scrub_event

__all__ = [
    "EventRows",
    "Rejected",
    "SpoolRecord",
    "TransactionRows",
    "event_record",
    "is_clean",
    "scrub",
]

# An event the relay would refuse (not JSON, not an object, too old, a bad event id).
Rejected = BadRequest


def is_clean(part: bytes) -> bool:
    """Nothing in this JSON that the relay's scrubber would rewrite (it looks inside
    strings and keys, never across them, so parts that are clean make a clean whole)."""
    return plan_scrub(part) is None


def scrub(event: dict[str, Any]) -> None:
    """Scrub secrets from a decoded event (or part of one) in place, as the relay does."""
    scrub_event(event)


def event_record(
    payload: bytes,
    *,
    kind: str,
    project_id: int,
    received_at: float,
    event: dict[str, Any] | None = None,
    drift_s: float = 0.0,
    fallback_event_id: str | None = None,
    sample_rate: float = 1.0,
    head: EventView | None = None,
    secrets_checked: bool = False,
    scrubbing: ScrubbingSettings = DEFAULT_SCRUBBING,
) -> SpoolRecord:
    """The spool record the relay keeps for an `event`, `transaction` or `security` item.

    `event` is the payload already decoded (the relay built it); `head` the policy's view
    of it; `secrets_checked` that the caller assembled it from parts
    that passed `is_clean`; `scrubbing` the project's scrubbing rules.
    Rejected for an unusable event, PayloadTooLarge past
    MAX_EVENT_BYTES."""
    if len(payload) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"{kind} item exceeds {MAX_EVENT_BYTES} bytes")
    if event is None:
        normalized = normalize_payload(
            payload,
            head=head,
            received_at=received_at,
            drift_s=drift_s,
            fallback_event_id=fallback_event_id,
            item_type=kind,
            secrets_checked=secrets_checked,
            scrubbing=scrubbing,
        )
    else:
        normalized = normalized_dict(
            event,
            payload,
            received_at=received_at,
            drift_s=drift_s,
            fallback_event_id=fallback_event_id,
            item_type=kind,
            scrubbing=scrubbing,
        )
    return SpoolRecord(
        kind="transaction" if kind == "transaction" else "event",
        project_id=project_id,
        event_id=normalized.event_id,
        received_at=received_at,
        payload=normalized.payload,
        timestamp=normalized.timestamp,
        start_timestamp=normalized.start_timestamp,
        event_type=normalized.type,
        sample_rate=sample_rate,
    )
