"""Faults: a relay killed under load, ClickHouse away for a while. Nothing acknowledged
is lost, nothing is stored twice, and the relay keeps answering."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import pytest

from core.pg.projects import create_project, save_config
from core.project_config import set_path
from core.runtime import open_stack
from relay.service import RelayService
from stackwise.serve import stack_broker
from tests.support.clickhouse_server import ClickHouseServer, wait_until
from tests.support.deployment import processes_of
from tests.support.load import LoadSender, event_envelope
from tests.support.relay_thread import free_port, serving
from tests.support.serve_process import ServeProcess, processes_using

_COUNT_SCRIPT = """
import json, sys, clickhouse_connect
c = clickhouse_connect.get_client(dsn=sys.argv[1], database='stackwise')
ids = json.load(open(sys.argv[2]))
rows = c.query(
    "SELECT replaceAll(toString(event_id), '-', ''), count() FROM events "
    "WHERE event_id IN {ids:Array(UUID)} GROUP BY event_id", parameters={'ids': ids}
).result_rows
total = c.query('SELECT count() FROM events').result_rows[0][0]
print(json.dumps({'counts': dict(rows), 'total': total}))
"""


def stored_counts(dsn: str, event_ids: list[str], tmp_path: Path) -> dict:
    """Per-id row counts, read in a child process (chdb holds one folder per process)."""
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(event_ids))
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_SCRIPT, dsn, str(ids_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def spool_bytes(base_url: str) -> float:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("relay_spool_bytes "):
                return float(line.split()[1])
    raise AssertionError("relay_spool_bytes missing from /metrics")


def spool_drained(base_url: str, data_dir: Path, processes: int) -> bool:
    """One relay says what it holds in /metrics; several each answer for themselves
    there, so their segments on disk are looked at instead."""
    if processes == 1:
        return spool_bytes(base_url) == 0
    return not list((data_dir / "spool").rglob("seg-*"))


@pytest.mark.embedded
@pytest.mark.parametrize("processes", [1, 2], ids=["one_process", "two_relay_processes"])
def test_kill_9_under_load_loses_nothing_acknowledged_and_stores_nothing_twice(tmp_path, processes):
    data_dir = tmp_path / "data"
    port = free_port()
    several = {"STACKWISE_RELAY_PROCESSES": str(processes)}
    server = ServeProcess(data_dir, port, several)
    dsn = server.wait_healthy()
    # Every acknowledged event must be stored: none may be sampled away (a 200 as well).
    server.configure("demo", "sampling.enabled", "false")
    public_key, project_id = dsn.split("//")[1].split("@")[0], dsn.rsplit("/", 1)[1]
    load = LoadSender(f"{server.base_url}/api/{project_id}/envelope/", public_key)
    load.start()
    wait_until(lambda: len(load.acknowledged) >= 300, 60, "load did not get going")
    server.stop(signal.SIGKILL)
    time.sleep(0.5)
    load.stop()
    acknowledged = list(load.acknowledged)
    # The embedded servers and the relay processes die with their parent, even on SIGKILL.
    wait_until(
        lambda: not processes_using(data_dir) and not processes_of(data_dir),
        15,
        "embedded servers or relay processes outlived serve",
    )

    restarted = ServeProcess(data_dir, port, several)
    try:
        restarted.wait_healthy()
        wait_until(
            lambda: spool_drained(restarted.base_url, data_dir, processes),
            60,
            "spool never drained",
        )
    finally:
        assert restarted.stop() == 0, restarted.log
    counts = stored_counts(f"chdb://{(data_dir / 'clickhouse').resolve()}", acknowledged, tmp_path)
    missing = [e for e in acknowledged if e not in counts["counts"]]
    duplicated = {e: n for e, n in counts["counts"].items() if n != 1}
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert not duplicated, f"events stored more than once: {duplicated}"


def test_clickhouse_outage_keeps_acknowledged_events_and_sheds_load_past_the_spool(
    settings, tmp_path
):
    clickhouse = ClickHouseServer(tmp_path / "ch", free_port())
    clickhouse.start()
    settings = settings.__class__(
        **{
            **{f: getattr(settings, f) for f in settings.__struct_fields__},
            "clickhouse_url": clickhouse.url,
            "clickhouse_database": "stackwise",
            "spool_max_bytes": 150_000,
        }
    )
    stack = open_stack(settings, own_clickhouse=True)
    project, key = create_project(stack.pool, "outage")
    # What fills the spool is what is kept: sampling would keep a fraction (answered 200).
    save_config(stack.pool, "outage", set_path(project.config, "sampling.enabled", False))
    relay = RelayService(stack, stack_broker(stack))
    relay.start()
    try:
        with serving(relay.app) as base_url, httpx.Client(timeout=10) as client:
            load = LoadSender(f"{base_url}/api/{project.id}/envelope/", key.public_key)
            for sequence in range(20):
                assert load.send_one(client, sequence) == 200
            wait_until(lambda: spool_bytes(base_url) == 0, 30, "first batch never stored")

            clickhouse.stop()
            statuses = [load.send_one(client, sequence) for sequence in range(20, 600)]
            assert 200 in statuses, "the spool takes events while ClickHouse is away"
            assert statuses[-1] == 503, "past the spool limit the relay sheds load"
            assert 500 not in statuses
            shed = client.post(
                f"{base_url}/api/{project.id}/envelope/",
                content=event_envelope(uuid.uuid4().hex, 0),
                headers=load.headers,
            )
            assert shed.status_code == 503
            assert int(shed.headers["retry-after"]) > 0
            assert "spool is full" in shed.json()["detail"]
            assert client.get(f"{base_url}/healthz").status_code == 503

            clickhouse.start()
            wait_until(lambda: spool_bytes(base_url) == 0, 60, "backlog never drained")
            assert client.get(f"{base_url}/healthz").status_code == 200
        rows = (
            stack.clickhouse()
            .query(
                "SELECT replaceAll(toString(event_id), '-', ''), count() FROM events "
                "GROUP BY event_id"
            )
            .result_rows
        )
    finally:
        relay.stop()
        stack.close()
        clickhouse.stop()
    counts = dict(rows)
    assert set(counts) == set(load.acknowledged), "every acknowledged event, and only those"
    assert set(counts.values()) == {1}
