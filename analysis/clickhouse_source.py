"""The live stores as a Source: ClickHouse through Arrow, PostgreSQL through psycopg.

ClickHouse results arrive as Arrow tables (`query_arrow`), never as row tuples, and
aggregations run inside ClickHouse: a dashboard over ten million events moves a few
thousand rows. PostgreSQL tables (projects, issues, AI ledgers) are small and read whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import psycopg
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client
from psycopg.rows import dict_row

from analysis.source_base import Source, Window, check_dataset, check_dims
from analysis.tables import (
    DATASETS,
    EVENTS,
    ROLLUPS,
    SYSTEM_SCHEMAS,
    SYSTEM_SQL,
    Dataset,
    conform,
    empty,
)
from core.audit import reconcile
from core.queue import queue_depth
from core.runtime import Stack, open_stack
from core.settings import Settings

# ClickHouse sends DateTime to Arrow as seconds in a UInt32; DateTime64 as a timestamp.
_DIM_SQL = {"day": "toDateTime64(toStartOfDay(hour), 3)", "hour": "toDateTime64(hour, 3)"}


@dataclass(frozen=True)
class _QueueView:
    """What `core.queue.queue_depth` reads of a broker, without declaring one."""

    client: Any
    namespace: str


def _filters(dataset: Dataset, projects, window: Window | None) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    parameters: dict[str, Any] = {}
    if projects is not None and dataset.project_column:
        clauses.append(f"{dataset.project_column} IN {{projects:Array(UInt64)}}")
        parameters["projects"] = [int(p) for p in projects]
    column = dataset.time_column
    if window is not None and column:
        if window.start is not None:
            clauses.append(f"{column} >= {{start:DateTime64(3, 'UTC')}}")
            parameters["start"] = window.start
        if window.end is not None:
            clauses.append(f"{column} < {{end:DateTime64(3, 'UTC')}}")
            parameters["end"] = window.end
    return " AND ".join(clauses) or "1", parameters


def postgres_frame(conn, dataset: Dataset, projects=None) -> pl.DataFrame:
    where = "TRUE"
    parameters: tuple[Any, ...] = ()
    if projects is not None and dataset.project_column:
        where, parameters = f"{dataset.project_column} = ANY(%s)", ([int(p) for p in projects],)
    cursor = conn.cursor(row_factory=lambda _: tuple)
    rows = cursor.execute(dataset.sql.format(where=where), parameters).fetchall()
    names = list(dataset.schema)
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return conform(frame, dataset)


class ClickHouseSource(Source):
    def __init__(
        self,
        client: Client,
        *,
        postgres_url: str = "",
        redis=None,
        settings: Settings | None = None,
        label: str = "ClickHouse",
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.postgres_url = postgres_url
        self.redis = redis
        self.settings = settings
        self.label = label
        self._on_close = on_close

    @classmethod
    def from_stack(cls, stack: Stack, *, label: str = "", own: bool = False) -> ClickHouseSource:
        return cls(
            stack.clickhouse(),
            postgres_url=stack.postgres_url,
            redis=stack.redis,
            settings=stack.settings,
            label=label or f"ClickHouse {stack.settings.clickhouse_dsn.split('@')[-1]}",
            on_close=stack.close if own else None,
        )

    @classmethod
    def connect(cls, settings: Settings, url: str) -> ClickHouseSource:
        """Open the stores of `settings` with ClickHouse at `url`; closing the source stops
        whatever was started. An embedded (chdb://) folder is held until then."""
        settings = msgspec.structs.replace(settings, clickhouse_url=url)
        own = url.startswith("chdb://")
        stack = open_stack(settings, own_clickhouse=own, pool_size=2)
        try:
            return cls.from_stack(stack, own=True)
        except BaseException:
            stack.close()
            raise

    def _query(self, sql: str, parameters: dict | None = None) -> pl.DataFrame:
        table = self.client.query_arrow(sql, parameters=parameters or {})
        return pl.from_arrow(table)  # type: ignore[return-value]

    def read(self, dataset, *, columns=None, projects=None, window=None) -> pl.DataFrame:
        check_dataset(dataset)
        definition = DATASETS[dataset]
        if definition.store == "postgres":
            if not self.postgres_url:
                return empty(definition, list(columns) if columns else None)
            with psycopg.connect(self.postgres_url) as conn:
                frame = postgres_frame(conn, definition, projects)
            return frame.select(columns) if columns else frame
        where, parameters = _filters(definition, projects, window)
        sql = definition.sql.format(where=where)
        if columns:
            sql = f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM ({sql})"
        frame = self._query(sql, parameters)
        return conform(frame, definition, list(columns) if columns else None)

    def rollup(self, dims, *, projects=None, window=None, first=()) -> pl.DataFrame:
        dims = check_dims(dims, first)
        where, parameters = _filters(ROLLUPS, projects, window)
        selected = [
            *(f"{_DIM_SQL.get(d, d)} AS {d}" for d in dims),
            "sum(events) AS events",
            "sum(weighted) AS weighted",
            "toDateTime64(min(hour), 3) AS first_hour",
            "toDateTime64(max(hour), 3) AS last_hour",
            # A (hour, value) tuple would break ties alike everywhere but costs 6x here.
            *(f"argMin({c}, hour) AS first_{c}" for c in first),
        ]
        group = f"GROUP BY {', '.join(dims)} ORDER BY {', '.join(dims)}" if dims else ""
        sql = f"SELECT {', '.join(selected)} FROM error_metrics_hourly WHERE {where} {group}"
        return _conform_rollup(self._query(sql, parameters), dims, first)

    def event_files(self, folder: Path, *, projects=None) -> list[tuple[int, Path]]:
        """Snapshot each (project, month) of the events to a Parquet file, streamed."""
        folder.mkdir(parents=True, exist_ok=True)
        where, parameters = _filters(EVENTS, projects, None)
        partitions = self.client.query(
            f"SELECT DISTINCT project_id, toYYYYMM(timestamp) FROM events WHERE {where} "
            "ORDER BY 1, 2",
            parameters=parameters,
        ).result_rows
        files = []
        for project_id, month in partitions:
            path = folder / f"events-{project_id}-{month}.parquet"
            # Events as the workers processed them (source maps resolved) where they
            # changed them: replays group what the workers grouped.
            sql = (
                "SELECT e.project_id AS project_id, toString(e.event_id) AS event_id, "
                "if(p.payload != '', p.payload, e.payload) AS payload FROM events AS e FINAL "
                "LEFT ANY JOIN (SELECT event_id, argMax(payload, processed_at) AS payload "
                "FROM processed_events WHERE project_id = {p:UInt64} "
                "AND toYYYYMM(timestamp) = {m:UInt32} GROUP BY event_id) AS p "
                "ON p.event_id = e.event_id "
                "WHERE e.project_id = {p:UInt64} AND toYYYYMM(e.timestamp) = {m:UInt32}"
            )
            if write_stream(self.client, sql, {"p": project_id, "m": month}, path, "lz4"):
                files.append((int(project_id), path))
        return files

    def sql(self, query: str) -> pl.DataFrame:
        return self._query(query)

    def system(self, name: str) -> pl.DataFrame:
        if name not in SYSTEM_SCHEMAS:
            raise ValueError(f"unknown system table {name!r}; known: {', '.join(SYSTEM_SCHEMAS)}")
        schema = SYSTEM_SCHEMAS[name]
        if name == "query_timings":
            from analysis.dashboards import time_queries

            return time_queries(self)
        if name == "reconciliation":
            return self._reconciliation(schema)
        exists = self.client.query(
            "SELECT count() FROM system.tables WHERE database = 'system' AND name = {n:String}",
            parameters={"n": name},
        ).result_rows[0][0]
        if not exists:
            return pl.DataFrame(schema=schema)
        frame = self._query(SYSTEM_SQL[name])
        return frame.select(pl.col(c).cast(t, strict=False) for c, t in schema.items())

    def _reconciliation(self, schema: dict[str, Any]) -> pl.DataFrame:
        """The audit over the last day; it needs PostgreSQL (issue counts) beside ClickHouse."""
        if not self.postgres_url:
            return pl.DataFrame(schema=schema)
        now = datetime.now(UTC)
        with psycopg.connect(self.postgres_url, row_factory=dict_row) as conn:
            result = reconcile(self.client, conn, since=now - timedelta(days=1), until=now, now=now)
        rows = [
            {
                "project_id": line.project_id,
                "hour": line.hour,
                "category": line.category,
                "kept": line.accepted,
                "dropped": sum(line.dropped.values()),
                "stored": line.stored,
                "missing": line.missing,
                "extra": line.extra,
                "grouped": line.grouped,
                "ungrouped": line.ungrouped,
            }
            for line in result.lines
        ]
        return pl.DataFrame(rows, schema=schema)

    def queue_depth(self) -> dict[str, int] | None:
        if self.redis is None or self.settings is None:
            return None
        view = _QueueView(self.redis, self.settings.redis_namespace)
        name = self.settings.queue_name
        return {q: queue_depth(view, q) for q in (name, f"{name}-ai")}  # type: ignore[arg-type]

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def _conform_rollup(frame: pl.DataFrame, dims: list[str], first) -> pl.DataFrame:
    schema = {**ROLLUPS.schema, "day": ROLLUPS.schema["hour"]}
    return frame.select(
        *(pl.col(d).cast(schema[d]) for d in dims),
        pl.col("events").cast(pl.Int64),
        pl.col("weighted").cast(pl.Float64),
        pl.col("first_hour").cast(schema["hour"]),
        pl.col("last_hour").cast(schema["hour"]),
        *(pl.col(f"first_{c}").cast(pl.String) for c in first),
    )


def write_stream(
    client: Client, sql: str, parameters: dict, path: Path, compression: str = "zstd"
) -> int:
    """Stream a query's Arrow batches into one Parquet file; returns the rows written."""
    rows = 0
    writer = None
    try:
        with client.query_arrow_stream(sql, parameters=parameters) as stream:
            for batch in stream:
                if writer is None:
                    writer = pq.ParquetWriter(path, batch.schema, compression=compression)
                writer.write_batch(batch)
                rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
