"""Who may open the issues app: anyone on this machine on 127.0.0.1; beyond it, only
with the token the command printed (or STACKWISE_UI_TOKEN)."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.request
from pathlib import Path

import pytest

from stackwise.cli.ui import app_url, is_local, marimo_command
from tests.ui.conftest import UiProcess

_URL = re.compile(r"stackwise ui: (\S+)")


def _final_url(url: str) -> str:
    """Where a browser ends up (cookies kept across redirects, as a browser keeps them)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(url, timeout=10) as response:
        return response.geturl()


def _printed_url(process: UiProcess) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _URL.search(process.log)
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no URL printed:\n{process.log}")


@pytest.mark.parametrize(
    ("host", "local"),
    [
        *[("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True)],
        *[("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.org", False)],
    ],
)
def test_only_loopback_addresses_count_as_local(host, local):
    assert is_local(host) is local


def test_a_non_local_bind_without_a_token_file_is_refused():
    with pytest.raises(ValueError, match="needs a token"):
        marimo_command("0.0.0.0", 2718, None, None)
    assert "--no-token" in marimo_command("127.0.0.1", 2718, None, None)
    secured = marimo_command("0.0.0.0", 2718, Path("/tmp/t"), None)
    assert secured[secured.index("--token-password-file") + 1] == "/tmp/t"
    assert "--no-token" not in secured


def test_the_printed_url_carries_the_token():
    assert app_url("127.0.0.1", 2718, "") == "http://127.0.0.1:2718/"
    assert app_url("::1", 2718, "abc") == "http://[::1]:2718/?access_token=abc"


def test_bound_to_every_address_the_app_asks_for_the_printed_token(ui_env: dict[str, str]):
    process = UiProcess(ui_env, "--host", "0.0.0.0")
    try:
        process.wait_listening()
        printed = _printed_url(process)
        token = printed.split("access_token=", 1)[1]
        assert len(token) >= 20
        base = f"http://127.0.0.1:{process.port}/"
        assert "/auth/login" in _final_url(base)
        assert "/auth/login" in _final_url(f"{base}?access_token=not-{token}")
        assert _final_url(f"{base}?access_token={token}") == base
        token_file = Path(ui_env["STACKWISE_DATA_DIR"]) / "ui.token"
        assert token_file.stat().st_mode & 0o077 == 0
        assert token not in " ".join(process.process.args)
    finally:
        process.stop()


def test_the_configured_token_is_the_one_required(ui_env: dict[str, str]):
    env = ui_env | {"STACKWISE_UI_TOKEN": "configured-token-for-the-test"}
    process = UiProcess(env, "--host", "0.0.0.0")
    try:
        process.wait_listening()
        assert _printed_url(process).endswith("?access_token=configured-token-for-the-test")
        base = f"http://127.0.0.1:{process.port}/"
        assert _final_url(f"{base}?access_token=configured-token-for-the-test") == base
        assert "/auth/login" in _final_url(base)
    finally:
        process.stop()
