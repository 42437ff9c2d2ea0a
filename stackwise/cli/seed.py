"""`seed`: realistic traffic over weeks of simulated time, with ground truth.

By default the events go to the relay as real SDK envelopes over HTTP (a running
relay is reused, or `serve` is started for the run); `--direct` writes them
straight into ClickHouse for big loads. Either way the workers then group them,
and `seed_ground_truth` in ClickHouse says which root cause made each event.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import urllib.request
from datetime import UTC, datetime

from rich.console import Console

from core.queue import connect_broker
from core.runtime import stack_session
from core.settings import Settings
from seed import ai_messages
from seed.deliver_direct import load_direct
from seed.deliver_http import deliver, relay_outcomes
from seed.envelopes import EnvelopeBuilder
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan, today_utc
from seed.projects import (
    PROJECTS_BY_KEY,
    configure_relay_limits,
    ensure_seed_projects,
    select_projects,
)
from seed.summary import Tally, print_summary, progress_bar
from stackwise.local_server import relay_running
from stackwise.serve import running_workers, stack_broker

console = Console(width=None if Console().is_terminal else 120)
# Below this many events, worker processes cost more to start than they save.
_IN_PROCESS_EVENTS = 100_000
_POLL_S = 0.5
_CONFIG_REFRESH_S = 2.5


class SeedError(ValueError):
    """The options make no sense; the message says which."""


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
    parser.add_argument("--ai", action="store_true", help="use AI-written error messages")
    parser.add_argument(
        "--ai-refresh", action="store_true", help="with --ai: ask the model again for every set"
    )
    parser.set_defaults(handler=run_seed)


def _options(settings: Settings, args) -> SeedOptions:
    if args.events < 1 or not 1 <= args.days <= 365 or args.root_causes < 1:
        raise SeedError("--events and --root-causes must be positive, --days 1 to 365")
    keys = tuple(k.strip() for k in (args.projects or "").split(",") if k.strip())
    try:
        projects = select_projects(list(keys))
    except ValueError as e:
        raise SeedError(str(e)) from e
    messages = None
    if args.ai:
        messages = ai_messages.resolve(
            settings, projects, refresh=args.ai_refresh, say=console.print
        )
    return SeedOptions(
        events=args.events,
        days=args.days,
        root_causes=args.root_causes,
        seed=args.seed,
        end=args.end or today_utc(),
        projects=keys,
        ai_messages=messages,
    )


def _describe(plan: SeedPlan) -> None:
    spikes = [f"{d.index + 1} ({d.multiplier:.0f}x)" for d in plan.days if d.spike]
    releases = sum(len(r) for r in plan.releases.values())
    console.print(
        f"run [cyan]{plan.run_id}[/cyan]: {plan.options.events:,} events over "
        f"{plan.options.days} days, {len(plan.catalogue)} root causes, {releases} releases "
        f"in {len(plan.projects)} projects; spike days: {', '.join(spikes) or 'none'}"
    )


def run_seed(settings: Settings, args) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    try:
        options = _options(settings, args)
    except (SeedError, ai_messages.AIMessagesError) as e:
        print(f"stackwise seed: {e}", file=sys.stderr)
        return 2
    plan = SeedPlan(options)
    _describe(plan)
    if args.direct:
        return _run_direct(settings, plan, args)
    return _run_http(settings, plan, args)


def _wait_processed(broker, queue: str, label: str, ready=lambda: True) -> None:
    """Show the workers' queue draining until it (and `ready`) are done."""
    total = max(1, broker.do_qsize(queue))
    with progress_bar(console) as progress:
        task = progress.add_task(label, total=total, rate="")
        started = time.monotonic()
        while True:
            remaining = broker.do_qsize(queue)
            total = max(total, remaining)
            done = total - remaining
            rate = done / max(time.monotonic() - started, 1e-6)
            progress.update(task, total=total, completed=done, rate=f"{rate:,.1f} batches/s")
            if remaining == 0 and ready():
                return
            time.sleep(_POLL_S)


def _run_direct(settings: Settings, plan: SeedPlan, args) -> int:
    options = plan.options
    workers = args.workers
    if workers is None:
        workers = 0 if options.events < _IN_PROCESS_EVENTS else (os.cpu_count() or 1)
    tally = Tally()
    with stack_session(settings) as stack:
        provisioned = ensure_seed_projects(stack.pool, plan.projects)
        project_ids = {k: p.project.id for k, p in provisioned.items()}
        broker = stack_broker(stack)
        with progress_bar(console) as progress:
            task = progress.add_task("loading", total=options.events, rate="")

            def on_unit(result) -> None:
                for (project, family, outcome), count in result.counts.items():
                    tally.add(project, family, "sent", count)
                    tally.add(project, family, outcome, count)
                rate = f"{tally.events_per_s:,.0f} events/s"
                progress.update(task, advance=result.events, rate=rate)

            tally.started = time.monotonic()
            messages = load_direct(
                stack, broker, options, project_ids, workers=workers, on_unit=on_unit
            )
        tally.stop()
        print_summary(console, tally, "seed --direct")
        console.print(f"{messages:,} batches queued for the workers")
        if not args.no_process:
            with running_workers(stack, broker):
                _wait_processed(broker, settings.queue_name, "grouping")
    return 0


def _announce_start() -> None:
    console.print("[bold]starting[/bold] relay + workers")


def _run_http(settings: Settings, plan: SeedPlan, args) -> int:
    options = plan.options
    tally = Tally()
    with (
        relay_running(settings, on_start=_announce_start) as base_url,
        stack_session(settings, own_clickhouse=False, pool_size=2) as stack,
    ):
        provisioned = ensure_seed_projects(stack.pool, plan.projects)
        if configure_relay_limits(stack.pool, provisioned, keep_all=args.keep_all):
            time.sleep(_CONFIG_REFRESH_S)  # the relay re-reads project settings this often
        builder = EnvelopeBuilder(provisioned)
        before = relay_outcomes(base_url)
        events = Generator(plan).events()
        console.print(f"sending to [cyan]{base_url}[/cyan] with {args.concurrency} connections")
        with progress_bar(console) as progress:
            task = progress.add_task("seeding", total=options.events, rate="")
            done = [0]

            def on_done() -> None:
                done[0] += 1
                if done[0] % 50 == 0 or done[0] == options.events:
                    rate = f"{tally.events_per_s:,.0f} events/s"
                    progress.update(task, completed=done[0], rate=rate)

            asyncio.run(
                deliver(
                    base_url, events, builder, tally, concurrency=args.concurrency, on_done=on_done
                )
            )
        if not args.no_process:
            broker = connect_broker(stack.redis_url, namespace=settings.redis_namespace)
            _wait_processed(broker, settings.queue_name, "grouping", _relay_idle(base_url))
        tally.relay = relay_outcomes(base_url) - before
        print_summary(console, tally, "seed over HTTP")
    return 0


def _relay_idle(base_url: str):
    """True once the relay's spool is empty (every accepted event is in ClickHouse)."""

    def ready() -> bool:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("relay_spool_bytes "):
                    return float(line.split()[1]) == 0.0
        return True

    return ready
