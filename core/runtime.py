"""Bring the stores up for one process: embedded servers or the configured URLs.

`open_stack(settings)` is the one place that decides, from the settings, what to
start and where to connect; everything else receives the resulting `Stack`.
Embedded servers started here stop when the stack closes (and, being children
with a parent-death signal, also if this process is killed).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import redis
from clickhouse_connect.driver.client import Client

from core.errors import DataFolderBusyError
from core.settings import Settings
from core.storage import clickhouse, postgres
from core.storage import redis as redis_store
from core.storage.embedded import EmbeddedPostgres, EmbeddedRedis
from core.storage.postgres import Pool

log = logging.getLogger(__name__)


@dataclass
class Stack:
    settings: Settings
    postgres_url: str
    redis_url: str
    pool: Pool
    redis: redis.Redis
    _owned: list = field(default_factory=list)
    # Weak: a client dropped by its user (a flusher replacing a broken one) is not kept alive.
    _clickhouse_clients: weakref.WeakSet[Client] = field(default_factory=weakref.WeakSet)

    def clickhouse(self) -> Client:
        """A new ClickHouse client; give each thread its own (a client serializes its calls)."""
        client = clickhouse.connect(self.settings.clickhouse_dsn, self.settings.clickhouse_database)
        self._clickhouse_clients.add(client)
        return client

    def close(self) -> None:
        for client in list(self._clickhouse_clients):
            with contextlib.suppress(Exception):
                client.close()
        self._clickhouse_clients.clear()
        with contextlib.suppress(Exception):
            self.redis.close()
        with contextlib.suppress(Exception):
            self.pool.close()
        for closer in reversed(self._owned):
            closer()
        self._owned.clear()


def lock_data_folder(data_dir: Path) -> IO[str]:
    """Hold an exclusive lock on the data folder for this process's lifetime."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "owner.lock", "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise DataFolderBusyError(
            f"the data folder {data_dir.resolve()} is in use by another stackwise process "
            f"(pid {owner}); the embedded ClickHouse allows one process per folder. Stop that "
            "process, talk to it over HTTP, or set STACKWISE_DATA_DIR to another folder."
        ) from e
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _url_or_embedded(
    url: str, embedded: type[EmbeddedPostgres | EmbeddedRedis], data_dir: Path, owned: list
) -> str:
    """The configured server URL, or start the embedded one (stopped when the stack closes)."""
    if url:
        return url
    server = embedded(data_dir)
    started = server.start()
    owned.append(server.stop)
    return started


def open_stack(settings: Settings, *, own_clickhouse: bool = True, pool_size: int = 8) -> Stack:
    """Start or connect to every store and apply pending migrations.

    `own_clickhouse=False` is for tools that only need PostgreSQL and Redis (the
    project CLI): they may run beside a `serve` that holds the embedded ClickHouse.
    """
    owned: list = []
    try:
        if own_clickhouse and settings.embedded_clickhouse:
            lock = lock_data_folder(settings.data_dir)
            owned.append(lock.close)
        postgres_url = _url_or_embedded(
            settings.postgres_url, EmbeddedPostgres, settings.data_dir, owned
        )
        redis_url = _url_or_embedded(settings.redis_url, EmbeddedRedis, settings.data_dir, owned)
        postgres.migrate(postgres_url)
        pool = postgres.open_pool(postgres_url, max_size=pool_size)
        stack = Stack(
            settings=settings,
            postgres_url=postgres_url,
            redis_url=redis_url,
            pool=pool,
            redis=redis_store.connect(redis_url),
            _owned=owned,
        )
    except BaseException:
        for closer in reversed(owned):
            with contextlib.suppress(Exception):
                closer()
        raise
    if own_clickhouse:
        try:
            clickhouse.migrate(stack.clickhouse())
        except BaseException:
            stack.close()
            raise
    return stack


@contextlib.contextmanager
def stack_session(settings: Settings, **kwargs) -> Iterator[Stack]:
    stack = open_stack(settings, **kwargs)
    try:
        yield stack
    finally:
        stack.close()


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks and context managers run."""

    def _raise(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
