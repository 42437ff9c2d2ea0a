"""serve / relay / worker / migrate."""

from __future__ import annotations

import argparse

from core.runtime import stack_session
from stackwise import serve as run_modes


def register(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="relay + workers on this machine (the embedded default): one process, or "
        "N relay processes around a storage owner",
    )
    _processes(serve, "relay processes sharing the port (STACKWISE_RELAY_PROCESSES)")
    serve.set_defaults(handler=_serve)
    relay = commands.add_parser("relay", help="the relay alone (needs server URLs)")
    _processes(relay, "relay processes sharing the port (STACKWISE_RELAY_PROCESSES)")
    # Set by the supervisor for each of its relay processes.
    relay.add_argument("--index", type=int, default=None, help=argparse.SUPPRESS)
    relay.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    relay.set_defaults(handler=_relay)
    worker = commands.add_parser("worker", help="the workers alone (needs server URLs)")
    _processes(worker, "Dramatiq worker processes (STACKWISE_WORKER_PROCESSES)")
    worker.add_argument(
        "--threads", type=int, default=None, help="threads per process (STACKWISE_WORKER_THREADS)"
    )
    worker.set_defaults(handler=_worker)
    migrate = commands.add_parser(
        "migrate", help="apply pending PostgreSQL and ClickHouse migrations"
    )
    migrate.set_defaults(handler=_migrate)
    clickhouse = commands.add_parser(
        "clickhouse",
        help="serve the embedded ClickHouse over HTTP, so relays and workers on this machine "
        "can run as separate processes",
    )
    clickhouse.add_argument("--port", type=int, default=8123)
    clickhouse.set_defaults(handler=_clickhouse)


def _processes(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--processes", type=_positive, default=None, help=help_text)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _serve(settings, args) -> int:
    run_modes.serve(settings, processes=args.processes)
    return 0


def _relay(settings, args) -> int:
    run_modes.relay(settings, processes=args.processes, index=args.index, ready_fd=args.ready_fd)
    return 0


def _worker(settings, args) -> int:
    run_modes.worker(settings, processes=args.processes, threads=args.threads)
    return 0


def _migrate(settings, args) -> int:
    # Opening the stack applies whatever is pending, on both databases.
    with stack_session(settings):
        print("migrations applied")
    return 0


def _clickhouse(settings, args) -> int:
    from core.runtime import exit_cleanly_on_sigterm, lock_data_folder
    from core.storage import chdb_http

    exit_cleanly_on_sigterm()
    lock = lock_data_folder(settings.data_dir)
    try:
        path = settings.data_dir / "clickhouse"
        print(f"ClickHouse (embedded) on http://{settings.host}:{args.port}", flush=True)
        chdb_http.serve(str(path), settings.host, args.port)
    finally:
        lock.close()
    return 0
