"""Hourly rollups (materialized view) and the daily project stats match the raw events."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec

from relay.write import TransactionRows
from tests.workers.factories import batch_of, error_event
from workers.process_events import process_event_batch
from workers.rollups import aggregate_metrics, clean_up_retention

TYPES = ["PaymentError", "KeyError", "TimeoutError"]


def seeded_events(now: datetime) -> list[dict]:
    rng = random.Random(5)
    events = []
    for hours_ago in range(0, 40, 3):
        when = (now - timedelta(hours=hours_ago)).timestamp()
        for index, exception_type in enumerate(TYPES):
            for _ in range(rng.randint(1, 4) + index):
                events.append(
                    error_event(
                        exception_type=exception_type, timestamp=when, user=f"u-{rng.randint(1, 5)}"
                    )
                )
    return events


def test_hourly_rollups_and_daily_stats_match_the_events(ctx, project_id):
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    events = seeded_events(now)
    for start in range(0, len(events), 25):
        process_event_batch(ctx, batch_of(events[start : start + 25], project_id))

    expected_hourly = Counter(
        (
            datetime.fromtimestamp(e["timestamp"], UTC).replace(minute=0),
            e["exception"]["values"][0]["type"],
        )
        for e in events
    )
    with ctx.stack.pool.connection() as conn:
        group_types = {
            r["id"]: r["exception_type"]
            for r in conn.execute("SELECT id, exception_type FROM error_groups")
        }
    rows = (
        ctx.clickhouse()
        .query(
            "SELECT hour, group_id, sum(events), uniqMerge(users) FROM error_metrics_hourly "
            "WHERE project_id = {p:UInt64} GROUP BY hour, group_id",
            parameters={"p": project_id},
        )
        .result_rows
    )
    actual_hourly = Counter(
        {(hour.replace(tzinfo=UTC), group_types[g]): n for hour, g, n, _ in rows}
    )
    assert actual_hourly == expected_hourly
    assert all(1 <= users <= 5 for *_, users in rows)

    stamps = [datetime.fromtimestamp(now.timestamp() - 60, UTC).timestamp()] * 3
    tx_rows = TransactionRows()
    for stamp, d, s in zip(stamps, (0.1, 0.2, 0.9), ("ok", "ok", "internal_error"), strict=True):
        tx_rows.add(
            project_id,
            uuid.uuid4().hex,
            time.time(),
            msgspec.json.encode({"contexts": {"trace": {"status": s}}}),
            timestamp=stamp,
            start_timestamp=stamp - d,
        )
    ctx.clickhouse().insert_arrow("transactions", tx_rows.table())

    aggregate_metrics(ctx, now=now)
    with ctx.stack.pool.connection() as conn:
        stats = {
            r["date"]: r
            for r in conn.execute(
                "SELECT * FROM project_stats WHERE project_id = %s", (project_id,)
            )
        }
    per_day = Counter(datetime.fromtimestamp(e["timestamp"], UTC).date() for e in events)
    for day in (now.date(), (now - timedelta(days=1)).date()):
        assert stats[day]["error_count"] == per_day[day]
        assert stats[day]["unique_errors"] == 3
    today = stats[now.date()]
    assert today["performance_metrics"]["transactions"] == 3
    assert today["performance_metrics"]["failure_rate"] == round(1 / 3, 4)
    assert abs(today["performance_metrics"]["duration_p50_ms"] - 200) < 1


def test_retention_removes_rows_older_than_a_year(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event()], project_id))
    with ctx.stack.pool.connection() as conn:
        conn.execute("UPDATE error_occurrences SET occurred_at = now() - interval '400 days'")
        conn.execute("UPDATE error_groups SET last_seen = now() - interval '400 days'")
    deleted = clean_up_retention(ctx)
    assert deleted["error_occurrences"] == 1
    assert deleted["error_groups"] == 1
