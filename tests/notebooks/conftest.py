"""The notebooks run on the workbench tests' seeded dataset, read from its Parquet export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.parquet_source import ParquetSource
from tests.analysis.dataset import close_dataset, seeded_dataset


@pytest.fixture(scope="session")
def exported(
    chdb_dir: Path, postgres_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ParquetSource]:
    dataset = seeded_dataset(
        chdb_dir, postgres_template, tmp_path_factory.getbasetemp() / "workbench"
    )
    yield dataset.parquet()
    close_dataset()
