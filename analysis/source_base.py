"""What every workbench source is: the `Source` interface, time windows, the checks every
implementation applies to its arguments, and the source error.

The implementations (`clickhouse_source`, `parquet_source`) and the libraries that
read through a source (`dashboards`, `traffic`, ...) import this module; `source`
opens one and imports the implementations. So nothing here imports them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import polars as pl

from analysis.tables import DATASETS, ISSUES

ROLLUP_DIMS = frozenset(
    {"project_id", "group_id", "level", "environment", "release", "hour", "day"}
)
# Columns whose value at a group's first hour `rollup(first=...)` can return.
ROLLUP_FIRST = frozenset({"level", "environment", "release"})
MANIFEST = "manifest.json"


class WorkbenchSourceError(RuntimeError):
    """No stored data can be reached; the message says how to get some."""


class Window(NamedTuple):
    """A half-open time range [start, end); None leaves a side open."""

    start: datetime | None = None
    end: datetime | None = None


class Source(ABC):
    """Stored data, as canonical polars frames."""

    label: str = ""

    @abstractmethod
    def read(
        self,
        dataset: str,
        *,
        columns: Sequence[str] | None = None,
        projects: Sequence[int] | None = None,
        window: Window | None = None,
    ) -> pl.DataFrame:
        """Rows of a dataset (`analysis.tables.DATASETS`), filtered, in canonical types."""

    @abstractmethod
    def rollup(
        self,
        dims: Sequence[str],
        *,
        projects: Sequence[int] | None = None,
        window: Window | None = None,
        first: Sequence[str] = (),
    ) -> pl.DataFrame:
        """The hourly error rollups summed by `dims` (of ROLLUP_DIMS; `day` truncates `hour`):
        events, weighted (extrapolated through sampling), first_hour, last_hour, and for
        each column in `first` (of ROLLUP_FIRST) `first_<column>`, its value in the first
        hour (when that hour had several, any one of them)."""

    @abstractmethod
    def event_files(
        self, folder: Path, *, projects: Sequence[int] | None = None
    ) -> list[tuple[int, Path]]:
        """(project, Parquet file) pairs holding (project_id, event_id, payload) of the stored
        events, one project per file; written into `folder` unless stored as Parquet."""

    @abstractmethod
    def sql(self, query: str) -> pl.DataFrame:
        """A query in the store's own SQL (ClickHouse, or DuckDB over the export's tables)."""

    @abstractmethod
    def system(self, name: str) -> pl.DataFrame:
        """ClickHouse's own tables: `parts`, `columns`, `query_log` (empty where absent)."""

    def queue_depth(self) -> dict[str, int] | None:
        """Messages waiting per queue, when the source can see the queue."""
        return None

    def projects(self) -> pl.DataFrame:
        return self.read("projects")

    def issues(self, projects: Sequence[int] | None = None) -> pl.DataFrame:
        return self.read(ISSUES.name, projects=projects)

    def close(self) -> None:  # noqa: B027 - sources without resources need nothing
        pass

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_dims(dims: Sequence[str], first: Sequence[str] = ()) -> list[str]:
    unknown = sorted(set(dims) - ROLLUP_DIMS)
    if unknown:
        raise ValueError(f"unknown rollup dimension(s) {unknown}; use {sorted(ROLLUP_DIMS)}")
    unknown = sorted(set(first) - ROLLUP_FIRST)
    if unknown:
        raise ValueError(
            f"unknown rollup first-value column(s) {unknown}; use {sorted(ROLLUP_FIRST)}"
        )
    return list(dims)


def check_dataset(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
