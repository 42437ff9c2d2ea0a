"""Keys and project configuration, cached in memory and refreshed from PostgreSQL.

The hot path never waits on PostgreSQL for a known key. A refresh every
`key_refresh_interval_s` picks up new, disabled and re-enabled keys and changed
configurations, so disabling a key takes effect within seconds, without a
restart. An unknown key triggers one early refresh (at most once a second), so a
key created a moment ago works at once while a flood of bad keys costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from relay.errors import Forbidden
from stackwise.project_config import (
    ProjectConfig,
    RateLimitSettings,
    parse_config,
    parse_key_config,
)
from stackwise.storage.postgres import Pool

log = logging.getLogger(__name__)

_MIN_MISS_REFRESH_INTERVAL_S = 1.0


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
        self._last_refresh = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    def load(self) -> None:
        """Read every key and project (blocking); runs in a worker thread."""
        with self._pool.connection() as conn:
            keys = conn.execute(
                "SELECT public_key, project_id, is_active, config FROM project_keys"
            )
            new_keys = {
                row["public_key"]: KeyState(
                    public_key=row["public_key"],
                    project_id=row["project_id"],
                    is_active=row["is_active"],
                    rate_limits=parse_key_config(row["config"]).rate_limits,
                )
                for row in keys
            }
            projects = conn.execute("SELECT id, slug, config FROM projects")
            new_projects = {
                row["id"]: ProjectState(
                    id=row["id"], slug=row["slug"], config=parse_config(row["config"])
                )
                for row in projects
            }
        # Swap whole dicts: readers on the event loop never see a half-built cache.
        self._keys, self._projects = new_keys, new_projects
        self._last_refresh = time.monotonic()

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

    async def authorize(self, public_key: str, project_id: int) -> tuple[ProjectState, KeyState]:
        key = self._keys.get(public_key)
        if key is None and time.monotonic() - self._last_refresh >= _MIN_MISS_REFRESH_INTERVAL_S:
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing project keys failed")
            key = self._keys.get(public_key)
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
