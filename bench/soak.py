"""`just bench soak`: ten minutes of seeded traffic while relays and workers are stopped,
killed and started again; every acknowledged event must be stored once.

Server mode on this machine (tests/support/deployment.py): a ClickHouse server, the
machine's PostgreSQL and Redis (a fresh database and namespace), two relays, two workers.
The seeder's four services send their events (errors, messages, transactions) as their
SDKs would, paced at --rate events/s, half the connections to each relay, with the
seeder's sender (it retries 429 and 503 answers and broken connections). The backend,
API and billing services keep everything; the web app keeps dynamic sampling and filters
one error message. On a schedule drawn from --seed (printed first) a relay or a worker is
stopped with SIGTERM or killed with SIGKILL and started again after a pause, and once an
operator throttles the web app's errors for ten seconds (429s). Then the traffic stops,
the deployment settles, and:

- acknowledged: event ids answered 200;
- stored: of those, rows of `events` or `transactions` (counted without FINAL);
- grouped: acknowledged error events with exactly one occurrence (issue counts agree);
- explained: items the relay dropped with an outcome (sampled, filtered, rate limited,
  invalid);
- missing: acknowledged and not stored. Per id where nothing may be dropped; in the web
  app, per category, beyond what its sampled, filtered and invalid outcomes explain;
- duplicated: acknowledged ids stored more than once, except ids the sender itself sent
  again after an attempt ended without an answer (printed apart: the client's doing);
- `stackwise audit --settle 0` must reconcile. Ends with one line:

    bench soak: <figures> (target 0 missing, 0 duplicated) ok|short
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this folder leads sys.path and holds modules named like packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from core.pg.projects import get_project, save_config  # noqa: E402
from core.project_config import set_path  # noqa: E402
from core.storage.postgres import open_pool  # noqa: E402
from seed.envelopes import EnvelopeBuilder  # noqa: E402
from seed.generate import Generator  # noqa: E402
from seed.plan import SeedOptions, SeedPlan, today_utc  # noqa: E402
from seed.projects import ensure_seed_projects  # noqa: E402
from seed.summary import Tally  # noqa: E402
from tests.conftest import MACHINE_REDIS, fresh_postgres, fresh_redis_namespace  # noqa: E402
from tests.support.accounting import (  # noqa: E402
    miscounted_issues,
    occurrences_per_id,
    rows_per_id,
    wait_settled,
)
from tests.support.deployment import Deployment, running_deployment  # noqa: E402
from tests.support.seeded_load import Book, seeded_traffic  # noqa: E402

DROPPED = ("sampled", "filtered", "rate_limited", "invalid")
# Services where nothing answered 200 may be dropped: every such id must be stored.
STRICT = ("backend", "billing", "api")
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


# Each service's relay configuration (spike protection off: the replay compresses days
# into minutes, as `just seed` does).
POLICIES = {
    "backend": {"sampling.enabled": False},
    "billing": {"sampling.enabled": False},
    "api": {"sampling.enabled": False},
    "web": {"filters.error_messages": ["TypeError: *"]},
}
# Once in the run an operator throttles the web app's errors to one a second for a while.
THROTTLE = {"rate_limits.per_minute": {"error": 60}}
THROTTLE_S = 10.0


@dataclass(frozen=True)
class Action:
    at_s: float
    role: str  # "relay", "worker", or "throttle" (the web app's quota)
    index: int
    signal: str
    down_s: float


def schedule(rng: random.Random, seconds: float, relays: int, workers: int) -> list[Action]:
    actions, at = [], rng.uniform(10, 30)
    while at < seconds - 20:
        role = rng.choice(("relay", "worker"))
        index = rng.randrange(relays if role == "relay" else workers)
        signal_name = rng.choice(list(SIGNALS))
        down_s = round(rng.uniform(0.5, 3), 1)
        actions.append(Action(round(at, 1), role, index, signal_name, down_s))
        at += rng.uniform(15, 45)
    throttle = Action(round(rng.uniform(0.3, 0.6) * seconds, 1), "throttle", 0, "", THROTTLE_S)
    return sorted([*actions, throttle], key=lambda action: action.at_s)


def run_schedule(deployment: Deployment, actions: list[Action], stop: threading.Event, log):
    started = time.monotonic()
    for action in actions:
        if stop.wait(max(0.0, started + action.at_s - time.monotonic())):
            return
        at = time.monotonic() - started
        if action.role == "throttle":
            configure(deployment, "storefront-web", THROTTLE)
            time.sleep(action.down_s)
            configure(deployment, "storefront-web", {"rate_limits.per_minute": {}})
            log(f"  {at:5.0f} s  web errors throttled to 1/s for {action.down_s:g} s")
            continue
        service = (deployment.relays if action.role == "relay" else deployment.workers)[
            action.index
        ]
        try:
            code = service.stop(SIGNALS[action.signal])
        except AssertionError:
            code = "none: did not stop within 60 s, killed"
        stopped_s = time.monotonic() - started - at
        time.sleep(action.down_s)
        service.start()
        log(
            f"  {at:5.0f} s  {action.signal} {service.name}: exit {code} after {stopped_s:.1f} s, "
            f"started again {action.down_s:g} s later, ready after "
            f"{time.monotonic() - started - at - stopped_s - action.down_s:.1f} s"
        )


def configure(deployment: Deployment, slug: str, paths: dict) -> None:
    pool = open_pool(deployment.postgres_url, max_size=1)
    try:
        config = get_project(pool, slug).config
        for path, value in paths.items():
            config = set_path(config, path, value)
        save_config(pool, slug, config)
    finally:
        pool.close()


def provision(deployment: Deployment, plan: SeedPlan) -> tuple[EnvelopeBuilder, dict[str, int]]:
    pool = open_pool(deployment.postgres_url, max_size=1)
    try:
        provisioned = ensure_seed_projects(pool, plan.projects)
    finally:
        pool.close()
    for key, paths in POLICIES.items():
        configure(
            deployment,
            provisioned[key].project.slug,
            {"spike_protection.enabled": False, **paths},
        )
    time.sleep(3)  # relays refresh project configurations every 2 s
    return EnvelopeBuilder(provisioned), {k: p.project.id for k, p in provisioned.items()}


def dropped_outcomes(deployment: Deployment) -> Counter:
    """(project id, category, outcome) -> quantity, as the relays recorded them."""
    client = deployment.clickhouse()
    try:
        rows = client.query(
            "SELECT project_id, category, outcome, sum(quantity) FROM outcomes "
            "WHERE source = 'relay' AND outcome IN {dropped:Array(String)} "
            "GROUP BY project_id, category, outcome",
            parameters={"dropped": list(DROPPED)},
        ).result_rows
    finally:
        client.close()
    return Counter({(p, c, o): int(n) for p, c, o, n in rows})


@dataclass
class Figures:
    sent: int = 0
    acknowledged: int = 0
    stored: int = 0
    grouped: int = 0
    ungrouped: int = 0
    explained: Counter = field(default_factory=Counter)  # outcome -> quantity
    missing: list[str] = field(default_factory=list)  # ids, where drops are impossible
    unexplained: Counter = field(default_factory=Counter)  # (service, category) -> events
    duplicated: dict[str, int] = field(default_factory=dict)
    sent_twice_stored_twice: int = 0
    miscounted_issues: int = 0

    @property
    def missing_total(self) -> int:
        return len(self.missing) + sum(self.unexplained.values())

    @property
    def ok(self) -> bool:
        return not (
            self.missing_total or self.duplicated or self.ungrouped or self.miscounted_issues
        )


def _category(kind: str) -> str:
    return "transaction" if kind == "transaction" else "error"


def account(deployment: Deployment, book: Book, ids: dict[str, int]) -> Figures:
    projects = list(ids.values())
    tables = {
        "event": rows_per_id(deployment, "events", projects),
        "transaction": rows_per_id(deployment, "transactions", projects),
    }
    occurrences = occurrences_per_id(deployment, projects)
    figures = Figures(sent=len(book.kinds), acknowledged=len(book.acknowledged))
    not_stored: Counter = Counter()
    for event_id in book.acknowledged:
        service, kind = book.kinds[event_id]
        rows = tables[kind].get(event_id, 0)
        if rows == 0:
            if service in STRICT:
                figures.missing.append(event_id)
            not_stored[(service, _category(kind))] += 1
            continue
        figures.stored += 1
        if rows > 1 and event_id in book.resent:
            figures.sent_twice_stored_twice += 1
        elif rows > 1:
            figures.duplicated[event_id] = rows
        if kind == "event":
            grouped = occurrences.get(event_id, 0) == 1
            figures.grouped += grouped
            figures.ungrouped += not grouped
    outcomes = dropped_outcomes(deployment)
    for (_, _, outcome), quantity in outcomes.items():
        figures.explained[outcome] += quantity
    for (service, category), count in not_stored.items():
        if service in STRICT:
            continue
        # 429s are not acknowledged: only these outcomes can explain a 200 not stored.
        explained = sum(
            outcomes[(ids[service], category, o)] for o in DROPPED if o != "rate_limited"
        )
        figures.unexplained[(service, category)] = max(0, count - explained)
    figures.miscounted_issues = len(miscounted_issues(deployment, projects))
    return figures


async def _progress(book: Book, seconds: float, log) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.sleep(60)
        log(
            f"  {time.monotonic() - started:5.0f} s  {len(book.kinds):,} sent, "
            f"{len(book.acknowledged):,} acknowledged; answers {dict(book.answers)}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seed", type=int, default=1, help="traffic and schedule")
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    return parser.parse_args()


def soak(args, work: Path, actions: list[Action]) -> tuple[Figures, object, float]:
    seconds = args.minutes * 60
    with (
        fresh_postgres("template1") as postgres_url,
        fresh_redis_namespace(MACHINE_REDIS) as namespace,
        running_deployment(
            work / "deployment",
            postgres_url=postgres_url,
            redis_url=f"{MACHINE_REDIS}/0",
            namespace=namespace,
            relays=args.relays,
            workers=args.workers,
            settings={"log_level": "WARNING", "batch_max_age_s": "1.0"},
        ) as deployment,
    ):
        options = SeedOptions(
            events=int(args.rate * seconds * 1.2) + 1_000, days=7, seed=args.seed, end=today_utc()
        )
        plan = SeedPlan(options)
        builder, ids = provision(deployment, plan)
        book, stop = Book(), threading.Event()
        chaos = threading.Thread(
            target=run_schedule, args=(deployment, actions, stop, print), daemon=True
        )
        chaos.start()

        async def run() -> Tally:
            progress = asyncio.create_task(_progress(book, seconds, print))
            tally = await seeded_traffic(
                [relay.base_url for relay in deployment.relays],
                builder,
                Generator(plan).events(),
                book,
                rate=args.rate,
                seconds=seconds,
                connections=args.connections,
            )
            progress.cancel()
            return tally

        tally = asyncio.run(run())
        stop.set()
        chaos.join()
        deployment.heal()
        settle_s = wait_settled(deployment, list(ids.values()), timeout_s=600)
        figures = account(deployment, book, ids)
        audit = deployment.audit("--settle", "0", "--since", "2h")
        print_answers(book, tally)
    return figures, audit, settle_s


def print_answers(book: Book, tally: Tally) -> None:
    kinds = Counter(kind for _, kind in (book.kinds[i] for i in book.acknowledged))
    print(
        f"sent {len(book.kinds):,} events; answers {dict(book.answers)}; "
        f"{len(book.resent):,} events had an attempt end without an answer (a stopped relay) "
        f"and were sent again; given up: {dict(tally.rejections) or 'none'}"
    )
    print(
        f"acknowledged {kinds['event']:,} errors and messages, "
        f"{kinds['transaction']:,} transactions"
    )


def report(figures: Figures, audit, settle_s: float) -> bool:
    explained = sum(figures.explained.values())
    print(f"nothing in flight {settle_s:.0f} s after the traffic and the schedule ended")
    print(
        f"explained: {explained:,} dropped with an outcome "
        f"({', '.join(f'{o} {figures.explained[o]:,}' for o in DROPPED)})"
    )
    if figures.missing:
        print(f"missing where nothing may be dropped: {figures.missing[:10]}")
    for (service, category), count in sorted(figures.unexplained.items()):
        if count:
            print(f"missing beyond the outcomes: {count} {category} of {service}")
    if figures.duplicated:
        print(f"stored more than once: {dict(list(figures.duplicated.items())[:10])}")
    print(
        f"sent again by the client after an unanswered attempt and stored twice: "
        f"{figures.sent_twice_stored_twice} (ReplacingMergeTree merges them; one occurrence)"
    )
    print(f"ungrouped {figures.ungrouped}, issues miscounted {figures.miscounted_issues}")
    print(audit.stdout.strip().splitlines()[-1] if audit.stdout.strip() else audit.stderr)
    ok = figures.ok and audit.returncode == 0
    print(
        f"bench soak: {figures.acknowledged:,} acknowledged, {figures.stored:,} stored, "
        f"{figures.grouped:,} grouped, {explained:,} explained; {figures.missing_total} missing, "
        f"{len(figures.duplicated)} duplicated, audit "
        f"{'reconciled' if audit.returncode == 0 else 'DIFFERENCES'} "
        f"(target 0 missing, 0 duplicated) {'ok' if ok else 'short'}"
    )
    return ok


def main() -> int:
    args = parse_args()
    actions = schedule(random.Random(args.seed), args.minutes * 60, args.relays, args.workers)
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} events/s through {args.relays} relays, "
        f"{args.workers} workers; schedule (seed {args.seed}):"
    )
    for action in actions:
        if action.role == "throttle":
            print(f"  {action.at_s:5.0f} s  throttle web errors to 1/s for {action.down_s:g} s")
            continue
        print(
            f"  {action.at_s:5.0f} s  {action.signal} {action.role}-{action.index + 1}, "
            f"start again after {action.down_s} s"
        )
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    try:
        figures, audit, settle_s = soak(args, work, actions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report(figures, audit, settle_s) else 1


if __name__ == "__main__":
    sys.exit(main())
