"""Light normalization of events before they are stored, as Sentry's Relay does it.

Fills `event_id`, `timestamp` (corrected for client clock drift using the
envelope's `sent_at`, as Relay's ClockDriftProcessor does), `platform`, `level`
and `type`; wraps an `exception`, `threads` or `breadcrumbs` sent as one bare
object into `{"values": [object]}` (Relay's Values<T> accepts both: raven-go,
for one, sends one exception object); caps stack traces; scrubs obvious
secrets. Everything else is kept as the SDK sent it: grouping and analysis
read the original shape.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.event.accessors import interface_values, normalize_level, normalize_platform
from core.project_config import ScrubbingSettings
from core.storage.retention import EVENTS_RETENTION_S, TRANSACTIONS_RETENTION_S
from relay.errors import MALFORMED_JSON, BadRequest
from relay.event_view import EventHead, EventView, read_head
from relay.limits import MAX_FRAMES_PER_STACKTRACE
from relay.scrub import DEFAULT_SCRUBBING, plan_scrub, scrub_event

# Relay only corrects drift beyond 55 minutes: smaller offsets are time zones gone wrong
# or slow networks, and correcting them would reorder events needlessly.
MIN_CLOCK_DRIFT_S = 55 * 60
MAX_FUTURE_S = 60

SECURITY_TYPES = frozenset({"csp", "hpkp", "expectct", "expectstaple", "nel"})
# Interfaces Relay reads as Values<T>: a list, {"values": [...]} or one bare item.
VALUES_INTERFACES = ("exception", "threads", "breadcrumbs", "sentry.interfaces.Exception")


class EventTooOld(BadRequest):
    """The event's timestamp is older than its table keeps rows: it would never be kept."""


def retention_s(item_type: str) -> int:
    """How far back an item's timestamp may lie: its table's TTL (transactions: 30 days)."""
    return TRANSACTIONS_RETENTION_S if item_type == "transaction" else EVENTS_RETENTION_S


_HEX32 = re.compile(r"[0-9a-f]{32}")


def normalize_event_id(value: Any) -> str:
    """A 32-hex event id; accepts the dashed UUID form, rejects anything else."""
    if not isinstance(value, str):
        raise BadRequest("event_id must be a string")
    if _HEX32.fullmatch(value):
        return value  # what SDKs send: skip building a UUID object
    try:
        return uuid.UUID(value).hex
    except ValueError as e:
        raise BadRequest(f"invalid event_id {value[:64]!r}") from e


def parse_timestamp(value: Any) -> float | None:
    """Unix seconds from a number or an RFC 3339 string; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        # RFC 3339 is what SDKs send: skip the number attempt (its exception costs more).
        if "-" not in text[1:] or "T" not in text:
            try:
                return float(text)
            except ValueError:
                pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return None


def clock_drift_s(sent_at: Any, received_at: float) -> float:
    sent = parse_timestamp(sent_at)
    if sent is None:
        return 0.0
    drift = received_at - sent
    return drift if abs(drift) >= MIN_CLOCK_DRIFT_S else 0.0


def normalize_event(
    event: dict[str, Any],
    *,
    received_at: float,
    drift_s: float = 0.0,
    fallback_event_id: str | None = None,
    item_type: str = "event",
    raw: bytes | None = None,
    scrubbing: ScrubbingSettings = DEFAULT_SCRUBBING,
) -> dict[str, Any]:
    """Normalize in place and return the event; raises BadRequest for an unusable event.
    `scrubbing` is the project's choice of secret scrubbing rules."""
    raw_id = event.get("event_id") or fallback_event_id
    event["event_id"] = normalize_event_id(raw_id) if raw_id else uuid.uuid4().hex
    event["timestamp"] = _event_timestamp(event.get("timestamp"), received_at, drift_s, item_type)
    if item_type == "transaction":
        start = parse_timestamp(event.get("start_timestamp"))
        event["start_timestamp"] = (start + drift_s) if start is not None else event["timestamp"]
    event["received"] = received_at
    event["platform"] = normalize_platform(event.get("platform"))
    event["level"] = normalize_level(event.get("level"))
    _wrap_bare_items(event)
    event["type"] = _infer_type(event, item_type)
    _cap_stacktraces(event)
    scrub_event(event, raw, scrubbing)
    return event


def _wrap_bare_items(event: dict[str, Any]) -> None:
    for name in VALUES_INTERFACES:
        container = event.get(name)
        if isinstance(container, dict) and container and "values" not in container:
            event[name] = {"values": [container]}


def _event_timestamp(value: Any, received_at: float, drift_s: float, item_type: str) -> float:
    timestamp = parse_timestamp(value)
    if timestamp is None:
        return received_at
    timestamp += drift_s
    if timestamp > received_at + MAX_FUTURE_S:
        return received_at
    if timestamp < received_at - retention_s(item_type):
        raise EventTooOld(f"{item_type} timestamp is older than the retention period")
    return timestamp


def _infer_type(event: dict[str, Any], item_type: str) -> str:
    return _type_of(item_type, event.get("type"), bool(interface_values(event.get("exception"))))


def _type_of(item_type: str, declared: Any, has_exception: bool) -> str:
    if item_type == "transaction":
        return "transaction"
    if declared in SECURITY_TYPES:
        return declared
    return "error" if has_exception else "default"


def _stacktraces(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    holders = [
        event,
        *interface_values(event.get("exception")),
        *interface_values(event.get("threads")),
    ]
    for holder in holders:
        for key in ("stacktrace", "raw_stacktrace"):
            stacktrace = holder.get(key)
            if isinstance(stacktrace, dict):
                found.append(stacktrace)
    return found


def _cap_stacktraces(event: dict[str, Any]) -> None:
    # Sentry keeps both ends of an over-long stack: the entry point and the crash site.
    for stacktrace in _stacktraces(event):
        frames = stacktrace.get("frames")
        if isinstance(frames, list) and len(frames) > MAX_FRAMES_PER_STACKTRACE:
            half = MAX_FRAMES_PER_STACKTRACE // 2
            omitted_end = len(frames) - half
            stacktrace["frames"] = frames[:half] + frames[omitted_end:]
            stacktrace["frames_omitted"] = [half, omitted_end]


_encode = msgspec.json.encode
_decode = msgspec.json.decode


class NormalizedEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    timestamp: float
    start_timestamp: float
    type: str
    # What to store: the bytes as sent when nothing had to change, else the rewritten event.
    payload: bytes


def _needs_rewrite(raw: bytes, secrets_checked: bool, scrubbing: ScrubbingSettings) -> bool:
    # Fewer than MAX_FRAMES objects in all means no stack trace can need capping.
    if raw.count(b"{") > MAX_FRAMES_PER_STACKTRACE:
        return True
    return not secrets_checked and plan_scrub(raw, rules=scrubbing) is not None


def normalized_dict(event: dict[str, Any], raw: bytes, **kwargs: Any) -> NormalizedEvent:
    """Normalize an already decoded event (the relay built it, or the fast path declined)."""
    normalize_event(event, raw=raw, **kwargs)
    return NormalizedEvent(
        event_id=event["event_id"],
        timestamp=event["timestamp"],
        start_timestamp=event.get("start_timestamp", event["timestamp"]),
        type=event["type"],
        payload=_encode(event),
    )


def normalize_payload(
    raw: bytes,
    *,
    received_at: float,
    drift_s: float = 0.0,
    fallback_event_id: str | None = None,
    item_type: str = "event",
    head: EventHead | EventView | None = None,
    secrets_checked: bool = False,
    scrubbing: ScrubbingSettings = DEFAULT_SCRUBBING,
) -> NormalizedEvent:
    """Normalize an event item. The common event (nothing to scrub, no over-long stack) is
    read shallowly and stored as sent, its normalized scalars kept beside it; any other is
    decoded, rewritten and re-encoded. `head` is the event already read (by the policy),
    if it was; `secrets_checked` says the caller built the event from parts that passed
    `plan_scrub` already (the seeder), so the whole-event scan is skipped. BadRequest for
    an unusable event."""
    kwargs = {
        "received_at": received_at,
        "drift_s": drift_s,
        "fallback_event_id": fallback_event_id,
        "item_type": item_type,
        "scrubbing": scrubbing,
    }
    if head is None:
        try:
            head = read_head(raw)
        except MALFORMED_JSON as e:
            raise BadRequest(f"{item_type} is not valid JSON: {e}") from e
    if head is None or head.has_singular() or _needs_rewrite(raw, secrets_checked, scrubbing):
        try:
            event = _decode(raw)
        except MALFORMED_JSON as e:
            raise BadRequest(f"{item_type} is not valid JSON: {e}") from e
        if not isinstance(event, dict):
            raise BadRequest(f"{item_type} must be a JSON object")
        return normalized_dict(event, raw, **kwargs)
    raw_id = head.event_id or fallback_event_id
    timestamp = _event_timestamp(head.timestamp, received_at, drift_s, item_type)
    start = parse_timestamp(head.start_timestamp) if item_type == "transaction" else None
    return NormalizedEvent(
        event_id=normalize_event_id(raw_id) if raw_id else uuid.uuid4().hex,
        timestamp=timestamp,
        start_timestamp=start + drift_s if start is not None else timestamp,
        type=_type_of(item_type, head.type, head.has_exception()),
        payload=raw,
    )
