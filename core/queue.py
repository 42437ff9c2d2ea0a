"""The Dramatiq broker both sides share, with messages encoded by msgspec.

Senders address actors by name, so the relay enqueues work without importing
the workers (dramatiq's own advice: a message is data you can build anywhere).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq
import msgspec
import redis
from dramatiq.broker import Consumer
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.encoder import Encoder
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

log = logging.getLogger(__name__)

PROCESS_EVENTS = "process_events"
# How often a retry waiting for Redis tries again.
_REDIS_RETRY_S = 1.0


class MsgpackEncoder(Encoder):
    """msgpack keeps batch payloads as raw bytes (JSON would base64 them)."""

    def __init__(self) -> None:
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder().decode

    def encode(self, data: dict[str, Any]) -> bytes:
        return self._encode(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        return self._decode(data)


class RedisBroker(dramatiq_redis.RedisBroker):
    """Dramatiq's Redis broker, with what a Redis outage needs that it lacks.

    - A retry waits for Redis instead of vanishing. When an actor fails, the Retries
      middleware enqueues the message again with a delay, then the worker acks the
      original. If Redis is away at that moment, Dramatiq logs the failed enqueue and acks
      anyway once Redis is back (it waits for Redis only to ack): the message, a batch of
      events stored and never grouped, is gone. Here a delayed enqueue waits for Redis, as
      the ack does, so the retry exists before the original is acked. (Were the worker
      stopped meanwhile, the unacked original goes back to the queue when its heartbeat
      times out.)
    - Retries held in memory are not stranded. A delay queue's consumer keeps the retries
      it fetched until they are due; when it loses Redis, Dramatiq forgets them and starts
      a new consumer, while Redis still counts them as held by this worker, which is alive
      (heartbeats), so nothing ever puts them back. A new delay-queue consumer first puts
      back what this worker held on that queue.
    - An immediate enqueue fails at once, as a broker connection error: the consumer that
      moves a due retry to its queue then restarts instead of dying (any other error ends
      its thread), and the relay retries its batch.
    """

    def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:
        while True:
            try:
                return super().enqueue(message, delay=delay)
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if delay is None:
                    raise ConnectionClosed(e) from e
                log.warning("Redis unreachable (%s): retry of %s waits", e, message.message_id)
                time.sleep(_REDIS_RETRY_S)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name.endswith(".DQ"):
            held = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
            try:
                stranded = self.client.smembers(held)
                if stranded:
                    log.warning("putting back %d retries held when Redis was lost", len(stranded))
                    self.do_requeue(queue_name, *stranded)
            except (redis.ConnectionError, redis.TimeoutError) as e:
                raise ConnectionClosed(e) from e
        return super().consume(queue_name, prefetch, timeout)


def connect_broker(
    redis_url: str,
    *,
    namespace: str,
    heartbeat_timeout_s: float = 30.0,
    maintenance_chance: int = 10_000,
) -> RedisBroker:
    dramatiq.set_encoder(MsgpackEncoder())
    middleware = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        CurrentMessage(),
        Retries(min_backoff=1_000, max_backoff=300_000, max_retries=20),
    ]
    broker = RedisBroker(
        url=redis_url,
        namespace=namespace,
        middleware=middleware,
        heartbeat_timeout=int(heartbeat_timeout_s * 1000),
        maintenance_chance=maintenance_chance,
    )
    dramatiq.set_broker(broker)
    return broker


def enqueue(broker: dramatiq.Broker, queue_name: str, actor_name: str, *args: Any) -> None:
    broker.enqueue(
        dramatiq.Message(
            queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={}
        )
    )


def queue_depth(broker: dramatiq_redis.RedisBroker, queue_name: str) -> int:
    """Messages waiting (not counting those a worker holds)."""
    return int(broker.client.llen(f"{broker.namespace}:{queue_name}"))
