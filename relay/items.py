"""The items the relay keeps as sent (sessions, session aggregates, client reports), read
with their shape checked at the door.

Lax as SDKs are (unknown fields ignored, missing ones defaulted, a number where a string
is usual accepted), strict on what the tables need: an item whose shape would break its
rows later is refused here, as an `invalid` outcome of its own, and never reaches the
spool where it could stall the flush of everything acknowledged after it.
"""

from __future__ import annotations

import msgspec

Timestamp = str | float | None
Text = str | int | float | None  # ids and names some SDKs send as numbers


class SessionAttributes(msgspec.Struct):
    release: Text = None
    environment: Text = None


class SessionUpdate(msgspec.Struct):
    """A `session` item (Sentry's release-health protocol)."""

    sid: Text = None
    did: Text = None
    started: Timestamp = None
    status: str | None = None
    errors: int | None = None
    duration: float | None = None
    init: bool | None = None
    attrs: SessionAttributes | None = None


class SessionAggregate(msgspec.Struct):
    started: Timestamp = None
    did: Text = None
    exited: int = 0
    errored: int = 0
    abnormal: int = 0
    crashed: int = 0


class SessionAggregates(msgspec.Struct):
    """A `sessions` item: counts of sessions per start time and status."""

    aggregates: list[SessionAggregate] = []
    attrs: SessionAttributes | None = None


class DiscardedItems(msgspec.Struct):
    reason: Text = None
    category: Text = None
    quantity: int = 0


class ClientReport(msgspec.Struct):
    """A `client_report` item: what the SDK itself dropped, and why."""

    timestamp: Timestamp = None
    discarded_events: list[DiscardedItems] = []
    rate_limited_events: list[DiscardedItems] = []
    filtered_events: list[DiscardedItems] = []
    filtered_sampling_events: list[DiscardedItems] = []


decode_session_update = msgspec.json.Decoder(SessionUpdate).decode
decode_session_aggregates = msgspec.json.Decoder(SessionAggregates).decode
decode_client_report = msgspec.json.Decoder(ClientReport).decode

DECODERS = {
    "session": decode_session_update,
    "sessions": decode_session_aggregates,
    "client_report": decode_client_report,
}
