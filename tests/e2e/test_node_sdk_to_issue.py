"""The real @sentry/node SDK (current major and the last 10.x) against a running relay."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from core.pg.projects import create_project, dsn
from relay.service import RelayService
from stackwise.serve import running_workers, stack_broker
from tests.e2e.test_sentry_sdk_to_issue import wait_for_occurrences
from tests.support.relay_thread import serving

NODE_DIR = Path(__file__).parents[1] / "sdk" / "node"
COUNT = 3


def run_node_client(package: str, client_dsn: str) -> list[str]:
    completed = subprocess.run(
        ["node", "send_errors.cjs", client_dsn, str(COUNT)],
        cwd=NODE_DIR,
        env={"PATH": "/usr/bin:/usr/local/bin:/bin", "SENTRY_NODE_PACKAGE": package},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = json.loads(completed.stdout)
    assert output["flushed"] is True
    return output["ids"]


@pytest.mark.parametrize("package", ["@sentry/node", "sentry-node-10"])
def test_node_sdk_errors_are_stored_and_grouped(stack, package):
    project, key = create_project(stack.pool, "node-shop")
    broker = stack_broker(stack)
    relay = RelayService(stack, broker)
    relay.start()
    try:
        with running_workers(stack, broker), serving(relay.app) as base_url:
            event_ids = run_node_client(package, dsn(base_url, key.public_key, project.id))
            assert len(event_ids) == 2 * COUNT
            wait_for_occurrences(stack.postgres_url, event_ids)
    finally:
        relay.stop()
    with stack.pool.connection() as conn:
        groups = conn.execute(
            "SELECT exception_type, times_seen FROM error_groups WHERE project_id = %s",
            (project.id,),
        ).fetchall()
    by_type = {row["exception_type"]: row["times_seen"] for row in groups}
    # Different skus and order ids, same code paths: one issue per root cause.
    assert by_type == {"InventoryError": COUNT, "TypeError": COUNT}
    stored = (
        stack.clickhouse()
        .query(
            "SELECT count(), any(platform), any(sdk_name) FROM events "
            "WHERE project_id = {p:UInt64}",
            parameters={"p": project.id},
        )
        .result_rows[0]
    )
    assert stored[0] == 2 * COUNT
    assert stored[1] == "node"
    assert stored[2] == "sentry.javascript.node"
