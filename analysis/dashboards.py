"""Dashboard queries on the hourly rollups: top and trending issues, new issues per release,
error rate by hour. Each is one `source.rollup(...)` (aggregated inside the store) plus a
little polars, so it stays fast on tens of millions of events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from analysis.source_base import Source, Window

_HOUR = timedelta(hours=1)


def with_titles(frame: pl.DataFrame, issues: pl.DataFrame | None) -> pl.DataFrame:
    """Add each issue's title (from `source.issues()`), when known."""
    if issues is None or issues.is_empty():
        return frame.with_columns(pl.lit("").alias("title"))
    titles = issues.select(pl.col("id").cast(pl.UInt64).alias("group_id"), "title")
    return frame.join(titles, on="group_id", how="left").with_columns(pl.col("title").fill_null(""))


def top_issues(
    source: Source,
    *,
    projects: Sequence[int] | None = None,
    window: Window | None = None,
    limit: int = 20,
) -> pl.DataFrame:
    """The issues with the most events: events, extrapolated events, first and last hour."""
    return (
        source.rollup(["project_id", "group_id"], projects=projects, window=window)
        .sort(["events", "group_id"], descending=[True, False])
        .head(limit)
    )


def latest_hour(source: Source, projects: Sequence[int] | None = None) -> datetime | None:
    """The last hour with events (None when there are none)."""
    totals = source.rollup([], projects=projects)
    # ClickHouse answers an aggregate over no rows with zeros, not NULLs.
    if totals.is_empty() or not totals["events"][0]:
        return None
    return totals["last_hour"][0]


def trending_issues(
    source: Source,
    *,
    projects: Sequence[int] | None = None,
    now: datetime | None = None,
    hours: int = 24,
    limit: int = 20,
) -> pl.DataFrame:
    """Issues growing most: events in the last `hours` (ending at `now`, by default the
    latest stored hour) against the `hours` before, ranked by the increase."""
    now = now or latest_hour(source, projects) or datetime.now(UTC)
    end = now + _HOUR
    split = end - timedelta(hours=hours)
    window = Window(split - timedelta(hours=hours), end)
    hourly = source.rollup(["project_id", "group_id", "hour"], projects=projects, window=window)
    recent = pl.col("hour") >= split
    return (
        hourly.group_by("project_id", "group_id")
        .agg(
            pl.col("events").filter(recent).sum().alias("recent"),
            pl.col("events").filter(~recent).sum().alias("previous"),
        )
        .with_columns(
            (pl.col("recent") - pl.col("previous")).alias("increase"),
            ((pl.col("recent") + 1) / (pl.col("previous") + 1)).alias("ratio"),
        )
        .filter(pl.col("increase") > 0)
        .sort(["increase", "group_id"], descending=[True, False])
        .head(limit)
    )


def new_issues_per_release(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """For each release, the issues first seen in it (an issue belongs to the release of
    its earliest hour), in the order the releases appeared."""
    first = source.rollup(["project_id", "group_id"], projects=projects, first=["release"])
    first = first.rename({"first_release": "release"})
    if window is not None:
        if window.start is not None:
            first = first.filter(pl.col("first_hour") >= window.start)
        if window.end is not None:
            first = first.filter(pl.col("first_hour") < window.end)
    return (
        first.group_by("project_id", "release")
        .agg(pl.len().alias("new_issues"), pl.col("first_hour").min().alias("first_seen"))
        .sort("project_id", "first_seen", "release")
    )


def error_rate_by_hour(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """Events per hour (stored and extrapolated through sampling), with the hour of day."""
    return (
        source.rollup(["hour"], projects=projects, window=window)
        .select("hour", "events", "weighted")
        .with_columns(pl.col("hour").dt.hour().alias("hour_of_day"))
    )


def hour_of_day_profile(hourly: pl.DataFrame) -> pl.DataFrame:
    """Mean events per hour of day (UTC) over an `error_rate_by_hour` frame."""
    return (
        hourly.group_by("hour_of_day")
        .agg(pl.col("events").mean().alias("mean_events"))
        .sort("hour_of_day")
    )


QUERIES: dict[str, Callable[[Source], pl.DataFrame]] = {
    "top issues": top_issues,
    "trending issues": trending_issues,
    "new issues per release": new_issues_per_release,
    "error rate by hour": error_rate_by_hour,
}


def time_queries(source: Source) -> pl.DataFrame:
    """Run every dashboard query once and time it (what a dashboard user waits)."""
    rows = []
    for name, run in QUERIES.items():
        started = time.perf_counter()
        frame = run(source)
        rows.append(
            {
                "query": name,
                "seconds": time.perf_counter() - started,
                "rows": frame.height,
                "measured_at": datetime.now(UTC),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "query": pl.String,
            "seconds": pl.Float64,
            "rows": pl.Int64,
            "measured_at": pl.Datetime("ms", "UTC"),
        },
    )
