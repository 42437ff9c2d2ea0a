"""A relay running for a whole test module, with the fixtures' project 42 and its key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.runtime import Stack
from relay.service import RelayService
from stackwise.serve import stack_broker
from tests.conftest import fresh_postgres, fresh_redis_namespace, make_settings, open_test_stack
from tests.support.relay_thread import serving

PUBLIC_KEY = "6f8e0e0c2b7a4b1f9f4c2a1d3e5b7c9d"
PROJECT_ID = 42


def add_project(stack: Stack, project_id: int, slug: str, public_key: str) -> None:
    with stack.pool.connection() as conn:
        conn.execute(
            "INSERT INTO projects (id, slug, name) VALUES (%s, %s, %s)", (project_id, slug, slug)
        )
        conn.execute(
            "INSERT INTO project_keys (public_key, project_id) VALUES (%s, %s)",
            (public_key, project_id),
        )


class RunningRelay:
    def __init__(self, stack: Stack, service: RelayService, base_url: str) -> None:
        self.stack = stack
        self.service = service
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)


@pytest.fixture(scope="module")
def relay(tmp_path_factory, postgres_template, chdb_dir) -> Iterator[RunningRelay]:
    with (
        fresh_postgres(postgres_template) as postgres_url,
        fresh_redis_namespace("redis://127.0.0.1:6379/0") as namespace,
    ):
        settings = make_settings(
            tmp_path_factory.mktemp("corpus"), postgres_url, namespace, chdb_dir
        )
        with open_test_stack(settings) as stack:
            add_project(stack, PROJECT_ID, "corpus", PUBLIC_KEY)
            service = RelayService(stack, stack_broker(stack))
            service.start()
            try:
                with serving(service.app) as base_url:
                    running = RunningRelay(stack, service, base_url)
                    yield running
                    running.http.close()
            finally:
                service.stop()


CORPUS = Path(__file__).parents[2] / "fixtures" / "envelopes"
# Hop-by-hop and recomputed headers are the client library's business, not the fixture's.
_SKIPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def send_fixture(relay: RunningRelay, name: str) -> tuple[dict, httpx.Response]:
    """Replay `fixtures/envelopes/<name>` as recorded; returns (sidecar, response)."""
    sidecar_path = CORPUS / f"{name}.json"
    sidecar = json.loads(sidecar_path.read_text())
    body_file = next(sidecar_path.parent.glob(f"{sidecar_path.stem}.[be]*"))
    headers = {k: v for k, v in sidecar["headers"].items() if k not in _SKIPPED_HEADERS}
    url = sidecar["path"] + (f"?{sidecar['query']}" if sidecar["query"] else "")
    body = body_file.read_bytes()
    response = relay.http.request(sidecar["method"], url, content=body or None, headers=headers)
    return sidecar, response


def wait_for_rows(relay: RunningRelay, sql: str, expected: int, timeout_s: float = 20) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        count = relay.stack.clickhouse().query(sql).result_rows[0][0]
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)
