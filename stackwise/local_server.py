"""A `serve` process for client-side tools (demo, seed): reuse one, or start one for a while.

On the embedded default only one process may own the data folder, so tools that
send traffic talk to the running relay over HTTP, and start one when none runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from core.errors import CoreError
from core.settings import Settings

_START_TIMEOUT_S = 120.0


class ServerStartError(CoreError):
    """The `serve` process exited or never became healthy."""


def healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _start(settings: Settings) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "stackwise", "serve"],
        # The caller's level (`--verbose` included) for the server it starts.
        env={**os.environ, "STACKWISE_LOG_LEVEL": settings.log_level},
    )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not healthy(settings.dsn_host):
        if server.poll() is not None:
            raise ServerStartError(f"stackwise serve exited with code {server.returncode}")
        if time.monotonic() > deadline:
            _stop(server)
            raise ServerStartError(f"stackwise serve was not healthy within {_START_TIMEOUT_S} s")
        time.sleep(0.2)
    return server


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(60)
    if server.poll() is None:
        server.kill()
        server.wait()


@contextlib.contextmanager
def relay_running(settings: Settings, *, on_start=None) -> Iterator[str]:
    """Yield the relay's base URL; a server started here is stopped (and waited for) after."""
    if healthy(settings.dsn_host):
        yield settings.dsn_host
        return
    if on_start is not None:
        on_start()
    server = _start(settings)
    try:
        yield settings.dsn_host
    finally:
        _stop(server)
