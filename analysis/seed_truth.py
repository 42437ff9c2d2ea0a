"""What the seeder made, from its ground truth: distributions and spike days.

`seed_ground_truth` records the root cause, family, category, severity, release and
whether the event came from a regression, for every seeded event. The seeder's spike
days multiply a day's traffic 5 to 20 times over a base that varies by +-20%, so a day
above `SPIKE_FACTOR` times the median day is a seeded spike; evaluations of spike
detectors score against these days.
"""

from __future__ import annotations

import polars as pl

SPIKE_FACTOR = 3.0


def distribution(truth: pl.DataFrame, column: str) -> pl.DataFrame:
    """Events and root causes per value of `column`, largest first, with event shares."""
    total = max(truth.height, 1)
    return (
        truth.group_by(column)
        .agg(pl.len().alias("events"), pl.col("root_cause").n_unique().alias("root_causes"))
        .with_columns((pl.col("events") / total).alias("share"))
        .sort(["events", column], descending=[True, False])
    )


def root_cause_sizes(truth: pl.DataFrame) -> pl.DataFrame:
    """Events per root cause with its rank (1 = largest): a long tail shows as a straight
    line on log-log axes."""
    return (
        truth.group_by("project_id", "root_cause")
        .agg(pl.len().alias("events"), pl.col("title").first(), pl.col("family").first())
        .sort(["events", "root_cause"], descending=[True, False])
        .with_row_index("rank", offset=1)
    )


def daily(truth: pl.DataFrame) -> pl.DataFrame:
    """Seeded events per day and type (error, default, transaction)."""
    return (
        truth.group_by(pl.col("timestamp").dt.truncate("1d").alias("day"), "type")
        .agg(pl.len().alias("events"))
        .sort("day", "type")
    )


def spike_days(truth: pl.DataFrame, *, factor: float = SPIKE_FACTOR) -> pl.DataFrame:
    """Per project, the days with more than `factor` times the project's median day."""
    per_day = truth.group_by("project_id", pl.col("timestamp").dt.date().alias("day")).agg(
        pl.len().alias("events")
    )
    return (
        per_day.with_columns(pl.col("events").median().over("project_id").alias("median"))
        .filter(pl.col("events") > pl.col("median") * factor)
        .select("project_id", "day", "events", "median")
        .sort("project_id", "day")
    )


def regressions(truth: pl.DataFrame) -> pl.DataFrame:
    """Events from regressions (a fixed root cause back in a later release) per release."""
    return (
        truth.group_by("project_id", "release")
        .agg(
            pl.len().alias("events"),
            pl.col("regression").sum().alias("regression_events"),
            pl.col("timestamp").min().alias("first_seen"),
        )
        .sort("project_id", "first_seen")
    )
