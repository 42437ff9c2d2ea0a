"""The datasets the workbench reads, one definition each, shared by both sources and the export.

A dataset has a canonical polars schema (what every loader returns, whichever store it
came from) and the query that produces it: ClickHouse SELECTs read deduplicated rows
(`FINAL`) and merged rollups; PostgreSQL SELECTs (owned by their aggregate in
`core.pg`) turn JSON into text. UUIDs become
text and timestamps millisecond UTC, so frames from ClickHouse, PostgreSQL and Parquet
compare and join alike. A ClickHouse dataset's schema comes from the table's
declaration in `core.storage.tables` (`read_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from core.pg import ai, projects
from core.pg.issues import reads as issue_reads
from core.storage import tables

UTC_MS = pl.Datetime("ms", "UTC")
_TEXT, _U64, _I64, _F64 = pl.String, pl.UInt64, pl.Int64, pl.Float64


@dataclass(frozen=True)
class Dataset:
    name: str
    schema: dict[str, Any]  # column -> polars data type
    # SELECT ... with `{where}` where filters go ("1" when none).
    sql: str
    store: str  # "clickhouse" or "postgres"
    # The column whose month partitions the export ("" = one partition per project).
    time_column: str = ""
    # Which column holds the project (exports partition by it; "" = not partitioned).
    project_column: str = "project_id"


def _schema(**columns: Any) -> dict[str, Any]:
    return dict(columns)


# How a ClickHouse column reads into a frame: ids and maps as text (toString,
# toJSONString), times as millisecond UTC, aggregate states merged to their value.
_READ_TYPES: dict[str, Any] = {
    "UInt8": pl.UInt8,
    "UInt16": pl.UInt16,
    "UInt32": pl.UInt32,
    "UInt64": _U64,
    "Float32": pl.Float32,
    "Float64": _F64,
    "Bool": pl.Boolean,
    "String": _TEXT,
    "LowCardinality(String)": _TEXT,
    "FixedString(32)": _TEXT,
    "UUID": _TEXT,
    "Map(String, String)": _TEXT,
    "Array(UUID)": pl.List(pl.String),
    "DateTime('UTC')": UTC_MS,
    "DateTime64(3, 'UTC')": UTC_MS,
    "SimpleAggregateFunction(sum, UInt64)": _U64,
    "SimpleAggregateFunction(sum, Float64)": _F64,
    "AggregateFunction(uniq, String)": _U64,
}


def read_schema(table: tables.Table, *, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """The frame schema of a ClickHouse table's declared columns, in table order."""
    return {c.name: _READ_TYPES[c.type] for c in table.columns if c.name not in omit}


EVENTS = Dataset(
    "events",
    read_schema(tables.EVENTS, omit=("trace_id",)),
    "SELECT project_id, timestamp, toString(event_id) AS event_id, received_at, type, level, "
    "platform, release, environment, logger, transaction, exception_type, exception_value, "
    "message, user_key, sdk_name, sdk_version, toJSONString(tags) AS tags, sample_rate, payload "
    "FROM events FINAL WHERE {where}",
    "clickhouse",
    time_column="timestamp",
)
EVENT_GROUPS = Dataset(
    "event_groups",
    read_schema(tables.EVENT_GROUPS),
    "SELECT project_id, timestamp, toString(event_id) AS event_id, group_id, "
    "toString(primary_hash) AS primary_hash, grouping_version, level, environment, release, "
    "user_key, sample_weight, processed_at FROM event_groups FINAL WHERE {where}",
    "clickhouse",
    time_column="timestamp",
)
GROUND_TRUTH = Dataset(
    "seed_ground_truth",
    read_schema(tables.SEED_GROUND_TRUTH, omit=("received_at",)),
    "SELECT project_id, toString(event_id) AS event_id, timestamp, type, root_cause, family, "
    "category, severity, title, release, regression, run FROM seed_ground_truth FINAL "
    "WHERE {where}",
    "clickhouse",
    time_column="timestamp",
)
ROLLUPS = Dataset(
    "error_metrics_hourly",
    read_schema(tables.ERROR_METRICS_HOURLY),
    # Merged here: an AggregatingMergeTree holds unmerged parts until it merges them.
    "SELECT project_id, toDateTime64(hour, 3) AS hour, group_id, level, environment, release, "
    "sum(events) AS events, sum(weighted) AS weighted, uniqMerge(users) AS users "
    "FROM error_metrics_hourly "
    "WHERE {where} GROUP BY project_id, hour, group_id, level, environment, release",
    "clickhouse",
    time_column="hour",
)
OUTCOMES = Dataset(
    "outcomes",
    read_schema(tables.OUTCOMES),
    "SELECT project_id, toDateTime64(hour, 3) AS hour, outcome, reason, category, source, "
    "sum(quantity) AS quantity "
    "FROM outcomes WHERE {where} GROUP BY project_id, hour, outcome, reason, category, source",
    "clickhouse",
    time_column="hour",
)
PROJECTS = Dataset(
    "projects",
    _schema(id=_I64, slug=_TEXT, name=_TEXT, config=_TEXT, created_at=UTC_MS),
    projects.EXPORT_SQL,
    "postgres",
    project_column="",
)
ISSUES = Dataset(
    "error_groups",
    _schema(
        id=_I64,
        project_id=_I64,
        fingerprint_hash=_TEXT,
        grouping_version=_TEXT,
        title=_TEXT,
        culprit=_TEXT,
        level=_TEXT,
        exception_type=_TEXT,
        status=_TEXT,
        first_seen=UTC_MS,
        last_seen=UTC_MS,
        times_seen=_I64,
        users_seen=_I64,
        times_regressed=_I64,
        merged_into=_I64,
        ai_summary=_TEXT,
    ),
    issue_reads.EXPORT_SQL,
    "postgres",
)
ISSUE_SAMPLES = Dataset(
    "issue_samples",
    _schema(id=_I64, project_id=_I64, sample_event=_TEXT),
    issue_reads.SAMPLES_EXPORT_SQL,
    "postgres",
)
AI_CALLS = Dataset(
    "ai_calls",
    _schema(
        id=_I64,
        project_id=_I64,
        group_id=_I64,
        purpose=_TEXT,
        model=_TEXT,
        prompt_version=_TEXT,
        status=_TEXT,
        attempts=_I64,
        prompt_tokens=_I64,
        completion_tokens=_I64,
        latency_ms=_F64,
        created_at=UTC_MS,
    ),
    ai.CALLS_EXPORT_SQL,
    "postgres",
)
AI_ANOMALIES = Dataset(
    "ai_anomalies",
    _schema(
        id=_I64,
        project_id=_I64,
        group_id=_I64,
        kind=_TEXT,
        start_hour=UTC_MS,
        end_hour=UTC_MS,
        peak_hour=UTC_MS,
        peak_count=_F64,
        baseline=_F64,
        score=_F64,
        status=_TEXT,
    ),
    ai.ANOMALIES_EXPORT_SQL,
    "postgres",
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        EVENTS,
        EVENT_GROUPS,
        GROUND_TRUTH,
        ROLLUPS,
        OUTCOMES,
        PROJECTS,
        ISSUES,
        ISSUE_SAMPLES,
        AI_CALLS,
        AI_ANOMALIES,
    )
}


SYSTEM_SQL = {
    "parts": "SELECT table, partition, name, rows, bytes_on_disk, data_compressed_bytes, "
    "data_uncompressed_bytes, toDateTime64(modification_time, 3) AS modification_time "
    "FROM system.parts "
    "WHERE database = currentDatabase() AND active",
    "columns": "SELECT table, name, type, data_compressed_bytes, data_uncompressed_bytes "
    "FROM system.columns WHERE database = currentDatabase()",
    # Servers keep a query log; the embedded engine has none (its frame stays empty).
    "query_log": "SELECT toDateTime64(event_time, 3) AS event_time, query_duration_ms, "
    "read_rows, read_bytes, result_rows, memory_usage, query FROM system.query_log "
    "WHERE type = 'QueryFinish' AND event_time > now() - INTERVAL 1 DAY "
    "ORDER BY query_duration_ms DESC LIMIT 200",
}
SYSTEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "parts": {
        "table": pl.String,
        "partition": pl.String,
        "name": pl.String,
        "rows": pl.UInt64,
        "bytes_on_disk": pl.UInt64,
        "data_compressed_bytes": pl.UInt64,
        "data_uncompressed_bytes": pl.UInt64,
        "modification_time": pl.Datetime("ms", "UTC"),
    },
    "columns": {
        "table": pl.String,
        "name": pl.String,
        "type": pl.String,
        "data_compressed_bytes": pl.UInt64,
        "data_uncompressed_bytes": pl.UInt64,
    },
    "query_log": {
        "event_time": pl.Datetime("ms", "UTC"),
        "query_duration_ms": pl.UInt64,
        "read_rows": pl.UInt64,
        "read_bytes": pl.UInt64,
        "result_rows": pl.UInt64,
        "memory_usage": pl.UInt64,
        "query": pl.String,
    },
    # The audit's reconciliation of the last day (`core.audit`), per project, hour and
    # category: what the relay kept, dropped with an outcome, stored and grouped.
    "reconciliation": {
        "project_id": pl.UInt64,
        "hour": pl.Datetime("ms", "UTC"),
        "category": pl.String,
        "kept": pl.Int64,
        "dropped": pl.Int64,
        "stored": pl.Int64,
        "missing": pl.Int64,
        "extra": pl.Int64,
        "grouped": pl.Int64,
        "ungrouped": pl.Int64,
    },
    # The dashboard queries timed by the workbench itself (`dashboards.time_queries`).
    "query_timings": {
        "query": pl.String,
        "seconds": pl.Float64,
        "rows": pl.Int64,
        "measured_at": pl.Datetime("ms", "UTC"),
    },
}


def conform(
    frame: pl.DataFrame, dataset: Dataset, columns: list[str] | None = None
) -> pl.DataFrame:
    """The frame in the dataset's canonical column order and types (missing columns null)."""
    wanted = columns or list(dataset.schema)
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None))
        .cast(dataset.schema[name], strict=False)
        .alias(name)
        for name in wanted
    )


def empty(dataset: Dataset, columns: list[str] | None = None) -> pl.DataFrame:
    wanted = columns or list(dataset.schema)
    return pl.DataFrame(schema={name: dataset.schema[name] for name in wanted})
