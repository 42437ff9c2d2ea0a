"""The real `sentry-cli` (PyPI `sentry-cli`, pinned in the dev dependencies), run against
a local relay and nothing else: no update check, no dotenv or ~/.sentryclirc, and every
other host sent to a closed local proxy, so a stray request fails instead of leaving."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

NODE_DIR = Path(__file__).parents[1] / "sdk" / "node"
ESBUILD = NODE_DIR / "node_modules" / ".bin" / "esbuild"


def sentry_cli_path() -> str:
    found = shutil.which("sentry-cli", path=str(Path(sys.executable).parent))
    assert found, "sentry-cli is a dev dependency: run `uv sync`"
    return found


def sentry_cli(
    *args: str,
    url: str,
    token: str,
    home: Path,
    project: str | None = None,
    org: str = "stackwise",
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "SENTRY_URL": url,
        "SENTRY_AUTH_TOKEN": token,
        "SENTRY_ORG": org,
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
        "SENTRY_LOAD_DOTENV": "0",
        "SENTRY_NO_PROGRESS_BARS": "1",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if project:
        env["SENTRY_PROJECT"] = project
    done = subprocess.run(
        [sentry_cli_path(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"sentry-cli {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def esbuild(*args: str, cwd: Path) -> None:
    assert ESBUILD.exists(), "esbuild is missing: run `uv run just node-deps`"
    subprocess.run(
        [str(ESBUILD), *args, "--log-level=warning"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "NODE_PATH": str(NODE_DIR / "node_modules")},
        check=True,
        timeout=120,
    )
