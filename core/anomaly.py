"""Anomaly detection on hourly event counts: pure functions, no I/O. The workers scan the
rollups with it (workers.ai.anomaly_scan); the workbench runs it again on frames
(analysis.ai_evaluation), which is why it sits in core, below both.

For each scope (a project's total, or one issue) and each hour, the baseline is
the same hour in the trailing weeks (same hour of week: weekly seasonality), or,
with fewer than `min_peers` weeks of history, the same hour on the trailing
days. Baseline statistics are robust (median and MAD) so a past spike among the
peers does not hide the next one. Counts are the rollups' `weighted` column:
events extrapolated through the relay's dynamic sampling, which samples harder
exactly when traffic spikes.

An hour is
  a spike      count >= min_count, at least `min_ratio` x the median, and
               (count - median) / scale >= z_threshold, where scale is
               1.4826 x MAD floored by the Poisson noise sqrt(median) (and 1)
  a new surge  an issue with only zero peers (it did not occur at this time
               before) reaching surge_min_count
Hours before a project's first data are unknown, not zero: no verdict without
`min_peers` peers. Consecutive anomalous hours of one scope form one Anomaly.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable

import msgspec

HOUR_S = 3600
DAY_S = 24 * HOUR_S
WEEK_S = 7 * DAY_S
PROJECT_SCOPE = 0  # group_id of a project-wide series


class AnomalyConfig(msgspec.Struct, frozen=True, kw_only=True):
    weeks: int = 4
    days: int = 7
    min_peers: int = 3
    z_threshold: float = 5.0
    min_ratio: float = 3.0
    min_count: float = 20.0
    surge_min_count: float = 50.0


DEFAULT_CONFIG = AnomalyConfig()


class HourlyCount(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    project_id: int
    group_id: int  # PROJECT_SCOPE for the project's total
    hour: int  # epoch seconds, a multiple of 3600
    count: float


class Baseline(msgspec.Struct, frozen=True, kw_only=True):
    median: float
    mad: float
    peers: int
    seasonality: str  # "weekly" or "daily"
    all_zero: bool


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    group_id: int
    kind: str  # "spike" or "new_surge"
    start_hour: int
    end_hour: int  # the last anomalous hour (inclusive)
    peak_hour: int
    peak_count: float
    baseline: float
    score: float


Series = dict[int, float]  # hour -> count; a missing hour is zero


def baseline(
    series: Series, hour: int, history_start: int, config: AnomalyConfig = DEFAULT_CONFIG
) -> Baseline | None:
    """The seasonal baseline for `hour`, or None without enough history."""
    seasons = (("weekly", WEEK_S, config.weeks), ("daily", DAY_S, config.days))
    for seasonality, step, count in seasons:
        peer_hours = [hour - step * k for k in range(1, count + 1)]
        peers = [series.get(h, 0.0) for h in peer_hours if h >= history_start]
        if len(peers) >= config.min_peers:
            median = statistics.median(peers)
            mad = statistics.median(abs(p - median) for p in peers)
            return Baseline(
                median=median,
                mad=mad,
                peers=len(peers),
                seasonality=seasonality,
                all_zero=not any(peers),
            )
    return None


def robust_score(count: float, base: Baseline) -> float:
    scale = max(1.4826 * base.mad, math.sqrt(max(base.median, 0.0)), 1.0)
    return (count - base.median) / scale


def classify_hour(
    count: float, base: Baseline | None, *, is_issue: bool, config: AnomalyConfig = DEFAULT_CONFIG
) -> tuple[str, float] | None:
    """("spike" | "new_surge", score) when this hour is anomalous, else None."""
    if base is None or count < config.min_count:
        return None
    score = robust_score(count, base)
    if base.all_zero:
        if is_issue and count >= config.surge_min_count:
            return "new_surge", score
        return None
    if score >= config.z_threshold and count >= config.min_ratio * max(base.median, 1.0):
        return "spike", score
    return None


def _runs(flagged: list[tuple[int, str, float, float, float]]) -> list[list[tuple]]:
    """Split (hour, kind, score, count, baseline) rows, sorted by hour, into consecutive runs."""
    runs: list[list[tuple]] = []
    for row in flagged:
        if runs and row[0] - runs[-1][-1][0] <= HOUR_S:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def detect_series(
    project_id: int,
    group_id: int,
    series: Series,
    *,
    window_start: int,
    window_end: int,
    history_start: int,
    config: AnomalyConfig = DEFAULT_CONFIG,
) -> list[Anomaly]:
    """Anomalies among the hours in [window_start, window_end) of one scope's series."""
    flagged = []
    for hour in sorted(h for h in series if window_start <= h < window_end):
        count = series[hour]
        base = baseline(series, hour, history_start, config)
        verdict = classify_hour(count, base, is_issue=group_id != PROJECT_SCOPE, config=config)
        if verdict is not None and base is not None:
            flagged.append((hour, verdict[0], verdict[1], count, base.median))
    anomalies = []
    for run in _runs(flagged):
        peak = max(run, key=lambda row: (row[3], -row[0]))
        anomalies.append(
            Anomaly(
                project_id=project_id,
                group_id=group_id,
                kind=run[0][1],
                start_hour=run[0][0],
                end_hour=run[-1][0],
                peak_hour=peak[0],
                peak_count=peak[3],
                baseline=peak[4],
                score=round(max(row[2] for row in run), 3),
            )
        )
    return anomalies


def group_series(rows: Iterable[HourlyCount]) -> dict[tuple[int, int], Series]:
    series: dict[tuple[int, int], Series] = defaultdict(dict)
    for row in rows:
        scope = series[(row.project_id, row.group_id)]
        scope[row.hour] = scope.get(row.hour, 0.0) + row.count
    return dict(series)


def detect_anomalies(
    rows: Iterable[HourlyCount],
    *,
    window_start: int,
    window_end: int,
    config: AnomalyConfig = DEFAULT_CONFIG,
) -> list[Anomaly]:
    """Every scope's anomalies in the window. Rows carry issue series and project totals
    (group_id PROJECT_SCOPE); a project's history starts at its first row of any scope."""
    series = group_series(rows)
    history_start: dict[int, int] = {}
    for (project_id, _), scope in series.items():
        first = min(scope)
        history_start[project_id] = min(history_start.get(project_id, first), first)
    anomalies = []
    for (project_id, group_id), scope in sorted(series.items()):
        anomalies += detect_series(
            project_id,
            group_id,
            scope,
            window_start=window_start,
            window_end=window_end,
            history_start=history_start[project_id],
            config=config,
        )
    return anomalies


def project_totals(rows: Iterable[HourlyCount]) -> list[HourlyCount]:
    """Sum issue rows into PROJECT_SCOPE rows (for callers holding issue counts only)."""
    totals: dict[tuple[int, int], float] = defaultdict(float)
    for row in rows:
        if row.group_id != PROJECT_SCOPE:
            totals[(row.project_id, row.hour)] += row.count
    return [
        HourlyCount(project_id=p, group_id=PROJECT_SCOPE, hour=h, count=n)
        for (p, h), n in sorted(totals.items())
    ]
