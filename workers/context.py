"""What actors need at run time, built once per worker process from a Stack."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from core.artifacts.store import ArtifactStore
from core.pg import projects
from core.project_config import GroupingSettings, ProjectConfig, parse_config
from core.runtime import Stack
from workers.grouping import VERSIONS, GroupingConfig, RuleSyntaxError
from workers.sourcemaps import SourceMapResolver

log = logging.getLogger(__name__)

_PROJECT_CONFIG_TTL_S = 5.0


@dataclass(frozen=True)
class ProjectRules:
    config: ProjectConfig
    grouping: GroupingConfig
    # The version a project is moving from, with its rules, until it expires.
    secondary: GroupingConfig | None = None

    def secondary_grouping(self, now_s: float) -> GroupingConfig | None:
        return self.secondary if self.config.grouping.secondary_active(now_s) else None


@dataclass
class WorkerContext:
    stack: Stack
    _local: threading.local = field(default_factory=threading.local)
    _projects: dict[int, tuple[float, ProjectRules]] = field(default_factory=dict)
    _built: dict[tuple[str, str, str], GroupingConfig] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sourcemaps: SourceMapResolver | None = None

    @property
    def settings(self):
        return self.stack.settings

    def sourcemaps(self) -> SourceMapResolver:
        """The process's source-map resolver: its caches serve every worker thread."""
        with self._lock:
            if self._sourcemaps is None:
                self._sourcemaps = SourceMapResolver(
                    self.stack.pool,
                    ArtifactStore(self.settings.artifacts_path),
                    max_maps=self.settings.sourcemap_cache_maps,
                )
            return self._sourcemaps

    def clickhouse(self) -> Client:
        """This thread's ClickHouse client (a client serializes its calls)."""
        client = getattr(self._local, "clickhouse", None)
        if client is None:
            client = self._local.clickhouse = self.stack.clickhouse()
        return client

    def project_rules(self, project_ids: set[int]) -> dict[int, ProjectRules]:
        """Each project's configuration and grouping rules, re-read every few seconds."""
        now = time.monotonic()
        stale = {
            p
            for p in project_ids
            if p not in self._projects or now - self._projects[p][0] > _PROJECT_CONFIG_TTL_S
        }
        if stale:
            with self.stack.pool.connection() as conn:
                documents = projects.configs(conn, sorted(stale))
            found = {p: parse_config(document) for p, document in documents.items()}
            for project_id in stale:
                config = found.get(project_id, ProjectConfig())
                settings = config.grouping
                secondary = None
                if settings.secondary_version in VERSIONS:
                    secondary = self._grouping(settings, project_id, settings.secondary_version)
                grouping = self._grouping(settings, project_id, settings.version)
                self._projects[project_id] = (now, ProjectRules(config, grouping, secondary))
        return {p: self._projects[p][1] for p in project_ids}

    def _grouping(
        self, settings: GroupingSettings, project_id: int, version: str
    ) -> GroupingConfig:
        key = (version, settings.fingerprint_rules, settings.stacktrace_rules)
        with self._lock:
            config = self._built.get(key)
            if config is None:
                try:
                    config = GroupingConfig.build(
                        version,
                        fingerprint_rules=settings.fingerprint_rules,
                        stacktrace_rules=settings.stacktrace_rules,
                    )
                except (RuleSyntaxError, KeyError, ValueError) as e:
                    # Rules are validated when saved; a bad one here must not stop grouping.
                    log.error(
                        "project %s has unusable grouping rules (%s); ignoring them",
                        project_id,
                        e,
                    )
                    config = GroupingConfig.build(version)
                self._built[key] = config
        return config
