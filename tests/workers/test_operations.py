"""Operations checks raise alerts past the plan's thresholds; the scheduler fires once per tick."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyarrow as pa

from core.pg import projects
from core.project_config import set_path
from core.queue import enqueue
from stackwise.serve import stack_broker
from tests.workers.factories import batch_of, error_event
from workers import operations
from workers.process_events import process_event_batch
from workers.scheduler import _send_once


def write_outcomes(ctx, project_id: int, accepted: int, invalid: int) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    table = pa.table(
        {
            "project_id": pa.array([project_id, project_id], pa.uint64()),
            "hour": pa.array([hour, hour], pa.timestamp("s", tz="UTC")),
            "outcome": ["accepted", "invalid"],
            "reason": ["", "invalid_json"],
            "category": ["error", "error"],
            "source": ["relay", "relay"],
            "quantity": pa.array([accepted, invalid], pa.uint64()),
        }
    )
    ctx.clickhouse().insert_arrow("outcomes", table)


def test_ingestion_failures_over_one_percent_raise_an_operations_alert(ctx, project_id):
    broker = stack_broker(ctx.stack)
    write_outcomes(ctx, project_id, accepted=990, invalid=5)
    checks, ids = operations.run_checks(ctx, broker)
    by_name = {c.name: c for c in checks}
    assert not by_name["ingestion_failure_rate"].breached
    assert ids == []
    write_outcomes(ctx, project_id, accepted=0, invalid=20)
    checks, ids = operations.run_checks(ctx, broker)
    assert {c.name for c in checks if c.breached} == {"ingestion_failure_rate"}
    assert len(ids) == 1
    _, again = operations.run_checks(ctx, broker)
    assert again == [], "one alert per check per hour"


def test_a_deep_queue_is_an_alert(ctx):
    broker = stack_broker(ctx.stack)
    for _ in range(operations.QUEUE_DEPTH_LIMIT + 1):
        enqueue(broker, "deep", "nothing", b"")
    check = operations.check_queue(broker, "deep")
    assert check.breached and check.value == operations.QUEUE_DEPTH_LIMIT + 1


def test_issues_over_their_hourly_threshold_are_notified_once(ctx, project_id):
    project = projects.get_project(ctx.stack.pool, "shop")
    projects.save_config(
        ctx.stack.pool,
        "shop",
        set_path(project.config, "notifications.threshold_events_per_hour", 3),
    )
    process_event_batch(ctx, batch_of([error_event() for _ in range(3)], project_id))
    assert operations.threshold_notices(ctx) == []
    process_event_batch(ctx, batch_of([error_event()], project_id))
    [notice] = operations.threshold_notices(ctx)
    assert notice.kind == "threshold" and notice.text.startswith("Issue over its alert threshold")


def test_the_dashboard_probe_and_storage_checks_measure_something_real(ctx):
    query = operations.check_query_time(ctx)
    storage = operations.check_storage(ctx)
    assert 0 < query.value < 5
    assert 0 < storage.value < 1


def test_two_schedulers_send_a_tick_once(ctx):
    sent: list[float] = []

    class Recorder:
        def send(self) -> None:
            sent.append(time.time())

    for _ in range(2):
        _send_once(ctx.stack.redis, ctx.settings.redis_namespace, Recorder(), "aggregate_metrics")
    assert len(sent) == 1


def test_an_acknowledged_event_missing_from_storage_raises_a_ledger_alert(ctx, project_id):
    broker = stack_broker(ctx.stack)
    assert operations.check_ledger(ctx).value == 0
    # The relay's account of a segment flushed ten minutes ago, whose event is nowhere.
    ctx.clickhouse().command(
        "INSERT INTO ingest_ledger VALUES ("
        f"{project_id}, toStartOfHour(now()), 'error', 'segment-1', 1, "
        "[generateUUIDv4()], now64(3) - INTERVAL 10 MINUTE)"
    )
    check = operations.check_ledger(ctx)
    assert check.breached and check.value == 1
    assert "1 missing" in check.detail
    checks, ids = operations.run_checks(ctx, broker)
    assert "ledger_differences" in {c.name for c in checks if c.breached}
    assert len(ids) == 1
    with ctx.stack.pool.connection() as conn:
        (text,) = (
            conn.execute("SELECT payload->>'text' AS t FROM notifications").fetchone().values()
        )
    assert "ledger_differences" in text and "1 missing" in text
