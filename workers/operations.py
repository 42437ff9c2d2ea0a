"""Operations checks (every few minutes): the plan's alert thresholds and issue thresholds.

- queue depth above 1,000 messages;
- ingestion failures above 1% of what was sent in the last hour (outcomes: invalid,
  and internal failures, over everything the relay and SDKs reported);
- storage above 80% of the disk holding the data;
- a dashboard query slower than 1 s;
- the ledger not reconciling over the last two hours: an event the relay acknowledged is
  missing, stored twice or left ungrouped, or an issue miscounts its events (the same
  reconciliation as `just audit`, leaving five minutes for work in flight); ungrouped
  events are sent to the workers again;
- issues over their project's alert threshold (events per hour).
Each breach becomes a notification, at most once per check per hour.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.audit import reconcile, ungrouped_batches
from core.pg.issues import reads
from core.pg.projects import all_configs
from core.queue import PROCESS_EVENTS, enqueue, queue_depth
from core.wire import encode_batch
from workers.context import WorkerContext
from workers.notifications import Notice, add_to_outbox, hour_key, issue_notice

log = logging.getLogger(__name__)

QUEUE_DEPTH_LIMIT = 1_000
FAILURE_RATE_LIMIT = 0.01
STORAGE_LIMIT = 0.80
QUERY_SECONDS_LIMIT = 1.0
LEDGER_WINDOW = timedelta(hours=2)
LEDGER_SETTLE_S = 300.0
DEPLOYMENT = 0  # project id of deployment-wide notifications


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    detail: str = ""

    @property
    def breached(self) -> bool:
        return self.value > self.limit


def check_queue(broker, queue_name: str) -> Check:
    return Check("queue_depth", float(queue_depth(broker, queue_name)), QUEUE_DEPTH_LIMIT)


def check_failures(ctx: WorkerContext) -> Check:
    since = datetime.now(UTC) - timedelta(hours=1)
    total, failed = (
        ctx.clickhouse()
        .query(
            "SELECT sum(quantity), sumIf(quantity, outcome IN ('invalid', 'internal')) "
            "FROM outcomes WHERE hour >= toStartOfHour({since:DateTime})",
            parameters={"since": since},
        )
        .result_rows[0]
    )
    rate = (failed or 0) / total if total else 0.0
    return Check("ingestion_failure_rate", rate, FAILURE_RATE_LIMIT)


def check_storage(ctx: WorkerContext) -> Check:
    if ctx.settings.embedded_clickhouse:
        usage = shutil.disk_usage(ctx.settings.data_dir)
        share = usage.used / usage.total
    else:
        free, total = (
            ctx.clickhouse()
            .query("SELECT sum(free_space), sum(total_space) FROM system.disks")
            .result_rows[0]
        )
        share = 1 - free / total if total else 0.0
    return Check("storage_used", share, STORAGE_LIMIT)


def check_query_time(ctx: WorkerContext) -> Check:
    """Time a representative dashboard query: the top issues of the last day."""
    started = time.perf_counter()
    ctx.clickhouse().query(
        "SELECT project_id, group_id, sum(events) AS n FROM error_metrics_hourly "
        "WHERE hour >= now() - INTERVAL 1 DAY GROUP BY project_id, group_id "
        "ORDER BY n DESC LIMIT 20"
    )
    return Check("dashboard_query_seconds", time.perf_counter() - started, QUERY_SECONDS_LIMIT)


def check_ledger(ctx: WorkerContext, broker=None) -> Check:
    """Differences between the relay's ledger, the stored rows and the issues.

    Stored events that no issue took (their queue message was lost: a Redis without
    persistence restarted, say) are sent to the workers again, named: the alert says so,
    and the next check finds them grouped."""
    now = datetime.now(UTC)
    since = now - LEDGER_WINDOW
    with ctx.stack.pool.connection() as conn:
        result = reconcile(
            ctx.clickhouse(), conn, since=since, until=now, now=now, settle_s=LEDGER_SETTLE_S
        )
    detail = result.summary()
    if result.ungrouped and broker is not None:
        batches = ungrouped_batches(
            ctx.clickhouse(), since=since, until=now, now=now, settle_s=LEDGER_SETTLE_S
        )
        for batch in batches:
            enqueue(broker, ctx.settings.queue_name, PROCESS_EVENTS, encode_batch(batch))
        requeued = sum(len(b.stored[0].event_ids) for b in batches)
        log.warning("ledger: %d stored events had no issue; sent to the workers again", requeued)
        detail += f"; {requeued} ungrouped events sent to the workers again"
    differences = result.missing + result.extra + result.ungrouped
    differences += len(result.issue_differences)
    return Check("ledger_differences", float(differences), 0.0, detail)


def _operations_notice(check: Check) -> Notice:
    text = f"Operations alert: {check.name} is {check.value:.3g} (limit {check.limit:g})"
    return Notice(
        project_id=DEPLOYMENT,
        kind="operations",
        dedup_key=f"operations:{check.name}:{hour_key()}",
        text=f"{text}: {check.detail}" if check.detail else text,
        fields={"check": check.name, "value": round(check.value, 4), "limit": check.limit},
    )


def threshold_notices(ctx: WorkerContext) -> list[Notice]:
    """Issues whose events in the current hour passed their project's threshold."""
    with ctx.stack.pool.connection() as conn:
        projects = [
            (
                row["id"],
                (row["config"].get("notifications") or {}).get("threshold_events_per_hour", 0),
            )
            for row in all_configs(conn)
        ]
    limits = {project_id: limit for project_id, limit in projects if limit}
    if not limits:
        return []
    rows = (
        ctx.clickhouse()
        .query(
            "SELECT project_id, group_id, sum(events) AS n FROM error_metrics_hourly "
            "WHERE hour = toStartOfHour(now()) AND project_id IN {ids:Array(UInt64)} "
            "GROUP BY project_id, group_id",
            parameters={"ids": sorted(limits)},
        )
        .result_rows
    )
    over = [(group_id, n) for project_id, group_id, n in rows if n > limits[project_id]]
    if not over:
        return []
    with ctx.stack.pool.connection() as conn:
        groups = reads.threshold_rows(conn, [g for g, _ in over])
    return [issue_notice("threshold", group, period=hour_key()) for group in groups]


def run_checks(ctx: WorkerContext, broker) -> tuple[list[Check], list[int]]:
    """Run every check; returns them and the ids of notifications to deliver."""
    checks = [
        check_queue(broker, ctx.settings.queue_name),
        check_failures(ctx),
        check_storage(ctx),
        check_query_time(ctx),
        check_ledger(ctx, broker),
    ]
    notices = [_operations_notice(c) for c in checks if c.breached]
    notices += threshold_notices(ctx)
    with ctx.stack.pool.connection() as conn:
        ids = add_to_outbox(conn, notices)
    return checks, ids
