"""`just report`: run every notebook headless on the current data and write one
self-contained HTML page per notebook to `reports/`.

marimo's own HTML export loads its frontend from a CDN, so it cannot render offline.
Instead each notebook runs in this process (`app.run()`), with `analysis.display` in
report mode: cells end with `Block`s (static HTML tables, Vega-Lite specs), and the page
is assembled here with inline CSS and the Vega/Vega-Lite/vega-embed bundle that
vl-convert ships, inlined once per page. Charts render as SVG when the page opens, with
no network. Pages are plain HTML: readable without Python, mailable as one file.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path

from analysis.display import Block, render_mode, to_block
from analysis.source import Source, use_source

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REPORTS = Path("reports")

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1f2328; max-width: 1100px;
       margin: 2rem auto; padding: 0 1.5rem; }
header.report { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5rem; color: #59636e; }
h1, h2, h3 { line-height: 1.25; } h1 { font-size: 1.9rem; } h2 { margin-top: 2rem; }
table.data { border-collapse: collapse; margin: 0.75rem 0; font-size: 13px; }
table.data caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
table.data th, table.data td { border: 1px solid #d0d7de; padding: 3px 8px;
                               text-align: left; vertical-align: top; }
table.data th { background: #f6f8fa; } table.data td { max-width: 38rem;
                                                      overflow-wrap: anywhere; }
p.more { color: #59636e; font-size: 12px; margin-top: -0.4rem; }
figure.chart { margin: 1rem 0; } .vega.failed { color: #d1242f; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; font-size: 13px; }
"""
_EMBED = """
(function () {
  var nodes = document.querySelectorAll('script[type="application/json"][data-chart]');
  var pending = [];
  nodes.forEach(function (node) {
    var target = document.getElementById(node.getAttribute("data-chart"));
    pending.push(vegaEmbed(target, JSON.parse(node.textContent),
                           {renderer: "svg", actions: false})
      .catch(function (error) {
        target.className += " failed";
        target.textContent = "chart failed to render: " + error;
      }));
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute("data-charts-rendered", String(pending.length));
  });
})();
"""


@dataclass(frozen=True)
class Report:
    notebook: str
    path: Path
    charts: int
    tables: int
    seconds: float


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stackwise"


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (built by vl-convert; cached on disk,
    since building it takes seconds)."""
    import vl_convert

    path = _cache_dir() / f"vega-bundle-{version('vl-convert-python')}.js"
    if path.exists():
        return path.read_text()
    # The default snippet puts vegaEmbed, vegaLite and vega on `window` (the type stub
    # forgets that `snippet` has a default).
    bundle = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(bundle)
    temporary.replace(path)
    return bundle


def run_notebook(path: Path) -> list[Block]:
    """Run a marimo notebook in this process, in report mode; its outputs as Blocks."""
    spec = importlib.util.spec_from_file_location(f"stackwise_notebook_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load notebook {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with render_mode("report"):
        outputs, _ = module.app.run()
        return [to_block(output) for output in outputs if output is not None]


def _render(block: Block, counter: list[int]) -> str:
    if block.kind == "stack":
        return "".join(_render(child, counter) for child in block.children)
    if block.kind != "chart":
        return block.html
    counter[0] += 1
    name = f"chart-{counter[0]}"
    spec = json.dumps(block.spec).replace("</", "<\\/")
    return (
        f"<figure class='chart'><div id='{name}' class='vega'></div>"
        f"<script type='application/json' data-chart='{name}'>{spec}</script></figure>"
    )


def count(blocks: list[Block], kind: str) -> int:
    return sum(
        count(list(b.children), kind) if b.kind == "stack" else int(b.kind == kind) for b in blocks
    )


def render_page(title: str, blocks: list[Block], *, source_label: str) -> str:
    counter = [0]  # numbers the page's charts
    body = "\n".join(_render(block, counter) for block in blocks)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script>{vega_bundle()}</script></head><body>"
        f"<header class='report'>stackwise workbench · {html.escape(title)} · data: "
        f"{html.escape(source_label)} · generated {generated}</header>"
        f"<main>{body}</main><script>{_EMBED}</script></body></html>\n"
    )


def build_report(path: Path, source: Source, out_dir: Path) -> Report:
    started = time.perf_counter()
    with use_source(source):
        blocks = run_notebook(path)
    title = path.stem.replace("_", " ")
    page = out_dir / f"{path.stem}.html"
    out_dir.mkdir(parents=True, exist_ok=True)
    page.write_text(render_page(title, blocks, source_label=source.label))
    return Report(
        path.stem,
        page,
        count(blocks, "chart"),
        count(blocks, "table"),
        time.perf_counter() - started,
    )


def build_reports(
    source: Source, out_dir: Path = REPORTS, paths: list[Path] | None = None
) -> list[Report]:
    return [build_report(path, source, out_dir) for path in paths or notebooks()]
