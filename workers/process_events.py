"""process_events: one relay batch -> fingerprints -> issues, in a few round trips.

Steps: fingerprint every event with its project's rules; resolve hashes to groups
(Redis cache, then one PostgreSQL query); create the missing groups; record the
occurrences and bump counters in the same transaction; write the assignments to
ClickHouse in one insert. A redelivered batch changes nothing: occurrences are
unique per event and counters move only by the rows actually inserted.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from stackwise.storage.event_rows import decode_promoted, normalize_level, user_key
from stackwise.wire import EventBatch, QueuedEvent, StoredEvents
from workers.context import WorkerContext
from workers.grouping import GroupingResult, group_events
from workers.issue_store import (
    HashKey,
    NewGroup,
    Occurrence,
    bump_group_counters,
    create_groups,
    lookup_hashes,
    record_occurrences,
)

log = logging.getLogger(__name__)

_CACHE_TTL_S = 3600


@dataclass
class BatchOutcome:
    events: int = 0
    new_occurrences: int = 0
    new_group_ids: list[int] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Grouped:
    event: QueuedEvent
    result: GroupingResult
    key: HashKey
    level: str
    environment: str
    release: str
    user_key: str


def load_stored(ctx: WorkerContext, stored: StoredEvents) -> list[QueuedEvent]:
    """Read named events back from ClickHouse: one query for the whole entry."""
    result = ctx.clickhouse().query(
        "SELECT replaceAll(toString(event_id), '-', ''), toFloat64(timestamp), "
        "toFloat64(received_at), sample_rate, payload FROM events "
        "WHERE project_id = {project:UInt64} "
        "AND timestamp BETWEEN toDateTime64({start:Float64}, 3) AND toDateTime64({end:Float64}, 3) "
        "AND event_id IN {ids:Array(UUID)}",
        parameters={
            "project": stored.project_id,
            "start": stored.start,
            "end": stored.end,
            "ids": stored.event_ids,
        },
    )
    found = {
        row[0]: QueuedEvent(
            project_id=stored.project_id,
            event_id=row[0],
            timestamp=row[1],
            received_at=row[2],
            sample_rate=row[3],
            payload=row[4].encode() if isinstance(row[4], str) else row[4],
        )
        for row in result.result_rows
    }
    missing = len(set(stored.event_ids)) - len(found)
    if missing:
        # Not yet visible (or never written): fail so the message is retried later.
        raise LookupError(f"{missing} of {len(stored.event_ids)} stored events not found")
    return list(found.values())


def batch_events(ctx: WorkerContext, batch: EventBatch) -> list[QueuedEvent]:
    events = list(batch.events)
    for stored in batch.stored:
        events.extend(load_stored(ctx, stored))
    return events


def fingerprint_batch(ctx: WorkerContext, events: list[QueuedEvent]) -> list[Grouped]:
    by_project: dict[int, list[QueuedEvent]] = {}
    for event in events:
        by_project.setdefault(event.project_id, []).append(event)
    configs = ctx.grouping_configs(set(by_project))
    grouped: list[Grouped] = []
    for project_id, project_events in by_project.items():
        config = configs[project_id]
        results = group_events([e.payload for e in project_events], config)
        for event, result in zip(project_events, results, strict=True):
            fields = decode_promoted(event.payload)
            grouped.append(
                Grouped(
                    event=event,
                    result=result,
                    key=(project_id, result.version, result.hash),
                    level=normalize_level(fields.level),
                    environment=str(fields.environment or "")[:64],
                    release=str(fields.release or "")[:250],
                    user_key=user_key(fields),
                )
            )
    return grouped


def _cache_key(namespace: str, key: HashKey) -> str:
    return f"{namespace}:grouphash:{key[0]}:{key[1]}:{key[2]}"


def _cached_groups(ctx: WorkerContext, keys: list[HashKey]) -> dict[HashKey, int]:
    if not keys:
        return {}
    namespace = ctx.settings.redis_namespace
    values = ctx.stack.redis.mget([_cache_key(namespace, k) for k in keys])
    return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}


def _remember_groups(ctx: WorkerContext, found: dict[HashKey, int]) -> None:
    if not found:
        return
    pipe = ctx.stack.redis.pipeline(transaction=False)
    for key, group_id in found.items():
        pipe.set(_cache_key(ctx.settings.redis_namespace, key), group_id, ex=_CACHE_TTL_S)
    pipe.execute()


def _new_group(item: Grouped) -> NewGroup:
    result = item.result
    return NewGroup(
        project_id=item.key[0],
        grouping_version=item.key[1],
        hash=item.key[2],
        title=result.title,
        culprit=result.culprit,
        level=item.level,
        exception_type=result.exception_type,
        first_seen=item.event.timestamp,
        metadata={"variant": result.variant, "value": result.exception_value[:500]},
    )


def assign_groups(
    ctx: WorkerContext, grouped: list[Grouped], outcome: BatchOutcome
) -> dict[HashKey, int]:
    keys = list({g.key for g in grouped})
    assignment = _cached_groups(ctx, keys)
    missing = {k for k in keys if k not in assignment}
    with ctx.stack.pool.connection() as conn, conn.transaction():
        found = lookup_hashes(conn, missing)
        to_create = {g.key: _new_group(g) for g in grouped if g.key in missing - set(found)}
        created = create_groups(conn, list(to_create.values()))
        assignment |= found | created
        occurrences = [
            Occurrence(
                project_id=g.key[0],
                group_id=assignment[g.key],
                event_id=g.event.event_id,
                occurred_at=g.event.timestamp,
                received_at=g.event.received_at,
            )
            for g in grouped
        ]
        inserted = record_occurrences(conn, occurrences)
        bump_group_counters(conn, inserted)
    _remember_groups(ctx, found | created)
    outcome.new_occurrences = len(inserted)
    outcome.new_group_ids = sorted({created[k] for k in to_create if k in created})
    return assignment


EVENT_GROUPS_SCHEMA = pa.schema(
    [
        ("project_id", pa.uint64()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("event_id", pa.binary(16)),
        ("group_id", pa.uint64()),
        ("primary_hash", pa.string()),
        ("grouping_version", pa.string()),
        ("level", pa.string()),
        ("environment", pa.string()),
        ("release", pa.string()),
        ("user_key", pa.string()),
        ("sample_weight", pa.float32()),
        ("processed_at", pa.timestamp("ms", tz="UTC")),
    ]
)


def write_assignments(
    ctx: WorkerContext, batch_id: str, grouped: list[Grouped], assignment: dict[HashKey, int]
) -> None:
    now_ms = int(time.time() * 1000)
    rows: dict[str, list[Any]] = {name: [] for name in EVENT_GROUPS_SCHEMA.names}
    for g in grouped:
        rows["project_id"].append(g.key[0])
        rows["timestamp"].append(int(g.event.timestamp * 1000))
        rows["event_id"].append(uuid.UUID(hex=g.event.event_id).bytes)
        rows["group_id"].append(assignment[g.key])
        rows["primary_hash"].append(g.key[2])
        rows["grouping_version"].append(g.key[1])
        rows["level"].append(g.level)
        rows["environment"].append(g.environment)
        rows["release"].append(g.release)
        rows["user_key"].append(g.user_key)
        rows["sample_weight"].append(1.0 / g.event.sample_rate if g.event.sample_rate > 0 else 1.0)
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
    grouped = fingerprint_batch(ctx, events)
    outcome.stage_seconds["fingerprint"] = time.perf_counter() - timer
    timer = time.perf_counter()
    assignment = assign_groups(ctx, grouped, outcome)
    outcome.stage_seconds["postgres"] = time.perf_counter() - timer
    timer = time.perf_counter()
    write_assignments(ctx, batch.batch_id, grouped, assignment)
    outcome.stage_seconds["clickhouse"] = time.perf_counter() - timer
    return outcome
