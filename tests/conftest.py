"""Shared fixtures: the machine's PostgreSQL and Redis, chdb for ClickHouse.

Each test gets its own PostgreSQL database (cloned from a migrated template),
its own ClickHouse database inside the session's chdb folder (one chdb path per
process), and its own Redis database number plus queue name. A missing service
fails the test: nothing here is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from core.runtime import Stack, open_stack
from core.settings import Settings
from core.storage import postgres

MACHINE_POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
MACHINE_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
_TEMPLATE = f"stackwise_tpl_{uuid.uuid4().hex[:8]}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{MACHINE_POSTGRES}/postgres", autocommit=True)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{_TEMPLATE}"')
    postgres.migrate(f"{MACHINE_POSTGRES}/{_TEMPLATE}")
    yield _TEMPLATE
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')


@contextmanager
def fresh_postgres(template: str) -> Iterator[str]:
    """A new database cloned from the migrated template, dropped afterwards."""
    name = f"stackwise_t_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"{MACHINE_POSTGRES}/{name}"
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_redis_namespace(url: str) -> Iterator[str]:
    """A key prefix of its own: several test runs may share the machine's Redis."""
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield namespace
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def make_settings(data_dir: Path, postgres_url: str, namespace: str, chdb_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        postgres_url=postgres_url,
        redis_url=f"{MACHINE_REDIS}/0",
        clickhouse_url=f"chdb://{chdb_dir}",
        clickhouse_database=f"t_{uuid.uuid4().hex[:12]}",
        queue_name="events",
        redis_namespace=namespace,
        batch_max_age_s=0.2,
        port=0,
    )


@contextmanager
def open_test_stack(settings: Settings) -> Iterator[Stack]:
    # The chdb folder is shared by the session, so each stack gets its own database.
    opened = open_stack(settings, own_clickhouse=True)
    try:
        yield opened
    finally:
        opened.clickhouse().command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`")
        opened.close()


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    with fresh_postgres(postgres_template) as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    return f"{MACHINE_REDIS}/0"


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    with fresh_redis_namespace(redis_url) as namespace:
        yield namespace


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str, redis_namespace: str, chdb_dir: Path) -> Settings:
    """Machine PostgreSQL and Redis, chdb ClickHouse; a fresh database in each."""
    return make_settings(tmp_path / "data", postgres_url, redis_namespace, chdb_dir)


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    with open_test_stack(settings) as opened:
        yield opened
