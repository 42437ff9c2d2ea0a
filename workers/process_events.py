"""process_events: one relay batch -> fingerprints -> issues, in a few round trips.

Load the batch's events (carried, or named and read back in one query), resolve
minified JavaScript frames with uploaded source maps (`workers.sourcemaps`), fingerprint
them with each project's rules, assign them to issues in one PostgreSQL transaction
(see `assign`), then write every event's assignment to ClickHouse in one insert whose
deduplication token is the batch's, so a redelivered batch is stored once.
"""

from __future__ import annotations

import time
import uuid
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
            "event_id": [uuid.UUID(hex=e.event_id).bytes for e in events],
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
    rows: dict[str, list[Any]] = {name: [] for name in EVENT_GROUPS_SCHEMA.names}
    for g in grouped:
        rate = g.event.sample_rate
        rows["project_id"].append(g.key[0])
        rows["timestamp"].append(int(g.event.timestamp * 1000))
        rows["event_id"].append(uuid.UUID(hex=g.event.event_id).bytes)
        rows["group_id"].append(groups[g.key])
        rows["primary_hash"].append(g.key[2])
        rows["grouping_version"].append(g.key[1])
        rows["level"].append(g.level)
        rows["environment"].append(g.environment)
        rows["release"].append(g.release)
        rows["user_key"].append(g.user_key)
        rows["sample_weight"].append(1.0 / rate if rate > 0 else 1.0)
        rows["processed_at"].append(now_ms)
    table = pa.Table.from_pydict(rows, schema=EVENT_GROUPS_SCHEMA)
    ctx.clickhouse().insert_arrow(
        "event_groups", table, settings={"insert_deduplication_token": f"groups-{batch_id}"}
    )


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
