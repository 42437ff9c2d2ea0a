"""`just bench e2e`: the whole pipeline under load, from the SDK's request to a grouped issue.

wrk posts real sentry-sdk exception envelopes (about 3 KB; 100 distinct issues; a unique
event id on every request) over 32 keep-alive connections to `serve` on the embedded
default (its own ClickHouse, PostgreSQL and Redis in a temporary data folder; the
project's configuration neutral: no sampling, no spike protection, no quotas, no filters).

Two layouts, one after the other:
- `serve --processes 1` (relay, flusher and workers in one process): a sustained run, what
  the processes are compared with.
- `serve --processes N`, N one per core by default: the layout `just serve` runs (relays on
  one port, the storage owner flushing their spools, workers). The targets are its own:
  Each load starts once the previous one's work is done, queues included: the warm-up's
  new issues are analysed before the first measured load, not during it.
  - sustained: acknowledged events/s and p99 for --seconds, then the wait until every
    acknowledged event is a row of ClickHouse `events` and counted by its issue in
    PostgreSQL. The end-to-end rate is acknowledged / (start of the load -> the last one
    grouped); CPU-ms per event is the user + system CPU of `serve` and every process
    below it (relays, embedded PostgreSQL and Redis included, reaped children too) over
    the same span, divided by the acknowledged events. wrk's own CPU is not counted.
  - burst: short probes with more and more connections find the highest rate the
    acknowledge path answers without a 503; then --seconds at that load, and the
    backlog must drain with nothing lost.
  - the events/s stored in ClickHouse, against one process's.

`--profile` adds a run recorded with py-spy and prints each pipeline stage's share of serve's
Python samples, and the CPU of every thread and process per event (bench/e2e_profile.py).

Before and after the loads it times a fixed pure-Python workload (`machine reference`):
this machine's speed drifts with the same code, and a run's figures are read beside it.

Ends with one line: `bench e2e: <figures> (target <targets>) ok|short`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this folder leads sys.path and holds modules named like packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import psutil  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
import sentry_sdk  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

from core.pg.issues import reads  # noqa: E402
from core.storage import clickhouse  # noqa: E402
from core.storage.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402

HERE = Path(__file__).parent
PLACEHOLDER = "EVENT_ID_PLACEHOLDER_XXXXXXXXXXX"
ISSUES = 100
TARGET_SUSTAINED = 4_000.0
TARGET_CPU_MS = 0.30
TARGET_P99_MS = 50.0
TARGET_BURST = 8_000.0
TARGET_PROCESSES_RATIO = 1.4
PROBE_CONNECTIONS = (32, 64, 128, 256)
NEUTRAL = {
    "sampling.enabled": "false",
    "spike_protection.enabled": "false",
    "rate_limits.per_minute": "{}",
    "filters": "{}",
}


# --- real SDK envelopes --------------------------------------------------------------------


class _Capture(Transport):
    """The SDK's own envelope, serialized as it would go over the wire (uncompressed)."""

    envelopes: list[bytes] = []

    def capture_envelope(self, envelope) -> None:
        _Capture.envelopes.append(envelope.serialize())


def _load_order(order_id: int, error_type: type[Exception]) -> None:
    raise error_type(f"order {order_id} cannot move from 'paid' to 'draft'")


def _change_state(order_id: int, error_type: type[Exception]) -> None:
    _load_order(order_id, error_type)


def _handle_request(order_id: int, error_type: type[Exception]) -> None:
    _change_state(order_id, error_type)


def _capture_one(issue: int) -> str | None:
    # Its own frame, so the local variables the SDK records stay small.
    error_type = type(f"OrderStateError{issue}", (Exception,), {"__module__": "shop.orders"})
    try:
        _handle_request(1000 + issue, error_type)
    except Exception as error:
        return sentry_sdk.capture_exception(error)
    return None


def sdk_envelopes(count: int) -> list[bytes]:
    """One exception envelope per issue (a distinct exception type each), id as placeholder."""
    client = sentry_sdk.Client(
        dsn="http://bench@127.0.0.1:9/1",
        default_integrations=False,
        transport=_Capture,
        release="shop@2.4.1",
        environment="production",
        server_name="web-3",
    )
    scope = sentry_sdk.get_global_scope()
    previous = scope.client
    scope.set_client(client)
    _Capture.envelopes = []
    try:
        for issue in range(count):
            event_id = _capture_one(issue)
            client.flush()
            body = _Capture.envelopes[-1]
            assert event_id and event_id.encode() in body
            _Capture.envelopes[-1] = body.replace(event_id.encode(), PLACEHOLDER.encode())
    finally:
        client.close()
        scope.set_client(previous)
    return list(_Capture.envelopes)


def write_templates(path: Path, envelopes: list[bytes]) -> None:
    with open(path, "wb") as out:
        for body in envelopes:
            out.write(b"%08d" % len(body) + body)


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    seconds: float
    requests_per_s: float
    acknowledged: int
    unavailable: int  # 503 answers
    failed: int  # any other non-2xx answer or socket error
    p99_ms: float

    @property
    def acknowledged_per_s(self) -> float:
        return self.acknowledged / self.seconds


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(target: Target, templates: Path, seconds: int, connections: int) -> WrkResult:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(HERE / "e2e.lua"),
        target.url,
        "--",
        str(templates),
        target.path,
        target.auth,
        # Every run its own ids: wrk's random numbers are the same in every run.
        f"{random.randrange(0x10000000, 0x7FFFFFFF):08x}",
    ]
    started = time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rejected = int(non_2xx.group(1)) if non_2xx else 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    unavailable = int(m.group(1)) if (m := re.search(r"^unavailable (\d+)$", output, re.M)) else 0
    return WrkResult(
        seconds=min(elapsed, float(seconds)),
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        acknowledged=total - rejected,
        unavailable=unavailable,
        failed=rejected - unavailable + (sum(int(g) for g in errors.groups()) if errors else 0),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
    )


# --- the serve process and its stores ------------------------------------------------------


@dataclass
class Target:
    process: subprocess.Popen
    data_dir: Path
    url: str
    path: str
    auth: str
    project_id: int
    clickhouse_port: int
    # One connection each for the counts, opened on first use.
    _clickhouse: Any = None
    _postgres: Any = None
    _redis: Any = None

    def stored(self) -> int:
        if self._clickhouse is None:
            url = f"http://127.0.0.1:{self.clickhouse_port}"
            self._clickhouse = clickhouse.connect(url, "stackwise")
        query = f"SELECT count() FROM events WHERE project_id = {self.project_id}"
        return int(self._clickhouse.command(query))

    def grouped(self, *, exact: bool = False) -> int:
        """Events counted by their issues (`exact`: their occurrence rows, slower)."""
        if self._postgres is None:
            url = EmbeddedPostgres(self.data_dir).url
            self._postgres = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        return reads.grouped_events(self._postgres, self.project_id, exact=exact)

    def queued(self) -> int:
        """Messages of any queue not yet done (waiting, delayed or being processed): Dramatiq
        keeps each in its queue's `.msgs` hash until a worker acknowledges it."""
        if self._redis is None:
            self._redis = redis.Redis.from_url(EmbeddedRedis(self.data_dir).url)
        return sum(self._redis.hlen(key) for key in self._redis.scan_iter("*.msgs"))

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        if self._clickhouse is not None:
            self._clickhouse.close()
        if self._postgres is not None:
            self._postgres.close()

    def cpu_s(self) -> float:
        """User + system CPU of serve and every process below it, reaped children included."""
        total = 0.0
        root = psutil.Process(self.process.pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def pids(self) -> list[int]:
        root = psutil.Process(self.process.pid)
        return [p.pid for p in [root, *root.children(recursive=True)] if _is_python(p)]


def _is_python(process: psutil.Process) -> bool:
    try:
        return "python" in process.name()
    except psutil.NoSuchProcess:
        return False


def wait_http(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def start_serve(work: Path, env: dict[str, str], processes: int | None, port: int) -> Target:
    data_dir = work / f"data-{port}"
    serve_env = {
        **env,
        "STACKWISE_DATA_DIR": str(data_dir),
        "STACKWISE_PORT": str(port),
        "STACKWISE_CLICKHOUSE_HTTP_PORT": str(port + 1),
        "STACKWISE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "stackwise", "serve"]
    if processes is not None:
        command += ["--processes", str(processes)]
    process = subprocess.Popen(
        command, env=serve_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    dsn_line = ""
    while "DSN" not in dsn_line:
        dsn_line = process.stdout.readline()
        if not dsn_line and process.poll() is not None:
            raise SystemExit(f"serve exited with {process.returncode} before printing its DSN")
    # Keep reading its output, or a full pipe would stop it.
    subprocess_drain(process)
    wait_http(f"http://127.0.0.1:{port}/healthz")
    dsn = dsn_line.split()[-1]
    key, project = dsn.split("//")[1].split("@")[0], dsn.rsplit("/", 1)[1]
    for path, value in NEUTRAL.items():
        subprocess.run(
            [sys.executable, "-m", "stackwise", "project", "config", "demo", path, value],
            env=serve_env,
            check=True,
            capture_output=True,
        )
    time.sleep(3)  # relays refresh keys and configuration every 2 s
    return Target(
        process=process,
        data_dir=data_dir,
        url=f"http://127.0.0.1:{port}/api/{project}/envelope/",
        path=f"/api/{project}/envelope/",
        auth=f"Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.python/2.75.0",
        project_id=int(project),
        clickhouse_port=port + 1,
    )


def subprocess_drain(process: subprocess.Popen) -> None:
    import threading

    def drain() -> None:
        for line in process.stdout:
            if "Traceback" in line or "ERROR" in line:
                print(f"  serve: {line.rstrip()}", flush=True)

    threading.Thread(target=drain, daemon=True).start()


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the measurements ----------------------------------------------------------------------


def machine_reference_ms(rounds: int = 7) -> float:
    """CPU-ms of a fixed pure-Python workload (JSON and arithmetic; none of stackwise's
    code), the best of `rounds`. This machine's speed drifts by a third over hours with
    the same code; a run's CPU per event is read beside it, so a slow stretch of the
    machine is told from a change in the code."""
    document = {"frames": [{"lineno": n, "function": f"f{n}", "vars": {"n": n}} for n in range(60)]}
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(200):
            json.loads(json.dumps(document))
        sum(i * i for i in range(300_000))
        best = min(best, time.process_time() - started)
    return best * 1000


@dataclass
class Run:
    wrk: WrkResult
    stored_per_s: float  # acknowledged / (start -> the last one in ClickHouse)
    grouped_per_s: float  # acknowledged / (start -> the last one grouped)
    cpu_ms_per_event: float
    drained_s: float  # end of the load -> the last one grouped
    missing: int  # acknowledged, not stored and grouped when the wait ended


def settle(target: Target, timeout_s: float) -> tuple[int, int]:
    """Wait until the counts stop moving, everything stored grouped, and no queue holds a
    message: what a load set off (the analyses of the issues it created, say) is done
    before the next measurement starts, and not charged to its events; (stored, grouped)."""
    deadline, last = time.monotonic() + timeout_s, (-1, -1)
    while time.monotonic() < deadline:
        now = (target.stored(), target.grouped())
        if now == last and now[0] == now[1] and target.queued() == 0:
            return now
        last = now
        time.sleep(1.0)
    print(f"  not settled within {timeout_s:.0f} s: {last[0]:,} stored, {last[1]:,} grouped")
    return last


def measure(
    target: Target, templates: Path, seconds: int, connections: int, drain_timeout_s: float
) -> Run:
    stored_before, grouped_before = settle(target, drain_timeout_s)
    cpu_before = target.cpu_s()
    started = time.monotonic()
    result = run_wrk(target, templates, seconds, connections)
    load_ended = time.monotonic()
    stored_at = grouped_at = None
    deadline = load_ended + drain_timeout_s
    while grouped_at is None and time.monotonic() < deadline:
        now = time.monotonic()
        if stored_at is None and target.stored() - stored_before >= result.acknowledged:
            stored_at = now
        if stored_at is not None and target.grouped() - grouped_before >= result.acknowledged:
            grouped_at = now
            break
        time.sleep(0.2)
    cpu_s = target.cpu_s() - cpu_before
    stored = target.stored() - stored_before
    grouped = target.grouped(exact=True) - grouped_before
    missing = max(0, result.acknowledged - min(stored, grouped))
    if grouped_at is None:
        print(
            f"  not drained {drain_timeout_s:.0f} s after the load: {stored:,} stored, "
            f"{grouped:,} grouped of {result.acknowledged:,} acknowledged"
        )
        grouped_at = stored_at = stored_at or time.monotonic()
    return Run(
        wrk=result,
        stored_per_s=result.acknowledged / (stored_at - started),
        grouped_per_s=result.acknowledged / (grouped_at - started),
        cpu_ms_per_event=cpu_s * 1000 / max(1, result.acknowledged),
        drained_s=grouped_at - load_ended,
        missing=missing,
    )


def describe(name: str, run: Run) -> None:
    result = run.wrk
    print(
        f"{name}: {result.acknowledged_per_s:,.0f} events/s acknowledged "
        f"({result.acknowledged:,} in {result.seconds:.0f} s), p99 {result.p99_ms:.1f} ms, "
        f"{result.unavailable} x 503, {result.failed} failed; {run.stored_per_s:,.0f} events/s "
        f"stored, {run.grouped_per_s:,.0f} events/s grouped end to end (drained "
        f"{run.drained_s:.1f} s after the load); {run.cpu_ms_per_event:.3f} CPU-ms/event; "
        f"{run.missing} missing",
        flush=True,
    )


def find_burst_connections(
    target: Target, templates: Path, probe_s: int, drain_timeout_s: float
) -> int:
    """The connection count with the highest acknowledged rate and no 503 in a short probe."""
    best, best_rate = PROBE_CONNECTIONS[0], 0.0
    for connections in PROBE_CONNECTIONS:
        settle(target, drain_timeout_s)
        probe = run_wrk(target, templates, probe_s, connections)
        print(
            f"  probe {connections} connections: {probe.acknowledged_per_s:,.0f} events/s "
            f"acknowledged, p99 {probe.p99_ms:.1f} ms, {probe.unavailable} x 503",
            flush=True,
        )
        if probe.unavailable or probe.failed:
            break
        if probe.acknowledged_per_s > best_rate:
            best, best_rate = connections, probe.acknowledged_per_s
    return best


def profile_run(target: Target, templates: Path, args: argparse.Namespace, work: Path) -> None:
    """One more sustained run, recorded by py-spy, with CPU per thread and process."""
    # At the end of the path: this folder's other modules must not shadow packages.
    sys.path.append(str(HERE))
    import e2e_profile

    settle(target, args.drain_timeout)
    cpu_before = e2e_profile.tree_cpu_s(target.process.pid)
    raw = work / "profile.txt"
    # Recorded until the backlog is grouped (py-spy stops at its duration or when told).
    recorder = e2e_profile.start_recording(target.process.pid, args.seconds * 20, raw)
    result = run_wrk(target, templates, args.seconds, args.connections)
    settle(target, args.drain_timeout)
    cpu_after = e2e_profile.tree_cpu_s(target.process.pid)
    recorder.send_signal(signal.SIGINT)
    recorder.wait(60)
    cpu = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_after.items()}
    e2e_profile.print_profile(e2e_profile.stage_samples(raw), cpu, result.acknowledged)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="each measured load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--probe-seconds", type=int, default=5)
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="relay processes of the measured layout (default: one per core, as `just serve`)",
    )
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument(
        "--drain-timeout", type=float, default=600.0, help="seconds to wait for the backlog"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print per-stage CPU shares (py-spy)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    # SIGTERM as SystemExit: the `finally` blocks stop serve and remove the temporary folder.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    try:
        templates = work / "envelopes.bin"
        envelopes = sdk_envelopes(ISSUES)
        write_templates(templates, envelopes)
        sizes = sorted(len(body) for body in envelopes)
        print(
            f"{len(envelopes)} sentry-sdk {sentry_sdk.VERSION} exception envelopes "
            f"({sizes[0]:,}-{sizes[-1]:,} bytes), {args.connections} connections, "
            f"{args.seconds} s per load",
            flush=True,
        )
        return run_all(args, work, env, templates)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def warmed_serve(
    work: Path, env: dict[str, str], templates: Path, *, processes: int, port: int, connections: int
) -> Iterator[Target]:
    """`serve --processes N` started, warmed up by a short load (not counted), then stopped."""
    target = start_serve(work, env, processes, port)
    try:
        run_wrk(target, templates, 3, connections)
        yield target
    finally:
        target.close()
        stop(target.process)


def run_all(args: argparse.Namespace, work: Path, env: dict[str, str], templates: Path) -> int:
    drain_timeout_s = args.drain_timeout
    processes = args.processes
    reference_ms = [machine_reference_ms()]
    print(f"machine reference: {reference_ms[0]:.1f} CPU-ms", flush=True)
    # One process (relay, flusher and workers together): what the processes are compared with.
    with warmed_serve(
        work, env, templates, processes=1, port=18911, connections=args.connections
    ) as baseline:
        single = measure(baseline, templates, args.seconds, args.connections, drain_timeout_s)
        describe("serve --processes 1, sustained", single)
    # The layout `just serve` runs: one relay process per core, the storage owner flushing.
    with warmed_serve(
        work, env, templates, processes=processes, port=18921, connections=args.connections
    ) as target:
        sustained = measure(target, templates, args.seconds, args.connections, drain_timeout_s)
        describe(f"serve --processes {processes}, sustained", sustained)
        burst = None
        if not args.no_burst:
            connections = find_burst_connections(
                target, templates, args.probe_seconds, drain_timeout_s
            )
            burst = measure(target, templates, args.seconds, connections, drain_timeout_s)
            describe(f"serve --processes {processes}, burst with {connections} connections", burst)
        if args.profile:
            profile_run(target, templates, args, work)
    reference_ms.append(machine_reference_ms())
    print(f"machine reference: {reference_ms[1]:.1f} CPU-ms", flush=True)
    return 0 if summarize(single, sustained, burst, processes, reference_ms) else 1


def summarize(
    single: Run, sustained: Run, burst: Run | None, processes: int, reference_ms: list[float]
) -> bool:
    ok = (
        sustained.grouped_per_s >= TARGET_SUSTAINED
        and sustained.cpu_ms_per_event <= TARGET_CPU_MS
        and sustained.wrk.p99_ms < TARGET_P99_MS
        and sustained.missing == 0
        and sustained.wrk.failed == 0
        and single.missing == 0
    )
    figures = [
        f"serve --processes {processes}: sustained {sustained.grouped_per_s:,.0f} events/s end "
        f"to end, {sustained.cpu_ms_per_event:.3f} CPU-ms/event, p99 "
        f"{sustained.wrk.p99_ms:.1f} ms, {sustained.missing} missing"
    ]
    if burst is None:
        figures.append("burst not measured")
        ok = False
    else:
        ok &= (
            burst.wrk.acknowledged_per_s >= TARGET_BURST
            and burst.wrk.p99_ms < TARGET_P99_MS
            and burst.wrk.unavailable == 0
            and burst.missing == 0
        )
        figures.append(
            f"burst {burst.wrk.acknowledged_per_s:,.0f} events/s p99 {burst.wrk.p99_ms:.1f} ms, "
            f"{burst.wrk.unavailable} x 503, drained in {burst.drained_s:.1f} s, "
            f"{burst.missing} missing"
        )
    ratio = sustained.stored_per_s / single.stored_per_s
    ok &= ratio >= TARGET_PROCESSES_RATIO
    figures.append(
        f"stores {sustained.stored_per_s:,.0f} events/s = {ratio:.2f}x one process "
        f"({single.stored_per_s:,.0f}; {single.grouped_per_s:,.0f} end to end, "
        f"{single.cpu_ms_per_event:.3f} CPU-ms/event, p99 {single.wrk.p99_ms:.1f} ms)"
    )
    figures.append(
        "machine reference " + " -> ".join(f"{ms:.0f}" for ms in reference_ms) + " CPU-ms"
    )
    print(
        f"bench e2e: {'; '.join(figures)} (target sustained >= 4,000 events/s, <= 0.30 "
        f"CPU-ms/event, p99 < 50 ms; burst >= 8,000 events/s p99 < 50 ms, nothing lost; "
        f"{processes} processes >= 1.4x one) {'ok' if ok else 'short'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
