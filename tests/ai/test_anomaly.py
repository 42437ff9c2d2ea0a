"""Anomaly detection: the pure scoring on hand-built series, then a scan over chdb rollups."""

from __future__ import annotations

import random
import time
import uuid

import pyarrow as pa

from core.anomaly import (
    DAY_S,
    HOUR_S,
    PROJECT_SCOPE,
    WEEK_S,
    AnomalyConfig,
    HourlyCount,
    baseline,
    detect_anomalies,
    detect_series,
    project_totals,
)
from workers.ai.anomaly_scan import scan_anomalies
from workers.process_events import EVENT_GROUPS_SCHEMA

# A Monday 00:00 UTC, so hours of the week are easy to read.
START = 1_736_121_600
CONFIG = AnomalyConfig()


def steady(weeks: int, per_hour: float = 10.0, *, seed: int = 1) -> dict[int, float]:
    """Traffic with Poisson-like noise around `per_hour`."""
    rng = random.Random(seed)
    return {
        START + h * HOUR_S: max(0.0, round(rng.gauss(per_hour, per_hour**0.5)))
        for h in range(weeks * 7 * 24)
    }


def detect(series: dict[int, float], window: tuple[int, int], group_id: int = 5, **config):
    return detect_series(
        1,
        group_id,
        series,
        window_start=window[0],
        window_end=window[1],
        history_start=START,
        config=AnomalyConfig(**config),
    )


def last_day(weeks: int) -> tuple[int, int]:
    end = START + weeks * WEEK_S
    return end - DAY_S, end


def test_steady_noisy_traffic_raises_nothing():
    assert detect(steady(4), last_day(4)) == []


def test_a_spike_is_one_anomaly_from_its_first_to_its_last_hour():
    series = steady(4)
    first = START + 4 * WEEK_S - 10 * HOUR_S
    for offset, count in enumerate((120.0, 300.0, 90.0)):
        series[first + offset * HOUR_S] = count
    (spike,) = detect(series, last_day(4))
    assert (spike.kind, spike.group_id) == ("spike", 5)
    assert (spike.start_hour, spike.end_hour) == (first, first + 2 * HOUR_S)
    assert (spike.peak_hour, spike.peak_count) == (first + HOUR_S, 300.0)
    assert 5 <= spike.baseline <= 15
    assert spike.score > CONFIG.z_threshold


def test_separate_bursts_are_separate_anomalies():
    series = steady(4)
    end = START + 4 * WEEK_S
    series[end - 10 * HOUR_S] = 200.0
    series[end - 4 * HOUR_S] = 200.0
    spikes = detect(series, last_day(4))
    assert [s.start_hour for s in spikes] == [end - 10 * HOUR_S, end - 4 * HOUR_S]


def test_a_daily_peak_is_seasonal_not_a_spike():
    series = steady(4)
    for day in range(28):
        series[START + day * DAY_S + 14 * HOUR_S] = 100.0  # the 14:00 batch job
    assert detect(series, last_day(4)) == []
    series[START + 27 * DAY_S + 14 * HOUR_S] = 1000.0
    (spike,) = detect(series, last_day(4))
    assert spike.baseline == 100.0


def test_weekly_seasonality_is_learned_once_there_are_enough_weeks():
    weekly_job = [START + week * WEEK_S + 9 * HOUR_S for week in range(4)]  # Mondays 09:00
    series = steady(4)
    for hour in weekly_job:
        series[hour] = 80.0
    monday = (weekly_job[-1] - 9 * HOUR_S, weekly_job[-1] + 15 * HOUR_S)
    assert detect(series, monday) == []
    # With one week of history the same Monday looks like a spike against the other days.
    short = {h: n for h, n in series.items() if h >= START + 2 * WEEK_S}
    (flagged,) = detect_series(
        1, 5, short, window_start=monday[0], window_end=monday[1], history_start=START + 2 * WEEK_S
    )
    assert flagged.peak_hour == weekly_job[-1]
    assert baseline(series, weekly_job[-1], START).seasonality == "weekly"
    assert baseline(short, weekly_job[-1], START + 2 * WEEK_S).seasonality == "daily"


def test_a_past_spike_among_the_peers_does_not_hide_the_next_one():
    series = steady(4)
    hour = START + 4 * WEEK_S - 5 * HOUR_S
    series[hour - WEEK_S] = 400.0  # last week's incident, at the same hour
    series[hour] = 400.0
    assert [s.peak_hour for s in detect(series, last_day(4))] == [hour]


def test_a_new_issue_arriving_in_volume_is_a_new_surge_and_a_trickle_is_not():
    end = START + 2 * WEEK_S
    surge = {end - 3 * HOUR_S: 80.0, end - 2 * HOUR_S: 120.0}
    (anomaly,) = detect(surge, last_day(2))
    assert (anomaly.kind, anomaly.baseline, anomaly.peak_count) == ("new_surge", 0.0, 120.0)
    assert detect({end - 2 * HOUR_S: 30.0}, last_day(2)) == []
    # A project-wide series has no "new": without history it gets no verdict at all.
    assert detect(surge, last_day(2), group_id=PROJECT_SCOPE) == []


def test_without_enough_history_there_is_no_verdict():
    series = {START + h * HOUR_S: 10.0 for h in range(48)}
    series[START + 47 * HOUR_S] = 500.0
    assert detect(series, (START, START + 48 * HOUR_S)) == []


def test_detect_anomalies_takes_history_from_the_project_and_sums_totals():
    issue_rows = [
        HourlyCount(project_id=1, group_id=9, hour=h, count=n) for h, n in steady(3).items()
    ]
    end = START + 3 * WEEK_S
    issue_rows.append(HourlyCount(project_id=1, group_id=9, hour=end - HOUR_S, count=500.0))
    new_issue = [HourlyCount(project_id=1, group_id=10, hour=end - 2 * HOUR_S, count=90.0)]
    totals = project_totals(issue_rows + new_issue)
    found = detect_anomalies(
        issue_rows + new_issue + totals, window_start=end - DAY_S, window_end=end
    )
    assert sorted((a.group_id, a.kind) for a in found) == [
        (PROJECT_SCOPE, "spike"),
        (9, "spike"),
        (10, "new_surge"),
    ]


def _event_group_rows(project_id: int, group_id: int, hours: dict[int, int]) -> pa.Table:
    rows: dict[str, list] = {name: [] for name in EVENT_GROUPS_SCHEMA.names}
    for hour, count in hours.items():
        for n in range(count):
            rows["project_id"].append(project_id)
            rows["timestamp"].append((hour + n * 3600 // max(count, 1)) * 1000)
            rows["event_id"].append(uuid.uuid4().bytes)
            rows["group_id"].append(group_id)
            rows["primary_hash"].append("0" * 32)
            rows["grouping_version"].append("v1")
            rows["level"].append("error")
            rows["environment"].append("production")
            rows["release"].append("shop@1.0.0")
            rows["user_key"].append("")
            rows["sample_weight"].append(1.0)
            rows["processed_at"].append(int(time.time() * 1000))
    return pa.Table.from_pydict(rows, schema=EVENT_GROUPS_SCHEMA)


def test_the_scan_stores_spikes_from_the_rollups_once(local_ctx):
    now = time.time()
    this_hour = int(now // HOUR_S) * HOUR_S
    project_id = 10_000 + random.randrange(10_000)
    history = {this_hour - h * HOUR_S: 8 + h % 3 for h in range(1, 15 * 24)}
    spike_hour = this_hour - 3 * HOUR_S
    spiking = dict(history) | {spike_hour: 150}
    quiet = dict.fromkeys(history, 2)
    client = local_ctx.clickhouse()
    client.insert_arrow("event_groups", _event_group_rows(project_id, 1, spiking))
    client.insert_arrow("event_groups", _event_group_rows(project_id, 2, quiet))

    first = [a for a in scan_anomalies(local_ctx, now=now) if a.anomaly.project_id == project_id]
    assert sorted((a.anomaly.group_id, a.anomaly.kind, a.new) for a in first) == [
        (PROJECT_SCOPE, "spike", True),
        (1, "spike", True),
    ]
    issue = next(a for a in first if a.anomaly.group_id == 1)
    assert (issue.anomaly.peak_hour, issue.anomaly.peak_count) == (spike_hour, 150.0)

    again = [a for a in scan_anomalies(local_ctx, now=now) if a.anomaly.project_id == project_id]
    assert {(a.id, a.new) for a in again} == {(a.id, False) for a in first}
    with local_ctx.stack.pool.connection() as conn:
        stored = conn.execute(
            "SELECT group_id, kind, peak_count, status FROM ai_anomalies WHERE project_id = %s "
            "ORDER BY group_id",
            (project_id,),
        ).fetchall()
    assert [(r["group_id"], r["kind"], r["status"]) for r in stored] == [
        (PROJECT_SCOPE, "spike", "open"),
        (1, "spike", "open"),
    ]
    assert stored[1]["peak_count"] == 150.0
