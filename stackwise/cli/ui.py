"""`ui`: the issues app in the browser (`marimo run` on stackwise/ui/app.py).

    stackwise ui [--host 127.0.0.1] [--port 2718] [--source SPEC]

On 127.0.0.1 (the default) anyone who can reach the port is on this machine, so the app
asks for nothing. Bound to any other address it requires a token: --token, else
STACKWISE_UI_TOKEN, else a random one; the URL printed carries it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"
LOOPBACK_NAMES = {"localhost"}


def register(commands) -> None:
    parser = commands.add_parser("ui", help="the issues app in the browser (marimo)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default local)")
    parser.add_argument("--port", type=int, default=2718)
    parser.add_argument("--token", help="required from browsers when bound beyond this machine")
    parser.add_argument("--source", help="stored events: an export folder or a ClickHouse URL")
    parser.set_defaults(handler=_ui)


def is_local(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def marimo_command(host: str, port: int, token_file: Path | None, source: str | None) -> list[str]:
    """The `marimo run` command line; no token file only for a loopback host."""
    if token_file is None and not is_local(host):
        raise ValueError(f"binding {host} needs a token")
    auth = ["--token", "--token-password-file", str(token_file)] if token_file else ["--no-token"]
    command = [sys.executable, "-m", "marimo", "-q", "run", str(APP), "--headless"]
    command += ["--host", host, "--port", str(port), *auth, "--no-sandbox"]
    return command + (["--", "--source", source] if source else [])


def app_url(host: str, port: int, token: str) -> str:
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?access_token={token}" if token else "")


def _write_token(data_dir: Path, token: str) -> Path:
    """The token in a file only this user reads: on the command line `ps` would show it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ui.token"
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return path


def _ui(settings, args) -> int:
    token = args.token or settings.ui_token
    if not token and not is_local(args.host):
        token = secrets.token_urlsafe(18)
    token_file = _write_token(settings.data_dir, token) if token else None
    command = marimo_command(args.host, args.port, token_file, args.source)
    print(f"stackwise ui: {app_url(args.host, args.port, token)}", flush=True)
    # Replace this process: stopping `stackwise ui` stops the server, nothing is left behind.
    os.execv(command[0], command)
    return 0  # not reached
