"""Every notebook runs headless on the seeded dataset and its report holds its charts and
tables, self-contained (no network needed to open it)."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from analysis.report import build_report, notebooks
from core.settings import Settings
from stackwise.cli import workbench

# At least this many (charts, tables) per report: each notebook's sections.
EXPECTED = {
    "ai_evaluation": (5, 7),
    "grouping_accuracy": (3, 5),
    "operations": (5, 6),
    "rule_tuning": (1, 5),
    "traffic_and_seed": (11, 7),
}


def test_every_notebook_is_expected():
    assert sorted(p.stem for p in notebooks()) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def reports(exported, tmp_path_factory) -> dict[str, tuple[object, str]]:
    out = tmp_path_factory.mktemp("reports")
    built = {}
    for path in notebooks():
        report = build_report(path, exported, out)
        built[path.stem] = (report, report.path.read_text())
    return built


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_holds_its_charts_and_tables(reports, name):
    report, page = reports[name]
    charts, tables = EXPECTED[name]
    assert report.charts >= charts
    assert report.tables >= tables
    # Every chart is a Vega-Lite spec with its data inline, next to its container.
    specs = re.findall(
        r"<script type='application/json' data-chart='(chart-\d+)'>(.*?)</script>", page, re.S
    )
    assert len(specs) == report.charts
    for chart, text in specs:
        assert f"<div id='{chart}' class='vega'>" in page
        spec = json.loads(text.replace("<\\/", "</"))
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert spec.get("datasets"), f"{chart}: data inline, not fetched from a URL"
    assert page.count("<table class='data'>") == report.tables


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_needs_no_network(reports, name):
    _, page = reports[name]
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?https?:", page)
    assert page.count("window.vegaEmbed=") == 1  # the bundle, inlined once
    assert "data-charts-rendered" in page


def test_rule_tuning_report_shows_the_example_rules_and_their_merges(reports):
    _, page = reports["rule_tuning"]
    assert "error.type:&quot;*Timeout*&quot; -&gt; timeouts" in page
    assert "merges" in page
    merges = page.split("<caption>merges</caption>", 1)[1].split("</table>", 1)[0]
    assert "no rows" not in merges  # the example rules merge today's timeout issues
    assert "Rules are saved only when you press the button." in page


def test_reports_name_their_data_source(reports, exported):
    for _, page in reports.values():
        assert str(exported.folder) in page


def test_report_command_writes_pages(exported, tmp_path):
    """`just report` runs `stackwise report`: here its parser and handler directly."""
    parser = argparse.ArgumentParser()
    workbench.register(parser.add_subparsers())
    args = parser.parse_args(
        ["report", "--source", str(exported.folder), "--out", str(tmp_path), "operations"]
    )
    assert args.handler(Settings(data_dir=tmp_path / "data"), args) == 0
    assert (tmp_path / "operations.html").exists()
    assert not (tmp_path / "grouping_accuracy.html").exists()
