"""Two relay processes share one project's quota through Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid

import httpx

from core.pg import projects
from core.project_config import set_path
from core.runtime import open_stack
from tests.support.clickhouse_server import ClickHouseServer, wait_until
from tests.support.load import event_envelope
from tests.support.relay_thread import free_port

QUOTA = 300


def relay_process(settings, port: int, data_dir) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
    env.update(
        {
            "STACKWISE_DATA_DIR": str(data_dir),
            "STACKWISE_PORT": str(port),
            "STACKWISE_CLICKHOUSE_URL": settings.clickhouse_url,
            "STACKWISE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
            "STACKWISE_POSTGRES_URL": settings.postgres_url,
            "STACKWISE_REDIS_URL": settings.redis_url,
            "STACKWISE_REDIS_NAMESPACE": settings.redis_namespace,
            "STACKWISE_LOG_LEVEL": "WARNING",
            # Two relay processes, not two supervisors of one per core each.
            "STACKWISE_RELAY_PROCESSES": "1",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "stackwise", "relay"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_daily_quota_holds_across_two_relay_processes(settings, tmp_path):
    clickhouse = ClickHouseServer(tmp_path / "ch", free_port())
    clickhouse.start()
    values = {f: getattr(settings, f) for f in settings.__struct_fields__}
    values.update(clickhouse_url=clickhouse.url, clickhouse_database="stackwise")
    settings = settings.__class__(**values)
    stack = open_stack(settings, own_clickhouse=True)
    relays: list[subprocess.Popen] = []
    try:
        project, key = projects.create_project(stack.pool, "shared")
        config = set_path(project.config, "rate_limits.per_day", {"error": QUOTA})
        config = set_path(config, "sampling.enabled", False)
        projects.save_config(stack.pool, "shared", config)
        ports = [free_port(), free_port()]
        relays = [
            relay_process(settings, port, tmp_path / f"relay{i}") for i, port in enumerate(ports)
        ]
        for port in ports:
            wait_until(lambda port=port: healthy(port), 60, f"relay on {port} did not start")

        statuses: list[int] = []
        lock = threading.Lock()

        def send(port: int, count: int) -> None:
            headers = {"X-Sentry-Auth": f"Sentry sentry_key={key.public_key}, sentry_version=7"}
            with httpx.Client(timeout=10) as client:
                for sequence in range(count):
                    response = client.post(
                        f"http://127.0.0.1:{port}/api/{project.id}/envelope/",
                        content=event_envelope(uuid.uuid4().hex, sequence),
                        headers=headers,
                    )
                    with lock:
                        statuses.append(response.status_code)

        threads = [threading.Thread(target=send, args=(port, 400)) for port in ports * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        accepted = statuses.count(200)
        assert statuses.count(200) + statuses.count(429) == len(statuses) == 1600
        # Leases are at most 1% of the quota per process: the shared total holds within 2%.
        assert QUOTA * 0.98 <= accepted <= QUOTA, accepted
    finally:
        for relay in relays:
            relay.send_signal(signal.SIGTERM)
        for relay in relays:
            relay.wait(60)
        stack.close()
        clickhouse.stop()
