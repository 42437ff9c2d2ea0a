"""A minified JavaScript shop for the benchmarks: built with esbuild, its map uploaded,
and browser events whose frames point into it, as @sentry/browser reports them.

`build(folder, handlers)` writes a source with one handler chain per root cause, bundles
and minifies it with esbuild (from `just node-deps`) and returns the bundle, its map and,
for each root cause, the minified frames of its error (line, column, minified name).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from symbolic.sourcemap import SourceMapView

ROOT = Path(__file__).resolve().parents[1]
ESBUILD = ROOT / "tests" / "sdk" / "node" / "node_modules" / ".bin" / "esbuild"
BUNDLE_URL = "https://shop.example/static/js/app.4f2a91c3.js"
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass(frozen=True)
class MinifiedFrame:
    lineno: int
    colno: int
    function: str


@dataclass(frozen=True)
class Bundle:
    debug_id: str
    minified: bytes
    source_map: bytes
    # root cause -> its error's frames, outermost first
    frames: dict[int, list[MinifiedFrame]]


def _source(handlers: int) -> tuple[str, dict[int, list[tuple[int, str]]]]:
    """The shop's source, and per root cause the (line, function) of each frame."""
    lines = ["// generated for the benchmark"]
    sites: dict[int, list[tuple[int, str]]] = {}
    for h in range(handlers):
        lines += [
            f"function validateOrder{h}(order) {{",
            f"  if (order.total > {100 + h}) {{",
            f'    throw new Error("order " + order.id + " failed check {h}");',
            "  }",
            "  return order;",
            "}",
            f"function handleRequest{h}(order) {{",
            f"  const checked = validateOrder{h}(order);",
            "  return checked.total;",
            "}",
        ]
        throw_line, call_line = len(lines) - 7, len(lines) - 2
        sites[h] = [(call_line, f"handleRequest{h}"), (throw_line, f"validateOrder{h}")]
    lines.append("export function dispatch(kind, order) {")
    lines.append("  switch (kind) {")
    for h in range(handlers):
        lines.append(f"    case {h}: return handleRequest{h}(order);")
        sites[h].insert(0, (len(lines), "dispatch"))
    lines += ["  }", "  return null;", "}", ""]
    return "\n".join(lines), sites


def build(folder: Path, handlers: int) -> Bundle:
    if not ESBUILD.exists():
        raise SystemExit("esbuild is missing: run `uv run just node-deps`")
    folder.mkdir(parents=True, exist_ok=True)
    source, sites = _source(handlers)
    (folder / "shop.js").write_text(source)
    subprocess.run(
        [
            str(ESBUILD),
            "shop.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--format=esm",
            "--outfile=out/app.js",
            "--log-level=warning",
        ],
        cwd=folder,
        check=True,
    )
    minified = (folder / "out" / "app.js").read_bytes()
    source_map = (folder / "out" / "app.js.map").read_bytes()
    view = SourceMapView.from_json_bytes(source_map)
    # The first minified position of each original line, and where each name is declared.
    first_on_line: dict[int, tuple[int, int]] = {}
    declared: dict[str, tuple[int, int]] = {}
    for token in view:
        position = (token.dst_line, token.dst_col)
        first_on_line.setdefault(token.src_line + 1, position)
        if token.name and token.name not in declared:
            declared[token.name] = position
    code_lines = minified.decode().splitlines()

    def minified_name(original: str) -> str:
        line, column = declared[original]
        match = _IDENTIFIER.match(code_lines[line], column)
        return match.group(0) if match else original

    frames = {
        h: [
            MinifiedFrame(
                first_on_line[line][0] + 1, first_on_line[line][1] + 1, minified_name(function)
            )
            for line, function in chain
        ]
        for h, chain in sites.items()
    }
    return Bundle(str(uuid.uuid4()), minified, source_map, frames)


def browser_event(bundle: Bundle, root_cause: int, order_id: int, timestamp: float) -> dict:
    frames = [
        {
            "filename": BUNDLE_URL,
            "function": frame.function,
            "lineno": frame.lineno,
            "colno": frame.colno,
            "in_app": True,
        }
        for frame in bundle.frames[root_cause]
    ]
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": timestamp,
        "platform": "javascript",
        "level": "error",
        "release": "shop-web@4.2.0",
        "environment": "production",
        "exception": {
            "values": [
                {
                    "type": "Error",
                    "value": f"order {order_id} failed check {root_cause}",
                    "stacktrace": {"frames": frames},
                    "mechanism": {"type": "onerror", "handled": False},
                }
            ]
        },
        "debug_meta": {
            "images": [{"type": "sourcemap", "code_file": BUNDLE_URL, "debug_id": bundle.debug_id}]
        },
    }
