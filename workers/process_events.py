"""process_events: one relay batch -> fingerprints -> issues, in a few round trips.

Load the batch's events (carried, or named and read back in one query), resolve
minified JavaScript frames with uploaded source maps (`workers.sourcemaps`), fingerprint
them with each project's rules, assign them to issues in one PostgreSQL transaction
(see `assign`), then write every event's assignment to ClickHouse in one insert whose
deduplication token is the batch's, so a redelivered batch is stored once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from core.storage.tables import EVENT_GROUPS, PROCESSED_EVENTS
from core.wire import EventBatch, QueuedEvent
from workers.assign import Assignment, assign_groups
from workers.batch_input import Grouped, HashKey, batch_events, fingerprint_batch
from workers.context import WorkerContext


@dataclass
class BatchOutcome:
    events: int = 0
    assignment: Assignment = field(default_factory=Assignment)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # received -> grouped, per event, for the processing-lag metric.
    lags_s: list[float] = field(default_factory=list)
    frames_resolved: int = 0
    frames_unresolved: int = 0


EVENT_GROUPS_SCHEMA = EVENT_GROUPS.arrow_schema()
PROCESSED_EVENTS_SCHEMA = PROCESSED_EVENTS.arrow_schema()


def write_processed(ctx: WorkerContext, batch_id: str, events: list[QueuedEvent]) -> None:
    """The events processing changed (resolved source maps), as processed, in one insert."""
    if not events:
        return
    now_ms = int(time.time() * 1000)
    table = pa.Table.from_pydict(
        {
            "project_id": [e.project_id for e in events],
            "timestamp": [int(e.timestamp * 1000) for e in events],
            "event_id": [bytes.fromhex(e.event_id) for e in events],
            "processed_at": [now_ms] * len(events),
            "payload": [e.payload.decode() for e in events],
        },
        schema=PROCESSED_EVENTS_SCHEMA,
    )
    ctx.clickhouse().insert_arrow(
        "processed_events", table, settings={"insert_deduplication_token": f"processed-{batch_id}"}
    )


def write_assignments(
    ctx: WorkerContext, batch_id: str, grouped: list[Grouped], groups: dict[HashKey, int]
) -> None:
    now_ms = int(time.time() * 1000)
    # Column by column: Arrow takes lists far faster than rows; event ids are 32 hex
    # digits by now (the relay normalized them), so bytes.fromhex is the UUID's bytes.
    rows: dict[str, list[Any]] = {
        "project_id": [g.key[0] for g in grouped],
        "timestamp": [int(g.event.timestamp * 1000) for g in grouped],
        "event_id": [bytes.fromhex(g.event.event_id) for g in grouped],
        "group_id": [groups[g.key] for g in grouped],
        "primary_hash": [g.key[2] for g in grouped],
        "grouping_version": [g.key[1] for g in grouped],
        "level": [g.level for g in grouped],
        "environment": [g.environment for g in grouped],
        "release": [g.release for g in grouped],
        "user_key": [g.user_key for g in grouped],
        "sample_weight": [_weight(g.event.sample_rate) for g in grouped],
        "processed_at": [now_ms] * len(grouped),
    }
    table = pa.Table.from_pydict(rows, schema=EVENT_GROUPS_SCHEMA)
    ctx.clickhouse().insert_arrow(
        "event_groups", table, settings={"insert_deduplication_token": f"groups-{batch_id}"}
    )


def _weight(sample_rate: float) -> float:
    return 1.0 / sample_rate if sample_rate > 0 else 1.0


def process_event_batch(ctx: WorkerContext, batch: EventBatch) -> BatchOutcome:
    timer = time.perf_counter()
    events = batch_events(ctx, batch)
    outcome = BatchOutcome(events=len(events))
    if not events:
        return outcome
    outcome.stage_seconds["load"] = time.perf_counter() - timer
    timer = time.perf_counter()
    resolved = ctx.sourcemaps().resolve(events)
    events = resolved.events
    outcome.frames_resolved = resolved.frames_resolved
    outcome.frames_unresolved = resolved.frames_unresolved
    outcome.stage_seconds["sourcemaps"] = time.perf_counter() - timer
    timer = time.perf_counter()
    # The processed payloads before the assignment commits in PostgreSQL: once an issue
    # shows an event, what it grouped is readable (a retry rewrites them under one token).
    write_processed(ctx, batch.batch_id, resolved.changed)
    clickhouse_s = time.perf_counter() - timer
    timer = time.perf_counter()
    grouped = fingerprint_batch(ctx, events)
    outcome.stage_seconds["fingerprint"] = time.perf_counter() - timer
    timer = time.perf_counter()
    outcome.assignment = assign_groups(ctx, grouped)
    outcome.stage_seconds["postgres"] = time.perf_counter() - timer
    timer = time.perf_counter()
    write_assignments(ctx, batch.batch_id, grouped, outcome.assignment.groups)
    outcome.stage_seconds["clickhouse"] = clickhouse_s + time.perf_counter() - timer
    now = time.time()
    outcome.lags_s = [now - e.received_at for e in events]
    return outcome
