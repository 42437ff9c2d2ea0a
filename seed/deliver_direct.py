"""`--direct`: bulk-load events into ClickHouse and name them to the workers.

Worker processes turn timeline units into rows through the relay's public write
path (`relay.write`: each event normalized as the relay would store it, its rows
built as the flusher builds them) and write each unit as an Arrow file (in
/dev/shm when there is one: RAM, no disk writeback); this process inserts the
files in order, each with a deduplication token made from the identities of the
rows it holds (project and event ids: a re-run of the same events stores nothing
twice, and no other unit, of this run or any other, can share it), then enqueues
one `process_events` message per ~1,000 error events of a project, naming them
(`StoredEvents`) instead of carrying them.

The relay scans every event for secrets; seed events are assembled from parts
checked once (shapes, pools, project parts) and a few strings made per event
(`Rendered.probe`), so when every part is clean the whole event is, and the
seeder says so (`secrets_checked`) instead of paying for the scan.

On the embedded default this process owns the data folder (chdb allows one
process), so the relay must not be running.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pyarrow as pa
from pyarrow import ipc

from core.queue import PROCESS_EVENTS, enqueue
from core.runtime import Stack
from core.storage.tables import EVENTS, TRANSACTIONS
from core.wire import EventBatch, StoredEvents, encode_batch
from relay import write
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan
from seed.render import Rendered

BATCH_EVENTS = 1_000
_encode = msgspec.json.encode


@dataclass
class UnitResult:
    index: int
    events: int
    # Arrow IPC files (None when the unit had no rows of that kind).
    event_file: str | None
    transaction_file: str | None
    # (project id, first ms, last ms, event ids) per batch of error events.
    batches: list[tuple[int, int, int, list[str]]]
    # The insert deduplication token of each file: a digest of the rows' identities.
    event_token: str = ""
    transaction_token: str = ""
    # (project key, family, outcome) -> events
    counts: Counter = field(default_factory=Counter)


class UnitBuilder:
    """Rows for units of one plan; one per worker process."""

    def __init__(self, options: SeedOptions, project_ids: dict[str, int], spool: Path) -> None:
        self.plan = SeedPlan(options)
        self.generator = Generator(self.plan)
        self.project_ids = project_ids
        self.spool = spool

    def _rows(self, index: int, result: UnitResult):
        received_at = time.time()
        events, transactions = write.EventRows(), write.TransactionRows()
        project_ids = self.project_ids
        for seed_event in self.generator.unit_events(self.plan.units[index]):
            key = (seed_event.project, seed_event.root_cause.family)
            project_id = project_ids[seed_event.project]
            stored = add_event(events, transactions, seed_event.rendered, project_id, received_at)
            result.counts[(*key, "accepted" if stored else "rejected")] += 1
        return events, transactions

    def _write(self, table: pa.Table, name: str) -> str:
        # Arrow IPC: the column buffers as they are; nothing to encode or decode.
        path = self.spool / name
        with ipc.new_file(path, table.schema) as writer:
            writer.write_table(table)
        return str(path)

    def build(self, index: int) -> UnitResult:
        result = UnitResult(index, self.plan.units[index].events, None, None, [])
        # Generation makes no reference cycles but millions of objects: without the cyclic
        # collector scanning them (and the shape cache) again and again it runs twice as fast.
        enabled = gc.isenabled()
        gc.disable()
        try:
            events, transactions = self._rows(index, result)
        finally:
            if enabled:
                gc.enable()
        if len(events):
            table = _in_table_order(events.table())
            result.event_file = self._write(table, f"{index}.events.arrow")
            result.event_token = rows_token("events", table)
            result.batches = list(batches(table, BATCH_EVENTS))
        if len(transactions):
            table = _in_table_order(transactions.table())
            result.transaction_file = self._write(table, f"{index}.transactions.arrow")
            result.transaction_token = rows_token("transactions", table)
        return result


def rows_token(table_name: str, table: pa.Table) -> str:
    """A deduplication token that names exactly these rows (their project and event ids).

    Equal only for the same events, which the table's ReplacingMergeTree would collapse
    anyway; the run's options alone would not do (project ids and the code that
    generates events can change under the same options)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in ("project_id", "event_id"):
        for chunk in table.column(name).chunks:
            for buffer in chunk.buffers():
                if buffer is not None:
                    digest.update(buffer)
    return f"seed-{table_name}-{digest.hexdigest()}"


def add_event(
    events: write.EventRows,
    transactions: write.TransactionRows,
    rendered: Rendered,
    project_id: int,
    received_at: float,
) -> bool:
    """Normalize the event as the relay would and add its row; False if the relay would
    reject it."""
    raw = _encode(rendered.payload)
    checked = secrets_checked(rendered)
    try:
        record = write.event_record(
            raw,
            kind=rendered.kind,
            project_id=project_id,
            received_at=received_at,
            # To be rewritten: the dict as built spares decoding the bytes again.
            event=None if checked else rendered.payload,
            secrets_checked=checked,
        )
    except write.Rejected:
        return False
    if record.kind == "transaction":
        transactions.add(
            project_id,
            record.event_id,
            received_at,
            record.payload,
            timestamp=record.timestamp,
            start_timestamp=record.start_timestamp,
        )
    else:
        events.add(
            project_id,
            record.event_id,
            received_at,
            record.payload,
            timestamp=record.timestamp,
            event_type=record.event_type,
        )
    return True


def secrets_checked(rendered: Rendered) -> bool:
    """Every part of the event passed the relay's secret check: the fixed ones when they
    were built (`rendered.clean`), the per-event strings here. A leading 0: no probed
    string may look like the name of a [name, value] pair."""
    return rendered.clean and write.is_clean(_encode([0, *rendered.probe]))


def _in_table_order(table: pa.Table) -> pa.Table:
    """Sorted by project and time, as the tables are ordered."""
    return table.sort_by([("project_id", "ascending"), ("timestamp", "ascending")])


def batches(table: pa.Table, size: int) -> Iterator[tuple[int, int, int, list[str]]]:
    """(project id, first ms, last ms, event ids) per chunk of at most `size` rows of one
    project; `table` is sorted by project and time."""
    projects = table.column("project_id").to_pylist()
    stamps = table.column("timestamp").cast("int64").to_pylist()
    ids = table.column("event_id").to_pylist()
    start = 0
    while start < len(projects):
        project = projects[start]
        stop = start
        while stop < len(projects) and stop - start < size and projects[stop] == project:
            stop += 1
        chunk = [bytes(i).hex() for i in ids[start:stop]]
        yield project, stamps[start], stamps[stop - 1], chunk
        start = stop


# The builder of a worker process, made once by the pool's initializer.
_WORKER: dict[str, UnitBuilder] = {}


def _init_worker(options: SeedOptions, project_ids: dict[str, int], spool: Path) -> None:
    _WORKER["builder"] = UnitBuilder(options, project_ids, spool)


def _build(index: int) -> UnitResult:
    return _WORKER["builder"].build(index)


def built_units(
    options: SeedOptions, project_ids: dict[str, int], spool: Path, workers: int
) -> Iterator[UnitResult]:
    """Units in timeline order, built here (workers=0) or by worker processes."""
    count = len(SeedPlan(options).units)
    if workers <= 0:
        builder = UnitBuilder(options, project_ids, spool)
        for index in range(count):
            yield builder.build(index)
        return
    # spawn: this process holds chdb and Redis connections a fork would share.
    context = multiprocessing.get_context("spawn")
    init = (options, project_ids, spool)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=init
    ) as pool:
        # A bounded window keeps at most a few units' files on disk ahead of the inserts.
        window = workers * 2
        pending = [pool.submit(_build, i) for i in range(min(window, count))]
        for index in range(count):
            result = pending.pop(0).result()
            if index + window < count:
                pending.append(pool.submit(_build, index + window))
            yield result


class ClickHouseLoader:
    """Inserts a unit's files and enqueues its batches."""

    def __init__(self, stack: Stack, broker) -> None:
        self.client = stack.clickhouse()
        self.embedded = stack.settings.embedded_clickhouse
        self.broker = broker
        self.queue = stack.settings.queue_name
        self.messages = 0

    def _insert(self, table: str, columns: list[str], path: str, token: str) -> None:
        # optimize_on_insert = 0: a unit's event ids are unique, nothing to collapse.
        settings = {"insert_deduplication_token": token, "optimize_on_insert": 0}
        if self.embedded:
            # chdb reads the file itself: no copy through Python.
            quoted = path.replace("'", "\\'")
            self.client.command(
                f"INSERT INTO {table} ({', '.join(columns)}) FROM INFILE '{quoted}' "
                f"SETTINGS insert_deduplication_token = '{token}', optimize_on_insert = 0 "
                "FORMAT Arrow"
            )
        else:
            data = Path(path).read_bytes()
            self.client.raw_insert(table, columns, data, fmt="Arrow", settings=settings)
        Path(path).unlink()

    def load(self, result: UnitResult) -> None:
        if result.event_file:
            names = EVENTS.column_names
            self._insert("events", names, result.event_file, result.event_token)
        if result.transaction_file:
            names = TRANSACTIONS.column_names
            self._insert("transactions", names, result.transaction_file, result.transaction_token)
        for number, (project_id, first_ms, last_ms, ids) in enumerate(result.batches):
            batch = EventBatch(
                batch_id=f"{result.event_token}-{number}",
                created_at=time.time(),
                # A millisecond of slack: the read converts these bounds from floats.
                stored=[
                    StoredEvents(
                        project_id=project_id,
                        start=(first_ms - 1) / 1000,
                        end=(last_ms + 1) / 1000,
                        event_ids=ids,
                    )
                ],
            )
            enqueue(self.broker, self.queue, PROCESS_EVENTS, encode_batch(batch))
            self.messages += 1


def _spool_dir(data_dir: Path) -> Path:
    """Where units wait for their insert: RAM (/dev/shm) when the system has it."""
    shared = Path("/dev/shm")
    if shared.is_dir() and os.access(shared, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="stackwise-seed-", dir=shared))
    spool = data_dir / "seed-load"
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir(parents=True)
    return spool


def load_direct(
    stack: Stack,
    broker,
    options: SeedOptions,
    project_ids: dict[str, int],
    *,
    workers: int,
    on_unit: Callable[[UnitResult], None],
) -> int:
    """Generate and store every unit; returns the number of messages enqueued."""
    spool = _spool_dir(stack.settings.data_dir)
    loader = ClickHouseLoader(stack, broker)
    try:
        for result in built_units(options, project_ids, spool, workers):
            loader.load(result)
            on_unit(result)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    return loader.messages
