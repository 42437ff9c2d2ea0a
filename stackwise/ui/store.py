"""The stores the issues app reads and writes, opened once per process.

`marimo run` runs every browser session's cells in threads of one process: they share
one PostgreSQL pool (and Redis, for merges) and one workbench source, opened on first
use and closed when the process exits.
"""

from __future__ import annotations

import atexit
import threading

from analysis.source import Source, WorkbenchSourceError, open_source
from core.runtime import Stack, open_stack
from core.settings import load_settings

_lock = threading.Lock()
_stack: list[Stack] = []
_sources: dict[str, Source | str] = {}


def stack() -> Stack:
    """PostgreSQL and Redis (not ClickHouse: a running `serve` may hold it)."""
    with _lock:
        if not _stack:
            opened = open_stack(load_settings(), own_clickhouse=False, pool_size=4)
            atexit.register(opened.close)
            _stack.append(opened)
        return _stack[0]


def source(spec: str | None) -> Source | str:
    """The stored events (`--source`, else what `open_source` finds), or why there are none:
    the issue list and pages still work from PostgreSQL without them."""
    key = spec or ""
    with _lock:
        if key not in _sources:
            try:
                opened = open_source(spec or None, settings=load_settings())
                atexit.register(opened.close)
                _sources[key] = opened
            except WorkbenchSourceError as e:
                return str(e)
        return _sources[key]
