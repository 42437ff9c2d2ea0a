"""A batch's events, fingerprinted: the input to group assignment.

Events come inside the message (the relay's batches) or are named and read back
from ClickHouse with one query per entry (bulk loads); either way every event is
fingerprinted with its project's rules in one `group_events` call per project.
A project moving to another grouping version is fingerprinted under the old one
too, until the move's transition expires (see `assign`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.event.accessors import normalize_level, text
from core.event.promoted import decode_promoted, user_key
from core.wire import EventBatch, EventColumns, QueuedEvent, StoredEvents
from workers.context import WorkerContext
from workers.errors import StoredEventsMissing
from workers.grouping import GroupingResult, group_events

HashKey = tuple[int, str, str]  # project_id, grouping_version, hash


@dataclass(frozen=True)
class Grouped:
    event: QueuedEvent
    result: GroupingResult
    key: HashKey
    level: str
    environment: str
    release: str
    user_key: str
    # The event's hash under the project's previous grouping version, during a move.
    secondary_key: HashKey | None = None


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
        raise StoredEventsMissing(f"{missing} of {len(stored.event_ids)} stored events not found")
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
    rules = ctx.project_rules(set(by_project))
    now_s = time.time()
    grouped: list[Grouped] = []
    for project_id, project_events in by_project.items():
        payloads = [e.payload for e in project_events]
        results = group_events(payloads, rules[project_id].grouping)
        secondary = rules[project_id].secondary_grouping(now_s)
        old_keys: list[HashKey | None] = [None] * len(payloads)
        if secondary is not None:
            old_keys = [(project_id, r.version, r.hash) for r in group_events(payloads, secondary)]
        for event, result, old_key in zip(project_events, results, old_keys, strict=True):
            columns = event.columns or promoted_columns(event.payload)
            grouped.append(
                Grouped(
                    event=event,
                    result=result,
                    key=(project_id, result.version, result.hash),
                    level=columns.level,
                    environment=columns.environment,
                    release=columns.release,
                    user_key=columns.user_key,
                    secondary_key=old_key,
                )
            )
    return grouped


def promoted_columns(payload: bytes) -> EventColumns:
    """The columns a relay batch carries, read from the payload (events loaded back)."""
    fields = decode_promoted(payload)
    return EventColumns(
        level=normalize_level(fields.level),
        environment=text(fields.environment, 64),
        release=text(fields.release, 250),
        user_key=user_key(fields),
    )
