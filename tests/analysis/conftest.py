"""The workbench tests share one seeded dataset (see `dataset.py`), live and exported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.clickhouse_source import ClickHouseSource
from analysis.parquet_source import ParquetSource
from tests.analysis.dataset import SeededDataset, close_dataset, seeded_dataset


@pytest.fixture(scope="session")
def dataset(
    chdb_dir: Path, postgres_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededDataset]:
    yield seeded_dataset(chdb_dir, postgres_template, tmp_path_factory.getbasetemp() / "workbench")
    close_dataset()


@pytest.fixture(scope="session")
def live(dataset: SeededDataset) -> ClickHouseSource:
    return dataset.live()


@pytest.fixture(scope="session")
def parquet(dataset: SeededDataset) -> ParquetSource:
    return dataset.parquet()
