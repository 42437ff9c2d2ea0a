"""What `serve` prints can be acted on at once."""

from __future__ import annotations

import signal
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.relay_thread import free_port
from tests.support.serve_process import UV_STACKWISE_SERVE, ServeProcess


@pytest.mark.embedded
def test_serve_prints_the_dsn_only_once_the_relay_accepts_an_event(tmp_path):
    server = ServeProcess(tmp_path / "data", free_port(), command=UV_STACKWISE_SERVE)
    try:
        deadline = time.monotonic() + 120
        while (demo_dsn := server.dsn()) is None:
            assert server.process.poll() is None, server.log
            assert time.monotonic() < deadline, server.log
            time.sleep(0.005)
        # What a script does with the line: send straight away, no retry.
        parts = urlsplit(demo_dsn)
        project_id = parts.path.strip("/")
        response = httpx.post(
            f"http://{parts.hostname}:{parts.port}/api/{project_id}/store/",
            json={"message": "sent the moment the DSN was printed"},
            headers={
                "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={parts.username}",
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.log
