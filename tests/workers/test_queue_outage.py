"""The workers' queue while Redis is unreachable: a failed batch is retried, never lost.

Redis is reached through a TcpProxy the tests cut, as a Redis outage does to a worker.
Before the fixes: the Retries middleware could not enqueue the retry of a batch that
failed in the outage, and Dramatiq acked the batch once Redis was back; a retry waiting
in a worker's memory for its time was forgotten by the reconnecting consumer while Redis
kept it marked as held by the live worker. Either way the batch was gone, its events
stored and never grouped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import BrokerConnectionError

from core.queue import connect_broker
from tests.conftest import MACHINE_REDIS
from tests.support.clickhouse_server import wait_until
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(*MACHINE_REDIS.removeprefix("redis://").split(":")).start()
    yield proxy
    proxy.close()


@pytest.fixture
def broker(proxy: TcpProxy, redis_namespace: str) -> Iterator[RedisBroker]:
    broker = connect_broker(f"redis://127.0.0.1:{proxy.port}/0", namespace=redis_namespace)
    yield broker
    broker.close()


def run_worker(broker: RedisBroker, process: Callable[[int], None], until, **options) -> None:
    """Send `process` one message and run a worker until `until()` holds (30 s at most)."""
    actor = dramatiq.actor(
        process, actor_name="process", queue_name="outage", broker=broker, **options
    )
    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        actor.send(7)
        until()
    finally:
        worker.stop(timeout=10_000)


def test_a_message_failing_while_redis_is_away_is_retried_once_redis_is_back(proxy, broker):
    attempts: list[int] = []

    def process(batch: int) -> None:
        attempts.append(batch)
        if len(attempts) == 1:
            proxy.cut()
            threading.Timer(2.0, proxy.restore).start()
            raise ConnectionError("the group cache went away mid-batch")

    def retried() -> None:
        wait_until(lambda: len(attempts) >= 2, 30, "the failed message was never retried")

    run_worker(broker, process, retried, min_backoff=100)
    assert attempts[:2] == [7, 7]


def test_a_retry_waiting_in_a_worker_when_redis_blinks_is_still_run(proxy, broker):
    attempts: list[int] = []

    def process(batch: int) -> None:
        attempts.append(batch)
        if len(attempts) == 1:
            raise ConnectionError("PostgreSQL went away mid-batch")

    def blink_then_retried() -> None:
        wait_until(lambda: attempts == [7], 10, "the first attempt did not run")
        time.sleep(1.0)  # the retry is in the delay queue's consumer, waiting for its time
        with proxy.outage():
            time.sleep(2.0)
        wait_until(lambda: len(attempts) >= 2, 30, "the waiting retry was never run")

    run_worker(broker, process, blink_then_retried, min_backoff=4_000, max_backoff=5_000)


def test_an_enqueue_without_redis_is_a_broker_connection_error(proxy, broker):
    # Dramatiq's consumer restarts on a broker connection error; any other error ends it.
    message = dramatiq.Message(queue_name="q", actor_name="a", args=(), kwargs={}, options={})
    proxy.cut()
    with pytest.raises(BrokerConnectionError):
        broker.enqueue(message)
