"""`serve` stopped and started again and again, the way operators and supervisors do it,
with the spool empty and holding acknowledged events at each stop, and killed with
SIGKILL: every event answered 200 is stored exactly once, grouped exactly once, counted
once by its issue, and `just audit` reconciles. A plain restart with an empty spool is
the case that lost every event after it (reused deduplication tokens)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import clickhouse_connect
import httpx
import psycopg
import pytest

from core.storage.embedded import EmbeddedPostgres
from tests.support.clickhouse_server import wait_until
from tests.support.deployment import processes_of
from tests.support.load import LoadSender
from tests.support.relay_thread import free_port
from tests.support.serve_process import (
    UV_JUST_SERVE,
    UV_STACKWISE_SERVE,
    ServeProcess,
    processes_using,
)

# A graceful stop stores what the spool holds and lets the workers finish their batch.
STOP_WITHIN_S = 10.0
EVENTS_PER_CYCLE = 40


def spool_bytes(base_url: str) -> float:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("relay_spool_bytes "):
                return float(line.split()[1])
    raise AssertionError("relay_spool_bytes missing from /metrics")


class Deployment:
    """One data folder, `serve` started on it again and again (with `processes` relays)."""

    def __init__(self, tmp_path: Path, processes: int = 1) -> None:
        self.processes = processes
        self.data_dir = tmp_path / "data"
        self.port = free_port()
        self.clickhouse_port = free_port()
        self.acknowledged: list[str] = []
        self.server: ServeProcess | None = None
        self.sent = 0

    def start(self, *, batch_age_s: float = 0.2, command: list[str] | None = None, **kw):
        env = {
            "STACKWISE_CLICKHOUSE_HTTP_PORT": str(self.clickhouse_port),
            "STACKWISE_BATCH_MAX_AGE_S": str(batch_age_s),
            "STACKWISE_RELAY_PROCESSES": str(self.processes),
        }
        self.server = ServeProcess(self.data_dir, self.port, env, command, **kw)
        dsn = self.server.wait_healthy()
        self.public_key = dsn.split("//")[1].split("@")[0]
        self.project_id = int(dsn.rsplit("/", 1)[1])
        return self.server

    def send(self, count: int = EVENTS_PER_CYCLE) -> None:
        assert self.server is not None
        load = LoadSender(
            f"{self.server.base_url}/api/{self.project_id}/envelope/", self.public_key
        )
        # Several relay processes share the port per connection: a connection per event
        # spreads the events over all of them.
        per_connection = count if self.processes == 1 else 1
        for _ in range(count // per_connection):
            with httpx.Client(timeout=10) as client:
                for _ in range(per_connection):
                    assert load.send_one(client, self.sent) == 200
                    self.sent += 1
        self.acknowledged += load.acknowledged

    def stop(self, sig: int) -> float:
        assert self.server is not None
        started = time.monotonic()
        code = self.server.stop(sig)
        took = time.monotonic() - started
        if sig == signal.SIGKILL:
            wait_until(self.all_gone, 15, "servers or relay processes outlived serve")
        else:
            assert code == 0, self.server.log
            assert took < STOP_WITHIN_S, (
                f"stopping on signal {sig} took {took:.1f} s:\n{self.server.log[-4000:]}"
            )
        self.server = None
        return took

    def all_gone(self) -> bool:
        """No process of this data folder left: embedded servers, relay processes."""
        return not processes_using(self.data_dir) and not processes_of(self.data_dir)

    def segments(self) -> list[Path]:
        """Every relay process's spool segments (relay i > 0 keeps `spool/relay-<i>`)."""
        return sorted((self.data_dir / "spool").rglob("seg-*"))

    def spooled(self) -> float:
        """What the relays hold: one process says so in /metrics; several each answer for
        themselves there, so their segments on disk are counted instead."""
        assert self.server is not None
        if self.processes == 1:
            return spool_bytes(self.server.base_url)
        return sum(path.stat().st_size for path in self.segments() if path.exists())

    def clickhouse(self):
        return clickhouse_connect.get_client(
            dsn=f"http://127.0.0.1:{self.clickhouse_port}", database="stackwise"
        )

    def grouped(self) -> int:
        with psycopg.connect(EmbeddedPostgres(self.data_dir).url) as conn:
            return conn.execute(
                "SELECT count(*) FROM error_occurrences WHERE event_id = ANY(%s::uuid[])",
                (self.acknowledged,),
            ).fetchone()[0]

    def wait_settled(self) -> None:
        assert self.server is not None
        wait_until(lambda: self.spooled() == 0, 60, "spool never drained")
        wait_until(
            lambda: self.grouped() == len(set(self.acknowledged)), 60, "events never grouped"
        )

    def audit(self) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
        env["STACKWISE_DATA_DIR"] = str(self.data_dir)
        env["STACKWISE_CLICKHOUSE_HTTP_PORT"] = str(self.clickhouse_port)
        return subprocess.run(
            [sys.executable, "-m", "stackwise", "audit", "--settle", "0", "--since", "2h"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def assert_exactly_once(self) -> None:
        """Stored once per id (rows, not FINAL), assigned once, counted once, reconciled."""
        ids = sorted(set(self.acknowledged))
        assert len(ids) == len(self.acknowledged), "every acknowledgement was a new event"
        client = self.clickhouse()
        rows = client.query(
            "SELECT replaceAll(toString(event_id), '-', ''), count() FROM events "
            "WHERE event_id IN {ids:Array(UUID)} GROUP BY event_id",
            parameters={"ids": ids},
        ).result_rows
        counts = dict(rows)
        assert sorted(counts) == ids, f"{len(ids) - len(counts)} acknowledged events lost"
        assert set(counts.values()) == {1}, "an event stored more than once"
        assigned = client.query(
            "SELECT uniqExact(event_id) FROM event_groups WHERE event_id IN {ids:Array(UUID)}",
            parameters={"ids": ids},
        ).result_rows[0][0]
        client.close()
        assert assigned == len(ids)
        assert self.grouped() == len(ids)
        with psycopg.connect(EmbeddedPostgres(self.data_dir).url) as conn:
            (times_seen,) = conn.execute(
                "SELECT sum(times_seen) FROM error_groups WHERE project_id = %s "
                "AND merged_into IS NULL",
                (self.project_id,),
            ).fetchone()
        assert times_seen == len(ids)
        audit = self.audit()
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "reconciled" in audit.stdout


@pytest.mark.embedded
@pytest.mark.parametrize("processes", [1, 2], ids=["one_process", "two_relay_processes"])
def test_restart_cycles_store_and_group_every_acknowledged_event_exactly_once(tmp_path, processes):
    deployment = Deployment(tmp_path, processes)
    try:
        server = deployment.start()
        # Every acknowledged event must be stored: none may be sampled away (a 200 too).
        server.configure("demo", "sampling.enabled", "false")

        # 1. Stopped with the spool empty: the restart that used to reuse tokens.
        deployment.send()
        deployment.wait_settled()
        deployment.stop(signal.SIGTERM)
        assert deployment.segments() == []

        # 2. SIGINT while the open segment holds acknowledged events: stored on the way out.
        deployment.start(batch_age_s=60)
        deployment.send()
        assert deployment.spooled() > 0
        deployment.stop(signal.SIGINT)
        assert deployment.segments() == [], "a graceful stop stores what it acknowledged"

        # 3. Killed with acknowledged events in the spool: the next start replays them.
        deployment.start(batch_age_s=60)
        deployment.send()
        deployment.stop(signal.SIGKILL)
        assert deployment.segments(), "the acknowledged events wait in the spool"
        spools = {segment.parent for segment in deployment.segments()}
        assert len(spools) == processes, "each relay process holds events in its own spool"

        # 4. Replaying, taking new events, and stopped at once (spool not yet drained).
        deployment.start()
        deployment.send()
        deployment.stop(signal.SIGTERM)

        # 5. Once more, then everything is checked.
        deployment.start()
        deployment.send()
        deployment.wait_settled()
        assert deployment.segments() == []
        deployment.assert_exactly_once()
        deployment.stop(signal.SIGTERM)
    finally:
        if deployment.server is not None:
            deployment.server.stop(signal.SIGKILL)


@pytest.mark.embedded
@pytest.mark.parametrize(
    ("command", "how"),
    [
        (UV_JUST_SERVE, "sigterm_to_top"),  # docker stop, systemd: SIGTERM to the top process
        (UV_STACKWISE_SERVE, "sigint_to_top"),  # a supervisor configured to send SIGINT
        (UV_JUST_SERVE, "ctrl_c"),  # a terminal: SIGINT to the whole foreground group
    ],
)
def test_serve_under_uv_stops_cleanly_and_stores_what_it_acknowledged(tmp_path, command, how):
    deployment = Deployment(tmp_path)
    try:
        server = deployment.start(batch_age_s=60, command=command, own_group=True)
        server.configure("demo", "sampling.enabled", "false")
        deployment.send()
        assert spool_bytes(server.base_url) > 0
        started = time.monotonic()
        if how == "ctrl_c":
            server.interrupt_group()
            code = server.wait_exit(STOP_WITHIN_S)
        else:
            sig = signal.SIGTERM if how == "sigterm_to_top" else signal.SIGINT
            code = server.stop(sig, timeout_s=STOP_WITHIN_S)
        took = time.monotonic() - started
        deployment.server = None
        assert took < STOP_WITHIN_S
        assert code in (0, 130, 143), server.log  # just reports the signal it passed on
        wait_until(lambda: not processes_using(deployment.data_dir), 15, "servers left behind")
        assert deployment.segments() == [], "everything acknowledged was stored before exit"

        deployment.start()
        deployment.wait_settled()
        deployment.assert_exactly_once()
        deployment.stop(signal.SIGTERM)
    finally:
        if deployment.server is not None:
            deployment.server.stop(signal.SIGKILL)
