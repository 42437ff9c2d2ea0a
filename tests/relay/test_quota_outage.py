"""Quotas while their Redis is unreachable: the relay admits on trust, never fails the request.

The machine's Redis is reached through a TcpProxy the test cuts (connections reset, new
ones refused), or replaced by a listener that never answers (a network that drops
packets). Each scenario runs on uvloop, the relay's event loop. Before the fix, the lease
request raised and the SDK got a 500.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import uvloop

from relay.policy import connect_policy_redis
from relay.quotas import Quota, QuotaLimiter
from tests.conftest import MACHINE_REDIS
from tests.support.tcp_proxy import TcpProxy


def _quota(limit: int) -> list[Quota]:
    return [Quota("project", uuid.uuid4().hex, "error", "minute", limit)]


async def _admitted(limiter: QuotaLimiter, quotas: list[Quota], count: int) -> int:
    refusals = [await limiter.admit(quotas, "error") for _ in range(count)]
    return refusals.count(None)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(*MACHINE_REDIS.removeprefix("redis://").split(":")).start()
    yield proxy
    proxy.close()


def limited(proxy: TcpProxy, namespace: str) -> QuotaLimiter:
    return QuotaLimiter(connect_policy_redis(f"redis://127.0.0.1:{proxy.port}/0"), namespace)


def test_a_quota_admits_on_trust_while_redis_is_cut_off_and_asks_again_once_back(
    proxy, redis_namespace
):
    async def scenario() -> None:
        limiter = limited(proxy, redis_namespace)
        generous, small = _quota(600_000), _quota(100)
        assert await _admitted(limiter, generous, 50) == 50
        proxy.cut()
        await asyncio.sleep(0.2)  # the loop sees the reset before the next lease is asked
        # Leases run out every few events; each new one fails to be fetched.
        assert await _admitted(limiter, generous, 20_000) == 20_000
        proxy.restore()
        await asyncio.sleep(1.1)
        # Back: Redis decides again, and a small quota refuses past its limit.
        assert await _admitted(limiter, small, 300) == 100
        await limiter.redis.aclose()

    uvloop.run(scenario())


def test_a_category_refused_before_the_outage_stays_refused_during_it(proxy, redis_namespace):
    async def scenario() -> None:
        limiter = limited(proxy, redis_namespace)
        quotas = _quota(10)
        assert await _admitted(limiter, quotas, 30) == 10
        proxy.cut()
        assert await _admitted(limiter, quotas, 30) == 0
        await limiter.redis.aclose()

    uvloop.run(scenario())


def test_a_redis_that_never_answers_delays_a_request_by_the_timeout_only():
    # The kernel completes the handshake for the backlog; nobody ever reads or answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)

    async def scenario() -> float:
        client = connect_policy_redis(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        limiter = QuotaLimiter(client, "never-answers")
        started = time.monotonic()
        refusal = await asyncio.wait_for(limiter.admit(_quota(1000), "error"), 10)
        assert refusal is None
        await client.aclose()
        return time.monotonic() - started

    try:
        assert uvloop.run(scenario()) < 3
    finally:
        silent.close()
