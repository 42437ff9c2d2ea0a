"""Per-stage CPU of `serve` under load, for `just bench e2e --profile`.

Two views of the same span:
- threads: user + system CPU of every thread of `serve` (the relay's event loop, the
  flusher, the Dramatiq threads by their Python names, which py-spy reads; chdb's own
  native threads by their names in /proc) and of the processes below it (embedded
  PostgreSQL, Redis), from /proc;
- stages: py-spy samples of serve's Python threads (raw, collapsed stacks), each sample
  charged to the first pipeline stage found walking its stack from the thread's root, so
  a JSON decode inside the worker counts as the worker's.
"""

from __future__ import annotations

import os
import re
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


# Python threads by the name Python gave them; what each does in serve.
_PYTHON_THREADS = {
    "MainThread": "main thread (one process: the relay event loop; else the supervisor)",
    "relay-flusher": "relay flusher (processing, ClickHouse insert, enqueue)",
    "Thread": "Dramatiq consumers and workers (grouping)",
    "uvloop": "executor threads (large bodies; spool commits on a slow disk)",
}


def python_thread_names(pid: int) -> dict[int, str]:
    """Native thread id -> the thread's Python name, read by py-spy."""
    dump = subprocess.run(
        ["py-spy", "dump", "--pid", str(pid)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pattern = r'^Thread (\d+) \((?:idle|active)\): "([^"]+)"'
    return {int(m.group(1)): m.group(2) for m in re.finditer(pattern, dump, re.M)}


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread family of `pid` (threads of one name summed).

    Python threads are named by Python, not by /proc: chdb renames every thread that
    calls into it ("Unknown"), so /proc alone would charge the flusher's and the
    workers' own Python work to the embedded ClickHouse."""
    python_names = python_thread_names(pid)
    found: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        python_name = python_names.get(int(task.name))
        if python_name is not None:
            family = _thread_family(python_name.split(" ")[0])
            label = f"Python: {_PYTHON_THREADS.get(family, family)}"
        else:
            native = _thread_family(stat[stat.index("(") + 1 : stat.rindex(")")])
            label = f"chdb: {native}"
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
        kind = "postgres" if "postgres" in name else _python_role(child) or name
        total = times.user + times.system + times.children_user + times.children_system
        found[f"process {kind}"] += total
    return dict(found)


def _python_role(process: psutil.Process) -> str | None:
    """`relay` for serve's relay processes (`--processes N`), by their command line."""
    try:
        command = process.cmdline()
    except psutil.NoSuchProcess:
        return None
    return "relay" if "relay" in command else None


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
            "--subprocesses",
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
    serve_cpu_s = sum(v for k, v in cpu.items() if k.startswith("serve thread"))
    # py-spy counts a thread waiting on the disk (fdatasync) as busy: the spool's share
    # here is time, not CPU; the table below it is CPU.
    print(
        f"per-stage share of serve's Python samples ({total_samples:,} samples; a wait on "
        "the disk counts as busy):"
    )
    for stage, samples in stages.most_common():
        share = samples / total_samples
        print(f"  {share:6.1%}  {stage}")
    print(f"CPU by thread and process over the profiled run ({events:,} events):")
    for name, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        if seconds >= 0.05:
            print(f"  {seconds * 1000 / max(1, events):6.3f} CPU-ms/event  {name}")
    print(
        f"  ({serve_cpu_s:.1f} CPU-s in serve's threads in all; a Python thread's time includes "
        "the chdb calls it makes (queries, inserts); chdb's own threads merge and read)"
    )
