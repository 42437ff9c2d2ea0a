"""Faults in a server-mode deployment, under load, through real processes and real HTTP.

A relay or a worker killed at a random moment; PostgreSQL, Redis or ClickHouse away for
a while; the spool's disk full. Meanwhile the relay answers SDKs as the protocol expects:
200 while its spool takes the event, 503 with Retry-After when it cannot, never a 500.
Afterwards every event answered 200 is stored exactly once, grouped exactly once and
counted once by its issue, and `stackwise audit` reconciles.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from core.pg.projects import create_project, save_config
from core.project_config import set_path
from core.storage.postgres import open_pool
from relay.event_rows import EventRows
from tests.conftest import MACHINE_REDIS, fresh_postgres, fresh_redis_namespace
from tests.support.accounting import account, wait_settled
from tests.support.clickhouse_server import wait_until
from tests.support.deployment import Deployment, Service, running_deployment
from tests.support.load import LoadSender, event_envelope
from tests.support.small_disk import small_disk

# A dead worker's batches go back to the queue within seconds, not the default 30 s.
FAST_RECOVERY = {
    "batch_max_age_s": "0.2",
    "queue_heartbeat_timeout_s": "5",
    "queue_maintenance_chance": "100000",
}
OUTAGE_S = 4.0


@pytest.fixture(scope="module")
def shared_deployment(tmp_path_factory, postgres_template: str) -> Iterator[Deployment]:
    """One deployment for the module (starting one takes seconds); each test has its own
    project and accounts for it alone."""
    with (
        fresh_postgres(postgres_template) as postgres_url,
        fresh_redis_namespace(MACHINE_REDIS) as namespace,
        running_deployment(
            tmp_path_factory.mktemp("outages") / "deployment",
            postgres_url=postgres_url,
            redis_url=f"{MACHINE_REDIS}/0",
            namespace=namespace,
            settings=FAST_RECOVERY,
        ) as running,
    ):
        yield running


@pytest.fixture
def deployment(shared_deployment: Deployment) -> Deployment:
    shared_deployment.heal()  # a failed test may have left a fault behind
    return shared_deployment


def new_project(deployment: Deployment, config: dict | None = None) -> tuple[int, str]:
    """A project that keeps everything it is sent (no sampling): every 200 is a stored event."""
    pool = open_pool(deployment.postgres_url, max_size=1)
    try:
        project, key = create_project(pool, f"outage-{uuid.uuid4().hex[:8]}")
        settings = project.config
        for path, value in {"sampling.enabled": False, **(config or {})}.items():
            settings = set_path(settings, path, value)
        save_config(pool, project.slug, settings)
    finally:
        pool.close()
    return project.id, key.public_key


def add_key_directly(deployment: Deployment, project_id: int) -> str:
    public_key = uuid.uuid4().hex
    with deployment.postgres() as conn:
        conn.execute(
            "INSERT INTO project_keys (public_key, project_id) VALUES (%s, %s)",
            (public_key, project_id),
        )
    return public_key


def post_one(relay: Service, project_id: int, public_key: str) -> httpx.Response:
    return httpx.post(
        f"{relay.base_url}/api/{project_id}/envelope/",
        content=event_envelope(uuid.uuid4().hex, 0),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7"},
        timeout=30,
    )


def post_until_accepted(relay: Service, project_id: int, public_key: str) -> httpx.Response:
    """Post as an SDK does after a 503: again, until accepted (the relay's pool reconnects
    with a backoff of its own once PostgreSQL is back)."""
    deadline = time.monotonic() + 60
    while (response := post_one(relay, project_id, public_key)).status_code == 503:
        assert time.monotonic() < deadline, "the key was never accepted once PostgreSQL was back"
        time.sleep(1)
    return response


def load_on(relay: Service, project_id: int, public_key: str, threads: int = 2) -> LoadSender:
    load = LoadSender(f"{relay.base_url}/api/{project_id}/envelope/", public_key, threads)
    load.start()
    return load


def wait_for_acks(load: LoadSender, more: int, timeout_s: float = 60) -> None:
    target = len(load.acknowledged) + more
    wait_until(lambda: len(load.acknowledged) >= target, timeout_s, f"fewer than {target} acks")


def assert_answers(load: LoadSender, allowed: set[int], relay: Service) -> None:
    assert set(load.statuses) <= allowed, (
        f"answers {load.statuses}, allowed {allowed}; the relay said:\n{relay.log}"
    )


def assert_accounted(deployment: Deployment, load: LoadSender, project_id: int) -> None:
    acknowledged = dict.fromkeys(load.acknowledged, "event")
    assert len(acknowledged) == len(load.acknowledged)
    wait_settled(deployment, [project_id], timeout_s=120)
    assert deployment.dead_batches() == 0, "a batch was given up"
    accounts = account(deployment, acknowledged, [project_id])
    assert accounts.ok, accounts
    audit = deployment.audit("--settle", "0", "--since", "2h", "--project", str(project_id))
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "reconciled" in audit.stdout


def test_the_accounting_sees_an_event_stored_twice_after_its_parts_merged(deployment):
    # The checks below can fail: a duplicate a merge has collapsed is still counted.
    project_id, _ = new_project(deployment)
    event_id, now = uuid.uuid4().hex, time.time()
    payload = msgspec.json.encode({"event_id": event_id, "message": "twice"})
    rows = EventRows()
    rows.add(project_id, event_id, now, payload, timestamp=now, event_type="default")
    client = deployment.clickhouse()
    try:
        for token in ("one-segment", "another-segment"):
            settings = {"insert_deduplication_token": f"{token}-{event_id}"}
            client.insert_arrow("events", rows.table(), settings=settings)
        client.command("OPTIMIZE TABLE events FINAL")
        held = client.query(
            "SELECT count() FROM events WHERE event_id = {id:UUID}", parameters={"id": event_id}
        ).result_rows[0][0]
    finally:
        client.close()
    assert held == 1
    assert account(deployment, {event_id: "event"}, [project_id]).duplicated == {event_id: 2}


def test_a_relay_killed_at_a_random_moment_loses_nothing_it_acknowledged(deployment):
    project_id, key = new_project(deployment)
    relay = deployment.relays[0]
    load = load_on(relay, project_id, key)
    try:
        wait_for_acks(load, 200)
        time.sleep(random.uniform(0, 1.0))
        relay.kill()
        relay.start()
        wait_for_acks(load, 200)
    finally:
        load.stop()
    # While it was down the SDKs could not connect; whatever it answered was a 200.
    assert_answers(load, {200}, deployment.relays[0])
    assert_accounted(deployment, load, project_id)


def test_a_relay_stopped_under_load_stops_at_once_and_cuts_no_request(deployment):
    project_id, key = new_project(deployment)
    relay = deployment.relays[0]
    load = load_on(relay, project_id, key, threads=4)
    try:
        wait_for_acks(load, 200)
        started = time.monotonic()
        assert relay.stop(signal.SIGTERM) == 0
        took = time.monotonic() - started
        log = relay.log
        relay.start()
        wait_for_acks(load, 100)
    finally:
        load.stop()
    # SDKs keep posting on keep-alive connections: the stop must close them, not wait out
    # Sanic's graceful timeout (15 s) and then cut the requests in them.
    assert took < 5, f"a SIGTERM took {took:.1f} s under load"
    assert "stopped. Transport is closed" not in log
    assert_answers(load, {200}, relay)
    assert_accounted(deployment, load, project_id)


def _in_a_batch_transaction(deployment: Deployment) -> bool:
    """A worker holds an open transaction on the issue tables: it is grouping a batch."""
    with deployment.postgres() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND query ~ 'error_(groups|occurrences)|group_(users|releases)'"
        ).fetchone()
    return row["n"] > 0


def wait_for_a_batch_in_progress(deployment: Deployment, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not _in_a_batch_transaction(deployment):
        assert time.monotonic() < deadline, "no worker was seen grouping a batch"
        time.sleep(0.005)


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(deployment):
    project_id, key = new_project(deployment)
    worker = deployment.workers[0]
    load = load_on(deployment.relays[0], project_id, key)
    try:
        wait_for_acks(load, 200)
        time.sleep(random.uniform(0, 1.0))
        wait_for_a_batch_in_progress(deployment)
        worker.kill()
        wait_for_acks(load, 100)
        worker.start()
        wait_for_acks(load, 100)
    finally:
        load.stop()
    assert_answers(load, {200}, deployment.relays[0])
    assert_accounted(deployment, load, project_id)


def test_postgresql_away_for_a_while_the_relay_keeps_accepting_and_workers_catch_up(
    deployment,
):
    project_id, key = new_project(deployment)
    relay = deployment.relays[0]
    load = load_on(relay, project_id, key)
    try:
        wait_for_acks(load, 100)
        with deployment.postgres_proxy.outage():
            during = len(load.acknowledged)
            # A key made while the relay cannot see PostgreSQL: it cannot be checked yet.
            unseen = add_key_directly(deployment, project_id)
            refused = post_one(relay, project_id, unseen)
            time.sleep(OUTAGE_S)
            during = len(load.acknowledged) - during
        wait_for_acks(load, 100)
        accepted = post_until_accepted(relay, project_id, unseen)
    finally:
        load.stop()
    assert during > 0, "the relay stopped accepting while PostgreSQL was away"
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert accepted.status_code == 200, accepted.text
    load.acknowledged.append(accepted.json()["id"])
    assert_answers(load, {200}, deployment.relays[0])
    assert_accounted(deployment, load, project_id)


def test_redis_away_for_a_while_the_relay_keeps_accepting_and_workers_catch_up(deployment):
    # A quota makes the relay lease tokens from Redis every few hundred events.
    project_id, key = new_project(deployment, {"rate_limits.per_minute": {"error": 30_000}})
    load = load_on(deployment.relays[0], project_id, key)
    try:
        wait_for_acks(load, 200)
        # The interesting moment for a worker: a batch in its hands.
        wait_for_a_batch_in_progress(deployment)
        with deployment.redis_proxy.outage():
            during = len(load.acknowledged)
            time.sleep(OUTAGE_S)
            during = len(load.acknowledged) - during
        wait_for_acks(load, 100)
    finally:
        load.stop()
    assert during > 0, "the relay stopped accepting while Redis was away"
    assert_answers(load, {200}, deployment.relays[0])
    assert_accounted(deployment, load, project_id)


def test_clickhouse_stopped_for_a_while_the_spool_holds_what_was_acknowledged(deployment):
    project_id, key = new_project(deployment)
    load = load_on(deployment.relays[0], project_id, key)
    try:
        wait_for_acks(load, 100)
        deployment.clickhouse_server.stop()
        during = len(load.acknowledged)
        time.sleep(OUTAGE_S)
        during = len(load.acknowledged) - during
        deployment.clickhouse_server.start()
        wait_for_acks(load, 100)
    finally:
        load.stop()
    assert during > 0, "the relay stopped accepting while ClickHouse was away"
    assert_answers(load, {200}, deployment.relays[0])
    assert_accounted(deployment, load, project_id)


class _Filler:
    """Takes every byte of a file system that comes free, until stopped (a disk filling up
    with something else than the spool)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, daemon=True)

    def _fill(self) -> None:
        with open(self.path, "ab", buffering=0) as out:
            while not self._stop.is_set():
                try:
                    out.write(b"\0" * 4096)
                except OSError:
                    time.sleep(0.002)

    def __enter__(self) -> _Filler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self.path.unlink()  # space freed


def test_a_full_spool_disk_answers_503_with_retry_after_and_loses_nothing(deployment, tmp_path):
    project_id, key = new_project(deployment)
    with small_disk(tmp_path / "disk", 2048) as disk:
        relay = deployment.add_relay(data_dir=disk / "relay")
        load = load_on(relay, project_id, key)
        try:
            wait_for_acks(load, 100)
            with _Filler(disk / "filler"):
                refused = load.statuses.get(503, 0)
                wait_until(
                    lambda: load.statuses.get(503, 0) >= refused + 20, 30, "no 503 on a full disk"
                )
                probe = post_one(relay, project_id, key)
                if probe.status_code == 200:
                    load.acknowledged.append(probe.json()["id"])
                else:
                    assert probe.status_code == 503
                    assert int(probe.headers["retry-after"]) > 0
                    assert "retry later" in probe.json()["detail"]
            wait_for_acks(load, 100)  # serving again once space is freed
            load.stop()
            assert_answers(load, {200, 503}, relay)
            # Accounted while the relay runs: its spool lives on this disk.
            assert_accounted(deployment, load, project_id)
        finally:
            load.stop()
            deployment.remove(relay)
