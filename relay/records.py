"""What the relay keeps in its spool between acknowledging and storing."""

from __future__ import annotations

import msgspec


class SpoolRecord(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    # "event", "transaction", ...: decides the ClickHouse table and whether workers see it.
    kind: str
    project_id: int
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


encode_record = msgspec.msgpack.Encoder().encode
decode_record = msgspec.msgpack.Decoder(SpoolRecord).decode
