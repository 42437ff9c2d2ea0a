"""Faults in the workers' world: a worker killed mid-batch, PostgreSQL restarted mid-run.
Once messages are retried, every event is grouped exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import msgspec
import pytest

from core.pg.projects import create_project
from core.queue import PROCESS_EVENTS, enqueue
from core.runtime import open_stack
from core.storage.embedded import EmbeddedPostgres
from core.wire import encode_batch
from stackwise.serve import running_workers, stack_broker
from tests.support.clickhouse_server import ClickHouseServer, wait_until
from tests.support.relay_thread import free_port
from tests.workers.factories import batch_of, error_event

BATCHES = 30
PER_BATCH = 60


def enqueue_batches(stack, broker, project_id: int) -> int:
    for index in range(BATCHES):
        events = [
            error_event(exception_type=f"Error{index % 5}", value=f"failure {i}", user=f"u-{i}")
            for i in range(PER_BATCH)
        ]
        enqueue(
            broker,
            stack.settings.queue_name,
            PROCESS_EVENTS,
            encode_batch(batch_of(events, project_id)),
        )
    return BATCHES * PER_BATCH


def counts(stack, project_id: int) -> tuple[int, int]:
    with stack.pool.connection() as conn:
        occurrences = conn.execute(
            "SELECT count(*) AS n FROM error_occurrences WHERE project_id = %s", (project_id,)
        ).fetchone()["n"]
        seen = conn.execute(
            "SELECT coalesce(sum(times_seen), 0) AS n FROM error_groups WHERE project_id = %s",
            (project_id,),
        ).fetchone()["n"]
    return occurrences, seen


def assigned(stack, project_id: int) -> tuple[int, int]:
    return (
        stack.clickhouse()
        .query(
            "SELECT count(), uniqExact(event_id) FROM event_groups FINAL "
            "WHERE project_id = {p:UInt64}",
            parameters={"p": project_id},
        )
        .result_rows[0]
    )


def with_settings(settings, **changes):
    values = {f: getattr(settings, f) for f in settings.__struct_fields__}
    return settings.__class__(**{**values, **changes})


def worker_process(settings) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
    env.update(
        {
            "STACKWISE_DATA_DIR": str(settings.data_dir),
            "STACKWISE_CLICKHOUSE_URL": settings.clickhouse_url,
            "STACKWISE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
            "STACKWISE_POSTGRES_URL": settings.postgres_url,
            "STACKWISE_REDIS_URL": settings.redis_url,
            "STACKWISE_REDIS_NAMESPACE": settings.redis_namespace,
            "STACKWISE_QUEUE_NAME": settings.queue_name,
            "STACKWISE_QUEUE_HEARTBEAT_TIMEOUT_S": "2",
            "STACKWISE_QUEUE_MAINTENANCE_CHANCE": "1000000",
            "STACKWISE_LOG_LEVEL": "WARNING",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "stackwise", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_batch_loses_nothing_once_retried(settings, tmp_path):
    clickhouse = ClickHouseServer(tmp_path / "ch", free_port())
    clickhouse.start()
    settings = with_settings(
        settings,
        clickhouse_url=clickhouse.url,
        clickhouse_database="stackwise",
        queue_heartbeat_timeout_s=2.0,
        queue_maintenance_chance=1_000_000,
    )
    stack = open_stack(settings, own_clickhouse=True)
    worker = None
    try:
        project, _ = create_project(stack.pool, "faults")
        total = enqueue_batches(stack, stack_broker(stack), project.id)
        worker = worker_process(settings)
        wait_until(lambda: counts(stack, project.id)[0] >= 2 * PER_BATCH, 120, "no progress")
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        assert counts(stack, project.id)[0] < total, "killed before the end"
        worker = worker_process(settings)
        wait_until(lambda: counts(stack, project.id) == (total, total), 180, "not all grouped")
        wait_until(lambda: assigned(stack, project.id) == (total, total), 60, "assignments missing")
        assert counts(stack, project.id) == (total, total)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        stack.close()
        clickhouse.stop()


@pytest.mark.embedded
def test_postgres_restarted_mid_run_ends_with_every_event_grouped_once(settings, tmp_path):
    postgres = EmbeddedPostgres(tmp_path / "pg")
    url = postgres.start()
    settings = with_settings(settings, postgres_url=url)
    stack = open_stack(settings, own_clickhouse=True)
    try:
        project, _ = create_project(stack.pool, "faults")
        broker = stack_broker(stack)
        with running_workers(stack, broker, schedule=False):
            total = enqueue_batches(stack, broker, project.id)
            wait_until(lambda: counts(stack, project.id)[0] >= PER_BATCH, 60, "no progress")
            postgres.stop()
            time.sleep(2)
            postgres.start()
            wait_until(
                lambda: counts(stack, project.id) == (total, total),
                180,
                "not all grouped after the restart",
            )
        assert assigned(stack, project.id) == (total, total)
    finally:
        stack.close()
        postgres.stop()


def test_a_batch_that_does_not_decode_is_dead_lettered_at_once_not_retried(stack):
    """Retrying cannot fix a corrupt batch: the actor throws it (CorruptMessage), so it
    goes to the dead-letter queue on the first attempt instead of twenty backoffs later,
    and the batch behind it is grouped."""
    project, _ = create_project(stack.pool, "corrupt")
    broker = stack_broker(stack)
    queue = stack.settings.queue_name
    dead = f"{stack.settings.redis_namespace}:{queue}.XQ"
    with running_workers(stack, broker, schedule=False):
        enqueue(broker, queue, PROCESS_EVENTS, b"not a batch")
        enqueue(broker, queue, PROCESS_EVENTS, encode_batch(batch_of([error_event()], project.id)))
        wait_until(lambda: broker.client.zcard(dead) == 1, 20, "not dead-lettered")
        wait_until(lambda: counts(stack, project.id)[0] == 1, 20, "next batch not grouped")
    (message,) = broker.client.hvals(f"{dead}.msgs")
    assert msgspec.msgpack.decode(message)["options"].get("retries", 0) == 0
