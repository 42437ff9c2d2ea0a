"""A server-mode deployment in real child processes on this machine, to be broken on purpose.

    ClickHouse   `python -m stackwise clickhouse` (chdb over HTTP), in its own folder
    PostgreSQL   the machine's, a database of the caller's, behind a TcpProxy
    Redis        the machine's, a namespace of the caller's, behind a TcpProxy
    relays       `python -m stackwise relay [--processes N]`, each with its own data folder
    workers      `python -m stackwise worker [--processes N --threads M]`

Every process can be stopped as a supervisor does (SIGTERM, SIGINT), killed (SIGKILL)
and started again on the state it left. Cutting a proxy is a real network outage for
every process behind it, while the shared servers keep running for everyone else. The
caller reads the stores directly, never through a proxy, so its checks work during an
outage. Nothing here decides what is correct: see accounting.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
from clickhouse_connect.driver.client import Client
from psycopg.rows import dict_row

from core.storage import clickhouse
from tests.support.clickhouse_server import ClickHouseServer, wait_until
from tests.support.relay_thread import free_port
from tests.support.serve_process import ServeProcess
from tests.support.tcp_proxy import TcpProxy

_WORKER_READY = "worker running"
_RELAYS_READY = "relay processes on"
# Tables whose inserted rows are counted per event id (see Deployment._count_inserted_rows).
INSERT_COUNTED = ("events", "transactions")
_STOP_TIMEOUT_S = 60.0


class Service:
    """One relay or worker process, started again on its data folder as often as needed."""

    def __init__(
        self,
        name: str,
        command: str,
        data_dir: Path,
        port: int,
        env: dict[str, str],
        *,
        args: tuple[str, ...] = (),
    ):
        self.name, self.command, self.args = name, command, args
        self.data_dir, self.port, self.env = data_dir, port, env
        self.process: ServeProcess | None = None
        self.starts = 0
        self._earlier_logs: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.process.poll() is None

    @property
    def log(self) -> str:
        current = self.process.log if self.process is not None else ""
        return "".join(self._earlier_logs) + current

    def start(self, *, wait: bool = True) -> Service:
        assert not self.running, f"{self.name} is running already"
        if self.process is not None:
            self._earlier_logs.append(self.process.log)
        command = [sys.executable, "-m", "stackwise", self.command, *self.args]
        self.process = ServeProcess(self.data_dir, self.port, self.env, command)
        self.starts += 1
        if wait:
            self.wait_ready()
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.process.returncode}")
        if self.command == "worker":
            return _WORKER_READY in self.process.log
        if self.processes > 1 and _RELAYS_READY not in self.process.log:
            return False  # any one of them may answer /healthz below
        try:
            httpx.get(f"{self.base_url}/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        return True  # answering at all: a store that is away makes it 503, not silent

    def wait_ready(self, timeout_s: float = 90) -> None:
        try:
            wait_until(self._ready, timeout_s, f"{self.name} did not start")
        except AssertionError as e:
            raise AssertionError(f"{e}:\n{self.log[-4000:]}") from None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process (SIGTERM, SIGINT: a clean stop; SIGKILL) and wait for it."""
        assert self.process is not None
        return self.process.stop(sig, timeout_s=_STOP_TIMEOUT_S)

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM, *, wait: bool = True) -> int:
        code = self.stop(sig)
        self.start(wait=wait)
        return code

    @property
    def processes(self) -> int:
        return int(self.args[self.args.index("--processes") + 1]) if self.args else 1

    def children(self) -> list[psutil.Process]:
        """The processes this one started and supervises (relays, Dramatiq's), recursively."""
        assert self.process is not None
        try:
            return psutil.Process(self.process.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def spooled_bytes(self) -> float:
        """What its spools hold: one relay says so in /metrics; several relay processes each
        answer for themselves there, so their segments on disk are counted instead."""
        if self.processes == 1:
            return self.metric("relay_spool_bytes")
        total = 0
        for segment in (self.data_dir / "spool").rglob("seg-*"):
            with contextlib.suppress(FileNotFoundError):
                total += segment.stat().st_size
        return total

    def metric(self, name: str) -> float:
        """A relay's unlabelled metric, read from /metrics."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"{name} missing from {self.name}'s /metrics")


class Deployment:
    """The stores, the proxies and the processes of one deployment under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        postgres_url: str,
        redis_url: str,
        namespace: str,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.postgres_url = postgres_url  # the caller's own way in, never cut
        self.redis_url = redis_url
        self.namespace = namespace
        self.queue_name = "events"
        self.settings = settings or {}
        self.clickhouse_server = ClickHouseServer(root / "clickhouse", free_port())
        postgres = psycopg.conninfo.conninfo_to_dict(postgres_url)
        self.postgres_proxy = TcpProxy(postgres.get("host", "127.0.0.1"), int(postgres["port"]))
        redis = urlsplit(redis_url)
        self.redis_proxy = TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379)
        self.database = postgres["dbname"]
        self.relays: list[Service] = []
        self.workers: list[Service] = []

    # -- assembling ---------------------------------------------------------------
    def env(self, **settings: str) -> dict[str, str]:
        """The environment of a process behind the proxies (STACKWISE_* settings)."""
        values = {
            "clickhouse_url": self.clickhouse_server.url,
            "clickhouse_database": "stackwise",
            "postgres_url": (
                f"postgresql://postgres@127.0.0.1:{self.postgres_proxy.port}/{self.database}"
            ),
            "redis_url": f"redis://127.0.0.1:{self.redis_proxy.port}/0",
            "redis_namespace": self.namespace,
            "queue_name": self.queue_name,
            **self.settings,
            **settings,
        }
        return {f"STACKWISE_{name.upper()}": str(value) for name, value in values.items()}

    def start(self, *, relays: int = 1, workers: int = 1) -> Deployment:
        self.root.mkdir(parents=True, exist_ok=True)
        self.postgres_proxy.start()
        self.redis_proxy.start()
        self.clickhouse_server.start()
        # Once, before the processes start: they would all migrate at the same moment.
        migrate = subprocess.run(
            [sys.executable, "-m", "stackwise", "migrate"],
            env={**_inherited_env(), **self.env()},
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        self._count_inserted_rows()
        started = [self.add_relay(wait=False) for _ in range(relays)]
        started += [self.add_worker(wait=False) for _ in range(workers)]
        for service in started:
            service.wait_ready()
        return self

    def _count_inserted_rows(self) -> None:
        """A counter of every row inserted into `events` and `transactions`, per id.

        Those tables are ReplacingMergeTree: a merge collapses an event stored twice, so
        counting their rows can miss a duplicate once the parts have merged. The counters
        are plain MergeTree tables fed by materialized views; a replayed insert (the same
        deduplication token) is dropped by them as by the table, anything else is counted.
        """
        client = self.clickhouse()
        try:
            for table in INSERT_COUNTED:
                client.command(
                    f"CREATE TABLE {table}_inserted (project_id UInt64, event_id UUID) "
                    "ENGINE = MergeTree ORDER BY (project_id, event_id) "
                    "SETTINGS non_replicated_deduplication_window = 100000"
                )
                client.command(
                    f"CREATE MATERIALIZED VIEW {table}_inserted_mv TO {table}_inserted "
                    f"AS SELECT project_id, event_id FROM {table}"
                )
        finally:
            client.close()

    def add_relay(
        self, *, data_dir: Path | None = None, wait: bool = True, processes: int = 1, **settings
    ) -> Service:
        name = f"relay-{len(self.relays) + 1}"
        data_dir = data_dir or self.root / name
        # One process unless asked (the default of `relay` is one per core).
        args = ("--processes", str(processes))
        env = self.env(**settings)
        service = Service(
            name, "relay", data_dir, free_port(), env, args=args if processes > 1 else ()
        )
        if processes == 1:
            service.env["STACKWISE_RELAY_PROCESSES"] = "1"
        self.relays.append(service)
        return service.start(wait=wait)

    def add_worker(
        self, *, wait: bool = True, processes: int = 1, threads: int | None = None, **settings
    ) -> Service:
        name = f"worker-{len(self.workers) + 1}"
        args = ("--processes", str(processes))
        args += ("--threads", str(threads)) if threads else ()
        env = self.env(**settings)
        service = Service(name, "worker", self.root / name, 0, env, args=args)
        self.workers.append(service)
        return service.start(wait=wait)

    def remove(self, service: Service) -> None:
        """Stop a service for good (a relay whose disk goes away with the test)."""
        if service.running:
            service.stop()
        (self.relays if service in self.relays else self.workers).remove(service)

    @property
    def services(self) -> list[Service]:
        return self.relays + self.workers

    def heal(self) -> None:
        """Undo what a fault left behind: every link restored, every process running."""
        self.postgres_proxy.restore()
        self.redis_proxy.restore()
        ch = self.clickhouse_server.process
        if ch is None or ch.poll() is not None:
            self.clickhouse_server.start()
        stopped = [service for service in self.services if not service.running]
        for service in stopped:
            service.start(wait=False)
        for service in stopped:
            service.wait_ready()

    # -- the caller's direct access -----------------------------------------------
    def clickhouse(self) -> Client:
        return clickhouse.connect(self.clickhouse_server.url, "stackwise")

    def postgres(self) -> psycopg.Connection:
        return psycopg.connect(self.postgres_url, row_factory=dict_row, autocommit=True)

    def redis_hash_length(self, key: str) -> int:
        import redis

        with contextlib.closing(redis.Redis.from_url(self.redis_url)) as client:
            return int(client.hlen(f"{self.namespace}:{key}"))

    def queued_batches(self) -> int:
        """Batches not yet acknowledged by a worker: waiting, held, or delayed for a retry."""
        return self.redis_hash_length(f"{self.queue_name}.msgs") + self.redis_hash_length(
            f"{self.queue_name}.DQ.msgs"
        )

    def dead_batches(self) -> int:
        """Batches Dramatiq gave up on (retries exhausted): their events are never grouped."""
        return self.redis_hash_length(f"{self.queue_name}.XQ.msgs")

    def spooled_bytes(self) -> float:
        return sum(relay.spooled_bytes() for relay in self.relays)

    def audit(self, *args: str) -> subprocess.CompletedProcess:
        """`python -m stackwise audit ARGS` against this deployment, as an operator runs it."""
        env = {**_inherited_env(), **self.env(postgres_url=self.postgres_url, log_level="WARNING")}
        return subprocess.run(
            [sys.executable, "-m", "stackwise", "audit", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    # -- tearing down -------------------------------------------------------------
    def close(self) -> None:
        for service in self.services:
            if service.running:
                with contextlib.suppress(AssertionError):
                    service.stop()
        if self.clickhouse_server.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.clickhouse_server.stop()
        self.postgres_proxy.close()
        self.redis_proxy.close()
        leftovers = processes_of(self.root)
        for leftover in leftovers:
            leftover.kill()
        psutil.wait_procs(leftovers, timeout=10)
        assert not processes_of(self.root), "processes of the deployment outlived it"

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _inherited_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}


def processes_of(root: Path) -> list[psutil.Process]:
    """Live processes whose data folder is under `root` (left behind by a failure)."""
    marker = str(root.resolve())
    found = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("STACKWISE_DATA_DIR", "").startswith(marker):
                found.append(proc)
    return found


@contextlib.contextmanager
def running_deployment(
    root: Path, *, relays: int = 1, workers: int = 1, **kwargs
) -> Iterator[Deployment]:
    deployment = Deployment(root, **kwargs)
    try:
        yield deployment.start(relays=relays, workers=workers)
    finally:
        deployment.close()
