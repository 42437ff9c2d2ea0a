"""The shop's minified apps (tests/sdk/node/sourcemap_app): built with esbuild, run in
headless Chromium with @sentry/browser or in Node with @sentry/node."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from tests.support.sentry_cli import NODE_DIR, esbuild

APP_DIR = NODE_DIR / "sourcemap_app"
CHECKOUT = APP_DIR / "src" / "checkout.js"
CHECKOUT_LINES = CHECKOUT.read_text().splitlines()
# Where the error is thrown, and the callers' lines, in the original source (1-based).
THROW_LINE = next(i for i, line in enumerate(CHECKOUT_LINES, 1) if "throw new RangeError" in line)
CALL_LINE = next(i for i, line in enumerate(CHECKOUT_LINES, 1) if "= computeTotal(cart)" in line)


def copy_app(folder: Path) -> Path:
    """The app's sources in `folder`, so built maps name them `../src/...`."""
    shutil.copytree(APP_DIR, folder)
    return folder


def build(app: Path, name: str, *, target: str, deploy: int) -> Path:
    """Build the browser ("web") or Node ("node") app into `app/name`; the second deploy
    injects more code, so the minifier names the same functions differently."""
    out = app / name
    out.mkdir(parents=True, exist_ok=True)
    extra = ["--inject:./src/padding.js"] if deploy == 2 else []
    if target == "web":
        esbuild(
            "./src/browser.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--format=iife",
            f"--outfile={out / 'app.min.js'}",
            *extra,
            cwd=app,
        )
        shutil.copy(app / "index.html", out / "index.html")
    else:
        esbuild(
            "./src/node.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--platform=node",
            "--packages=external",
            "--format=cjs",
            f"--outfile={out / 'app.js'}",
            *extra,
            cwd=app,
        )
    return out


def run_node(app: Path, dsn: str, release: str = "", dist: str = "") -> str:
    done = subprocess.run(
        ["node", str(app / "app.js"), dsn, release, dist],
        env={"PATH": "/usr/bin:/usr/local/bin:/bin", "NODE_PATH": str(NODE_DIR / "node_modules")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = json.loads(done.stdout)
    assert output["flushed"] is True, done.stderr
    return output["eventId"]


@contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 (the page and its bundle)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def run_browser(site_url: str, dsn: str, *, release: str = "") -> str:
    """Open the page in headless Chromium; it reports the error and shows its event id."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "headless Chromium is missing: run `uv run just browser`"
    query = urlencode({"dsn": dsn, "release": release})
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{site_url}/index.html?{query}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    start = done.stdout.find('<pre id="result">')
    assert start >= 0, done.stdout[-2000:]
    text = done.stdout[start + len('<pre id="result">') :].split("</pre>", 1)[0]
    assert text != "pending", f"the page never reported:\n{done.stderr[-2000:]}"
    output = json.loads(text.replace("&quot;", '"'))
    assert output["flushed"] is True
    return output["eventId"]
