"""Messages between processes: the relay's batches handed to the workers.

A batch carries its events (the normalized payloads as stored in ClickHouse, with the
columns the relay already extracted from them), so a worker never reads events back one
at a time nor decodes a payload twice. The list is msgpack-encoded and
zstd-compressed: a 1,000-event batch is a few hundred kilobytes in Redis.
"""

from __future__ import annotations

import msgspec
import zstandard

from core.errors import CorruptMessage


class EventColumns(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What the relay already read from the payload for its `events` row, and the workers
    need too: carried, so a worker does not decode the payload a second time for them."""

    level: str
    environment: str
    release: str
    user_key: str


class QueuedEvent(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    project_id: int
    event_id: str
    timestamp: float
    received_at: float
    payload: bytes
    # The fraction of this kind of traffic the relay kept (dynamic sampling).
    sample_rate: float = 1.0
    # None in batches from relays before it, and for events read back from ClickHouse.
    columns: EventColumns | None = None


class StoredEvents(msgspec.Struct, frozen=True, kw_only=True):
    """Events already in ClickHouse, named instead of carried (bulk loads)."""

    project_id: int
    # Bounds of the events' timestamps, so the read touches only their partitions.
    start: float
    end: float
    event_ids: list[str]


class EventBatch(msgspec.Struct, frozen=True, kw_only=True):
    batch_id: str
    created_at: float
    # Events carried in the message (the relay's batches)...
    events: list[QueuedEvent] = []
    # ...or named, to be read back with one query per entry (the seeder's direct mode).
    stored: list[StoredEvents] = []


_encode_batch = msgspec.msgpack.Encoder().encode
_decode_batch = msgspec.msgpack.Decoder(EventBatch).decode
_compressor = zstandard.ZstdCompressor(level=1)


def encode_batch(batch: EventBatch) -> bytes:
    return _compressor.compress(_encode_batch(batch))


def decode_batch(data: bytes) -> EventBatch:
    """The batch, or CorruptMessage when `data` is not one (no retry will make it one)."""
    try:
        # A decompressor per call: zstandard objects are not safe to share across threads.
        return _decode_batch(zstandard.ZstdDecompressor().decompress(data))
    except (zstandard.ZstdError, msgspec.DecodeError) as e:
        raise CorruptMessage(f"not an event batch: {e}") from e
