"""Where the workbench reads stored data: live stores, or a Parquet export.

    source = open_source()                      # whatever this machine has (below)
    source = open_source(".stackwise/export")   # a `just export` folder, offline
    source = open_source("http://127.0.0.1:8123")

Both kinds answer the same calls with the same canonical frames (`analysis.tables`):
`read(dataset, ...)`, `rollup(dims, ...)`, `event_files(...)` for replays, `sql(...)`
in the store's own dialect, `system(...)` snapshots of ClickHouse's system tables.

With no argument, `open_source` tries in order: the configured ClickHouse server; the
embedded ClickHouse offered over HTTP by a running `serve` (STACKWISE_CLICKHOUSE_HTTP_PORT);
the embedded data folder itself (only while no other process holds it); the last export
(`.stackwise/export`). When none works it says what to do. Report runs and tests pin a
source for everything they run with `use_source`. What a source is (`Source`, `Window`)
lives in `source_base`, re-exported here.
"""

from __future__ import annotations

__all__ = [
    "MANIFEST",
    "ROLLUP_DIMS",
    "ROLLUP_FIRST",
    "Source",
    "Window",
    "WorkbenchSourceError",
    "check_dataset",
    "check_dims",
    "notebook_source",
    "open_live_source",
    "open_source",
    "pin_source",
    "use_source",
]

import contextlib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from analysis.source_base import (
    MANIFEST,
    ROLLUP_DIMS,
    ROLLUP_FIRST,
    Source,
    Window,
    WorkbenchSourceError,
    check_dataset,
    check_dims,
)
from core.settings import Settings, load_settings

EXPORT_FOLDER = "export"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


_pinned: list[Source] = []


def pin_source(source: Source) -> None:
    """From now on `open_source()` without an argument returns `source` (e.g. the first
    cell of a Jupyter notebook pointing every later cell at an export)."""
    _pinned.append(source)


@contextlib.contextmanager
def use_source(source: Source) -> Iterator[Source]:
    """Every `open_source()` without an argument returns `source` inside the block."""
    pin_source(source)
    try:
        yield source
    finally:
        _pinned.remove(source)


def open_source(
    spec: str | Path | Source | None = None, *, settings: Settings | None = None
) -> Source:
    """A Source for `spec` (an export folder, an http(s):// or chdb:// ClickHouse URL),
    or, without one, the pinned source or the first store this machine offers."""
    from analysis.clickhouse_source import ClickHouseSource
    from analysis.parquet_source import ParquetSource

    if isinstance(spec, Source):
        return spec
    if not spec and _pinned:
        return _pinned[-1]
    settings = settings or load_settings()
    if spec:
        text = str(spec)
        if text.startswith(("http://", "https://", "chdb://")):
            return ClickHouseSource.connect(settings, text)
        return ParquetSource(Path(text))
    return _default_source(settings)


def notebook_source() -> Source:
    """What a notebook reads: the pinned source, else `--source` given to marimo after
    `--` (`just notebook -- --source .stackwise/export`), else `open_source()`."""
    if _pinned:
        return _pinned[-1]
    import marimo as mo

    spec = mo.cli_args().get("source") if mo.running_in_notebook() else None
    if spec and not str(spec).startswith(("http://", "https://", "chdb://")):
        # Kernels may run in the notebook's folder; a relative path names one from the
        # project folder, where `just notebook` was typed.
        path = Path(str(spec))
        if not path.is_absolute() and not path.exists():
            path = PROJECT_ROOT / path
        spec = str(path)
    return open_source(str(spec) if spec else None)


def _http_clickhouse(port: int) -> str | None:
    if not port:
        return None
    url = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return url if response.read().startswith(b"Ok") else None
    except OSError:
        return None


def open_live_source(settings: Settings | None = None) -> Source:
    """The live stores: a ClickHouse server, a running `serve` over HTTP, or the embedded
    folder; never an export (the export itself reads from here)."""
    from analysis.clickhouse_source import ClickHouseSource
    from core.runtime import DataFolderBusyError
    from core.storage.clickhouse import ClickHouseLockedError

    settings = settings or load_settings()
    if not settings.embedded_clickhouse:
        return ClickHouseSource.connect(settings, settings.clickhouse_url)
    url = _http_clickhouse(settings.clickhouse_http_port)
    if url:
        return ClickHouseSource.connect(settings, url)
    if not Path(settings.clickhouse_dsn.removeprefix("chdb://")).exists():
        raise WorkbenchSourceError(_no_source_message(settings, None))
    try:
        return ClickHouseSource.connect(settings, settings.clickhouse_dsn)
    except (DataFolderBusyError, ClickHouseLockedError) as e:
        raise WorkbenchSourceError(_no_source_message(settings, e)) from e


def _default_source(settings: Settings) -> Source:
    from analysis.parquet_source import ParquetSource

    try:
        return open_live_source(settings)
    except WorkbenchSourceError:
        export = settings.data_dir / EXPORT_FOLDER
        if (export / MANIFEST).exists():
            return ParquetSource(export)
        raise


def _no_source_message(settings: Settings, busy: Exception | None) -> str:
    port = settings.clickhouse_http_port
    if busy is not None:
        return (
            f"{busy}. Its ClickHouse is not offered over HTTP on 127.0.0.1:{port}: restart "
            "`just serve` with STACKWISE_CLICKHOUSE_HTTP_PORT set (default 8123), or stop it "
            "and run `just export` to work on a Parquet copy."
        )
    return (
        f"no stored data found: no ClickHouse over HTTP on 127.0.0.1:{port}, no data folder "
        f"at {settings.data_dir.resolve()}, no export. Run `just seed` (or `just serve` and "
        "send events), then open the notebook again, or pass an export folder or a "
        "ClickHouse URL to open_source()."
    )
