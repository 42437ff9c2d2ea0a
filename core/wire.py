"""Messages between processes: the relay's batches handed to the workers.

A batch carries its events (the normalized payloads as stored in ClickHouse), so a
worker never reads events back one at a time. The list is msgpack-encoded and
zstd-compressed: a 1,000-event batch is a few hundred kilobytes in Redis.
"""

from __future__ import annotations

import msgspec
import zstandard

from core.errors import CorruptMessage


class QueuedEvent(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    project_id: int
    event_id: str
    timestamp: float
    received_at: float
    payload: bytes
    # The fraction of this kind of traffic the relay kept (dynamic sampling).
    sample_rate: float = 1.0


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
