"""The workers' queue while Redis is unreachable: a failed batch is retried, never lost.

Redis is reached through a TcpProxy; the actor cuts it at the moment it fails, as a Redis
outage does to a batch in a worker's hands. Before the fix, the Retries middleware could
not enqueue the retry, Dramatiq logged that and acked the message once Redis was back:
the batch was gone, its events stored and never grouped.
"""

from __future__ import annotations

import threading

import dramatiq

from core.queue import connect_broker
from tests.conftest import MACHINE_REDIS
from tests.support.clickhouse_server import wait_until
from tests.support.tcp_proxy import TcpProxy


def test_a_message_failing_while_redis_is_away_is_retried_once_redis_is_back(redis_namespace):
    proxy = TcpProxy(*MACHINE_REDIS.removeprefix("redis://").split(":")).start()
    broker = connect_broker(f"redis://127.0.0.1:{proxy.port}/0", namespace=redis_namespace)
    attempts: list[int] = []

    def process(batch: int) -> None:
        attempts.append(batch)
        if len(attempts) == 1:
            proxy.cut()
            threading.Timer(2.0, proxy.restore).start()
            raise ConnectionError("the group cache went away mid-batch")

    actor = dramatiq.actor(
        process, actor_name="process", queue_name="outage", broker=broker, min_backoff=100
    )
    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        actor.send(7)
        wait_until(lambda: len(attempts) >= 2, 30, "the failed message was never retried")
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        proxy.close()
    assert attempts[:2] == [7, 7]
