"""`demo`: start the stack, send real errors with the official sentry-sdk, show the issues."""

from __future__ import annotations

import random
import time

from rich.console import Console

from core.pg.issues import reads
from core.pg.projects import DEMO_PROJECT_SLUG, dsn, ensure_project
from core.runtime import stack_session
from core.settings import Settings
from stackwise.cli.titles import titled_table
from stackwise.local_server import relay_running

# Wide enough for issue titles when the output is not a terminal (CI logs, pipes).
console = Console(width=None if Console().is_terminal else 130)
_ORDERS = 24
_WAIT_FOR_GROUPING_S = 120.0


def register(commands) -> None:
    parser = commands.add_parser(
        "demo", help="start the stack, send real sentry-sdk errors, print the issues"
    )
    parser.set_defaults(handler=run_demo)


def _send_errors(demo_dsn: str) -> list[str]:
    import sentry_sdk

    from stackwise import demo_app

    sentry_sdk.init(
        dsn=demo_dsn, release="shop@1.4.2", environment="demo", default_integrations=False
    )
    rng = random.Random(7)
    event_ids = []
    for order_id in range(1, _ORDERS + 1):
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("order_id", str(order_id))
            scope.set_user({"id": f"user-{rng.randint(1, 9)}"})
            try:
                demo_app.checkout(rng, order_id)
            except Exception as error:
                event_ids.append(sentry_sdk.capture_exception(error))
    for sku in ("sku-1002", "sku-1007", "sku-1042"):
        event_ids.append(sentry_sdk.capture_message(f"inventory low for {sku}: 0 left", "warning"))
    sentry_sdk.flush(timeout=30)
    return [e for e in event_ids if e]


def _wait_until_grouped(stack, event_ids: list[str]) -> None:
    deadline = time.monotonic() + _WAIT_FOR_GROUPING_S
    while True:
        with stack.pool.connection() as conn:
            grouped = reads.occurrences_of(conn, event_ids)
        if grouped >= len(event_ids):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {grouped} of {len(event_ids)} events were grouped in time")
        time.sleep(0.25)


def _print_issues(stack, project_id: int) -> None:
    with stack.pool.connection() as conn:
        rows = reads.project_issues(conn, project_id)
    table = titled_table(
        console,
        ["issue", "title", "events", "first seen", "last seen"],
        [
            [
                str(row["id"]),
                row["title"],
                str(row["times_seen"]),
                f"{row['first_seen']:%Y-%m-%d %H:%M:%S}",
                f"{row['last_seen']:%Y-%m-%d %H:%M:%S}",
            ]
            for row in rows
        ],
        title_column=1,
        title="demo issues",
    )
    console.print(table)


def _announce_start() -> None:
    console.print("[bold]starting[/bold] relay + workers (embedded ClickHouse, PostgreSQL, Redis)")


def run_demo(settings: Settings, args) -> int:
    with (
        relay_running(settings, on_start=_announce_start),
        stack_session(settings, own_clickhouse=False, pool_size=2) as stack,
    ):
        project, key = ensure_project(stack.pool, DEMO_PROJECT_SLUG)
        demo_dsn = dsn(settings.dsn_host, key.public_key, project.id)
        console.print(f"sending errors with sentry-sdk to [cyan]{demo_dsn}[/cyan]")
        event_ids = _send_errors(demo_dsn)
        console.print(f"sent {len(event_ids)} events; waiting for the workers to group them")
        _wait_until_grouped(stack, event_ids)
        _print_issues(stack, project.id)
    return 0
