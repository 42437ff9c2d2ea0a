"""`seed`: realistic traffic over weeks of simulated time, with ground truth.

By default the events go to the relay as real SDK envelopes over HTTP (a running
relay is reused, or `serve` is started for the run); `--direct` writes them
straight into ClickHouse for big loads. Either way the workers then group them,
and `seed_ground_truth` in ClickHouse says which root cause made each event. The
seeding itself lives in the `seed` package; this module parses the arguments and
runs the application around it (a relay to send to, workers to group).
"""

from __future__ import annotations

import argparse
import logging
import os
from datetime import UTC, datetime

from rich.console import Console

from core.queue import connect_broker
from core.runtime import stack_session
from core.settings import Settings
from seed import run
from seed.plan import SeedPlan
from seed.projects import PROJECTS_BY_KEY
from stackwise.local_server import relay_running
from stackwise.serve import running_workers, stack_broker

console = Console(width=None if Console().is_terminal else 120)
# Below this many events, worker processes cost more to start than they save.
_IN_PROCESS_EVENTS = 100_000


def _day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from e
    return day.replace(tzinfo=UTC)


def register(commands) -> None:
    parser = commands.add_parser(
        "seed",
        help="synthetic production traffic with ground truth, over the relay or --direct",
        description=__doc__,
    )
    parser.add_argument("--events", type=int, default=20_000, help="events over the whole period")
    parser.add_argument("--days", type=int, default=30, help="length of the period (days)")
    parser.add_argument("--root-causes", type=int, default=300, help="size of the catalogue")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same events")
    parser.add_argument(
        "--end", type=_day, help="end of the period, YYYY-MM-DD UTC (default: today)"
    )
    parser.add_argument(
        "--projects", help=f"comma-separated subset of {','.join(PROJECTS_BY_KEY)} (default: all)"
    )
    parser.add_argument("--direct", action="store_true", help="write to ClickHouse, no HTTP")
    parser.add_argument(
        "--no-process", action="store_true", help="leave grouping to the next `serve`"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP requests in flight")
    parser.add_argument(
        "--keep-all",
        action="store_true",
        help="turn the relay's dynamic sampling off for the seed projects (store every event)",
    )
    parser.add_argument("--workers", type=int, help="--direct: generator processes (0: inline)")
    parser.add_argument(
        "--sourcemaps",
        action="store_true",
        help="send browser errors minified, as the SDK does, and upload every release's maps",
    )
    parser.add_argument("--ai", action="store_true", help="use AI-written error messages")
    parser.add_argument(
        "--ai-refresh", action="store_true", help="with --ai: ask the model again for every set"
    )
    parser.set_defaults(handler=run_seed)


def run_seed(settings: Settings, args) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    options = run.seed_options(
        settings,
        events=args.events,
        days=args.days,
        root_causes=args.root_causes,
        seed=args.seed,
        end=args.end,
        projects=args.projects,
        ai=args.ai,
        ai_refresh=args.ai_refresh,
        console=console,
        sourcemaps=args.sourcemaps,
    )
    plan = SeedPlan(options)
    run.describe(plan, console)
    if args.direct:
        return _run_direct(settings, plan, args)
    return _run_http(settings, plan, args)


def _run_direct(settings: Settings, plan: SeedPlan, args) -> int:
    workers = args.workers
    if workers is None:
        workers = 0 if plan.options.events < _IN_PROCESS_EVENTS else (os.cpu_count() or 1)
    with stack_session(settings) as stack:
        broker = stack_broker(stack)
        run.load(stack, broker, plan, workers=workers, console=console)
        if not args.no_process:
            with running_workers(stack, broker):
                run.wait_processed(broker, settings.queue_name, "grouping", console)
    return 0


def _announce_start() -> None:
    console.print("[bold]starting[/bold] relay + workers")


def _run_http(settings: Settings, plan: SeedPlan, args) -> int:
    with (
        relay_running(settings, on_start=_announce_start) as base_url,
        stack_session(settings, own_clickhouse=False, pool_size=2) as stack,
    ):
        tally = run.send(
            stack,
            base_url,
            plan,
            concurrency=args.concurrency,
            keep_all=args.keep_all,
            console=console,
        )
        if not args.no_process:
            broker = connect_broker(stack.redis_url, namespace=settings.redis_namespace)
            ready = run.relay_idle(base_url)
            run.wait_processed(broker, settings.queue_name, "grouping", console, ready)
        run.finish_http(tally, base_url, console)
    return 0
