"""Per-stage CPU of `serve` under load, for `just bench e2e --profile`.

Two views of the same span:
- threads: user + system CPU of every thread of `serve` (by thread name: the relay's
  event loop, the flusher, the Dramatiq worker threads, chdb's own native threads) and of
  the processes below it (embedded PostgreSQL, Redis), from /proc;
- stages: py-spy samples of serve's Python threads (raw, collapsed stacks), each sample
  charged to the first pipeline stage found walking its stack from the thread's root, so
  a JSON decode inside the worker counts as the worker's.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import psutil

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")

# (stage, markers): a sample goes to the first stage whose marker appears in its stack,
# trying the stages in this order (inner, specific stages before the outer ones).
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("worker: batch decode (zstd + msgpack)", ("decode_batch",)),
    ("worker: AI analysis of new issues (ClickHouse query)", ("analyze_group",)),
    ("worker: source maps", ("(workers/sourcemaps",)),
    ("worker: promoted fields decode", ("promoted_columns",)),
    ("worker: fingerprinting", ("group_events", "fingerprint_batch")),
    ("worker: assign (Redis + PostgreSQL)", ("assign_groups",)),
    ("worker: event_groups insert", ("write_assignments", "write_processed")),
    ("worker: rest of the batch", ("WorkerActors.process_events",)),
    ("worker: other actors", ("WorkerActors.",)),
    ("queue: Dramatiq consume/ack (Redis)", ("ConsumerThread", "WorkerThread", "dramatiq/")),
    ("flusher: spool read + record decode", ("decode_record", "read_records")),
    ("flusher: ClickHouse insert", ("Client.insert_arrow", "insert_arrow (")),
    ("flusher: batch encode + enqueue", ("encode_batch", "enqueue_batch", "wait_for_queue_room")),
    ("flusher: row building", ("Flusher._build", "_build (relay/flusher")),
    ("flusher: rest", ("Flusher.", "(relay/flusher")),
    ("relay: spool append (write + fsync)", ("Spool.", "(relay/spool")),
    ("relay: normalize + scrub", ("normalize", "scrub")),
    ("relay: request handling (HTTP, auth, envelope, policy)", ("relay/", "sanic")),
    ("chdb over HTTP (the bench's counts)", ("chdb_http", "ChdbHttpServer")),
]


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread family of `pid` (threads of one name summed)."""
    found: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        family = _thread_family(name)
        # Python's threads keep the process's name; the others are the embedded engine's.
        label = "Python threads (relay, flusher, workers)" if family == "python" else family
        found[label] += (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    return dict(found)


def _thread_family(name: str) -> str:
    """Thread names without their numbers: `Thread-6` and `Thread-7` are one family."""
    return name.rstrip("0123456789").rstrip("-_ ") or name


def tree_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of serve's threads and of each kind of process below it."""
    found: Counter[str] = Counter({f"serve thread {k}": v for k, v in thread_cpu_s(pid).items()})
    for child in psutil.Process(pid).children(recursive=True):
        try:
            times = child.cpu_times()
            name = child.name()
        except psutil.NoSuchProcess:
            continue
        kind = "postgres" if "postgres" in name else name
        total = times.user + times.system + times.children_user + times.children_system
        found[f"process {kind}"] += total
    return dict(found)


def start_recording(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "50",
            "--format",
            "raw",
            "--nonblocking",
            "--threads",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stage_samples(raw: Path) -> Counter[str]:
    """Samples per stage from py-spy's raw output (`frame;frame;... count` per line)."""
    stages: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stages[classify(stack)] += int(count)
    return stages


def classify(stack: str) -> str:
    for stage, markers in STAGES:
        if any(marker in stack for marker in markers):
            return stage
    return "other (idle loops, scheduler, metrics)"


def print_profile(stages: Counter[str], cpu: dict[str, float], events: int) -> None:
    total_samples = sum(stages.values()) or 1
    serve_cpu_s = sum(v for k, v in cpu.items() if k.startswith("serve:"))
    print(f"per-stage share of serve's Python samples ({total_samples:,} samples):")
    for stage, samples in stages.most_common():
        share = samples / total_samples
        print(f"  {share:6.1%}  {stage}")
    print(f"CPU by thread and process over the profiled run ({events:,} events):")
    for name, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        if seconds >= 0.05:
            print(f"  {seconds * 1000 / max(1, events):6.3f} CPU-ms/event  {name}")
    print(
        f"  ({serve_cpu_s:.1f} CPU-s in serve's threads in all; threads not named python are "
        "the embedded ClickHouse's: chdb's queries, inserts and merges)"
    )
