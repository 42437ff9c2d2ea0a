"""The columns a relay batch carries are the ones a worker would read from the payload."""

from __future__ import annotations

import msgspec
import zstandard

from core.wire import EventColumns, decode_batch, encode_batch
from relay.write import EventRows
from tests.workers.factories import batch_of, error_event
from workers.batch_input import promoted_columns


def test_columns_of_the_relay_rows_equal_those_read_from_the_payload():
    events = [
        error_event(),
        error_event(user=None, environment="staging", release=""),
        {**error_event(), "level": "fatal", "environment": "e" * 100, "release": "r" * 300},
        {**error_event(), "level": "no-such-level", "user": {"ip_address": "10.0.0.1"}},
    ]
    batch = batch_of(events, 7)
    rows = EventRows()
    for event in batch.events:
        rows.add(event.project_id, event.event_id, event.received_at, event.payload)
    columns = rows.columns
    from_rows = [
        EventColumns(level=level, environment=environment, release=release, user_key=user)
        for level, environment, release, user in zip(
            columns["level"],
            columns["environment"],
            columns["release"],
            columns["user_key"],
            strict=True,
        )
    ]
    assert from_rows == [promoted_columns(event.payload) for event in batch.events]
    assert from_rows[2].environment == "e" * 64 and from_rows[2].release == "r" * 250


def test_a_batch_from_a_relay_without_carried_columns_still_decodes():
    batch = batch_of([error_event()], 7)
    # An older relay's message: each event the six fields before `columns`, as an array.
    raw = msgspec.to_builtins(batch, builtin_types=(bytes,))
    raw["events"] = [event[:6] for event in raw["events"]]
    decoded = decode_batch(zstandard.ZstdCompressor().compress(msgspec.msgpack.encode(raw)))
    assert decoded.events[0].columns is None
    assert decoded.events[0].payload == batch.events[0].payload
    assert decode_batch(encode_batch(decoded)) == decoded
