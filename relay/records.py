"""What the relay keeps in its spool between acknowledging and storing.

Two generations of record share one Struct, told apart by `kind`:

- `"envelope"`: what a request acknowledged, as sent. The request path only
  authenticates, frames, applies quotas and appends; the items' raw bytes and the
  request's context (`RequestContext`) wait here until the flush stage processes
  them (`relay.process`: normalization, scrubbing, filters, sampling, outcomes).
- every other kind (`"event"`, `"transaction"`, `"attachment"`, `"session"`,
  `"sessions"`, `"client_report"`, `"outcome"`): one processed item, ready for its
  table. Relays before the fast acknowledge path spooled only these, so a spool they
  left still flushes; the flush stage turns envelope records into them too.

New fields always come last with a default: an older record (a shorter array) still
decodes.
"""

from __future__ import annotations

import msgspec

from core.project_config import FilterSettings, ScrubbingSettings


class RawItem(msgspec.Struct, frozen=True, array_like=True):
    """One envelope item as the SDK sent it."""

    type: str
    # The item header line as sent (attachments keep their fields from it).
    headers: bytes
    payload: bytes
    # What the item counts for in outcomes (`item_count`, at least 1).
    quantity: int = 1


class RequestContext(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What the request knew that processing after the acknowledgement needs."""

    # The client clock's offset from ours (from the envelope's `sent_at`).
    drift_s: float = 0.0
    # Dynamic sampling's rate for the project when the request came in.
    sample_rate: float = 1.0
    client_ip: str | None = None
    # The envelope header's trace id: sampling keeps or drops a trace whole.
    trace_id: str | None = None
    # The project's inbound filters at that moment; None when none is enabled.
    filters: FilterSettings | None = None
    # An event id made at the request for an event that carries none: the same on
    # every replay of the segment, unlike one made while processing.
    fallback_event_id: str | None = None
    # The project's scrubbing rules at that moment; None for the defaults.
    scrubbing: ScrubbingSettings | None = None


class SpoolRecord(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    # "envelope" (unprocessed), or "event", "transaction", ... (see the module docstring).
    kind: str
    project_id: int
    # Envelope records: the envelope header's event id ("" when it has none).
    event_id: str
    received_at: float
    # The normalized item payload (JSON for events and transactions).
    payload: bytes
    # The item headers as sent, for items whose headers carry data (attachments).
    item_headers: bytes = b""
    # Events: the relay's normalized scalars (the payload may be stored as the SDK sent it).
    timestamp: float = 0.0
    start_timestamp: float = 0.0
    event_type: str = ""
    # The fraction of this traffic dynamic sampling kept when it kept this event.
    sample_rate: float = 1.0
    # Envelope records: the items kept past the quotas, and the request's context.
    items: list[RawItem] = []
    context: RequestContext | None = None


encode_record = msgspec.msgpack.Encoder().encode
decode_record = msgspec.msgpack.Decoder(SpoolRecord).decode
