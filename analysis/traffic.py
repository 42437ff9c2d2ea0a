"""Traffic: daily and hourly series, spikes, releases, and extrapolation through sampling.

Series come from the hourly rollups (`source.rollup`). Spikes are points far above a
trailing robust baseline: the rolling median of the previous points and their median
absolute deviation (MAD), which one earlier spike does not drag up the way a mean and a
standard deviation would. Sampling: each stored event carries 1 / the rate it was kept
at (`weighted` sums it); `outcomes` count what the relay or the SDKs dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import polars as pl

from analysis.source_base import Source, Window

# The MAD of a normal distribution times this is its standard deviation.
MAD_TO_SIGMA = 1.4826


def series(
    source: Source,
    *,
    every: str = "day",
    by: Sequence[str] = (),
    projects: Sequence[int] | None = None,
    window: Window | None = None,
) -> pl.DataFrame:
    """Events per `every` ("day" or "hour"), optionally split by other rollup dimensions."""
    if every not in ("day", "hour"):
        raise ValueError(f"every must be 'day' or 'hour', not {every!r}")
    frame = source.rollup([*by, every], projects=projects, window=window)
    return frame.select(*by, every, "events", "weighted")


def _trailing_median_mad(values: list[float], trailing: int) -> tuple[list, list]:
    """For each point, the median and MAD of the `trailing` points before it (None before)."""
    medians: list[float | None] = [None] * len(values)
    mads: list[float | None] = [None] * len(values)
    for i in range(trailing, len(values)):
        previous = values[i - trailing : i]
        center = statistics.median(previous)
        medians[i] = center
        mads[i] = statistics.median(abs(v - center) for v in previous)
    return medians, mads


def spikes(
    frame: pl.DataFrame,
    *,
    time: str = "day",
    value: str = "events",
    trailing: int = 7,
    threshold: float = 5.0,
    min_ratio: float = 2.0,
) -> pl.DataFrame:
    """`frame` sorted by `time`, with the trailing baseline (`baseline`, `mad`), a robust
    z-score and `spike`: the score passes `threshold` and the value is at least `min_ratio`
    times the baseline. The first `trailing` points have no baseline and are never spikes.
    The scale never drops below 5% of the baseline (or 1 event): a flat history would
    otherwise make any wiggle infinitely surprising."""
    ordered = frame.sort(time)
    medians, mads = _trailing_median_mad(ordered[value].cast(pl.Float64).to_list(), trailing)
    baseline, mad, current = pl.col("baseline"), pl.col("mad"), pl.col(value).cast(pl.Float64)
    scale = pl.max_horizontal(mad * MAD_TO_SIGMA, baseline * 0.05, pl.lit(1.0))
    return (
        ordered.with_columns(
            pl.Series("baseline", medians, dtype=pl.Float64),
            pl.Series("mad", mads, dtype=pl.Float64),
        )
        .with_columns(((current - baseline) / scale).alias("score"))
        .with_columns(
            ((pl.col("score") > threshold) & (current >= baseline * min_ratio))
            .fill_null(False)
            .alias("spike")
        )
    )


def releases(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """Each release: its first and last hour with events, events and issues."""
    per_issue = source.rollup(
        ["project_id", "release", "group_id"], projects=projects, window=window
    )
    return (
        per_issue.group_by("project_id", "release")
        .agg(
            pl.col("first_hour").min(),
            pl.col("last_hour").max(),
            pl.col("events").sum(),
            pl.len().alias("issues"),
        )
        .sort("project_id", "first_hour", "release")
    )


def sampling(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """Per day: events stored, extrapolated (through each event's sample weight), sampled
    away, dropped before storage (outcomes other than accepted, error category), and the
    estimate of what the applications sent."""
    daily = series(source, projects=projects, window=window).rename(
        {"events": "stored", "weighted": "extrapolated"}
    )
    outcomes = source.read("outcomes", projects=projects, window=window)
    dropped = (
        outcomes.filter((pl.col("outcome") != "accepted") & (pl.col("category") == "error"))
        .group_by(pl.col("hour").dt.truncate("1d").alias("day"))
        .agg(pl.col("quantity").sum().cast(pl.Float64).alias("dropped"))
    )
    return (
        daily.join(dropped, on="day", how="full", coalesce=True)
        .with_columns(
            pl.col("stored").fill_null(0),
            pl.col("extrapolated").fill_null(0.0),
            pl.col("dropped").fill_null(0.0),
        )
        .with_columns(
            (pl.col("extrapolated") - pl.col("stored")).alias("sampled_away"),
            (pl.col("extrapolated") + pl.col("dropped")).alias("estimated_sent"),
        )
        .sort("day")
    )


EXTRAPOLATED = "extrapolated (stored ÷ sample rate)"
STORED = "stored"


def with_project_slugs(frame: pl.DataFrame, projects: pl.DataFrame) -> pl.DataFrame:
    """`frame` with a `project` column: the project's slug (its id when it has none), for
    legends people read."""
    slugs = projects.select(pl.col("id").cast(pl.Int64).alias("project_id"), "slug")
    return (
        frame.with_columns(pl.col("project_id").cast(pl.Int64))
        .join(slugs, on="project_id", how="left")
        .with_columns(
            pl.coalesce(pl.col("slug"), pl.col("project_id").cast(pl.String)).alias("project")
        )
        .drop("slug")
    )


def stored_and_extrapolated(frame: pl.DataFrame, *, time: str = "day") -> pl.DataFrame:
    """Long form of a series with `events` and `weighted`: a `measure` column saying
    STORED or EXTRAPOLATED, `events` its value. The extrapolated line is kept only for
    the series (by `project` when present) where sampling kept a fraction somewhere, so
    an unsampled project draws one line."""
    keys = ["project"] if "project" in frame.columns else []
    differs = (pl.col("weighted") - pl.col("events")).abs().max().gt(0.5).alias("sampled")
    if keys:
        marked = frame.join(frame.group_by(keys).agg(differs), on=keys, how="left")
    else:
        marked = frame.with_columns(differs)
    stored = marked.select(
        *keys, time, pl.lit(STORED).alias("measure"), pl.col("events").cast(pl.Float64)
    )
    extrapolated = marked.filter("sampled").select(
        *keys, time, pl.lit(EXTRAPOLATED).alias("measure"), pl.col("weighted").alias("events")
    )
    return pl.concat([stored, extrapolated]).sort([*keys, "measure", time])


def baseline_shortfall(spiked: pl.DataFrame, *, trailing: int = 7, unit: str = "days") -> str:
    """What a `spikes` frame cannot judge yet: "" when some point has its full trailing
    baseline, else a sentence saying how much history there is and how much it needs."""
    if spiked.height > trailing:
        return ""
    return (
        f"not enough baseline yet: spikes are judged against the {trailing} {unit} before, "
        f"and there are {spiked.height} {unit} of data"
    )
