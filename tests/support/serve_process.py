"""`python -m stackwise serve` as a real child process, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from tests.support.child_output import ChildOutput

_DSN_LINE = re.compile(r"^demo project DSN: (\S+)$", re.MULTILINE)


REPOSITORY = Path(__file__).parents[2]
# What an operator types, and what a supervisor then holds as its top process.
PYTHON_SERVE = [sys.executable, "-m", "stackwise", "serve"]
UV_JUST_SERVE = ["uv", "run", "--no-sync", "just", "serve"]
UV_STACKWISE_SERVE = ["uv", "run", "--no-sync", "stackwise", "serve"]


class ServeProcess:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        extra_env: dict[str, str] | None = None,
        command: list[str] | None = None,
        *,
        own_group: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACKWISE_")}
        env.update(
            {
                "STACKWISE_DATA_DIR": str(data_dir),
                "STACKWISE_PORT": str(port),
                "STACKWISE_BATCH_MAX_AGE_S": "0.2",
                "STACKWISE_LOG_LEVEL": "INFO",
                # One process unless a test asks for more (the default is one per core):
                # these tests read the relay's /metrics, which several processes each
                # answer for themselves.
                "STACKWISE_RELAY_PROCESSES": "1",
                **(extra_env or {}),
            }
        )
        self.env = env
        self.process = subprocess.Popen(
            command or PYTHON_SERVE,
            env=env,
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # A process group of its own, as in a terminal: `interrupt_group` is Ctrl-C.
            start_new_session=own_group,
        )
        self._output = ChildOutput(self.process)

    @property
    def log(self) -> str:
        return self._output.text

    def dsn(self) -> str | None:
        match = _DSN_LINE.search(self.log)
        return match.group(1) if match else None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, timeout_s: float = 120) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log}")
            if self.healthy() and self.dsn():
                return self.dsn() or ""
            time.sleep(0.2)
        raise AssertionError(f"serve did not become healthy:\n{self.log}")

    def wait_exit(self, timeout_s: float = 60) -> int:
        code = self.process.wait(timeout_s)
        self._output.wait_closed(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def configure(self, project: str, path: str, value: str) -> None:
        """Set a project's configuration through the operator CLI, as an operator would,
        and give the relay time to see it (it refreshes keys and configuration every 2 s)."""
        subprocess.run(
            [sys.executable, "-m", "stackwise", "project", "config", project, path, value],
            env=self.env,
            check=True,
            capture_output=True,
        )
        time.sleep(3)

    def interrupt_group(self) -> None:
        """What Ctrl-C in a terminal does: SIGINT to every process of the foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"serve did not stop on signal {sig}:\n{self.log}") from None
        finally:
            self._output.wait_closed(5)
            if self.process.stdout is not None:
                self.process.stdout.close()


def processes_using(path: Path) -> list[psutil.Process]:
    """Live processes whose command line mentions `path` (servers left behind)."""
    marker = str(path.resolve())
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if marker in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found
