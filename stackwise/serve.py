"""Run modes: `serve` (everything on this machine), or the relay and workers apart.

`serve --processes 1` is one process: relay, Dramatiq worker threads and scheduler.
With more, this process is the storage owner: the embedded ClickHouse (chdb admits one
process per data folder) is served over ClickHouse's HTTP protocol on a local port, the
embedded PostgreSQL and Redis are its children, and the worker threads and scheduler
run here; N relay processes share the public port (SO_REUSEPORT), each with its own
spool, and only answer and append: this process flushes every relay's sealed segments
(processing, the ClickHouse insert with the segment's deduplication token, the workers'
batch), so no relay's event loop waits on a flusher in its own process. With server
URLs set, `relay --processes N` and `worker --processes N --threads M` scale out
separately, on any machine (each relay then flushes its own spool).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
import msgspec
from dramatiq.brokers.redis import RedisBroker

from core.errors import CoreError
from core.pg.projects import DEMO_PROJECT_SLUG, dsn, ensure_project
from core.priority import yield_cpu
from core.queue import connect_broker
from core.runtime import Stack, exit_cleanly_on_sigterm, open_stack
from core.settings import Settings, environment_for, spool_dir_of
from stackwise.supervisor import Child, Supervisor

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


def demo_dsn(stack: Stack) -> str:
    project, key = ensure_project(stack.pool, DEMO_PROJECT_SLUG)
    return dsn(stack.settings.dsn_host, key.public_key, project.id)


def demo_dsn_line(stack: Stack) -> str:
    return f"demo project DSN: {demo_dsn(stack)}"


class _YieldCpu(dramatiq.Middleware):
    """Worker and consumer threads lower their priority as they start (`yield_cpu`)."""

    def __init__(self, increment: int) -> None:
        self.increment = increment

    def after_worker_thread_boot(self, broker: dramatiq.Broker, thread: object) -> None:
        yield_cpu(self.increment)

    def after_consumer_thread_boot(self, broker: dramatiq.Broker, thread: object) -> None:
        yield_cpu(self.increment)


@contextmanager
def running_workers(
    stack: Stack, broker: RedisBroker, *, schedule: bool = True, nice: int = 0
) -> Iterator[dramatiq.Worker | None]:
    """Dramatiq worker threads (and the scheduler) in this process, for the block; with
    `nice`, the threads yield the CPU by that much (`Settings.storage_nice`)."""
    from workers.actors import declare_actors
    from workers.context import WorkerContext
    from workers.scheduler import start_scheduler

    if stack.settings.worker_threads == 0:
        # Relay only: batches wait in the queue for workers started elsewhere or later.
        yield None
        return
    actors = declare_actors(broker, WorkerContext(stack))
    if nice:
        broker.add_middleware(_YieldCpu(nice))
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


def _shared_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket other relay processes bind as well: the kernel spreads the
    connections over them (SO_REUSEPORT), and one dying leaves the others serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def say(line: str) -> None:
    """Print a line others read (the DSN, the address) in one write: with
    PYTHONUNBUFFERED, print writes the text and its newline apart, and a relay's log line
    relayed from another thread could land between them, inside the DSN a script parses."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _say_ready(ready_fd: int) -> None:
    with contextlib.suppress(OSError):  # the supervisor may be gone or not listening
        os.write(ready_fd, b"1")
    with contextlib.suppress(OSError):
        os.close(ready_fd)


def _run_relay_http(
    stack: Stack,
    broker: RedisBroker,
    *,
    with_workers: bool,
    listening_line: str = "",
    ready_fd: int | None = None,
) -> None:
    """Serve the relay until stopped; `listening_line` is printed once it accepts
    connections, so a script that reads it may send at once. With `ready_fd`, it is one
    of several processes on the port and tells its supervisor there instead."""
    from relay.front import RelayProtocol
    from relay.service import RelayService

    extra = [_worker_metrics] if with_workers else []
    relay = RelayService(stack, broker, app_name="stackwise", extra_metrics=extra)
    settings = stack.settings
    sock = None if ready_fd is None else _shared_port_socket(settings.host, settings.port)
    if ready_fd is not None:

        @relay.app.after_server_start
        async def tell_supervisor(app) -> None:
            _say_ready(ready_fd)

    relay.start()
    if listening_line:

        async def announce(_app: object) -> None:
            say(listening_line)

        relay.app.register_listener(announce, "after_server_start")
    # What startup built lives as long as the process: keep it out of every later full
    # collection (the request path allocates enough to trigger them often).
    gc.freeze()
    try:
        listen = {"sock": sock} if sock else {"host": settings.host, "port": settings.port}
        relay.app.run(
            **listen, single_process=True, access_log=False, motd=False, protocol=RelayProtocol
        )
    finally:
        relay.stop()
        if sock is not None:
            sock.close()


def drain_orphan_spools(stack: Stack, broker: RedisBroker, *, relays: int) -> None:
    """Store what spools of relays beyond `relays` still hold (the deployment had more
    processes before): no acknowledged event waits for a process that will not start."""
    from relay.service import RelayService

    for folder in sorted((stack.settings.data_dir / "spool").glob("relay-*")):
        number = folder.name.removeprefix("relay-")
        if not number.isdigit() or int(number) < relays or not any(folder.glob("seg-*")):
            continue
        index = int(number)
        assert folder == spool_dir_of(stack.settings.data_dir, index)
        log.info("storing what relay %d left in %s", index, folder)
        settings = msgspec.structs.replace(stack.settings, relay_index=index)
        orphan = RelayService(dataclasses.replace(stack, settings=settings), broker)
        orphan.start()
        orphan.stop()


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


def serve(settings: Settings, *, processes: int | None = None) -> None:
    """Relay and workers on this machine, until SIGINT or SIGTERM."""
    processes = processes or settings.relay_process_count
    if processes <= 1:
        _serve_in_one_process(settings)
    else:
        _serve_with_relay_processes(settings, processes)


def _serve_in_one_process(settings: Settings) -> None:
    exit_cleanly_on_sigterm()
    stack = open_stack(settings)
    try:
        broker = stack_broker(stack)
        drain_orphan_spools(stack, broker, relays=1)
        line = demo_dsn_line(stack)
        with clickhouse_over_http(settings), running_workers(stack, broker) as worker:
            _run_relay_http(stack, broker, with_workers=worker is not None, listening_line=line)
    finally:
        stack.close()


@contextmanager
def clickhouse_for_relays(settings: Settings) -> Iterator[str]:
    """The ClickHouse URL relay processes insert through: on the embedded default, this
    process serves the engine it owns on a local port (the configured one, else any)."""
    if not settings.embedded_clickhouse:
        yield settings.clickhouse_url
        return
    from core.storage import chdb_http

    path = settings.clickhouse_dsn.removeprefix("chdb://")
    host = "127.0.0.1"
    try:
        server = chdb_http.serve_in_background(path, host, settings.clickhouse_http_port)
    except OSError as e:
        log.warning(
            "port %s taken (%s): ClickHouse served on another", settings.clickhouse_http_port, e
        )
        server = chdb_http.serve_in_background(path, host, 0)
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def relay_children(settings: Settings, processes: int) -> list[Child]:
    """`processes` relay processes on the settings' port, each `relay --index I`."""
    env = environment_for(msgspec.structs.replace(settings, relay_processes=1, worker_threads=0))
    command = [sys.executable, "-m", "stackwise", "relay"]
    return [
        Child(name=f"relay-{index}", argv=[*command, "--index", str(index)], env=env)
        for index in range(processes)
    ]


def supervise(supervisor: Supervisor, on_ready: Callable[[], None]) -> None:
    """Start the children, say so, keep them running until SIGINT or SIGTERM, stop them.

    A stop signal is a clean stop (exit code 0, as the single process's Sanic gives)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        supervisor.start()
        if not stop.is_set():
            on_ready()
        while not stop.wait(0.2):
            supervisor.watch_once()
    finally:
        # The relays still store what they acknowledged through this process: a second
        # Ctrl-C must not cut that short.
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            supervisor.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def warm_arrow() -> None:
    """Import what the first ClickHouse insert of a process imports (pyarrow's pandas side:
    seconds on a busy machine) now, not under the first batch or in a graceful stop."""
    import pyarrow

    pyarrow.table({"warm": [1]}).to_pandas()


def _serve_with_relay_processes(settings: Settings, processes: int) -> None:
    exit_cleanly_on_sigterm()
    stack = open_stack(settings)
    try:
        broker = stack_broker(stack)
        # The relays' segments and the workers' assignments are inserted here.
        warm_arrow()
        drain_orphan_spools(stack, broker, relays=processes)
        found_line = demo_dsn_line(stack)
        with (
            clickhouse_for_relays(settings) as clickhouse_url,
            running_workers(stack, broker, nice=settings.storage_nice),
            flushing_relay_spools(stack, broker, processes),
        ):
            if settings.worker_metrics_port:
                _serve_worker_metrics(settings.worker_metrics_port)
            relays = msgspec.structs.replace(
                settings,
                clickhouse_url=clickhouse_url,
                postgres_url=stack.postgres_url,
                redis_url=stack.redis_url,
                relay_flushes=False,
            )

            def ready() -> None:
                say(f"{processes} relay processes on http://{settings.host}:{settings.port}")
                say(found_line)

            supervise(Supervisor(relay_children(relays, processes)), ready)
    finally:
        stack.close()


@contextmanager
def flushing_relay_spools(stack: Stack, broker: RedisBroker, relays: int) -> Iterator[None]:
    """This process stores what the relay processes spool, until they have stopped."""
    from relay.service import RelaySpoolFlushers
    from workers.metrics import REGISTRY

    # Their metrics (rows stored, items accepted...) are served with the workers'.
    flushers = RelaySpoolFlushers(stack, broker, relays, REGISTRY)
    flushers.start()
    try:
        yield
    finally:
        flushers.stop()


def _serve_worker_metrics(port: int) -> None:
    from prometheus_client import start_http_server

    from workers.metrics import REGISTRY

    start_http_server(port, registry=REGISTRY)


def _require_servers(settings: Settings, mode: str) -> None:
    if settings.embedded_clickhouse:
        raise RunModeError(
            f"`{mode}` runs apart from the other processes, which the embedded ClickHouse does "
            "not allow: set STACKWISE_CLICKHOUSE_URL (and the PostgreSQL and Redis URLs), or "
            "run everything in one process with `just serve`"
        )


def relay(
    settings: Settings,
    *,
    processes: int | None = None,
    index: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """The relay alone: one process, N processes on the port, or process `index` of them."""
    _require_servers(settings, "relay")
    exit_cleanly_on_sigterm()
    if index is not None:
        settings = msgspec.structs.replace(settings, relay_index=index)
    processes = processes or settings.relay_process_count
    stack = open_stack(settings)
    try:
        broker = stack_broker(stack)
        if index is not None:
            _run_relay_http(stack, broker, with_workers=False, ready_fd=ready_fd)
            return
        drain_orphan_spools(stack, broker, relays=processes)
        if processes <= 1:
            _run_relay_http(stack, broker, with_workers=False)
            return
        address = f"http://{settings.host}:{settings.port}"
        supervise(
            Supervisor(relay_children(settings, processes)),
            lambda: say(f"{processes} relay processes on {address}"),
        )
    finally:
        stack.close()


def worker(settings: Settings, *, processes: int | None = None, threads: int | None = None) -> None:
    """The workers alone: threads in this process, or Dramatiq's worker processes."""
    _require_servers(settings, "worker")
    processes = processes or settings.worker_processes
    settings = msgspec.structs.replace(settings, worker_threads=threads or settings.worker_threads)
    if processes > 1:
        _worker_processes(settings, processes)
        return
    stop = threading.Event()
    for sig in _STOP_SIGNALS:
        signal.signal(sig, lambda *_: stop.set())
    stack = open_stack(settings)
    try:
        if settings.worker_metrics_port:
            _serve_worker_metrics(settings.worker_metrics_port)
        with running_workers(stack, stack_broker(stack)):
            say("worker running; Ctrl-C to stop")
            stop.wait()
    finally:
        stack.close()


def _worker_processes(settings: Settings, processes: int) -> None:
    """Dramatiq's command line forks the processes (see stackwise.worker_processes); this
    process applied the migrations before them, runs the one scheduler and restarts
    Dramatiq if it stops on its own (it does when one of its processes dies)."""
    from workers.actors import declare_actors
    from workers.context import WorkerContext
    from workers.scheduler import start_scheduler

    exit_cleanly_on_sigterm()
    stack = open_stack(settings)
    try:
        actors = declare_actors(stack_broker(stack), WorkerContext(stack))
        scheduler = start_scheduler(actors, stack.redis, settings.redis_namespace)
        threads = settings.worker_threads
        dramatiq_cli = Child(
            name="dramatiq",
            argv=[
                *(sys.executable, "-m", "dramatiq", "stackwise.worker_processes:boot"),
                *("--processes", str(processes), "--threads", str(threads)),
                # As long as one process's stop waits for its threads (`serve` waits 30 s).
                *("--worker-shutdown-timeout", "30000"),
            ],
            env=environment_for(settings),
            # Dramatiq stops its processes on SIGTERM; a SIGKILL would orphan them.
            death_signal=signal.SIGTERM,
            ready_line="is ready for action",
            ready_count=processes,
        )
        try:
            supervise(
                Supervisor([dramatiq_cli]),
                lambda: say(
                    f"worker running ({processes} processes x {threads} threads); Ctrl-C to stop"
                ),
            )
        finally:
            scheduler.shutdown(wait=False)
    finally:
        stack.close()
