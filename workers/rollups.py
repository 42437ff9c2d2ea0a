"""aggregate_metrics (hourly): daily project stats from ClickHouse, retention clean-up.

The hourly ClickHouse rollups themselves are fed continuously by a materialized view
on the workers' assignments (`error_metrics_hourly`); this job turns ClickHouse into
the daily `project_stats` rows of PostgreSQL — error count, unique errors, new issues,
performance figures from transactions — for the days it is given (by default today and
yesterday, so an hour that straddles midnight is complete), and removes PostgreSQL rows
that outlived their ClickHouse events (one year).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from psycopg.types.json import Jsonb

from stackwise.storage.retention import EVENTS_RETENTION_S
from workers.context import WorkerContext
from workers.lifecycle import age_substatuses

log = logging.getLogger(__name__)


def _error_counts(ctx: WorkerContext, days: list[date]) -> dict[tuple[int, date], tuple[int, int]]:
    rows = (
        ctx.clickhouse()
        .query(
            "SELECT project_id, toDate(timestamp) AS day, count(), uniqExact(group_id) "
            "FROM event_groups FINAL WHERE toDate(timestamp) IN {days:Array(Date)} "
            "GROUP BY project_id, day",
            parameters={"days": days},
        )
        .result_rows
    )
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


def _performance(ctx: WorkerContext, days: list[date]) -> dict[tuple[int, date], dict]:
    rows = (
        ctx.clickhouse()
        .query(
            "SELECT project_id, toDate(timestamp) AS day, count(), "
            "quantile(0.5)(duration_ms), quantile(0.95)(duration_ms), "
            "countIf(status NOT IN ('ok', 'unknown', '')) / count() "
            "FROM transactions WHERE toDate(timestamp) IN {days:Array(Date)} "
            "GROUP BY project_id, day",
            parameters={"days": days},
        )
        .result_rows
    )
    return {
        (row[0], row[1]): {
            "transactions": row[2],
            "duration_p50_ms": round(row[3], 2),
            "duration_p95_ms": round(row[4], 2),
            "failure_rate": round(row[5], 4),
        }
        for row in rows
    }


def update_project_stats(ctx: WorkerContext, days: list[date]) -> int:
    """Recompute `project_stats` for these days; returns the rows written."""
    errors = _error_counts(ctx, days)
    performance = _performance(ctx, days)
    with ctx.stack.pool.connection() as conn:
        new_issues = {
            (row["project_id"], row["day"]): row["n"]
            for row in conn.execute(
                "SELECT project_id, (first_seen AT TIME ZONE 'UTC')::date AS day, count(*) AS n "
                "FROM error_groups WHERE (first_seen AT TIME ZONE 'UTC')::date = ANY(%s) "
                "AND merged_into IS NULL GROUP BY 1, 2",
                (days,),
            )
        }
        keys = sorted(set(errors) | set(performance) | set(new_issues))
        for project_id, day in keys:
            count, unique = errors.get((project_id, day), (0, 0))
            conn.execute(
                """
                INSERT INTO project_stats AS s (project_id, date, error_count, unique_errors,
                                                new_issues, performance_metrics)
                SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM projects WHERE id = %s)
                ON CONFLICT (project_id, date) DO UPDATE SET error_count = excluded.error_count,
                    unique_errors = excluded.unique_errors, new_issues = excluded.new_issues,
                    performance_metrics = excluded.performance_metrics
                """,
                (
                    project_id,
                    day,
                    count,
                    unique,
                    new_issues.get((project_id, day), 0),
                    Jsonb(performance.get((project_id, day), {})),
                    project_id,
                ),
            )
    return len(keys)


def clean_up_retention(ctx: WorkerContext, *, now: datetime | None = None) -> dict[str, int]:
    """Delete PostgreSQL rows older than the ClickHouse events they describe."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=EVENTS_RETENTION_S)
    deleted = {}
    with ctx.stack.pool.connection() as conn:
        for table, column in (
            ("error_occurrences", "occurred_at"),
            ("group_activity", "created_at"),
            ("notifications", "created_at"),
        ):
            cursor = conn.execute(f"DELETE FROM {table} WHERE {column} < %s", (cutoff,))
            deleted[table] = cursor.rowcount
        cursor = conn.execute(
            "DELETE FROM error_groups WHERE last_seen < %s AND id NOT IN "
            "(SELECT merged_into FROM error_groups WHERE merged_into IS NOT NULL)",
            (cutoff,),
        )
        deleted["error_groups"] = cursor.rowcount
        conn.execute(
            "DELETE FROM project_stats WHERE date < %s", ((cutoff - timedelta(days=1)).date(),)
        )
    return deleted


def aggregate_metrics(ctx: WorkerContext, *, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    days = [(now - timedelta(days=1)).date(), now.date()]
    written = update_project_stats(ctx, days)
    deleted = clean_up_retention(ctx, now=now)
    with ctx.stack.pool.connection() as conn:
        age_substatuses(conn)
    log.info("aggregate_metrics: %d project-days, deleted %s", written, deleted)
    return {"project_days": written, "deleted": deleted}
