"""Reports tell the truth about sampling: every report renders on seeded data where
dynamic sampling kept a fraction, the daily chart shows the extrapolated volume beside
what was stored, legends name projects by slug, time axes say UTC on a 24-hour clock; the
spike chart says when there is no baseline yet; the AI report without a model says so."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import UTC, datetime

import polars as pl
import pytest
import vl_convert

from analysis import traffic
from analysis.ai_evaluation import NO_MODEL
from analysis.parquet_source import ParquetSource
from analysis.report import build_report, notebooks

SAMPLE_RATE = 0.1


def _rewrite(folder, dataset: str, change) -> int:
    files = sorted((folder / dataset).rglob("*.parquet"))
    for path in files:
        change(pl.read_parquet(path)).write_parquet(path)
    return len(files)


@pytest.fixture(scope="module")
def sampled(exported, tmp_path_factory) -> tuple[ParquetSource, str, datetime]:
    """The seeded export as if the relay had kept the busiest project's second half at 10%:
    its rollups then count each stored event 1 ÷ 0.1 times (the worker's `weighted`)."""
    folder = tmp_path_factory.mktemp("sampled") / "export"
    shutil.copytree(exported.folder, folder)
    rollups = exported.rollup(["project_id", "hour"])
    busiest = rollups.group_by("project_id").agg(pl.col("events").sum()).sort("events")[-1, 0]
    hours = rollups["hour"].sort()
    cut = hours[len(hours) // 2]
    late = (pl.col("project_id") == busiest) & (pl.col("hour") >= cut)
    assert _rewrite(
        folder,
        "error_metrics_hourly",
        lambda f: f.with_columns(
            pl.when(late)
            .then(pl.col("events") / SAMPLE_RATE)
            .otherwise(pl.col("weighted"))
            .cast(f.schema["weighted"])
            .alias("weighted")
        ),
    )
    slug = exported.projects().filter(pl.col("id") == busiest)["slug"][0]
    return ParquetSource(folder), slug, cut


def chart_specs(page: str) -> dict[str, dict]:
    specs = {}
    for text in re.findall(
        r"<script type='application/json' data-chart='chart-\d+'>(.*?)</script>", page, re.S
    ):
        spec = json.loads(text.replace("<\\/", "</"))
        title = spec.get("title") or spec.get("layer", [{}])[0].get("title", "")
        specs[title if isinstance(title, str) else title.get("text", "")] = spec
    return specs


def chart_rows(spec: dict) -> list[dict]:
    (rows,) = spec["datasets"].values()
    return rows


@pytest.fixture(scope="module")
def sampled_reports(sampled, tmp_path_factory) -> dict[str, str]:
    source, _, _ = sampled
    out = tmp_path_factory.mktemp("sampled-reports")
    pages = {}
    for path in notebooks():
        report = build_report(path, source, out)
        assert report.charts > 0 or path.stem == "rule_tuning", path.stem
        pages[path.stem] = report.path.read_text()
    return pages


def test_every_report_renders_on_sampled_data(sampled_reports):
    assert sorted(sampled_reports) == sorted(p.stem for p in notebooks())


def test_daily_chart_shows_extrapolated_volume_beside_stored_by_project_slug(
    sampled, sampled_reports
):
    source, slug, cut = sampled
    spec = chart_specs(sampled_reports["traffic_and_seed"])[
        "Events per day: stored, and extrapolated where sampled"
    ]
    rows = chart_rows(spec)
    slugs = set(source.projects()["slug"])
    assert {row["project"] for row in rows} == slugs  # slugs, not ids
    assert spec["encoding"]["color"]["field"] == "project"
    assert spec["encoding"]["strokeDash"]["field"] == "measure"
    by = {(row["project"], row["measure"], row["day"]): row["events"] for row in rows}
    late_days = [
        day
        for (project, measure, day) in by
        if project == slug
        and measure == traffic.STORED
        and datetime.fromisoformat(day.replace("Z", "+00:00")) > cut
    ]
    assert late_days
    for day in late_days:
        stored = by[(slug, traffic.STORED, day)]
        assert by[(slug, traffic.EXTRAPOLATED, day)] == pytest.approx(stored / SAMPLE_RATE)
    # Projects that were not sampled draw their stored line only.
    assert {p for (p, m, _) in by if m == traffic.EXTRAPOLATED} == {slug}


def axis_labels(spec: dict) -> list[str]:
    """The labels a browser would draw: the chart rendered by Vega itself (vl-convert)."""
    svg = vl_convert.vegalite_to_svg(spec)
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]+)</text>", svg)]


def test_time_axes_are_utc_on_a_24_hour_clock(sampled_reports):
    specs = chart_specs(sampled_reports["traffic_and_seed"])
    daily = specs["Events per day: stored, and extrapolated where sampled"]
    hourly = specs["Events per hour: stored, and extrapolated where sampled"]
    assert daily["encoding"]["x"]["title"] == "day (UTC)"
    assert hourly["encoding"]["x"]["title"] == "hour (UTC)"
    assert daily["encoding"]["x"]["scale"]["type"] == "utc"
    # What is drawn, not what the spec asks for: Vega ignored a `format` with
    # formatType "utc" and drew "03 AM".
    day_labels, hour_labels = axis_labels(daily), axis_labels(hourly)
    for label in day_labels + hour_labels:
        assert not re.search(r"\b(AM|PM)\b", label), label
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", label) for label in day_labels)
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:00", label) for label in hour_labels)


def test_the_spike_chart_says_when_there_is_not_enough_baseline_yet():
    days = pl.DataFrame(
        {
            "day": [datetime(2026, 12, d, tzinfo=UTC) for d in range(1, 6)],
            "events": [10, 11, 9, 80, 10],
        }
    )
    short = traffic.baseline_shortfall(traffic.spikes(days))
    assert short == (
        "not enough baseline yet: spikes are judged against the 7 days before, "
        "and there are 5 days of data"
    )
    assert not traffic.spikes(days)["spike"].any()
    month = pl.DataFrame({"day": list(range(30)), "events": [10] * 30})
    assert traffic.baseline_shortfall(traffic.spikes(month)) == ""


def test_the_thirty_seeded_days_have_a_baseline_and_the_page_does_not_claim_otherwise(
    sampled_reports,
):
    assert "not enough baseline yet" not in sampled_reports["traffic_and_seed"]
    assert "All projects: spikes" in chart_specs(sampled_reports["traffic_and_seed"])


def test_the_ai_report_without_a_model_says_so_and_how_to_set_one(exported, tmp_path_factory):
    folder = tmp_path_factory.mktemp("no-model") / "export"
    shutil.copytree(exported.folder, folder)
    _rewrite(
        folder,
        "error_groups",
        lambda f: f.with_columns(pl.lit(None).cast(f.schema["ai_summary"]).alias("ai_summary")),
    )
    _rewrite(folder, "ai_calls", lambda f: f.clear())
    path = next(p for p in notebooks() if p.stem == "ai_evaluation")
    page = build_report(
        path, ParquetSource(folder), tmp_path_factory.mktemp("out")
    ).path.read_text()
    assert "no model endpoint was configured" in page
    assert "STACKWISE_OPENAI_BASE_URL" in page and "ai.base_url" in page
    assert "<caption>per label</caption>" not in page  # no empty evaluation tables
    assert NO_MODEL.split("**")[1] in page
