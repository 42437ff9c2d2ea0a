"""The issues app's tests: a small seeded dataset grouped by the real workers, and
`stackwise ui` started as a real child process on it.

The app reads issues from the test's PostgreSQL database and the stored events from a
Parquet export of the test's chdb database (chdb allows one process per folder, and
this process holds it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from analysis.clickhouse_source import ClickHouseSource
from analysis.export import export
from core.runtime import Stack
from seed.deliver_direct import load_direct
from seed.plan import SeedOptions, today_utc
from seed.projects import SEED_PROJECTS, ensure_seed_projects
from stackwise.serve import running_workers, stack_broker
from tests.analysis.dataset import _wait_idle
from tests.conftest import (
    MACHINE_REDIS,
    fresh_postgres,
    fresh_redis_namespace,
    make_settings,
    open_test_stack,
)
from tests.support.child_output import ChildOutput

REPOSITORY = Path(__file__).resolve().parents[2]
OPTIONS = {"events": 300, "days": 3, "root_causes": 20, "seed": 5}


@dataclass
class UiData:
    stack: Stack
    export_dir: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def ui_data(
    chdb_dir: Path, postgres_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UiData]:
    base = tmp_path_factory.mktemp("ui")
    with (
        fresh_postgres(postgres_template) as postgres_url,
        fresh_redis_namespace(f"{MACHINE_REDIS}/0") as namespace,
    ):
        settings = msgspec.structs.replace(
            make_settings(base / "data", postgres_url, namespace, chdb_dir),
            clickhouse_database=f"ui_{uuid.uuid4().hex[:10]}",
        )
        with open_test_stack(settings) as stack:
            provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
            project_ids = {key: p.project.id for key, p in provisioned.items()}
            broker = stack_broker(stack)
            options = SeedOptions(**OPTIONS, end=today_utc())
            load_direct(stack, broker, options, project_ids, workers=0, on_unit=lambda _: None)
            with running_workers(stack, broker, schedule=False):
                _wait_idle(broker, [settings.queue_name])
            export_dir = base / "export"
            export(ClickHouseSource.from_stack(stack, label="ui test data"), export_dir)
            env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
            env |= {
                "STACKWISE_DATA_DIR": str(base / "ui-data"),
                "STACKWISE_POSTGRES_URL": postgres_url,
                "STACKWISE_REDIS_URL": settings.redis_url,
                "STACKWISE_REDIS_NAMESPACE": namespace,
                # Never another process's ClickHouse on the default port: the export only.
                "STACKWISE_CLICKHOUSE_HTTP_PORT": "0",
            }
            yield UiData(stack, export_dir, env)


@pytest.fixture
def ui_env(tmp_path: Path) -> dict[str, str]:
    """Enough for the server to start and ask for a login (no page is run: no stores)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
    return env | {"STACKWISE_DATA_DIR": str(tmp_path), "STACKWISE_CLICKHOUSE_HTTP_PORT": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UiProcess:
    """`python -m stackwise ui ...` as a child process; its output kept for failures."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stackwise", "ui", "--port", str(self.port), *args],
            env=env,
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._output = ChildOutput(self.process)

    @property
    def log(self) -> str:
        return self._output.text

    def wait_listening(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"stackwise ui exited:\n{self.log}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"stackwise ui did not listen within {timeout_s} s:\n{self.log}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._output.wait_closed(5)
        assert self.process.stdout is not None
        self.process.stdout.close()
