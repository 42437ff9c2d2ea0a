"""Which uploaded files an event's frames use, found for a whole batch at once.

Three questions, each one statement for the batch and answered from a cache after:
does the project have artifacts at all (if not, its events are left alone), which
minified file and map carry a debug id, and which release file sits at a URL. Answers
are cached for a while (a miss for less, so an upload made after an error is soon
seen); the cache is bounded.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.artifacts.bundle import MINIFIED_SOURCE, SOURCE_MAP
from core.pg import artifacts
from core.pg.artifacts import IndexedFile
from core.storage.postgres import Pool

FOUND_TTL_S = 300.0
MISSING_TTL_S = 10.0
PROJECT_TTL_S = 10.0
TOUCH_INTERVAL_S = 3600.0
MAX_CACHED_KEYS = 200_000

DebugKey = tuple[int, str]  # project, debug id
UrlKey = tuple[int, str, str, str]  # project, release, dist, url


@dataclass(frozen=True)
class DebugFiles:
    minified: IndexedFile | None
    source_map: IndexedFile | None


class _TtlCache:
    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, now: float) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < now:
            return False, None
        return True, entry[1]

    def put_all(self, values: dict[Any, Any], now: float, ttl: Callable[[Any], float]) -> None:
        with self._lock:
            if len(self._entries) + len(values) > MAX_CACHED_KEYS:
                self._entries.clear()
            for key, value in values.items():
                self._entries[key] = (now + ttl(value), value)


def _ttl(value: Any) -> float:
    if isinstance(value, DebugFiles):
        return FOUND_TTL_S if value.source_map is not None else MISSING_TTL_S
    return FOUND_TTL_S if value is not None else MISSING_TTL_S


class ArtifactIndex:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._projects = _TtlCache()
        self._debug = _TtlCache()
        self._urls = _TtlCache()
        self._touched: dict[int, float] = {}
        # Statements run, for tests and the benchmark: a batch costs a few, never one per event.
        self.queries = 0

    def _cached(self, cache: _TtlCache, keys, load, ttl: Callable[[Any], float] = _ttl) -> dict:
        now = time.monotonic()
        found, missing = {}, []
        for key in dict.fromkeys(keys):
            hit, value = cache.get(key, now)
            if hit:
                found[key] = value
            else:
                missing.append(key)
        if missing:
            with self.pool.connection() as conn:
                loaded = load(conn, missing)
            self.queries += 1
            cache.put_all(loaded, now, ttl)
            found.update(loaded)
        return found

    def projects_with_artifacts(self, project_ids: list[int]) -> set[int]:
        def load(conn, missing: list[int]) -> dict[int, bool]:
            having = artifacts.projects_with_artifacts(conn, missing)
            return {p: p in having for p in missing}

        answers = self._cached(self._projects, project_ids, load, lambda _: PROJECT_TTL_S)
        return {p for p, has in answers.items() if has}

    def by_debug_id(self, keys: list[DebugKey]) -> dict[DebugKey, DebugFiles]:
        valid = [k for k in keys if _is_uuid(k[1])]

        def load(conn, missing: list[DebugKey]) -> dict[DebugKey, DebugFiles]:
            rows = artifacts.files_by_debug_id(conn, missing)
            found: dict[DebugKey, dict[str, IndexedFile]] = {k: {} for k in missing}
            for f in rows:  # newest bundle first: the first of each type wins
                key = (f.project_id, f.debug_id or "")
                if key in found:
                    found[key].setdefault(f.type, f)
            return {
                k: DebugFiles(v.get(MINIFIED_SOURCE), v.get(SOURCE_MAP)) for k, v in found.items()
            }

        return self._cached(self._debug, valid, load)

    def by_url(self, keys: list[UrlKey]) -> dict[UrlKey, IndexedFile | None]:
        def load(conn, missing: list[UrlKey]) -> dict[UrlKey, IndexedFile | None]:
            found: dict[UrlKey, IndexedFile | None] = dict.fromkeys(missing)
            for f in artifacts.files_by_url(conn, missing):
                key = (f.project_id, f.release, f.dist, f.url)
                if found.get(key) is None:
                    found[key] = f
            return found

        return self._cached(self._urls, keys, load)

    def touch(self, bundle_ids: set[int]) -> None:
        """Record that events used these bundles (retention), at most hourly per bundle."""
        now = time.monotonic()
        due = {
            b
            for b in bundle_ids
            if self._touched.get(b, -TOUCH_INTERVAL_S) + TOUCH_INTERVAL_S < now
        }
        if not due:
            return
        with self.pool.connection() as conn:
            artifacts.touch_bundles(conn, sorted(due))
        self.queries += 1
        if len(self._touched) > MAX_CACHED_KEYS:
            self._touched.clear()
        self._touched.update(dict.fromkeys(due, now))


@functools.lru_cache(maxsize=65_536)
def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
