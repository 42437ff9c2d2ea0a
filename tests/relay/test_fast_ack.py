"""The fast acknowledge path: the request spools items as sent, the flush stage processes.

Checked through the real spool and flusher against chdb: what the answer wrote (the raw
bytes and the request's context), what processing after it makes of them (scrubbed,
filtered, sampled, each with its outcome), a spool left by a relay from before the fast
path (still stored), and sampling's one decision a replay could not recompute (made
durable before anything is stored).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import msgspec
import pytest

from core.project_config import FilterSettings
from relay.envelope import parse_envelope, serialize_envelope
from relay.event_view import read_view
from relay.flusher import BatchSink, Flusher
from relay.ingest import ingest_envelope
from relay.metrics import RelayMetrics
from relay.policy import RequestPolicy
from relay.records import RawItem, SpoolRecord, decode_record, encode_record
from relay.sampling import SeenSignatures, signature
from relay.spool import Spool, frame, read_frames

PROJECT_ID = 7
NO_POLICY = RequestPolicy()


def open_spool(directory: Path) -> Spool:
    return Spool(directory, max_records=1000, max_age_s=60, max_bytes=1 << 30)


def flusher_for(stack, spool: Spool, **kwargs) -> Flusher:
    sink = BatchSink(clickhouse=stack.clickhouse, enqueue_batch=lambda batch: None)
    return Flusher(spool, sink, RelayMetrics(), **kwargs)


def flush_all(spool: Spool, flusher: Flusher) -> None:
    while not spool.sealed.empty():
        flusher.flush(spool.sealed.get_nowait())


def event_payload(event_id: str, **fields) -> bytes:
    event = {
        "event_id": event_id,
        "platform": "python",
        "exception": {"values": [{"type": "FastAckError", "value": "boom"}]},
        **fields,
    }
    return msgspec.json.encode(event)


def event_envelope(event_id: str) -> bytes:
    """An envelope of one event item."""
    return serialize_envelope(
        {"event_id": event_id}, [({"type": "event"}, event_payload(event_id))]
    )


def acknowledge(spool: Spool, body: bytes, policy: RequestPolicy = NO_POLICY) -> list[bytes]:
    """What the envelope endpoint does after authentication: decide, append, seal."""
    result = ingest_envelope(
        parse_envelope(body), project_id=PROJECT_ID, received_at=time.time(), policy=policy
    )
    asyncio.run(spool.append(result.records))
    spool.seal_open()
    return result.records


def outcomes(stack) -> dict[tuple[str, str, str], int]:
    rows = (
        stack.clickhouse()
        .query(
            "SELECT outcome, reason, category, sum(quantity) FROM outcomes "
            "WHERE source = 'relay' GROUP BY ALL"
        )
        .result_rows
    )
    return {(outcome, reason, category): int(n) for outcome, reason, category, n in rows}


def stored_payloads(stack) -> dict[str, dict]:
    rows = stack.clickhouse().query("SELECT event_id, payload FROM events").result_rows
    return {str(row[0]).replace("-", ""): msgspec.json.decode(row[1]) for row in rows}


def test_the_answer_spools_items_as_sent_and_the_flush_scrubs_and_stores_them(stack, tmp_path):
    spool = open_spool(tmp_path / "spool")
    event_id = uuid.uuid4().hex
    payload = event_payload(event_id, extra={"password": "hunter2"})
    attachment = b"log line\nwith a newline"
    body = serialize_envelope(
        {"event_id": event_id, "sent_at": "2026-11-26T12:00:00Z"},
        [({"type": "event"}, payload), ({"type": "attachment", "filename": "a.log"}, attachment)],
    )
    (record,) = [decode_record(r) for r in acknowledge(spool, body)]
    # Nothing was decoded or rewritten before the answer: the secret is still there.
    assert record.kind == "envelope"
    assert [item.payload for item in record.items] == [payload, attachment]
    assert record.context is not None and record.context.drift_s != 0.0

    flush_all(spool, flusher_for(stack, spool))
    stored = stored_payloads(stack)
    assert list(stored) == [event_id]
    assert stored[event_id]["extra"]["password"] == "[Filtered]"
    attachments = stack.clickhouse().query("SELECT name, data FROM attachments").result_rows
    assert attachments == [("a.log", attachment.decode())]
    assert outcomes(stack) == {("accepted", "", "error"): 1, ("accepted", "", "attachment"): 1}
    spool.close()


def test_filtered_and_invalid_events_are_answered_then_given_their_outcome(stack, tmp_path):
    spool = open_spool(tmp_path / "spool")
    policy = RequestPolicy(filters=FilterSettings(error_messages=["*Filtered*"]))
    kept, filtered = uuid.uuid4().hex, uuid.uuid4().hex
    for event_id, value in ((kept, "kept"), (filtered, "Filtered here")):
        exception = {"values": [{"type": "E", "value": value}]}
        body = serialize_envelope(
            {"event_id": event_id},
            [
                ({"type": "event"}, event_payload(event_id, exception=exception)),
                ({"type": "attachment"}, b"follows its event"),
            ],
        )
        acknowledge(spool, body, policy)
    invalid = serialize_envelope({"event_id": uuid.uuid4().hex}, [({"type": "event"}, b"{no")])
    assert acknowledge(spool, invalid, policy), "invalid JSON is spooled, not refused"

    flush_all(spool, flusher_for(stack, spool))
    assert list(stored_payloads(stack)) == [kept]
    assert outcomes(stack) == {
        ("accepted", "", "error"): 1,
        ("accepted", "", "attachment"): 1,
        ("filtered", "error-message", "error"): 1,
        ("filtered", "error-message", "attachment"): 1,
        ("invalid", "invalid_item", "error"): 1,
    }
    spool.close()


class _LegacyRecord(msgspec.Struct, array_like=True):
    """A spool record exactly as relays before the fast acknowledge path wrote it."""

    kind: str
    project_id: int
    event_id: str
    received_at: float
    payload: bytes
    item_headers: bytes = b""
    timestamp: float = 0.0
    start_timestamp: float = 0.0
    event_type: str = ""
    sample_rate: float = 1.0


class _LegacyOutcome(msgspec.Struct, array_like=True):
    timestamp: float
    outcome: str
    reason: str
    category: str
    quantity: int


def test_a_spool_left_by_the_previous_version_is_stored_after_the_upgrade(stack, tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "spool.id").write_text(uuid.uuid4().hex)
    now = time.time()
    event_ids = [uuid.uuid4().hex for _ in range(3)]
    events = [
        _LegacyRecord(
            kind="event",
            project_id=PROJECT_ID,
            event_id=event_id,
            received_at=now,
            payload=event_payload(event_id, timestamp=now),
            timestamp=now,
            event_type="error",
        )
        for event_id in event_ids
    ]
    dropped = _LegacyRecord(
        kind="outcome",
        project_id=PROJECT_ID,
        event_id="",
        received_at=now,
        payload=msgspec.msgpack.encode(_LegacyOutcome(now, "filtered", "localhost", "error", 2)),
    )
    encode = msgspec.msgpack.encode
    # One sealed segment and one still open when the old relay stopped.
    sealed = b"".join(frame(encode(r)) for r in (events[0], dropped))
    (directory / f"seg-000000000001-{uuid.uuid4().hex}.sealed").write_bytes(sealed)
    opened = b"".join(frame(encode(r)) for r in events[1:])
    (directory / f"seg-000000000002-{uuid.uuid4().hex}.open").write_bytes(opened)

    spool = open_spool(directory)
    flush_all(spool, flusher_for(stack, spool))
    assert sorted(stored_payloads(stack)) == sorted(event_ids)
    assert outcomes(stack) == {("accepted", "", "error"): 3, ("filtered", "localhost", "error"): 2}
    ledger = stack.clickhouse().query("SELECT sum(items) FROM ingest_ledger").result_rows
    assert ledger == [(3,)]
    assert not list(directory.glob("seg-*"))
    spool.close()


def _untraced_event(event_id: str) -> bytes:
    # Trace id "ff...": its fraction (0.99...) is above any low rate, so only the
    # signature memory can keep it.
    return event_payload(event_id, contexts={"trace": {"trace_id": "f" * 32, "span_id": "a" * 16}})


def test_a_sampling_decision_from_memory_is_on_disk_before_anything_is_stored(stack, tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    event_id = uuid.uuid4().hex
    payload = _untraced_event(event_id)
    body = serialize_envelope({"event_id": event_id}, [({"type": "event"}, payload)])
    acknowledge(spool, body, RequestPolicy(sample_rate=0.01))
    segment = spool.sealed.get_nowait()

    def clickhouse_away():
        raise ConnectionError("ClickHouse is away")

    failing = BatchSink(clickhouse=clickhouse_away, enqueue_batch=lambda batch: None)
    first = Flusher(spool, failing, RelayMetrics())
    with pytest.raises(ConnectionError):
        first.flush(segment)
    # Kept because its signature was new to this process: that decision is on disk now,
    # beside the segment, which is left as the request wrote it.
    assert spool.decisions(segment) == {(0, 0): True}
    (raw,) = [decode_record(r) for r in read_frames(segment.path.read_bytes())]
    assert raw.kind == "envelope"
    spool.close()

    # A replay in a process that has seen the signature stores what was decided first.
    restarted = open_spool(directory)
    seen = SeenSignatures()
    view = read_view(payload)
    assert view is not None
    seen.first_time(PROJECT_ID, signature(view))
    flush_all(restarted, flusher_for(stack, restarted, seen=seen))
    assert list(stored_payloads(stack)) == [event_id]
    assert sorted(p.name for p in directory.iterdir()) == ["flush.lock", "spool.id", "spool.lock"]
    restarted.close()


def test_a_segment_without_such_decisions_is_left_as_written(stack, tmp_path):
    spool = open_spool(tmp_path / "spool")
    event_id = uuid.uuid4().hex
    body = event_envelope(event_id)
    written = acknowledge(spool, body)
    segment = spool.sealed.get_nowait()
    failing = BatchSink(
        clickhouse=lambda: (_ for _ in ()).throw(ConnectionError("away")),
        enqueue_batch=lambda batch: None,
    )
    with pytest.raises(ConnectionError):
        Flusher(spool, failing, RelayMetrics()).flush(segment)
    assert read_frames(segment.path.read_bytes()) == written
    assert spool.decisions(segment) == {}
    spool.close()


def test_an_envelope_record_processing_cannot_handle_is_set_aside_with_outcomes(stack, tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    event_id = uuid.uuid4().hex
    good = event_envelope(event_id)
    acknowledge(spool, good)
    # An item type the request path never spools, as a bug might let through.
    poison = SpoolRecord(
        kind="envelope",
        project_id=PROJECT_ID,
        event_id="",
        received_at=time.time(),
        payload=b"",
        items=[RawItem("frobnicate", b"{}", b"x", 2)],
    )
    asyncio.run(spool.append([encode_record(poison)]))
    spool.seal_open()
    flush_all(spool, flusher_for(stack, spool))
    assert list(stored_payloads(stack)) == [event_id]
    assert outcomes(stack) == {
        ("accepted", "", "error"): 1,
        ("invalid", "internal", "frobnicate"): 2,
    }
    (kept_aside,) = (directory / "quarantine").iterdir()
    assert [decode_record(r) for r in read_frames(kept_aside.read_bytes())] == [poison]
    spool.close()


def test_decisions_whose_segment_was_stored_are_removed_at_start_up(tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    event_id = uuid.uuid4().hex
    body = event_envelope(event_id)
    acknowledge(spool, body)
    segment = spool.sealed.get_nowait()
    spool.keep_decisions(segment, {(0, 0): False})
    orphan = directory / "decisions-seg-000000000099-0123456789abcdef0123456789abcdef"
    orphan.write_bytes(b"")
    spool.close()

    restarted = open_spool(directory)
    assert not orphan.exists()
    assert restarted.decisions(restarted.sealed.get_nowait()) == {(0, 0): False}
    restarted.close()
