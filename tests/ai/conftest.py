"""Fixtures for the AI tests: a real OpenAI-protocol server and worker contexts.

The stores are shared by the tests of a module (one PostgreSQL database, one
ClickHouse database, one Redis namespace), which keeps the suite fast; each
test works in projects of its own (`make_project` picks a fresh slug), and
assertions look only at those projects' rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from core.runtime import Stack, open_stack
from core.settings import Settings
from tests.ai.factories import context_with
from tests.conftest import MACHINE_POSTGRES, MACHINE_REDIS
from tests.support.openai_server import OpenAIServer
from workers.ai.provider import AIOptions
from workers.context import WorkerContext

MODEL = "qwen2.5-7b-instruct"

# Short times so failure paths finish quickly; the behaviour is the production one.
FAST = AIOptions(
    timeout_s=0.5, max_attempts=2, backoff_s=0.05, max_backoff_s=0.1, max_inline_wait_s=2.0
)


def _admin(sql: str) -> None:
    with psycopg.connect(f"{MACHINE_POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def module_stack(
    postgres_template: str, chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:12]
    database = f"stackwise_ai_{suffix}"
    _admin(f'CREATE DATABASE "{database}" TEMPLATE "{postgres_template}"')
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("ai") / "data",
        postgres_url=f"{MACHINE_POSTGRES}/{database}",
        redis_url=f"{MACHINE_REDIS}/0",
        clickhouse_url=f"chdb://{chdb_dir}",
        clickhouse_database=f"ai_{suffix}",
        redis_namespace=f"test-ai-{suffix}",
    )
    stack = open_stack(settings, own_clickhouse=True)
    try:
        yield stack
    finally:
        stack.clickhouse().command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`")
        keys = list(stack.redis.scan_iter(match=f"{settings.redis_namespace}:*", count=1000))
        if keys:
            stack.redis.delete(*keys)
        stack.close()
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def ctx(module_stack: Stack, openai_server: OpenAIServer) -> WorkerContext:
    """Workers whose settings point at the local OpenAI-compatible server."""
    return context_with(module_stack, openai_base_url=openai_server.base_url, openai_model=MODEL)


@pytest.fixture
def local_ctx(module_stack: Stack) -> WorkerContext:
    """Workers with no AI endpoint configured."""
    return context_with(module_stack, openai_base_url="", openai_api_key="")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
