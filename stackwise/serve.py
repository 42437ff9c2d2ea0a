"""Run modes: everything in one process (`serve`), or the relay and workers apart.

The embedded ClickHouse (chdb) admits one process per data folder, so on the
embedded default the relay, the Dramatiq worker threads and the scheduler share
one process. With server URLs set, `relay` and `worker` scale out separately.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from core.errors import CoreError
from core.pg.projects import DEMO_PROJECT_SLUG, dsn, ensure_project
from core.queue import connect_broker
from core.runtime import Stack, exit_cleanly_on_sigterm, open_stack
from core.settings import Settings

log = logging.getLogger(__name__)


class RunModeError(CoreError):
    """The requested run mode cannot work with these settings."""


def stack_broker(stack: Stack) -> RedisBroker:
    settings = stack.settings
    return connect_broker(
        stack.redis_url,
        namespace=settings.redis_namespace,
        heartbeat_timeout_s=settings.queue_heartbeat_timeout_s,
        maintenance_chance=settings.queue_maintenance_chance,
    )


def demo_dsn_line(stack: Stack) -> str:
    project, key = ensure_project(stack.pool, DEMO_PROJECT_SLUG)
    return f"demo project DSN: {dsn(stack.settings.dsn_host, key.public_key, project.id)}"


@contextmanager
def running_workers(
    stack: Stack, broker: RedisBroker, *, schedule: bool = True
) -> Iterator[dramatiq.Worker | None]:
    """Dramatiq worker threads (and the scheduler) in this process, for the block."""
    from workers.actors import declare_actors
    from workers.context import WorkerContext
    from workers.scheduler import start_scheduler

    if stack.settings.worker_threads == 0:
        # Relay only: batches wait in the queue for workers started elsewhere or later.
        yield None
        return
    actors = declare_actors(broker, WorkerContext(stack))
    worker = dramatiq.Worker(broker, worker_threads=stack.settings.worker_threads)
    worker.start()
    scheduler = (
        start_scheduler(actors, stack.redis, stack.settings.redis_namespace) if schedule else None
    )
    try:
        yield worker
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        worker.stop(timeout=30_000)


def _worker_metrics() -> bytes:
    from prometheus_client import generate_latest

    from workers.metrics import REGISTRY

    return generate_latest(REGISTRY)


def _run_relay_http(
    stack: Stack, broker: RedisBroker, *, with_workers: bool, listening_line: str = ""
) -> None:
    """Serve the relay until stopped; `listening_line` is printed once it accepts
    connections, so a script that reads it may send at once."""
    from relay.service import RelayService

    extra = [_worker_metrics] if with_workers else []
    relay = RelayService(stack, broker, app_name="stackwise", extra_metrics=extra)
    relay.start()
    if listening_line:

        async def announce(_app: object) -> None:
            print(listening_line, flush=True)

        relay.app.register_listener(announce, "after_server_start")
    # What startup built lives as long as the process: keep it out of every later full
    # collection (the request path allocates enough to trigger them often).
    gc.freeze()
    try:
        relay.app.run(
            host=stack.settings.host,
            port=stack.settings.port,
            single_process=True,
            access_log=False,
            motd=False,
        )
    finally:
        relay.stop()


@contextmanager
def clickhouse_over_http(settings: Settings) -> Iterator[None]:
    """On the embedded default, share the engine over HTTP while this process holds it."""
    if not (settings.embedded_clickhouse and settings.clickhouse_http_port):
        yield
        return
    from core.storage import chdb_http

    path = settings.clickhouse_dsn.removeprefix("chdb://")
    try:
        server = chdb_http.serve_in_background(path, settings.host, settings.clickhouse_http_port)
    except OSError as e:
        log.warning(
            "ClickHouse over HTTP not offered on port %s: %s", settings.clickhouse_http_port, e
        )
        yield
        return
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def serve(settings: Settings) -> None:
    """Relay + workers in this process, until SIGINT or SIGTERM."""
    exit_cleanly_on_sigterm()
    stack = open_stack(settings)
    try:
        broker = stack_broker(stack)
        line = demo_dsn_line(stack)
        with clickhouse_over_http(settings), running_workers(stack, broker) as worker:
            _run_relay_http(stack, broker, with_workers=worker is not None, listening_line=line)
    finally:
        stack.close()


def _require_servers(settings: Settings, mode: str) -> None:
    if settings.embedded_clickhouse:
        raise RunModeError(
            f"`{mode}` runs apart from the other processes, which the embedded ClickHouse does "
            "not allow: set STACKWISE_CLICKHOUSE_URL (and the PostgreSQL and Redis URLs), or "
            "run everything in one process with `just serve`"
        )


def relay(settings: Settings) -> None:
    _require_servers(settings, "relay")
    exit_cleanly_on_sigterm()
    stack = open_stack(settings)
    try:
        _run_relay_http(stack, stack_broker(stack), with_workers=False)
    finally:
        stack.close()


def worker(settings: Settings) -> None:
    _require_servers(settings, "worker")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = open_stack(settings)
    try:
        if settings.worker_metrics_port:
            from prometheus_client import start_http_server

            from workers.metrics import REGISTRY

            start_http_server(settings.worker_metrics_port, registry=REGISTRY)
        with running_workers(stack, stack_broker(stack)):
            print("worker running; Ctrl-C to stop", flush=True)
            stop.wait()
    finally:
        stack.close()
