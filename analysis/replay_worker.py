"""A replay worker process: it indexes its share of the event files and keeps, in memory,
one reduced input per class, so a replay under new rules sends it only the rules.

The parent talks to it over a pipe (`WorkerProcess.call`): `index` reads Parquet files
and answers, per event, its class (Arrow IPC bytes: project_id, event_id, cls); `group`
groups every class under a rule set and answers the hashes and titles, class by class.
Processes are spawned, not forked: the parent may hold ClickHouse and PostgreSQL
connections and threads that a fork would copy.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import threading
import time
import traceback
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from analysis.replay_keys import KeySpec, Reducer
from workers.grouping import GROUPING_VERSION, GroupingConfig, group_event

COLUMNS = ["project_id", "event_id", "payload"]


@dataclass(frozen=True)
class RuleSet:
    """What a replay applies: a grouping version and rule texts (cheap to send)."""

    fingerprint_rules: str = ""
    stacktrace_rules: str = ""
    version: str = GROUPING_VERSION

    def config(self) -> GroupingConfig:
        return GroupingConfig.build(self.version, self.fingerprint_rules, self.stacktrace_rules)


class WorkerError(RuntimeError):
    """A replay worker failed; the message carries its traceback."""


class _State:
    def __init__(self) -> None:
        # (project, reduced input) -> class; the bytes themselves are the key: hashing
        # them costs less than a digest, and no two inputs can collide.
        self.keys: dict[tuple[int, bytes], int] = {}
        self.inputs: list[bytes] = []

    def index(self, files: list[str], spec: KeySpec) -> bytes:
        reducer = Reducer(spec)
        frames = []
        for path in files:
            frame = pl.read_parquet(path, columns=COLUMNS)
            classes = array("I")
            keys, inputs = self.keys, self.inputs
            projects = frame["project_id"].to_list()
            payloads = frame["payload"].cast(pl.Binary).to_list()
            reduce = reducer.reduce
            for project_id, payload in zip(projects, payloads, strict=True):
                reduced = reduce(payload)
                key = (project_id, reduced)
                found = keys.get(key)
                if found is None:
                    found = keys[key] = len(inputs)
                    inputs.append(reduced)
                classes.append(found)
            frames.append(
                frame.select(
                    pl.col("project_id").cast(pl.UInt64), pl.col("event_id").cast(pl.String)
                ).with_columns(pl.Series("cls", classes, dtype=pl.UInt32))
            )
        self.keys = {}  # only indexing needs it; classes may move between workers now
        out = io.BytesIO()
        schema = {"project_id": pl.UInt64, "event_id": pl.String, "cls": pl.UInt32}
        (pl.concat(frames) if frames else pl.DataFrame(schema=schema)).write_ipc(out)
        return out.getvalue()

    def group(self, rules: RuleSet) -> tuple[list[str], list[str]]:
        config = rules.config()
        results = [group_event(reduced, config) for reduced in self.inputs]
        return [r.hash for r in results], [r.title for r in results]

    def classes(self) -> int:
        return len(self.inputs)

    def cpu_seconds(self) -> float:
        """CPU time this worker has used (for benchmarks on a shared machine)."""
        return time.process_time()

    def take(self, count: int) -> list[bytes]:
        """Hand over the last `count` classes (to a worker with fewer)."""
        cut = len(self.inputs) - count
        taken, self.inputs = self.inputs[cut:], self.inputs[:cut]
        return taken

    def add(self, inputs: list[bytes]) -> int:
        """Take on classes; returns the number of the first one."""
        first = len(self.inputs)
        self.inputs.extend(inputs)
        return first


def _serve(connection) -> None:
    state = _State()
    while True:
        message = connection.recv()
        if message is None:
            return
        command, args = message
        try:
            connection.send(("ok", getattr(state, command)(*args)))
        except Exception:
            connection.send(("error", traceback.format_exc()))


_environment_lock = threading.Lock()


@contextlib.contextmanager
def _single_threaded_polars() -> Iterator[None]:
    """Workers are one per core already: each child's polars gets one thread. Polars
    sizes its pool when imported, which in a spawned child happens before any code of
    ours runs, so the setting must be in the environment the child starts with."""
    with _environment_lock:
        previous = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = "1"
        try:
            yield
        finally:
            if previous is None:
                del os.environ["POLARS_MAX_THREADS"]
            else:
                os.environ["POLARS_MAX_THREADS"] = previous


class WorkerProcess:
    """One spawned worker and its pipe; `call` then `result`, so several run at once."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        with _single_threaded_polars():
            self.process.start()
        child.close()

    def call(self, command: str, *args) -> None:
        self._connection.send((command, args))

    def result(self):
        status, value = self._connection.recv()
        if status != "ok":
            raise WorkerError(f"replay worker failed:\n{value}")
        return value

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # the worker is gone already
                self._connection.send(None)
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._connection.close()


class LocalWorker:
    """The same protocol in this process: for small data, where spawning costs more."""

    def __init__(self) -> None:
        self._state = _State()
        self._answer: tuple[str, object] = ("error", "no call made")

    def call(self, command: str, *args) -> None:
        try:
            self._answer = ("ok", getattr(self._state, command)(*args))
        except Exception:
            self._answer = ("error", traceback.format_exc())

    def result(self):
        status, value = self._answer
        if status != "ok":
            raise WorkerError(f"replay worker failed:\n{value}")
        return value

    def close(self) -> None:
        self._state = _State()


def read_index(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))
