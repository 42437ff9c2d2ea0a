"""A report opened in headless Chromium renders every chart as SVG marks, offline.

The screenshot is kept as an artifact (artifacts/reports/<notebook>.png) for people to
look at. Chromium comes from `just browser` (a dependency of `just test`); without it
this test fails and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from analysis.report import NOTEBOOKS, build_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "reports"
NOTEBOOK = "traffic_and_seed"  # the report with the most charts


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is missing: run `uv run just browser`"
    return found


def _headless(*args: str) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000"]
    done = subprocess.run(
        [_chromium(), *flags, *args], capture_output=True, text=True, timeout=180, check=True
    )
    return done.stdout


def test_report_charts_render_as_svg_in_headless_chromium(exported, tmp_path):
    report = build_report(NOTEBOOKS / f"{NOTEBOOK}.py", exported, tmp_path)
    dom = _headless("--dump-dom", report.path.as_uri())
    rendered = re.search(r'data-charts-rendered="(\d+)"', dom)
    assert rendered, "the page's charts never finished rendering"
    assert int(rendered.group(1)) == report.charts
    chunks = dom.split('<div id="chart-')[1:]
    assert len(chunks) == report.charts
    for chunk in chunks:
        name = chunk.split('"', 1)[0]
        assert "failed" not in chunk.split(">", 1)[0], f"chart-{name} failed to render"
        assert "<svg" in chunk, f"chart-{name} has no svg"
        assert re.search(r'class="mark-(line|rect|symbol|area|point)', chunk), name

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"{NOTEBOOK}.png"
    screenshot.unlink(missing_ok=True)
    _headless("--window-size=1200,4000", f"--screenshot={screenshot}", report.path.as_uri())
    assert screenshot.stat().st_size > 50_000  # a page of charts, not a blank one
