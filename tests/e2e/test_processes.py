"""Several relay processes on one port and several Dramatiq worker processes, in a
server-mode deployment: any of them killed with SIGKILL at a random moment under load,
and the supervisors themselves too. Every event answered 200 is stored exactly once,
grouped exactly once and counted once by its issue; `stackwise audit` reconciles. And
batches that create the same new issue at once, in several processes, make one issue."""

from __future__ import annotations

import random
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import msgspec
import psutil
import pytest

from relay.envelope import serialize_envelope
from tests.conftest import MACHINE_REDIS, fresh_postgres, fresh_redis_namespace
from tests.e2e.test_outages import (
    FAST_RECOVERY,
    assert_accounted,
    assert_answers,
    load_on,
    new_project,
    wait_for_acks,
)
from tests.support.clickhouse_server import wait_until
from tests.support.deployment import Deployment, Service, running_deployment

RELAY_PROCESSES = 2
WORKER_PROCESSES = 2


@pytest.fixture(scope="module")
def shared_deployment(tmp_path_factory, postgres_template: str) -> Iterator[Deployment]:
    with (
        fresh_postgres(postgres_template) as postgres_url,
        fresh_redis_namespace(MACHINE_REDIS) as namespace,
        running_deployment(
            tmp_path_factory.mktemp("processes") / "deployment",
            postgres_url=postgres_url,
            redis_url=f"{MACHINE_REDIS}/0",
            namespace=namespace,
            settings=FAST_RECOVERY,
            relays=0,
            workers=0,
        ) as deployment,
    ):
        # INFO: the tests read the supervisors' "ready again" from the logs.
        relay = deployment.add_relay(processes=RELAY_PROCESSES, wait=False, log_level="INFO")
        worker = deployment.add_worker(
            processes=WORKER_PROCESSES, threads=2, wait=False, log_level="INFO"
        )
        relay.wait_ready()
        worker.wait_ready()
        yield deployment


@pytest.fixture
def deployment(shared_deployment: Deployment) -> Deployment:
    shared_deployment.heal()  # a failed test may have left a fault behind
    return shared_deployment


def relay_processes(relay: Service) -> list[psutil.Process]:
    return [p for p in relay.children() if "--index" in p.cmdline()]


def dramatiq_processes(worker: Service) -> list[psutil.Process]:
    """The processes Dramatiq's command line forked (its worker processes)."""
    mains = [p for p in worker.children() if "dramatiq" in " ".join(p.cmdline())]
    top = [p for p in mains if p.ppid() == worker.process.process.pid]  # type: ignore[union-attr]
    return top[0].children() if top else []


def test_relay_and_worker_processes_killed_at_random_moments_lose_nothing(deployment):
    # The load runs as long as the restarts take: spike protection would answer 429s.
    project_id, key = new_project(deployment, {"spike_protection.enabled": False})
    relay, worker = deployment.relays[0], deployment.workers[0]
    # Connections are spread over the relay processes: enough of them reach every one.
    load = load_on(relay, project_id, key, threads=6)
    try:
        wait_for_acks(load, 200)

        # One relay process killed: its supervisor starts it again on its own spool.
        victim = random.choice(relay_processes(relay))
        time.sleep(random.uniform(0, 0.5))
        victim.kill()
        wait_until(
            lambda: "ready again" in relay.process.log,  # type: ignore[union-attr]
            30,
            "the killed relay process was not started again",
        )
        assert victim.pid not in {p.pid for p in relay_processes(relay)}
        wait_for_acks(load, 200)

        # One Dramatiq worker process killed mid-batch: Dramatiq stops the others and
        # exits, the `worker` supervisor starts it again; the held batches are redelivered.
        time.sleep(random.uniform(0, 0.5))
        random.choice(dramatiq_processes(worker)).kill()
        wait_until(
            lambda: "dramatiq ready again" in worker.process.log,  # type: ignore[union-attr]
            60,
            "Dramatiq was not started again",
        )
        wait_for_acks(load, 200)

        # The supervisors themselves killed: their children die with them.
        time.sleep(random.uniform(0, 0.5))
        children = relay.children() + worker.children()
        relay.kill()
        worker.kill()
        psutil.wait_procs(children, timeout=30)
        assert not [p for p in children if p.is_running() and p.status() != "zombie"]
        relay.start(wait=False)
        worker.start(wait=False)
        relay.wait_ready()
        worker.wait_ready()
        wait_for_acks(load, 200)
    finally:
        load.stop()
    # Whatever was answered was a 200; a killed process's connections just failed.
    assert_answers(load, {200}, relay)
    assert_accounted(deployment, load, project_id)


def fingerprinted_envelope(fingerprint: str) -> bytes:
    event_id = uuid.uuid4().hex
    event = {
        "event_id": event_id,
        "platform": "python",
        "level": "error",
        "fingerprint": ["race", fingerprint],
        "exception": {"values": [{"type": "RaceError", "value": fingerprint}]},
    }
    return serialize_envelope(
        {"event_id": event_id}, [({"type": "event"}, msgspec.json.encode(event))]
    )


def test_batches_creating_the_same_new_issues_in_several_processes_make_each_once(deployment):
    project_id, key = new_project(deployment)
    relay, worker = deployment.relays[0], deployment.workers[0]
    # Words: numbers and hex in a fingerprint are parameterized away like in a message.
    # The project is new, so are its issues.
    fingerprints = ["alpha", "bravo", "charlie", "delta", "echo"]
    rounds = 12
    # The batches wait in the queue while no worker runs, then several processes take
    # them at once: every batch holds an event of each new issue.
    assert worker.stop(signal.SIGTERM) == 0
    queued_before = deployment.queued_batches()
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"}
    for _ in range(rounds):
        for fingerprint in fingerprints:
            response = httpx.post(
                f"{relay.base_url}/api/{project_id}/envelope/",
                content=fingerprinted_envelope(fingerprint),
                headers=headers,
                timeout=30,
            )
            assert response.status_code == 200
        time.sleep(0.4)  # older than the batch age: the next round is another batch
    wait_until(lambda: relay.spooled_bytes() == 0, 30, "the spool never drained")
    assert deployment.queued_batches() - queued_before >= rounds // 2
    worker.start()
    wait_until(lambda: deployment.queued_batches() == queued_before, 60, "batches never processed")
    with deployment.postgres() as conn:
        groups = conn.execute(
            "SELECT fingerprint_hash, times_seen FROM error_groups "
            "WHERE project_id = %s AND merged_into IS NULL",
            (project_id,),
        ).fetchall()
        occurrences = conn.execute(
            "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM error_occurrences "
            "WHERE project_id = %s",
            (project_id,),
        ).fetchone()
    assert len(groups) == len(fingerprints), groups
    assert sorted(group["times_seen"] for group in groups) == [rounds] * len(fingerprints)
    assert occurrences == {"n": rounds * len(fingerprints), "ids": rounds * len(fingerprints)}
