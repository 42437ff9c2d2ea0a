"""`just export`: the stored data as partitioned Parquet, for offline work and for notebooks
while the embedded server holds its folder.

ClickHouse datasets stream partition by partition (project, month) from Arrow batches into
one file each, so memory stays bounded whatever the size; PostgreSQL tables are small and
written per project. The export is built in a sibling folder and swapped in at the end:
readers of the previous export never see a half-written one. The layout is the one
`analysis.parquet_source` reads; `manifest.json` lists what was written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from analysis.clickhouse_source import ClickHouseSource, postgres_frame
from analysis.source_base import MANIFEST
from analysis.tables import DATASETS, SYSTEM_SCHEMAS, Dataset, conform

FORMAT_VERSION = 1


@dataclass
class ExportResult:
    folder: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _partitions(source: ClickHouseSource, dataset: Dataset, projects) -> list[tuple[int, int]]:
    where, parameters = "1", {}
    if projects is not None:
        where, parameters = "project_id IN {p:Array(UInt64)}", {"p": [int(p) for p in projects]}
    rows = source.client.query(
        f"SELECT DISTINCT project_id, toYYYYMM({dataset.time_column}) FROM {dataset.name} "
        f"WHERE {where} ORDER BY 1, 2",
        parameters=parameters,
    ).result_rows
    return [(int(p), int(m)) for p, m in rows]


def _stream_partition(source: ClickHouseSource, dataset: Dataset, project: int, month: int, path):
    """One partition, batch by batch, conformed so every file has the same schema."""
    where = f"project_id = {{p:UInt64}} AND toYYYYMM({dataset.time_column}) = {{m:UInt32}}"
    sql = dataset.sql.format(where=where)
    rows, writer = 0, None
    try:
        with source.client.query_arrow_stream(sql, parameters={"p": project, "m": month}) as stream:
            for batch in stream:
                table = conform(pl.from_arrow(batch), dataset).to_arrow()  # type: ignore[arg-type]
                if writer is None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _export_clickhouse(source, dataset: Dataset, folder: Path, projects, result) -> None:
    for project, month in _partitions(source, dataset, projects):
        path = folder / dataset.name / f"project_id={project}" / f"month={month}" / "part-0.parquet"
        rows = _stream_partition(source, dataset, project, month, path)
        if rows:
            result.rows[dataset.name] = result.rows.get(dataset.name, 0) + rows
            result.files[dataset.name] = result.files.get(dataset.name, 0) + 1


def _write(frame: pl.DataFrame, path: Path, result: ExportResult, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd")
    result.rows[name] = result.rows.get(name, 0) + frame.height
    result.files[name] = result.files.get(name, 0) + 1


def _export_postgres(source: ClickHouseSource, folder: Path, projects, result) -> None:
    if not source.postgres_url:
        return
    import psycopg

    with psycopg.connect(source.postgres_url) as conn:
        for dataset in DATASETS.values():
            if dataset.store != "postgres":
                continue
            frame = postgres_frame(conn, dataset, projects)
            if not dataset.project_column:
                _write(frame, folder / dataset.name / "part-0.parquet", result, dataset.name)
                continue
            for (project,), part in frame.group_by(dataset.project_column):
                path = folder / dataset.name / f"project_id={project}" / "part-0.parquet"
                _write(part, path, result, dataset.name)


def _export_system(source: ClickHouseSource, folder: Path) -> None:
    (folder / "system").mkdir(parents=True, exist_ok=True)
    for name in SYSTEM_SCHEMAS:
        source.system(name).write_parquet(folder / "system" / f"{name}.parquet")


def export(
    source: ClickHouseSource, folder: Path, *, projects: Sequence[int] | None = None
) -> ExportResult:
    """Write every dataset of the live `source` under `folder` (replacing what was there)."""
    started = time.perf_counter()
    folder = Path(folder)
    building = folder.with_name(f"{folder.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    result = ExportResult(folder)
    try:
        for dataset in DATASETS.values():
            if dataset.store == "clickhouse":
                _export_clickhouse(source, dataset, building, projects, result)
        _export_postgres(source, building, projects, result)
        _export_system(source, building)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source.label,
            "projects": None if projects is None else [int(p) for p in projects],
            "datasets": {
                name: {"rows": result.rows.get(name, 0), "files": result.files.get(name, 0)}
                for name in DATASETS
            },
            "queue_depth": source.queue_depth(),
        }
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _swap(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    result.seconds = time.perf_counter() - started
    return result


def _swap(building: Path, folder: Path) -> None:
    old = folder.with_name(f"{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    building.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
