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

from core.pg import notifications, stats
from core.pg.issues import reads
from core.pg.issues.lifecycle import age_substatuses, delete_older_than
from core.storage.retention import EVENTS_RETENTION_S
from workers.context import WorkerContext

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
        new_issues = reads.new_issues_by_day(conn, days)
        keys = sorted(set(errors) | set(performance) | set(new_issues))
        for project_id, day in keys:
            count, unique = errors.get((project_id, day), (0, 0))
            stats.save_day(
                conn,
                project_id,
                day,
                error_count=count,
                unique_errors=unique,
                new_issues=new_issues.get((project_id, day), 0),
                performance=performance.get((project_id, day), {}),
            )
    return len(keys)


def clean_up_retention(ctx: WorkerContext, *, now: datetime | None = None) -> dict[str, int]:
    """Delete PostgreSQL rows older than the ClickHouse events they describe."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=EVENTS_RETENTION_S)
    with ctx.stack.pool.connection() as conn:
        deleted = {"notifications": notifications.delete_older_than(conn, cutoff)}
        deleted |= delete_older_than(conn, cutoff)
        stats.delete_before(conn, (cutoff - timedelta(days=1)).date())
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
