"""Sealed spool segments -> ClickHouse -> the workers' queue, then off the disk.

Each segment is one batch. Its envelope records (what requests acknowledged, as sent)
are processed first (`process`: normalization, scrubbing, filters, sampling and their
outcomes), here, after the acknowledgement, so every process layout that flushes a
spool processes it. The decisions that could come out differently on a replay
(sampling's memory of signatures) are kept beside the segment before anything is
stored, so a replay after a crash stores exactly what the first attempt did.
Records spooled by relays before the fast acknowledge path are stored as they are.

A segment's ClickHouse insert carries its unique deduplication token, so replaying
a segment after a crash (inserted, not yet deleted) stores nothing twice; the
workers' message is idempotent too. Any failure to store leaves the segment on disk
and is retried with backoff: the relay keeps accepting into the spool until it is
full. A record no row can be built from, or an envelope record processing fails on
(a bug), must not stall everything after it: it is set aside in the spool's
quarantine folder, with an `invalid`/`internal` outcome, and the rest of its
segment is stored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from clickhouse_connect.driver.client import Client

from core.priority import yield_cpu
from core.wire import EventBatch, EventColumns, QueuedEvent, encode_batch
from relay.ledger import LEDGER_INSERT_SETTINGS, Ledger
from relay.metrics import RelayMetrics
from relay.normalize import SECURITY_TYPES
from relay.process import Processed, internal_outcomes, process_records
from relay.records import SpoolRecord, decode_record, encode_record
from relay.sampling import SeenSignatures
from relay.spool import SealedSegments, Segment, Spool
from relay.tables import attachment_rows, outcome_rows, session_rows
from relay.write import EventRows, TransactionRows

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class _Built:
    tables: list[tuple[str, pa.Table]]
    account: pa.Table
    batch: EventBatch | None


@dataclass
class BatchSink:
    """Where a batch goes; a seam so tests can fail ClickHouse or the queue on purpose."""

    clickhouse: Callable[[], Client]
    enqueue_batch: Callable[[bytes], None]
    # Blocks while the workers' queue is too deep (backpressure onto the spool).
    wait_for_queue_room: Callable[[], None] = lambda: None


class Flusher:
    def __init__(
        self,
        spool: Spool | SealedSegments,
        sink: BatchSink,
        metrics: RelayMetrics,
        *,
        seen: SeenSignatures | None = None,
        turn: threading.Lock | None = None,
        nice: int = 0,
    ) -> None:
        self.spool = spool
        # How much the flushing thread yields the CPU (`Settings.storage_nice`).
        self._nice = nice
        # Flushers sharing one embedded ClickHouse take turns (see RelaySpoolFlushers).
        self._turn = turn or threading.Lock()
        self.sink = sink
        self.metrics = metrics
        # Dynamic sampling's memory of the signatures this process kept.
        self.seen = seen if seen is not None else SeenSignatures()
        self._processed: tuple[Segment, Processed] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-flusher", daemon=True)
        self._client: Client | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        # pyarrow imports pandas on its first table (about a second of holding the GIL):
        # pay it now, before traffic, rather than in the first flush under load.
        EventRows().table()
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Flush what is sealed, then stop (give up after `timeout_s`; the spool keeps it)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        yield_cpu(self._nice)
        backoff_s = 0.5
        while True:
            try:
                segment = self.spool.sealed.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            while True:
                try:
                    with self._turn:
                        self.flush(segment)
                    backoff_s = 0.5
                    break
                except Exception as e:
                    self.last_error = f"{type(e).__name__}: {e}"
                    self.metrics.flush_failures_total.inc()
                    log.warning("flushing %s failed (%s); retrying", segment.path.name, e)
                    self._drop_client()
                    if self._stop.wait(backoff_s):
                        return
                    backoff_s = min(backoff_s * 2, _MAX_BACKOFF_S)

    def _drop_client(self) -> None:
        """Forget a client that failed; the next attempt connects afresh."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def _clickhouse(self) -> Client:
        if self._client is None:
            self._client = self.sink.clickhouse()
        return self._client

    def flush(self, segment: Segment) -> None:
        started = time.perf_counter()
        processed = self._process(segment)
        records = processed.records
        try:
            built = self._build(segment, records)
        except Exception as e:  # no I/O above: some record can never become a row
            log.error(
                "segment %s holds records its rows cannot be built from (%s: %s)",
                segment.path.name,
                type(e).__name__,
                e,
            )
            built = self._build(segment, self._set_aside(segment, records))
        client = self._clickhouse()
        settings = {"insert_deduplication_token": segment.token}
        for table_name, table in built.tables:
            client.insert_arrow(table_name, table, settings=settings)
        if built.account.num_rows:
            client.insert_arrow("ingest_ledger", built.account, settings=LEDGER_INSERT_SETTINGS)
        if built.batch is not None:
            self.sink.wait_for_queue_room()
            self.sink.enqueue_batch(encode_batch(built.batch))
        self.spool.remove(segment)
        self._processed = None
        for table_name, table in built.tables:
            self.metrics.stored.labels(table_name).inc(table.num_rows)
        self.metrics.count_items("accepted", processed.accepted)
        for (outcome, _, category), quantity in processed.outcomes.items():
            self.metrics.items.labels(category, outcome).inc(quantity)
        self.metrics.record_flush(rows=len(records), seconds=time.perf_counter() - started)

    def _process(self, segment: Segment) -> Processed:
        """The segment's records, envelope records processed, with the decisions a replay
        could not repeat kept on disk first.
        A retry of the same segment (storage was down) reuses the first processing."""
        if self._processed is not None and self._processed[0] == segment:
            return self._processed[1]
        records = [decode_record(body) for body in segment.read_records()]
        decided = self.spool.decisions(segment)
        processed = process_records(records, self.seen, decided)
        if processed.failed:
            failed = [encode_record(r) for r in processed.failed]
            self.spool.quarantine(segment, failed, suffix=".unprocessed")
            self.metrics.quarantined_records_total.inc(len(processed.failed))
            for record in processed.failed:
                processed.records += internal_outcomes(record)
        try:
            if processed.failed:
                self.spool.replace(segment, [encode_record(r) for r in processed.records])
            elif processed.remembered and processed.remembered != decided:
                self.spool.keep_decisions(segment, processed.remembered)
        except OSError as e:
            # A full disk must not stop the flush that frees it: store what was decided
            # (a replay could then judge a sampled event anew, nothing more).
            log.warning("could not keep %s's processing on disk: %s", segment.path.name, e)
        self._processed = (segment, processed)
        return processed

    def _build(self, segment: Segment, records: list[SpoolRecord]) -> _Built:
        """Every row, the ledger's account and the workers' batch, without any I/O."""
        by_kind: dict[str, list[SpoolRecord]] = defaultdict(list)
        for record in records:
            by_kind[record.kind].append(record)
        ledger = Ledger(segment.token)
        event_rows = EventRows()
        for r in by_kind["event"]:
            event_rows.add(
                r.project_id,
                r.event_id,
                r.received_at,
                r.payload,
                r.sample_rate,
                timestamp=r.timestamp,
                event_type=r.event_type,
            )
        for event_type, record in zip(event_rows.columns["type"], by_kind["event"], strict=True):
            category = _category(event_type)
            ledger.add_event(record.project_id, record.received_at, category, record.event_id)
        for record in by_kind["transaction"]:
            ledger.add_event(record.project_id, record.received_at, "transaction", record.event_id)
        for record in by_kind["attachment"]:
            ledger.add(record.project_id, record.received_at, "attachment")
        sessions = self._sessions(by_kind)
        if sessions is not None:
            _account_sessions(ledger, sessions)
        tables = [
            ("events", event_rows.table() if event_rows else None),
            ("transactions", self._transactions(by_kind["transaction"])),
            (
                "attachments",
                attachment_rows(by_kind["attachment"]) if by_kind["attachment"] else None,
            ),
            ("sessions", sessions),
        ]
        reports = by_kind["client_report"] + by_kind["outcome"]
        tables.append(("outcomes", outcome_rows(reports, ledger.accepted())))
        return _Built(
            tables=[
                (name, table) for name, table in tables if table is not None and table.num_rows
            ],
            account=ledger.table(),
            batch=_batch(segment, by_kind["event"], event_rows) if event_rows else None,
        )

    def _set_aside(self, segment: Segment, records: list[SpoolRecord]) -> list[SpoolRecord]:
        """Find the records no row can be built from and keep them aside, on disk, with an
        `invalid` outcome (Relay's reason `internal`), so they cannot stall the flush of
        everything acknowledged after them. Returns what can be stored."""
        good, bad = [], []
        for record in records:
            try:
                self._build(segment, [record])
            except Exception:
                bad.append(record)
            else:
                good.append(record)
        self.spool.quarantine(segment, [encode_record(record) for record in bad])
        self.metrics.quarantined_records_total.inc(len(bad))
        return good + [outcome for record in bad for outcome in internal_outcomes(record)]

    @staticmethod
    def _transactions(records: list[SpoolRecord]):
        if not records:
            return None
        rows = TransactionRows()
        for r in records:
            rows.add(
                r.project_id,
                r.event_id,
                r.received_at,
                r.payload,
                r.sample_rate,
                timestamp=r.timestamp,
                start_timestamp=r.start_timestamp,
            )
        return rows.table()

    @staticmethod
    def _sessions(by_kind: dict[str, list[SpoolRecord]]):
        records = by_kind["session"] + by_kind["sessions"]
        return session_rows(records) if records else None


def _account_sessions(ledger: Ledger, sessions: pa.Table) -> None:
    """Session rows per project and hour of arrival (an aggregate item makes several)."""
    projects = sessions.column("project_id").to_pylist()
    received = sessions.column("received_at").to_pylist()
    for project_id, moment in zip(projects, received, strict=True):
        ledger.add(project_id, moment.timestamp(), "session")


def _category(event_type: str) -> str:
    """Sentry's data category for an event type."""
    if event_type in SECURITY_TYPES:
        return "security"
    return "default" if event_type == "default" else "error"


def _batch(segment: Segment, events: list[SpoolRecord], rows: EventRows) -> EventBatch:
    # The row's promoted columns travel with the event: the worker needs them too.
    columns = rows.columns
    return EventBatch(
        batch_id=segment.token,
        created_at=time.time(),
        events=[
            QueuedEvent(
                project_id=r.project_id,
                event_id=r.event_id,
                timestamp=r.timestamp,
                received_at=r.received_at,
                payload=r.payload,
                sample_rate=r.sample_rate,
                columns=EventColumns(
                    level=level, environment=environment, release=release, user_key=user
                ),
            )
            for r, level, environment, release, user in zip(
                events,
                columns["level"],
                columns["environment"],
                columns["release"],
                columns["user_key"],
                strict=True,
            )
        ],
    )
