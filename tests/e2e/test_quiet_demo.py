"""`just demo` on a fresh data folder, through `just` as a user types it: no command
echo, no INFO lines; a clear error is not followed by a line from `just`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.relay_thread import free_port

REPOSITORY = Path(__file__).parents[2]


def just(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("just")
    assert executable, "just is a dev dependency: run the tests with `uv run`"
    return subprocess.run(
        [executable, *args],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.embedded
def test_just_demo_prints_no_command_echo_and_no_info_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
    env.update(
        {
            "STACKWISE_DATA_DIR": str(tmp_path / "data"),
            "STACKWISE_PORT": str(free_port()),
            "STACKWISE_CLICKHOUSE_HTTP_PORT": str(free_port()),
        }
    )
    demo = just("demo", env=env)
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output
    assert "demo project DSN: http://" in output and "demo issues" in output
    assert "-m stackwise" not in output, output
    lines = output.splitlines()
    assert [line for line in lines if " INFO " in line or line.startswith("INFO")] == []

    failed = just("issues", "show", "999999", env=env)
    assert failed.returncode == 2
    assert failed.stdout.strip() == "no issue 999999"
    assert failed.stderr == ""  # no "error: Recipe `issues` failed ..." from just
