"""Keys and project configuration, cached in memory and refreshed from PostgreSQL.

The hot path never waits on PostgreSQL for a known key. A refresh every
`key_refresh_interval_s` picks up new, disabled and re-enabled keys and changed
configurations, so disabling a key takes effect within seconds, without a
restart. An unknown key is looked up on its own (one indexed query), so a key
created a moment ago works at once; a key found missing is remembered as missing for
a few seconds, so a flood of bad keys costs at most one query per key and period.
While PostgreSQL cannot be reached, known keys keep working from the cache; a key the
cache has never seen cannot be checked, and is answered 503 (retry later), not 403: an
SDK told its key is unknown drops the event, one told to retry keeps it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import psycopg

from core.pg import projects
from core.project_config import (
    ProjectConfig,
    RateLimitSettings,
    parse_config,
    parse_key_config,
)
from core.storage.postgres import Pool
from relay.errors import Forbidden, Unavailable

log = logging.getLogger(__name__)

_MISSING_KEY_MEMORY_S = 5.0
_MISSING_KEYS_LIMIT = 100_000
# A lookup on the request path waits this long for a PostgreSQL connection at most.
_LOOKUP_TIMEOUT_S = 3.0
_LOOKUP_RETRY_AFTER_S = 10


@dataclass(frozen=True)
class ProjectState:
    id: int
    slug: str
    config: ProjectConfig


@dataclass(frozen=True)
class KeyState:
    public_key: str
    project_id: int
    is_active: bool
    rate_limits: RateLimitSettings | None = None


class ProjectCache:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._keys: dict[str, KeyState] = {}
        self._projects: dict[int, ProjectState] = {}
        self._missing: dict[str, float] = {}
        self._refreshing: asyncio.Task[None] | None = None

    def load(self) -> None:
        """Read every key and project (blocking); runs in a worker thread."""
        with self._pool.connection() as conn:
            keys = projects.all_keys(conn)
            new_keys = {
                row["public_key"]: KeyState(
                    public_key=row["public_key"],
                    project_id=row["project_id"],
                    is_active=row["is_active"],
                    rate_limits=parse_key_config(row["config"]).rate_limits,
                )
                for row in keys
            }
            new_projects = {
                row["id"]: ProjectState(
                    id=row["id"], slug=row["slug"], config=parse_config(row["config"])
                )
                for row in projects.all_projects(conn)
            }
        # Swap whole dicts: readers on the event loop never see a half-built cache.
        self._keys, self._projects = new_keys, new_projects

    async def refresh(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(asyncio.to_thread(self.load))
        await asyncio.shield(self._refreshing)

    async def run_refresher(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing project keys failed; keeping the cached ones")

    def _load_one(self, public_key: str) -> None:
        """Read one key and its project (blocking): a key created since the last refresh."""
        with self._pool.connection(timeout=_LOOKUP_TIMEOUT_S) as conn:
            row = projects.key_with_project(conn, public_key)
        if row is None:
            if len(self._missing) > _MISSING_KEYS_LIMIT:
                self._missing.clear()
            self._missing[public_key] = time.monotonic() + _MISSING_KEY_MEMORY_S
            return
        self._keys = {
            **self._keys,
            public_key: KeyState(
                public_key=public_key,
                project_id=row["project_id"],
                is_active=row["is_active"],
                rate_limits=parse_key_config(row["key_config"]).rate_limits,
            ),
        }
        project = ProjectState(
            id=row["project_id"], slug=row["slug"], config=parse_config(row["config"])
        )
        self._projects = {**self._projects, project.id: project}

    async def _find(self, public_key: str) -> KeyState | None:
        key = self._keys.get(public_key)
        if key is not None:
            return key
        if self._missing.get(public_key, 0.0) > time.monotonic():
            return None
        try:
            await asyncio.to_thread(self._load_one, public_key)
        except psycopg.Error as e:
            log.warning("looking up public key %s failed: %s", public_key, e)
            raise Unavailable(
                "the relay cannot check this key now; retry later",
                retry_after_s=_LOOKUP_RETRY_AFTER_S,
            ) from e
        return self._keys.get(public_key)

    async def authorize(self, public_key: str, project_id: int) -> tuple[ProjectState, KeyState]:
        key = await self._find(public_key)
        if key is None:
            raise Forbidden(f"unknown public key {public_key}")
        if not key.is_active:
            raise Forbidden("project key is disabled")
        if key.project_id != project_id:
            raise Forbidden(f"public key does not belong to project {project_id}")
        project = self._projects.get(project_id)
        if project is None:
            raise Forbidden(f"unknown project {project_id}")
        return project, key
