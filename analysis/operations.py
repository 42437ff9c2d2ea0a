"""Operations: ingestion rate, processing lag, queue depth, storage efficiency, slow queries.

Ingestion and lag come from the stored rows themselves (`received_at` on events, the
workers' `processed_at` on assignments); storage from ClickHouse's own `system.parts` and
`system.columns`; slow queries from `system.query_log` where the server keeps one, else
from the workbench timing its dashboard queries (the embedded engine has no query log).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import polars as pl

from analysis.source_base import Source, Window


def _bucket(times: pl.Series) -> str:
    """A bucket that shows a shape: minutes for a short burst, hours, or days."""
    if times.is_empty():
        return "1h"
    span: timedelta = times.max() - times.min()  # type: ignore[operator, assignment]
    hours = span.total_seconds() / 3600
    return "1m" if hours <= 3 else "1h" if hours <= 24 * 14 else "1d"


def ingestion_rate(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """Events stored per bucket of arrival time (`received_at`), with events per second."""
    received = source.read("events", columns=["received_at"], projects=projects, window=window)
    every = _bucket(received["received_at"])
    seconds = {"1m": 60, "1h": 3600, "1d": 86400}[every]
    return (
        received.group_by(pl.col("received_at").dt.truncate(every).alias("received"))
        .agg(pl.len().alias("events"))
        .with_columns(
            (pl.col("events") / seconds).alias("events_per_s"), pl.lit(every).alias("bucket")
        )
        .sort("received")
    )


def processing_lag(
    source: Source, *, projects: Sequence[int] | None = None, window: Window | None = None
) -> pl.DataFrame:
    """Per event: seconds from the relay storing it to the worker grouping it."""
    keys = ["project_id", "event_id"]
    received = source.read(
        "events", columns=[*keys, "received_at"], projects=projects, window=window
    )
    processed = source.read(
        "event_groups", columns=[*keys, "processed_at"], projects=projects, window=window
    )
    return received.join(processed, on=keys).with_columns(
        ((pl.col("processed_at") - pl.col("received_at")).dt.total_milliseconds() / 1000).alias(
            "lag_s"
        )
    )


def lag_summary(lags: pl.DataFrame) -> pl.DataFrame:
    """Percentiles of the processing lag, per bucket of processing time."""
    if lags.is_empty():
        schema: dict[str, Any] = {"processed": pl.Datetime("ms", "UTC"), "events": pl.UInt32}
        return pl.DataFrame(schema=schema | {f"p{q}_s": pl.Float64 for q in (50, 95, 99)})
    every = _bucket(lags["processed_at"])
    return (
        lags.group_by(pl.col("processed_at").dt.truncate(every).alias("processed"))
        .agg(
            pl.len().alias("events"),
            *(pl.col("lag_s").quantile(q / 100).alias(f"p{q}_s") for q in (50, 95, 99)),
        )
        .sort("processed")
    )


def queue_depth(source: Source) -> pl.DataFrame:
    """Messages waiting per queue (live stores; an export holds its snapshot)."""
    depths = source.queue_depth() or {}
    return pl.DataFrame(
        {"queue": list(depths), "messages": list(depths.values())},
        schema={"queue": pl.String, "messages": pl.Int64},
    )


def storage(source: Source) -> pl.DataFrame:
    """Per table: rows, bytes on disk, compression ratio and bytes per row."""
    parts = source.system("parts")
    return (
        parts.group_by("table")
        .agg(
            pl.len().alias("parts"),
            pl.col("rows").sum(),
            pl.col("bytes_on_disk").sum(),
            pl.col("data_compressed_bytes").sum().alias("compressed"),
            pl.col("data_uncompressed_bytes").sum().alias("uncompressed"),
        )
        .with_columns(
            (pl.col("uncompressed") / pl.col("compressed")).alias("compression_ratio"),
            (pl.col("bytes_on_disk") / pl.col("rows")).alias("bytes_per_row"),
        )
        .sort("bytes_on_disk", descending=True)
    )


def column_storage(source: Source, table: str = "events", *, limit: int = 15) -> pl.DataFrame:
    """The columns of `table` taking most space, with their compression ratio.

    ClickHouse measures columns only in wide parts: while a table is small enough to be
    kept in compact parts, every column reports 0 bytes."""
    return (
        source.system("columns")
        .filter(pl.col("table") == table)
        .with_columns(
            (pl.col("data_uncompressed_bytes") / pl.col("data_compressed_bytes")).alias(
                "compression_ratio"
            )
        )
        .sort(["data_compressed_bytes", "name"], descending=[True, False])
        .head(limit)
    )


def slow_queries(source: Source, *, limit: int = 20) -> pl.DataFrame:
    """The slowest queries: from the server's query log, or the timed dashboard queries.
    Columns: query, seconds, rows, origin."""
    log = source.system("query_log")
    if not log.is_empty():
        return log.head(limit).select(
            pl.col("query"),
            (pl.col("query_duration_ms") / 1000).alias("seconds"),
            pl.col("read_rows").cast(pl.Int64).alias("rows"),
            pl.lit("system.query_log").alias("origin"),
        )
    timings = source.system("query_timings")
    return (
        timings.select("query", "seconds", "rows", pl.lit("dashboard timing").alias("origin"))
        .sort("seconds", descending=True)
        .head(limit)
    )


RECONCILED = ("missing", "extra", "ungrouped")


def reconciliation(source: Source) -> pl.DataFrame:
    """The audit of the last day per project and category (as `just audit` prints it):
    kept by the relay, dropped with an outcome, stored, missing, extra, grouped, ungrouped."""
    lines = source.system("reconciliation")
    figures = ["kept", "dropped", "stored", "missing", "extra", "grouped", "ungrouped"]
    return (
        lines.group_by("project_id", "category")
        .agg(pl.col(name).sum() for name in figures)
        .sort("project_id", "category")
    )


def reconciliation_verdict(totals: pl.DataFrame) -> str:
    """One sentence: reconciled, or how many events disagree and how."""
    if totals.is_empty():
        return "Nothing to reconcile: the relay kept no events in the last day."
    sums = {name: int(totals[name].sum()) for name in ("kept", "dropped", *RECONCILED)}
    if not any(sums[name] for name in RECONCILED):
        return (
            f"Reconciled: every one of the {sums['kept']:,} items the relay kept is stored "
            f"once and every event grouped; {sums['dropped']:,} were dropped with an outcome."
        )
    problems = ", ".join(f"{sums[name]:,} {name}" for name in RECONCILED if sums[name])
    return f"Does not reconcile: {problems} of {sums['kept']:,} kept (run `just audit`)."
