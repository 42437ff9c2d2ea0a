"""A `just export` folder as a Source: polars scans for the datasets, DuckDB for SQL.

Layout (written by `analysis.export`), every file holding all its dataset's columns:

    <folder>/manifest.json
    <folder>/<dataset>/project_id=<N>/month=<YYYYMM>/part-<i>.parquet   (ClickHouse data)
    <folder>/<dataset>/project_id=<N>/part-<i>.parquet                  (PostgreSQL data)
    <folder>/<dataset>/part-<i>.parquet                                 (projects)
    <folder>/system/<name>.parquet                                      (ClickHouse's own)

Projects and months prune by folder name before any file is opened. Parquet is read
with polars or DuckDB only: pyarrow's reader is several times slower here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from analysis.source_base import MANIFEST, Source, Window, WorkbenchSourceError, check_dataset
from analysis.source_base import check_dims as _check_dims
from analysis.tables import DATASETS, EVENTS, ROLLUPS, SYSTEM_SCHEMAS, conform, empty

_PARTITION = re.compile(r"^(project_id|month)=(\d+)$")


def _partition_values(path: Path) -> dict[str, int]:
    values = {}
    for part in path.parts:
        found = _PARTITION.match(part)
        if found:
            values[found.group(1)] = int(found.group(2))
    return values


def _month(moment: datetime) -> int:
    return moment.year * 100 + moment.month


class ParquetSource(Source):
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        manifest = self.folder / MANIFEST
        if not manifest.exists():
            raise WorkbenchSourceError(
                f"{self.folder} is not a workbench export (no {MANIFEST}); run `just export`"
            )
        self.manifest = json.loads(manifest.read_text())
        created = self.manifest.get("created_at", "?")
        self.label = f"Parquet export {self.folder} ({created})"
        self._duckdb: duckdb.DuckDBPyConnection | None = None

    def files(self, dataset: str, projects=None, window: Window | None = None) -> list[Path]:
        """The dataset's files, pruned by project and month folders."""
        wanted = None if projects is None else {int(p) for p in projects}
        low = _month(window.start) if window and window.start else None
        high = _month(window.end) if window and window.end else None
        out = []
        for path in sorted((self.folder / dataset).rglob("*.parquet")):
            values = _partition_values(path.relative_to(self.folder))
            project = values.get("project_id")
            if wanted is not None and project is not None and project not in wanted:
                continue
            month = values.get("month")
            if month is not None and (
                (low is not None and month < low) or (high is not None and month > high)
            ):
                continue
            out.append(path)
        return out

    def _scan(self, dataset: str, projects, window: Window | None) -> pl.LazyFrame | None:
        definition = DATASETS[dataset]
        files = self.files(dataset, projects, window)
        if not files:
            return None
        frame = pl.scan_parquet(files)
        if projects is not None and definition.project_column:
            column = pl.col(definition.project_column)
            frame = frame.filter(column.is_in([int(p) for p in projects]))
        column_name = definition.time_column
        if window is not None and column_name:
            if window.start is not None:
                frame = frame.filter(pl.col(column_name) >= window.start)
            if window.end is not None:
                frame = frame.filter(pl.col(column_name) < window.end)
        return frame

    def read(self, dataset, *, columns=None, projects=None, window=None) -> pl.DataFrame:
        check_dataset(dataset)
        definition = DATASETS[dataset]
        wanted = list(columns) if columns else None
        scan = self._scan(dataset, projects, window)
        if scan is None:
            return empty(definition, wanted)
        if wanted:
            scan = scan.select(wanted)
        return conform(scan.collect(), definition, wanted)

    def rollup(self, dims, *, projects=None, window=None, first=()) -> pl.DataFrame:
        dims = _check_dims(dims, first)
        scan = self._scan(ROLLUPS.name, projects, window)
        hour = ROLLUPS.schema["hour"]
        if scan is None:
            schema = {**ROLLUPS.schema, "day": hour}
            return pl.DataFrame(
                schema={
                    **{d: schema[d] for d in dims},
                    "events": pl.Int64,
                    "weighted": pl.Float64,
                    "first_hour": hour,
                    "last_hour": hour,
                    **{f"first_{c}": pl.String for c in first},
                }
            )
        scan = scan.with_columns(pl.col("hour").cast(hour)).with_columns(
            pl.col("hour").dt.truncate("1d").alias("day")
        )
        aggregates = [
            pl.col("events").sum().cast(pl.Int64),
            pl.col("weighted").sum().cast(pl.Float64),
            pl.col("hour").min().alias("first_hour"),
            pl.col("hour").max().alias("last_hour"),
            *(pl.col(c).sort_by(["hour", c]).first().alias(f"first_{c}") for c in first),
        ]
        if not dims:
            return scan.select(aggregates).collect()
        return scan.group_by(dims).agg(aggregates).sort(dims).collect()

    def event_files(self, folder: Path, *, projects=None) -> list[tuple[int, Path]]:
        return [
            (_partition_values(path.relative_to(self.folder))["project_id"], path)
            for path in self.files(EVENTS.name, projects)
        ]

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._duckdb is None:
            self._duckdb = duckdb.connect()
            for name in DATASETS:
                files = self.files(name)
                if files:
                    listed = ", ".join(f"'{f}'" for f in files)
                    self._duckdb.execute(
                        f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}], "
                        "union_by_name = true)"
                    )
        return self._duckdb

    def sql(self, query: str) -> pl.DataFrame:
        """DuckDB SQL over the export's datasets, each a view named after it."""
        return self._connection().sql(query).pl()

    def system(self, name: str) -> pl.DataFrame:
        if name not in SYSTEM_SCHEMAS:
            raise ValueError(f"unknown system table {name!r}; known: {', '.join(SYSTEM_SCHEMAS)}")
        schema = SYSTEM_SCHEMAS[name]
        path = self.folder / "system" / f"{name}.parquet"
        if not path.exists():
            return pl.DataFrame(schema=schema)
        frame = pl.read_parquet(path)
        return frame.select(pl.col(c).cast(t, strict=False) for c, t in schema.items())

    def queue_depth(self) -> dict[str, int] | None:
        return self.manifest.get("queue_depth")

    def close(self) -> None:
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None
