"""Minified apps, real SDKs, real sentry-cli, a running `serve`: issues show the original code.

Two deploys of the same shop are built with esbuild (the second with other minified
names), given debug ids with `sentry-cli sourcemaps inject` and uploaded with
`sentry-cli sourcemaps upload`; their errors come from headless Chromium
(@sentry/browser) and from Node (@sentry/node). A third build has no debug ids and is
uploaded with --release/--dist. Every issue's frames name the original functions, file
and lines, and the two deploys of one error share one issue.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import psycopg
import pytest

from tests.conftest import MACHINE_REDIS, fresh_redis_namespace
from tests.e2e.test_sentry_sdk_to_issue import wait_for_occurrences
from tests.sourcemaps.apps import (
    CALL_LINE,
    THROW_LINE,
    build,
    copy_app,
    run_browser,
    run_node,
    static_site,
)
from tests.support.relay_thread import free_port
from tests.support.sentry_cli import sentry_cli
from tests.support.serve_process import ServeProcess


class Deployment:
    def __init__(self, tmp_path: Path, postgres_url: str, namespace: str) -> None:
        self.clickhouse_port = free_port()
        self.server = ServeProcess(
            tmp_path / "data",
            free_port(),
            {
                "STACKWISE_POSTGRES_URL": postgres_url,
                "STACKWISE_REDIS_URL": f"{MACHINE_REDIS}/0",
                "STACKWISE_REDIS_NAMESPACE": namespace,
                "STACKWISE_CLICKHOUSE_HTTP_PORT": str(self.clickhouse_port),
            },
        )
        self.postgres_url = postgres_url
        self.dsn = self.server.wait_healthy()
        self.home = tmp_path
        self.token = self.stackwise("token", "create", "--project", "demo").strip()

    def stackwise(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "stackwise", *args],
            env=self.server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def upload(self, folder: Path, *extra: str) -> None:
        cli = {"url": self.server.base_url, "token": self.token, "home": self.home}
        sentry_cli("sourcemaps", "upload", "--project", "demo", *extra, str(folder), **cli)

    def inject(self, folder: Path) -> None:
        cli = {"url": self.server.base_url, "token": self.token, "home": self.home}
        sentry_cli("sourcemaps", "inject", str(folder), **cli)

    def issue_of(self, event_id: str) -> int:
        with psycopg.connect(self.postgres_url) as conn:
            row = conn.execute(
                "SELECT group_id FROM error_occurrences WHERE event_id = %s::uuid", (event_id,)
            ).fetchone()
        assert row is not None
        return row[0]

    def processed(self, event_id: str) -> dict:
        """The event as the workers stored it after resolution (ClickHouse)."""
        client = clickhouse_connect.get_client(
            dsn=f"http://127.0.0.1:{self.clickhouse_port}", database="stackwise"
        )
        try:
            rows = client.query(
                "SELECT payload FROM processed_events FINAL WHERE event_id = {e:UUID}",
                parameters={"e": event_id},
            ).result_rows
        finally:
            client.close()
        assert len(rows) == 1, f"no processed payload for {event_id}"
        return json.loads(rows[0][0])


@pytest.fixture
def deployment(tmp_path, postgres_url):
    with fresh_redis_namespace(f"{MACHINE_REDIS}/0") as namespace:
        deployed = Deployment(tmp_path, postgres_url, namespace)
        try:
            yield deployed
        finally:
            deployed.server.stop()


def checkout_frames(event: dict) -> list[dict]:
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    return [f for f in frames if f.get("data", {}).get("sourcemap")]


def assert_resolved(event: dict, resolved_with: str) -> None:
    frames = checkout_frames(event)
    by_function = {f["function"]: f for f in frames}
    throw, call = by_function["computeTotal"], by_function["checkout"]
    assert throw["filename"].endswith("src/checkout.js"), throw
    assert (throw["lineno"], call["lineno"]) == (THROW_LINE, CALL_LINE)
    assert "throw new RangeError" in throw["context_line"]
    assert len(throw["pre_context"]) == 5
    assert throw["data"]["resolved_with"] == resolved_with
    assert throw["abs_path"].endswith("/src/checkout.js")
    # The frame as the SDK sent it stays beside: a minified name at a minified position.
    raw = event["exception"]["values"][-1]["raw_stacktrace"]["frames"][-1]
    assert len(raw["function"]) <= 2, raw
    assert raw["colno"] > 100


def minified_names(event: dict) -> list[str]:
    raw = event["exception"]["values"][-1]["raw_stacktrace"]["frames"]
    return [f.get("function") or "" for f in raw]


def test_two_deploys_resolve_to_the_original_code_and_share_one_issue(deployment, tmp_path):
    app = copy_app(tmp_path / "app")
    web = [build(app, f"web{n}", target="web", deploy=n) for n in (1, 2)]
    node = [build(app, f"node{n}", target="node", deploy=n) for n in (1, 2)]
    for folder in (*web, *node):
        deployment.inject(folder)
        deployment.upload(folder)

    started = time.monotonic()
    browser_ids = []
    for folder in web:
        with static_site(folder) as site:
            browser_ids.append(run_browser(site, deployment.dsn))
    node_ids = [run_node(folder, deployment.dsn) for folder in node]
    wait_for_occurrences(deployment.postgres_url, browser_ids + node_ids)
    print(f"four errors reported and grouped in {time.monotonic() - started:.1f}s")

    for event_id in browser_ids + node_ids:
        assert_resolved(deployment.processed(event_id), "debug-id")
    first, second = (deployment.processed(e) for e in browser_ids)
    assert minified_names(first) != minified_names(second), "the deploys must differ"
    node_first, node_second = (deployment.processed(e) for e in node_ids)
    assert minified_names(node_first) != minified_names(node_second)

    assert deployment.issue_of(browser_ids[0]) == deployment.issue_of(browser_ids[1])
    assert deployment.issue_of(node_ids[0]) == deployment.issue_of(node_ids[1])

    shown = deployment.stackwise("issues", "show", str(deployment.issue_of(browser_ids[0])))
    assert "computeTotal" in shown
    assert f"src/checkout.js:{THROW_LINE}" in shown
    assert "throw new RangeError" in shown


def test_a_release_upload_without_debug_ids_resolves_by_release_dist_and_url(deployment, tmp_path):
    app = build(copy_app(tmp_path / "app"), "dist", target="node", deploy=1)
    deployment.upload(app, "--release", "shop@1.4.0", "--dist", "linux", "--url-prefix", "~/dist")
    event_id = run_node(app, deployment.dsn, "shop@1.4.0", "linux")
    wait_for_occurrences(deployment.postgres_url, [event_id])
    event = deployment.processed(event_id)
    assert "debug_meta" not in event or not event["debug_meta"].get("images")
    assert_resolved(event, "release")
    info = sentry_cli(
        "releases",
        "info",
        "shop@1.4.0",
        url=deployment.server.base_url,
        token=deployment.token,
        home=tmp_path,
        project="demo",
    )
    assert "shop@1.4.0" in info.stdout
