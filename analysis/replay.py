"""Replay: group stored events again under other rules (or another grouping version).

    with ReplayIndex.build(source, projects=[3]) as index:   # cold: reads and indexes
        replay = index.replay(RuleSet(fingerprint_rules=text))
        replay = index.replay(RuleSet(fingerprint_rules=edited))  # warm: regroups classes
    changes = diff(current_assignments(source, [3]), replay)   # analysis.replay_diff

Events whose grouping input is the same share a class (`analysis.replay_keys`); a replay
groups one reduced input per class, in two spawned processes that keep their classes
in memory between replays. A seeded million events make about 180 thousand classes.
A rule that reads a field the index left out (a tag, the release, the level...) needs
a wider index: `index_for` rebuilds one when the rules ask for more.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analysis.replay_keys import KeySpec
from analysis.replay_worker import LocalWorker, RuleSet, WorkerProcess, read_index
from analysis.source_base import Source

__all__ = ["Replay", "ReplayIndex", "RuleSet", "index_for", "shared_index"]
DEFAULT_WORKERS = 2
# Below this much Parquet, one in-process worker beats spawning processes.
SMALL_BYTES = 16 * 1024 * 1024


class IndexTooNarrowError(ValueError):
    """The rules read a field the index's keys left out; build a wider index."""


@dataclass
class Replay:
    rules: RuleSet
    events: pl.DataFrame  # project_id, event_id, hash
    issues: pl.DataFrame  # project_id, hash, title, events
    seconds: float


@dataclass
class ReplayIndex:
    spec: KeySpec
    projects: list[int] | None
    parts: list[pl.DataFrame]  # per worker: project_id, event_id, cls
    workers: list[WorkerProcess | LocalWorker]
    timings: dict[str, float] = field(default_factory=dict)
    scratch: Path | None = None
    _pending: tuple[RuleSet, float] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        source: Source,
        *,
        projects: Sequence[int] | None = None,
        rules: RuleSet | None = None,
        spec: KeySpec | None = None,
        workers: int | None = None,
    ) -> ReplayIndex:
        """Index the stored events of `projects` (all by default) for replays of `rules`
        (or of any rules `spec` covers; by default those reading no rule-only field).
        `workers`: processes to spawn; 0 works in this process; None picks by data size."""
        spec = spec or KeySpec.for_config((rules or RuleSet()).config())
        started = time.perf_counter()
        scratch = Path(tempfile.mkdtemp(prefix="stackwise-replay-"))
        processes: list[WorkerProcess | LocalWorker] = []
        try:
            files = source.event_files(scratch, projects=projects)
            snapshot = time.perf_counter() - started
            if workers is None:
                small = sum(path.stat().st_size for _, path in files) < SMALL_BYTES
                workers = 0 if small else DEFAULT_WORKERS
            processes = [WorkerProcess() for _ in range(workers)] or [LocalWorker()]
            shares = assign_files(files, len(processes))
            for process, share in zip(processes, shares, strict=True):
                process.call("index", [str(path) for path in share], spec)
            parts = [read_index(process.result()) for process in processes]
            parts = balance(processes, parts)
        except BaseException:
            for process in processes:
                process.close()
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        timings = {"snapshot": snapshot, "index": time.perf_counter() - started - snapshot}
        chosen = None if projects is None else [int(p) for p in projects]
        return cls(spec, chosen, parts, processes, timings, scratch)

    @property
    def events(self) -> int:
        return sum(part.height for part in self.parts)

    def classes(self) -> int:
        for process in self.workers:
            process.call("classes")
        return sum(process.result() for process in self.workers)

    def cpu_seconds(self) -> float:
        """CPU time the workers have used so far."""
        for process in self.workers:
            process.call("cpu_seconds")
        return sum(process.result() for process in self.workers)

    def replay(self, rules: RuleSet) -> Replay:
        """Every indexed event's hash under `rules`."""
        self.start(rules)
        return self.finish()

    def start(self, rules: RuleSet) -> None:
        """Send `rules` to the workers and return at once: the caller may load what it
        compares the replay with while they group. `finish()` collects the replay."""
        needed = KeySpec.for_config(rules.config())
        if not self.spec.covers(needed):
            raise IndexTooNarrowError(
                "these rules read fields the index ignores; build it with "
                "ReplayIndex.build(..., rules=rules) or use index_for()"
            )
        self._pending = (rules, time.perf_counter())
        for process in self.workers:
            process.call("group", rules)

    def finish(self) -> Replay:
        if self._pending is None:
            raise RuntimeError("finish() without start()")
        (rules, started), self._pending = self._pending, None
        answers = [process.result() for process in self.workers]
        events, classes = [], []
        for part, (hashes, titles) in zip(self.parts, answers, strict=True):
            hash_series = pl.Series("hash", hashes, dtype=pl.String)
            events.append(part.select("project_id", "event_id", hash_series.gather(part["cls"])))
            counts = part.group_by("project_id", "cls").agg(pl.len().alias("events"))
            classes.append(
                counts.with_columns(
                    hash_series.gather(counts["cls"]),
                    pl.Series("title", titles, dtype=pl.String).gather(counts["cls"]),
                )
            )
        issues = (
            pl.concat(classes)
            .sort("events", descending=True)
            .group_by("project_id", "hash", maintain_order=True)
            .agg(pl.col("title").first(), pl.col("events").sum())
            .sort("events", "hash", descending=[True, False])
        )
        return Replay(rules, pl.concat(events), issues, time.perf_counter() - started)

    def close(self) -> None:
        for process in self.workers:
            process.close()
        self.workers = []
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> ReplayIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def balance(workers: list, parts: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """Even out the classes the workers group. Files are shared by size and project, but
    projects differ in how many classes their events make (varied messages, tags that
    rules read): without this one worker may group three times what the other does.
    Classes move from the busiest worker to the idlest; their events follow."""
    for worker in workers:
        worker.call("classes")
    counts = [worker.result() for worker in workers]
    for _ in range(len(workers) - 1):
        heavy, light = counts.index(max(counts)), counts.index(min(counts))
        moving = (counts[heavy] - counts[light]) // 2
        if moving < max(1, sum(counts) // 20):
            break
        workers[heavy].call("take", moving)
        workers[light].call("add", workers[heavy].result())
        offset = workers[light].result()
        cut = counts[heavy] - moving
        moved = pl.col("cls") >= cut
        parts[light] = pl.concat(
            [
                parts[light],
                parts[heavy]
                .filter(moved)
                .with_columns((pl.col("cls") - cut + offset).cast(pl.UInt32)),
            ]
        )
        parts[heavy] = parts[heavy].filter(~moved)
        counts[heavy] -= moving
        counts[light] += moving
    return parts


def assign_files(files: list[tuple[int, Path]], workers: int) -> list[list[Path]]:
    """Share files between workers by size, keeping a project's files together unless
    that project alone is more than a worker's fair share (classes are per project, so a
    project on one worker is grouped once)."""
    sizes = {path: path.stat().st_size for _, path in files}
    fair = sum(sizes.values()) / workers
    units: list[list[Path]] = []
    by_project: dict[int, list[Path]] = {}
    for project, path in files:
        by_project.setdefault(project, []).append(path)
    for paths in by_project.values():
        if sum(sizes[p] for p in paths) > fair:
            units.extend([p] for p in paths)
        else:
            units.append(paths)
    shares: list[list[Path]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for unit in sorted(units, key=lambda u: -sum(sizes[p] for p in u)):
        lightest = loads.index(min(loads))
        shares[lightest].extend(unit)
        loads[lightest] += sum(sizes[p] for p in unit)
    return shares


def index_for(
    source: Source,
    rules: RuleSet,
    *,
    projects: Sequence[int] | None = None,
    previous: ReplayIndex | None = None,
) -> ReplayIndex:
    """`previous` when it can replay `rules` over the same projects, else a new index
    (wide enough for both, so switching back stays warm); the old one is closed."""
    needed = KeySpec.for_config(rules.config())
    wanted = None if projects is None else [int(p) for p in projects]
    if previous is not None and previous.workers and previous.projects == wanted:
        if previous.spec.covers(needed):
            return previous
        needed = needed.union(previous.spec)
    if previous is not None:
        previous.close()
    return ReplayIndex.build(source, projects=wanted, spec=needed)


# The notebooks' index: one, kept warm across re-runs until the source or projects change.
_shared: dict[str, tuple[Source, list[int] | None, ReplayIndex]] = {}


def shared_index(
    source: Source, rules: RuleSet, *, projects: Sequence[int] | None = None
) -> ReplayIndex:
    """An index for `rules` kept for the next call (a notebook re-running as rules are
    edited): warm while the source and projects stay, widened when the rules read more."""
    wanted = None if projects is None else [int(p) for p in projects]
    previous = None
    if "index" in _shared:
        held_source, held_projects, held = _shared.pop("index")
        if held_source is source and held_projects == wanted:
            previous = held
        else:
            held.close()
    index = index_for(source, rules, projects=wanted, previous=previous)
    _shared["index"] = (source, wanted, index)
    return index


@atexit.register
def _close_shared() -> None:
    for _, _, index in _shared.values():
        index.close()
    _shared.clear()
