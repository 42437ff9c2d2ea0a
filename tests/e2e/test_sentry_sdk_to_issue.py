"""A real sentry-sdk error, over real HTTP (brotli), becomes stored rows and a grouped issue."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import clickhouse_connect
import psycopg
import pytest

from core.pg.projects import create_project, dsn
from core.storage.embedded import EmbeddedPostgres
from relay.service import RelayService
from stackwise.serve import running_workers, stack_broker
from tests.support.relay_thread import free_port, serving
from tests.support.sdk_app import send_errors
from tests.support.serve_process import ServeProcess, processes_using

CARTS = [101, 202, 303, 404]
DIVISIONS = 3


def wait_for_occurrences(url: str, event_ids: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url) as conn:
        while True:
            (count,) = conn.execute(
                "SELECT count(*) FROM error_occurrences WHERE event_id = ANY(%s::uuid[])",
                (event_ids,),
            ).fetchone()
            if count == len(event_ids) or time.monotonic() > deadline:
                assert count == len(event_ids), f"{count} of {len(event_ids)} events grouped"
                return
            time.sleep(0.1)
            conn.commit()


def groups_by_type(url: str, project_id: int) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT exception_type, times_seen, title FROM error_groups WHERE project_id = %s",
            (project_id,),
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def assert_issues(url: str, project_id: int) -> None:
    groups = groups_by_type(url, project_id)
    # Different cart ids and emails in the message are one root cause: one issue.
    assert set(groups) == {"CartError", "ZeroDivisionError"}
    assert groups["CartError"][0] == len(CARTS)
    assert groups["CartError"][1].startswith("CartError: cart")
    assert groups["ZeroDivisionError"][0] == DIVISIONS


def test_python_sdk_errors_are_stored_and_grouped_on_machine_services(stack):
    project, key = create_project(stack.pool, "shop")
    broker = stack_broker(stack)
    relay = RelayService(stack, broker)
    relay.start()
    try:
        with running_workers(stack, broker), serving(relay.app) as base_url:
            event_ids = send_errors(dsn(base_url, key.public_key, project.id), CARTS, DIVISIONS)
            assert len(event_ids) == len(CARTS) + DIVISIONS
            wait_for_occurrences(stack.postgres_url, event_ids)
            with urllib.request.urlopen(f"{base_url}/metrics") as response:
                metrics = response.read().decode()
            assert 'relay_request_encodings_total{encoding="br"}' in metrics
    finally:
        relay.stop()

    assert_issues(stack.postgres_url, project.id)
    client = stack.clickhouse()
    rows = client.query(
        "SELECT lower(hex(event_id)) AS id, exception_type, platform, release, level, "
        "JSONExtractString(payload, 'event_id') FROM events WHERE project_id = {p:UInt64}",
        parameters={"p": project.id},
    ).result_rows
    assert len(rows) == len(event_ids)
    by_id = {row[0].replace("-", ""): row for row in rows}
    for event_id in event_ids:
        stored = by_id[uuid.UUID(event_id).hex]
        assert stored[2] == "python" and stored[3] == "shop@2.0.0" and stored[4] == "error"
        assert stored[5] == event_id
    assigned = client.query(
        "SELECT count(), uniqExact(group_id) FROM event_groups WHERE project_id = {p:UInt64}",
        parameters={"p": project.id},
    ).result_rows[0]
    assert assigned == (len(event_ids), 2)


def _chdb_counts(chdb_path: str, database: str) -> dict[str, int]:
    # The test process may hold another chdb folder; read this one from a child process.
    script = (
        "import json, sys, clickhouse_connect\n"
        f"c = clickhouse_connect.get_client(dsn='chdb://{chdb_path}', database='{database}')\n"
        "q = lambda s: c.query(s).result_rows[0][0]\n"
        "print(json.dumps({'events': q('SELECT count() FROM events'),"
        " 'assigned': q('SELECT count() FROM event_groups'),"
        " 'groups': q('SELECT uniqExact(group_id) FROM event_groups')}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.embedded
def test_python_sdk_errors_are_stored_and_grouped_fully_embedded(tmp_path):
    data_dir = tmp_path / "data"
    clickhouse_port = free_port()
    server = ServeProcess(
        data_dir, free_port(), {"STACKWISE_CLICKHOUSE_HTTP_PORT": str(clickhouse_port)}
    )
    try:
        demo_dsn = server.wait_healthy()
        event_ids = send_errors(demo_dsn, CARTS, DIVISIONS)
        postgres_url = EmbeddedPostgres(data_dir).url
        wait_for_occurrences(postgres_url, event_ids)
        project_id = int(demo_dsn.rsplit("/", 1)[1])
        assert_issues(postgres_url, project_id)
        assert server.descendants(), "embedded PostgreSQL and Redis run as children of serve"
        # While serve holds the embedded ClickHouse, it is readable over HTTP.
        live = clickhouse_connect.get_client(
            dsn=f"http://127.0.0.1:{clickhouse_port}", database="stackwise"
        )
        assert live.query("SELECT count() FROM events").result_rows[0][0] == len(event_ids)
        live.close()
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.log
    assert processes_using(data_dir) == [], "serve left embedded servers running"
    counts = _chdb_counts(str((data_dir / "clickhouse").resolve()), "stackwise")
    assert counts == {"events": len(event_ids), "assigned": len(event_ids), "groups": 2}


@pytest.mark.embedded
def test_a_second_serve_on_the_same_data_folder_fails_clearly(tmp_path):
    data_dir = tmp_path / "data"
    first = ServeProcess(data_dir, free_port())
    try:
        first.wait_healthy()
        second = ServeProcess(data_dir, free_port())
        code = second.wait_exit(60)
        assert code == 2
        assert "in use by another stackwise process" in second.log
        assert f"pid {first.process.pid}" in second.log
        assert "Cannot lock file" not in second.log and "Traceback" not in second.log
        assert first.healthy(), "the first serve keeps running"
    finally:
        assert first.stop() == 0
    assert processes_using(data_dir) == []
