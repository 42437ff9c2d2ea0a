"""What the AI features know about an issue: its PostgreSQL row and a few events.

Three round trips per issue, whatever its size: one PostgreSQL query for the
group, its project's configuration and the groups merged into it; one for the ids
of its newest `SAMPLE_EVENTS` events (its occurrences, by index); one ClickHouse
query for those events by id, within the span of their timestamps (promoted
columns for all, payloads for the newest `PAYLOAD_EVENTS` only). ClickHouse
orders events by day and event id, not by issue: asking it for an issue's latest
events scanned the whole day's assignments, once per new issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.pg.issues import reads
from core.project_config import ProjectConfig, parse_config
from workers.ai.event_view import EventView, decode_view
from workers.context import WorkerContext

SAMPLE_EVENTS = 200
PAYLOAD_EVENTS = 5
# Occurrences keep microseconds, ClickHouse milliseconds: pad the span of the ids' times.
_WINDOW_PAD_S = 2.0


@dataclass(frozen=True)
class GroupRow:
    id: int
    project_id: int
    title: str
    culprit: str
    level: str
    exception_type: str
    status: str
    first_seen: datetime
    last_seen: datetime
    times_seen: int
    merged_into: int | None
    ai_summary: dict[str, Any] | None
    config: ProjectConfig
    # This group and the groups merged into it: their events are this issue's events.
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class SampleEvent:
    timestamp: float
    release: str
    environment: str
    platform: str
    tags: dict[str, str]
    exception_type: str
    exception_value: str
    message: str
    user_key: str
    view: EventView | None  # decoded payload, for the newest few only


@dataclass(frozen=True)
class GroupFacts:
    group: GroupRow
    events: list[SampleEvent]

    @property
    def views(self) -> list[EventView]:
        return [e.view for e in self.events if e.view is not None]


def load_group(ctx: WorkerContext, group_id: int) -> GroupRow | None:
    with ctx.stack.pool.connection() as conn:
        row = reads.issue_with_members(conn, group_id)
    if row is None:
        return None
    return GroupRow(
        id=row["id"],
        project_id=row["project_id"],
        title=row["title"],
        culprit=row["culprit"],
        level=row["level"],
        exception_type=row["exception_type"],
        status=row["status"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        times_seen=row["times_seen"],
        merged_into=row["merged_into"],
        ai_summary=row["ai_summary"],
        config=parse_config(row["config"]),
        member_ids=tuple(row["member_ids"]),
    )


_EVENTS_SQL = """
SELECT ts, release, environment, platform, tags, exception_type, exception_value, message,
       user_key, if(row_number() OVER (ORDER BY ts DESC) <= {payloads:UInt32}, payload, '')
FROM (
    SELECT e.event_id AS event_id, toFloat64(e.timestamp) AS ts, e.release AS release,
           e.environment AS environment, e.platform AS platform, e.tags AS tags,
           e.exception_type AS exception_type, e.exception_value AS exception_value,
           e.message AS message, e.user_key AS user_key,
           -- As the workers processed it (source maps resolved), where they changed it.
           if(p.payload != '', p.payload, e.payload) AS payload
    FROM events AS e
    LEFT ANY JOIN (
        SELECT event_id, payload FROM processed_events
        WHERE project_id = {project:UInt64}
          AND timestamp BETWEEN toDateTime64({start:Float64}, 3)
                            AND toDateTime64({end:Float64}, 3)
          AND event_id IN {ids:Array(UUID)}
    ) AS p ON p.event_id = e.event_id
    WHERE e.project_id = {project:UInt64}
      AND e.timestamp BETWEEN toDateTime64({start:Float64}, 3)
                          AND toDateTime64({end:Float64}, 3)
      AND e.event_id IN {ids:Array(UUID)}
    ORDER BY ts DESC
    LIMIT 1 BY event_id
)
ORDER BY ts DESC
"""


def load_sample_events(
    ctx: WorkerContext,
    group: GroupRow,
    *,
    sample: int = SAMPLE_EVENTS,
    payloads: int = PAYLOAD_EVENTS,
) -> list[SampleEvent]:
    """The issue's latest events, newest first: their ids from PostgreSQL, their columns
    in one ClickHouse query."""
    with ctx.stack.pool.connection() as conn:
        latest = reads.latest_occurrences(conn, list(group.member_ids), sample)
    if not latest:
        return []
    times = [ts for _, ts in latest]
    result = ctx.clickhouse().query(
        _EVENTS_SQL,
        parameters={
            "project": group.project_id,
            "ids": [event_id for event_id, _ in latest],
            "start": min(times) - _WINDOW_PAD_S,
            "end": max(times) + _WINDOW_PAD_S,
            "payloads": payloads,
        },
    )
    return [
        SampleEvent(
            timestamp=row[0],
            release=row[1],
            environment=row[2],
            platform=row[3],
            tags=dict(row[4]),
            exception_type=row[5],
            exception_value=row[6],
            message=row[7],
            user_key=row[8],
            view=decode_view(row[9]) if row[9] else None,
        )
        for row in result.result_rows
    ]


def load_facts(ctx: WorkerContext, group_id: int) -> GroupFacts | None:
    group = load_group(ctx, group_id)
    if group is None:
        return None
    return GroupFacts(group=group, events=load_sample_events(ctx, group))
