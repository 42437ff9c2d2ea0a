"""The spool: segments, their ClickHouse deduplication tokens, and a full disk.

A token must be unique for the life of the data (no segment of any spool, before
or after a restart, shares one) and stable for a retry of the same segment (a
replay after a crash stores nothing twice). Both are checked against real chdb
tables with their deduplication window, through the real flusher.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import time
import uuid
from pathlib import Path

import pytest

from relay.flusher import BatchSink, Flusher
from relay.ingest import event_record
from relay.metrics import RelayMetrics
from relay.records import SpoolRecord, decode_record, encode_record
from relay.spool import SealedSegments, Spool, SpoolWriteError, frame, read_frames
from tests.support.small_disk import small_disk


def open_spool(directory: Path) -> Spool:
    return Spool(directory, max_records=1000, max_age_s=60, max_bytes=1 << 30)


def crash(spool: Spool) -> None:
    """What a process's death does to its spool: the locks go with it, nothing else."""
    spool._lock_file.close()
    if spool._flush_lock_file is not None:
        spool._flush_lock_file.close()


def event_records(count: int, *, kind: str = "event") -> tuple[list[bytes], list[str]]:
    now = time.time()
    ids = [uuid.uuid4().hex for _ in range(count)]
    records = []
    for event_id in ids:
        payload = f'{{"event_id":"{event_id}","message":"m","type":"{kind}"}}'.encode()
        if kind == "transaction":
            payload = (
                f'{{"event_id":"{event_id}","type":"transaction","transaction":"/a",'
                f'"start_timestamp":{now - 1},"timestamp":{now}}}'
            ).encode()
        record = event_record(payload, kind=kind, project_id=7, received_at=now)
        records.append(encode_record(record))
    return records, ids


def spool_once(spool: Spool, records: list[bytes]) -> None:
    """Append as a request would, then seal so the flusher can take the segment."""
    asyncio.run(spool.append(records))
    spool.seal_open()


def flush_all(spool: Spool, flusher: Flusher) -> int:
    flushed = 0
    while not spool.sealed.empty():
        flusher.flush(spool.sealed.get_nowait())
        flushed += 1
    return flushed


def stored_ids(stack, table: str) -> list[str]:
    rows = stack.clickhouse().query(f"SELECT event_id FROM {table}").result_rows
    return sorted(str(row[0]).replace("-", "") for row in rows)


def make_flusher(stack, spool: Spool | SealedSegments, batches: list[bytes]) -> Flusher:
    return Flusher(
        spool, BatchSink(clickhouse=stack.clickhouse, enqueue_batch=batches.append), RelayMetrics()
    )


def test_a_restarted_spool_with_an_empty_folder_never_reuses_a_token(stack, tmp_path):
    directory = tmp_path / "spool"
    tokens, acknowledged = [], []
    for _restart in range(3):
        spool = open_spool(directory)
        flusher = make_flusher(stack, spool, [])
        for _batch in range(2):
            records, ids = event_records(5)
            spool_once(spool, records)
            acknowledged += ids
            tokens += [segment.token for segment in list(spool.sealed.queue)]
            flush_all(spool, flusher)
        spool.close()
        assert not list(directory.glob("seg-*")), "every segment was flushed and removed"
    assert len(set(tokens)) == len(tokens) == 6
    assert stored_ids(stack, "events") == sorted(acknowledged)


def test_transactions_survive_restarts_with_an_empty_spool(stack, tmp_path):
    directory = tmp_path / "spool"
    acknowledged = []
    for _restart in range(2):
        spool = open_spool(directory)
        records, ids = event_records(4, kind="transaction")
        spool_once(spool, records)
        acknowledged += ids
        flush_all(spool, make_flusher(stack, spool, []))
        spool.close()
    assert stored_ids(stack, "transactions") == sorted(acknowledged)


def test_a_segment_replayed_after_a_crash_keeps_its_token_and_stores_nothing_twice(stack, tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    records, ids = event_records(6)
    spool_once(spool, records)
    segment = spool.sealed.get_nowait()
    batches: list[bytes] = []
    flusher = make_flusher(stack, spool, batches)
    # Stored, then the process dies before the segment is removed: insert by hand,
    # as `flush` would, and leave the file where it is.
    original_remove = spool.remove
    spool.remove = lambda segment: None  # type: ignore[method-assign]
    flusher.flush(segment)
    spool.remove = original_remove  # type: ignore[method-assign]
    spool.close()

    restarted = open_spool(directory)
    replayed = restarted.sealed.get_nowait()
    assert replayed.recovered
    assert replayed.token == segment.token
    flush_all(restarted, make_flusher(stack, restarted, batches))
    restarted.close()
    stored = stored_ids(stack, "events")
    assert stored == sorted(ids), "each acknowledged event stored exactly once"
    outcomes = stack.clickhouse().query(
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'accepted'"
    )
    assert outcomes.result_rows[0][0] == len(ids)


def test_an_open_segment_left_by_a_crash_is_sealed_and_keeps_its_name_token(tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    records, _ = event_records(2)
    asyncio.run(spool.append(records))
    (open_file,) = directory.glob("seg-*.open")
    uid = open_file.name.split(".")[0].split("-")[2]
    crash(spool)

    restarted = open_spool(directory)
    (segment,) = list(restarted.sealed.queue)
    assert segment.path.suffix == ".sealed"
    assert segment.token == f"{restarted.spool_id}-{uid}"
    assert len(segment.read_records()) == 2
    restarted.close()


def test_the_open_segment_has_zeros_ahead_of_its_frames_and_a_sealed_one_only_frames(tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    records, _ = event_records(3)
    asyncio.run(spool.append(records))
    (open_file,) = directory.glob("seg-*.open")
    frames = b"".join(frame(record) for record in records)
    data = open_file.read_bytes()
    # Written ahead so that commits change no file size: zeros, which end the frames.
    assert len(data) >= len(frames) + (1 << 20)
    assert data[: len(frames)] == frames and not any(data[len(frames) :])
    assert read_frames(data) == records

    spool.seal_open()
    (segment,) = list(spool.sealed.queue)
    assert segment.path.read_bytes() == frames
    spool.close()


def test_an_open_segment_left_by_a_crash_is_cut_to_its_whole_frames(tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    records, _ = event_records(4)
    for record in records:
        asyncio.run(spool.append([record]))
    (open_file,) = directory.glob("seg-*.open")
    acknowledged = b"".join(frame(record) for record in records)
    # The process dies while writing a fifth frame: half of it lands amid the zeros.
    torn = frame(event_records(1)[0][0])
    with open(open_file, "r+b") as out:
        out.seek(len(acknowledged))
        out.write(torn[: len(torn) // 2])
    crash(spool)

    restarted = open_spool(directory)
    (segment,) = list(restarted.sealed.queue)
    assert segment.path.read_bytes() == acknowledged
    assert segment.read_records() == records
    assert restarted.bytes_on_disk == len(acknowledged)
    restarted.close()


class _CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor, counting what is handed to it."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def _append_concurrently(spool: Spool, batches: list[list[bytes]]) -> int:
    """Every batch appended by its own task at once, as requests do; the executor's use."""
    executor = _CountingExecutor(max_workers=2)

    async def run() -> None:
        asyncio.get_running_loop().set_default_executor(executor)
        for _ in range(3):  # waves: the later ones commit after a sync was measured
            await asyncio.gather(*(spool.append(batch) for batch in batches))

    asyncio.run(run())
    return executor.submitted


@pytest.mark.parametrize(
    ("sync_limit_s", "hands_off"),
    [(0.002, False), (1e-9, True)],
    ids=["syncs-fast-commit-on-the-loop", "syncs-slow-commit-in-a-thread"],
)
def test_concurrent_appends_share_commits_on_the_loop_or_in_a_thread_by_sync_time(
    tmp_path, sync_limit_s, hands_off
):
    spool = open_spool(tmp_path / "spool")
    spool.loop_sync_max_s = sync_limit_s
    records, _ = event_records(60)
    batches = [records[i : i + 3] for i in range(0, 60, 3)]
    submitted = _append_concurrently(spool, batches)
    # Syncs of this disk take more than a nanosecond: after the first commit, measured,
    # the rest go to a thread; below 2 ms none does.
    assert (submitted > 0) is hands_off
    spool.seal_open()
    (segment,) = list(spool.sealed.queue)
    assert segment.read_records() == records * 3  # in the order they were appended
    spool.close()


def test_a_segment_named_before_segments_had_ids_keeps_the_token_it_was_written_with(
    tmp_path,
):
    directory = tmp_path / "spool"
    open_spool(directory).close()
    spool_id = (directory / "spool.id").read_text().strip()
    (directory / "seg-000000000007.sealed").write_bytes(b"")
    spool = open_spool(directory)
    (segment,) = list(spool.sealed.queue)
    assert segment.token == f"{spool_id}-7"
    assert segment.sequence == 7
    spool.close()


def test_a_full_disk_refuses_the_append_and_keeps_every_acknowledged_record(tmp_path):
    with small_disk(tmp_path / "disk", 256) as disk:
        spool = Spool(disk / "spool", max_records=10_000, max_age_s=600, max_bytes=1 << 30)
        acknowledged, refused = [], 0
        filler = disk / "filler"
        filler.write_bytes(b"x" * 150_000)
        record = b"r" * 3_000
        for n in range(60):
            body = record + n.to_bytes(2, "big")
            try:
                asyncio.run(spool.append([body]))
                acknowledged.append(body)
            except SpoolWriteError:
                refused += 1
                if refused == 3:
                    filler.unlink()  # an operator frees space: appends succeed again
        assert refused >= 3 and acknowledged, (refused, len(acknowledged))
        spool.seal_open()
        crash(spool)  # as if the process died here

        restarted = Spool(disk / "spool", max_records=10_000, max_age_s=600, max_bytes=1 << 30)
        replayed = [
            body for segment in list(restarted.sealed.queue) for body in segment.read_records()
        ]
        # The segment cut short by the full disk was sealed; later records went to a new one.
        assert len(restarted.sealed.queue) >= 2
        assert replayed == acknowledged
        restarted.close()


def test_a_record_no_row_can_be_built_from_is_set_aside_and_the_rest_is_stored(stack, tmp_path):
    directory = tmp_path / "spool"
    spool = open_spool(directory)
    records, ids = event_records(3)
    # A sessions record the relay's door would refuse today, as a bug might let through.
    poison = SpoolRecord(
        kind="sessions",
        project_id=7,
        event_id="",
        received_at=time.time(),
        payload=b'{"aggregates": 5}',
    )
    spool_once(spool, [records[0], encode_record(poison), *records[1:]])
    metrics = RelayMetrics()
    flusher = Flusher(
        spool, BatchSink(clickhouse=stack.clickhouse, enqueue_batch=lambda b: None), metrics
    )
    assert flush_all(spool, flusher) == 1
    assert stored_ids(stack, "events") == sorted(ids)
    (kept_aside,) = (directory / "quarantine").iterdir()
    assert [decode_record(body) for body in read_frames(kept_aside.read_bytes())] == [poison]
    outcomes = (
        stack.clickhouse()
        .query(
            "SELECT outcome, reason, category, sum(quantity) FROM outcomes "
            "WHERE outcome = 'invalid' GROUP BY ALL"
        )
        .result_rows
    )
    assert outcomes == [("invalid", "internal", "session", 1)]
    assert metrics.registry.get_sample_value("relay_quarantined_records_total") == 1
    spool.close()


# --- an appender and a flusher in two processes (serve --processes N) ---------------------


def open_appender(directory: Path) -> Spool:
    return Spool(directory, max_records=1000, max_age_s=60, max_bytes=1 << 30, flushed_here=False)


def test_segments_an_appender_seals_are_flushed_by_another_process_once_in_order(stack, tmp_path):
    directory = tmp_path / "spool"
    appender = open_appender(directory)
    flushing = SealedSegments(directory)
    acknowledged, tokens = [], []
    for _batch in range(3):
        records, ids = event_records(4)
        spool_once(appender, records)
        acknowledged += ids
    assert appender.sealed.empty(), "the appender hands nothing to a flusher of its own"
    flusher = make_flusher(stack, flushing, [])
    while True:
        try:
            segment = flushing.sealed.get(timeout=0.01)
        except queue.Empty:
            break
        tokens.append(segment.token)
        flusher.flush(segment)
    assert [t.split("-")[0] for t in tokens] == [appender.spool_id] * 3, "one spool id"
    assert sorted(p.name for p in directory.glob("seg-*")) == []
    assert stored_ids(stack, "events") == sorted(acknowledged)
    # The appender learns from the folder that the flusher freed the space.
    assert appender.bytes_on_disk > 0
    appender._rescanned_at = 0.0
    appender.tick()
    assert appender.bytes_on_disk == 0
    appender.close()
    flushing.close()


def test_a_folder_takes_one_appender_and_one_flusher(tmp_path):
    directory = tmp_path / "spool"
    appender = open_appender(directory)
    flushing = SealedSegments(directory)
    with pytest.raises(RuntimeError, match="another relay process"):
        open_appender(directory)
    with pytest.raises(RuntimeError, match="another flusher"):
        SealedSegments(directory)
    appender.close()
    # A spool that flushes itself is both: not while another process flushes the folder.
    with pytest.raises(RuntimeError, match="another flusher"):
        open_spool(directory)
    flushing.close()
    open_spool(directory).close()


def test_an_appender_restarted_after_a_crash_leaves_the_flushers_files_alone(tmp_path):
    directory = tmp_path / "spool"
    appender = open_appender(directory)
    flushing = SealedSegments(directory)
    records, _ = event_records(3)
    spool_once(appender, records)
    segment = flushing.sealed.get(timeout=0.01)
    flushing.keep_decisions(segment, {(0, 0): True})
    staging = directory / "staging-in-progress"
    staging.write_bytes(b"the flusher is writing this")
    crash(appender)

    restarted = open_appender(directory)
    assert flushing.decisions(segment) == {(0, 0): True}
    assert staging.exists()
    assert restarted.bytes_on_disk == segment.path.stat().st_size
    restarted.close()
    flushing.close()
    # The flusher's own start-up is what clears what a flusher left half done.
    SealedSegments(directory).close()
    assert not staging.exists()


def test_an_appender_crash_leaves_its_open_segment_for_its_restart_to_seal(stack, tmp_path):
    directory = tmp_path / "spool"
    appender = open_appender(directory)
    flushing = SealedSegments(directory)
    records, ids = event_records(5)
    asyncio.run(appender.append(records))  # acknowledged, still open
    with pytest.raises(queue.Empty):
        flushing.sealed.get(timeout=0.01)  # an open segment is the appender's
    crash(appender)

    restarted = open_appender(directory)
    segment = flushing.sealed.get(timeout=0.01)
    make_flusher(stack, flushing, []).flush(segment)
    assert stored_ids(stack, "events") == sorted(ids)
    restarted.close()
    flushing.close()
