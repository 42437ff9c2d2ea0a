"""A seed run, start to end, for the command line: options, the load (over HTTP or
direct), waiting for the workers, the summary.

The command line (`stackwise.cli.seed`) parses the arguments and provides what runs
the application around a seed: a relay to send to, workers to group what was loaded.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime

from rich.console import Console

from core.artifacts.store import ArtifactStore
from core.runtime import Stack
from seed import ai_messages
from seed.deliver_direct import load_direct
from seed.deliver_http import deliver, relay_outcomes
from seed.envelopes import EnvelopeBuilder
from seed.errors import SeedError
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan, today_utc
from seed.projects import configure_relay_limits, ensure_seed_projects, select_projects
from seed.shapes import release_lineno
from seed.sourcemaps import upload_source_maps
from seed.summary import Tally, print_summary, progress_bar

_POLL_S = 0.5
_CONFIG_REFRESH_S = 2.5


def seed_options(
    settings,
    *,
    events: int,
    days: int,
    root_causes: int,
    seed: int,
    end: datetime | None,
    projects: str | None,
    ai: bool,
    ai_refresh: bool,
    console: Console,
    sourcemaps: bool = False,
) -> SeedOptions:
    """The options of a run; SeedError when they make no sense."""
    if events < 1 or not 1 <= days <= 365 or root_causes < 1:
        raise SeedError("--events and --root-causes must be positive, --days 1 to 365")
    keys = tuple(k.strip() for k in (projects or "").split(",") if k.strip())
    try:
        selected = select_projects(list(keys))
    except ValueError as e:
        raise SeedError(str(e)) from e
    messages = None
    if ai:
        messages = ai_messages.resolve(settings, selected, refresh=ai_refresh, say=console.print)
    return SeedOptions(
        events=events,
        days=days,
        root_causes=root_causes,
        seed=seed,
        end=end or today_utc(),
        projects=keys,
        ai_messages=messages,
        sourcemaps=sourcemaps,
    )


def describe(plan: SeedPlan, console: Console) -> None:
    spikes = [f"{d.index + 1} ({d.multiplier:.0f}x)" for d in plan.days if d.spike]
    releases = sum(len(r) for r in plan.releases.values())
    console.print(
        f"run [cyan]{plan.run_id}[/cyan]: {plan.options.events:,} events over "
        f"{plan.options.days} days, {len(plan.catalogue)} root causes, {releases} releases "
        f"in {len(plan.projects)} projects; spike days: {', '.join(spikes) or 'none'}"
    )


def wait_processed(
    broker, queue: str, label: str, console: Console, ready: Callable[[], bool] = lambda: True
) -> None:
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


def upload_maps(stack: Stack, plan: SeedPlan, project_ids: dict[str, int], console) -> None:
    """`--sourcemaps`: every release's browser bundles and maps, before any event."""
    if not plan.options.sourcemaps:
        return
    store = ArtifactStore(stack.settings.artifacts_path)
    count = upload_source_maps(stack.pool, store, plan, project_ids, release_lineno)
    console.print(f"source maps: {count} release bundles uploaded for the browser projects")


def load(stack: Stack, broker, plan: SeedPlan, *, workers: int, console: Console) -> int:
    """`--direct`: store every event and queue named batches; returns the batches queued."""
    options = plan.options
    tally = Tally()
    provisioned = ensure_seed_projects(stack.pool, plan.projects)
    project_ids = {k: p.project.id for k, p in provisioned.items()}
    upload_maps(stack, plan, project_ids, console)
    with progress_bar(console) as progress:
        task = progress.add_task("loading", total=options.events, rate="")

        def on_unit(result) -> None:
            for (project, family, outcome), count in result.counts.items():
                tally.add(project, family, "sent", count)
                tally.add(project, family, outcome, count)
                if outcome == "accepted":  # direct mode samples nothing: accepted is stored
                    tally.add(project, family, "stored", count)
            rate = f"{tally.events_per_s:,.0f} events/s"
            progress.update(task, advance=result.events, rate=rate)

        tally.started = time.monotonic()
        messages = load_direct(
            stack, broker, options, project_ids, workers=workers, on_unit=on_unit
        )
    tally.stop()
    print_summary(console, tally, "seed --direct")
    console.print(f"{messages:,} batches queued for the workers")
    return messages


def send(
    stack: Stack,
    base_url: str,
    plan: SeedPlan,
    *,
    concurrency: int,
    keep_all: bool,
    console: Console,
) -> Tally:
    """Every event as its SDK would send it, to the relay at `base_url`."""
    options = plan.options
    tally = Tally()
    provisioned = ensure_seed_projects(stack.pool, plan.projects)
    upload_maps(stack, plan, {k: p.project.id for k, p in provisioned.items()}, console)
    if configure_relay_limits(stack.pool, provisioned, keep_all=keep_all):
        time.sleep(_CONFIG_REFRESH_S)  # the relay re-reads project settings this often
    builder = EnvelopeBuilder(provisioned)
    tally.relay_before = relay_outcomes(base_url)
    events = Generator(plan).events()
    console.print(f"sending to [cyan]{base_url}[/cyan] with {concurrency} connections")
    with progress_bar(console) as progress:
        task = progress.add_task("seeding", total=options.events, rate="")
        done = [0]

        def on_done() -> None:
            done[0] += 1
            if done[0] % 50 == 0 or done[0] == options.events:
                rate = f"{tally.events_per_s:,.0f} events/s"
                progress.update(task, completed=done[0], rate=rate)

        asyncio.run(
            deliver(base_url, events, builder, tally, concurrency=concurrency, on_done=on_done)
        )
    return tally


def finish_http(tally: Tally, base_url: str, console: Console) -> None:
    tally.relay = relay_outcomes(base_url) - tally.relay_before
    print_summary(console, tally, "seed over HTTP")


def relay_idle(base_url: str) -> Callable[[], bool]:
    """True once the relay's spool is empty (every accepted event is in ClickHouse)."""

    def ready() -> bool:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("relay_spool_bytes "):
                    return float(line.split()[1]) == 0.0
        return True

    return ready
