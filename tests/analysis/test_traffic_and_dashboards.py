"""Traffic, dashboards and operations: hand-made rollups for exact answers, the seeded
dataset for agreement between stores and with the raw assignments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analysis import dashboards, operations, traffic
from analysis.parquet_source import ParquetSource
from analysis.tables import OUTCOMES, ROLLUPS, conform

START = datetime(2026, 3, 1, tzinfo=UTC)


def tiny_export(folder: Path, rollups: list[dict], outcomes: list[dict] = ()) -> ParquetSource:
    """An export holding just these rows (one project, one month)."""
    for dataset, rows in ((ROLLUPS, rollups), (OUTCOMES, outcomes)):
        if rows:
            path = folder / dataset.name / "project_id=1" / "month=202603" / "part-0.parquet"
            path.parent.mkdir(parents=True)
            conform(pl.DataFrame(rows), dataset).write_parquet(path)
    (folder / "manifest.json").write_text(json.dumps({"created_at": "test"}))
    return ParquetSource(folder)


def rollup(hour: int, group: int, events: int, *, weighted: float | None = None, release="1.0"):
    return {
        "project_id": 1,
        "hour": START + timedelta(hours=hour),
        "group_id": group,
        "level": "error",
        "environment": "prod",
        "release": release,
        "events": events,
        "weighted": float(events) if weighted is None else weighted,
        "users": 0,
    }


def test_spikes_flag_only_points_far_above_the_trailing_median():
    values = [10, 11, 9, 10, 12, 10, 11, 10, 95, 10, 11, 30]
    days = [START + timedelta(days=i) for i in range(len(values))]
    flagged = traffic.spikes(pl.DataFrame({"day": days, "events": values}), trailing=7)
    assert flagged["spike"].to_list() == [False] * 8 + [True, False, False, True]
    assert flagged["baseline"][:7].is_null().all()
    assert flagged["baseline"][8] == 10.0


def test_spikes_ignore_a_flat_series_wiggling():
    days = [START + timedelta(days=i) for i in range(10)]
    flat = traffic.spikes(pl.DataFrame({"day": days, "events": [5] * 9 + [7]}))
    assert not flat["spike"].any()


def test_sampling_extrapolates_weights_and_adds_dropped_errors(tmp_path):
    source = tiny_export(
        tmp_path,
        [rollup(1, 7, 10, weighted=100.0), rollup(30, 7, 4)],
        [
            {"project_id": 1, "hour": START, "outcome": "rate_limited", "reason": "",
             "category": "error", "source": "relay", "quantity": 25},
            {"project_id": 1, "hour": START, "outcome": "accepted", "reason": "",
             "category": "error", "source": "relay", "quantity": 10},
            {"project_id": 1, "hour": START, "outcome": "filtered", "reason": "",
             "category": "transaction", "source": "relay", "quantity": 3},
        ],
    )  # fmt: skip
    frame = traffic.sampling(source).select(
        "stored", "extrapolated", "sampled_away", "dropped", "estimated_sent"
    )
    assert frame.rows() == [(10, 100.0, 90.0, 25.0, 125.0), (4, 4.0, 0.0, 0.0, 4.0)]


def test_trending_compares_the_last_day_with_the_day_before(tmp_path):
    rows = [rollup(h, 1, 5) for h in range(48)]  # steady
    rows += [rollup(h, 2, 1) for h in range(24)] + [rollup(h, 2, 9) for h in range(24, 48)]
    rows += [rollup(h, 3, 9) for h in range(24)] + [rollup(h, 3, 1) for h in range(24, 48)]
    trending = dashboards.trending_issues(tiny_export(tmp_path, rows))
    assert trending["group_id"].to_list() == [2]
    assert trending.select("recent", "previous", "increase").row(0) == (216, 24, 192)


def test_new_issues_belong_to_the_release_of_their_first_hour(tmp_path):
    rows = [
        rollup(0, 1, 3, release="1.0"),
        rollup(5, 1, 3, release="1.1"),
        rollup(6, 2, 1, release="1.1"),
        rollup(7, 3, 1, release="1.1"),
    ]
    new = dashboards.new_issues_per_release(tiny_export(tmp_path, rows))
    assert new.select("release", "new_issues").rows() == [("1.0", 1), ("1.1", 2)]


def test_dashboards_agree_between_stores_and_with_the_assignments(live, parquet):
    assigned = live.read("event_groups", columns=["group_id"])
    counts = assigned.group_by("group_id").len().sort("len", "group_id", descending=[True, False])
    for source in (live, parquet):
        top = dashboards.top_issues(source, limit=5)
        assert top["events"].to_list() == counts["len"].head(5).to_list()
        assert dashboards.error_rate_by_hour(source)["events"].sum() == assigned.height
        assert dashboards.new_issues_per_release(source)["new_issues"].sum() == counts.height
    assert dashboards.trending_issues(live).equals(dashboards.trending_issues(parquet))


def test_dashboard_timings_cover_every_query(live):
    timings = dashboards.time_queries(live)
    assert timings["query"].to_list() == list(dashboards.QUERIES)
    assert (timings["seconds"] > 0).all()


def test_releases_and_series_add_up(parquet):
    total = parquet.read("event_groups", columns=["group_id"]).height
    assert traffic.releases(parquet)["events"].sum() == total
    daily = traffic.series(parquet, every="day", by=["project_id"])
    assert daily["events"].sum() == total
    with pytest.raises(ValueError, match="every"):
        traffic.series(parquet, every="week")


def test_operations_measure_ingestion_lag_and_storage(live, parquet):
    stored = live.read("events", columns=["event_id"]).height
    for source in (live, parquet):
        assert operations.ingestion_rate(source)["events"].sum() == stored
        lags = operations.processing_lag(source)
        assert lags.height == stored
        assert (lags["lag_s"] >= 0).all()
        assert operations.lag_summary(lags)["events"].sum() == stored
        tables = operations.storage(source)
        assert {"events", "event_groups"} <= set(tables["table"].to_list())
        columns = operations.column_storage(source)
        assert columns["name"][0] == "payload" and columns["data_compressed_bytes"][0] > 0
        slow = operations.slow_queries(source)
        assert slow["origin"].unique().to_list() == ["dashboard timing"]
    assert operations.queue_depth(live)["messages"].to_list() == [0, 0]
