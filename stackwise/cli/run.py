"""serve / relay / worker / migrate."""

from __future__ import annotations

from core.runtime import stack_session
from stackwise import serve as run_modes


def register(commands) -> None:
    for name, handler, help_text in (
        ("serve", _serve, "relay + workers in one process (the embedded default)"),
        ("relay", _relay, "the relay alone (needs server URLs)"),
        ("worker", _worker, "the workers alone (needs server URLs)"),
        ("migrate", _migrate, "apply pending PostgreSQL and ClickHouse migrations"),
    ):
        parser = commands.add_parser(name, help=help_text)
        parser.set_defaults(handler=handler)
    clickhouse = commands.add_parser(
        "clickhouse",
        help="serve the embedded ClickHouse over HTTP, so relays and workers on this machine "
        "can run as separate processes",
    )
    clickhouse.add_argument("--port", type=int, default=8123)
    clickhouse.set_defaults(handler=_clickhouse)


def _serve(settings, args) -> int:
    run_modes.serve(settings)
    return 0


def _relay(settings, args) -> int:
    run_modes.relay(settings)
    return 0


def _worker(settings, args) -> int:
    run_modes.worker(settings)
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
