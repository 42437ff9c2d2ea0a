"""The Dramatiq broker both sides share, with messages encoded by msgspec.

Senders address actors by name, so the relay enqueues work without importing
the workers (dramatiq's own advice: a message is data you can build anywhere).
"""

from __future__ import annotations

from typing import Any

import dramatiq
import msgspec
from dramatiq.brokers.redis import RedisBroker
from dramatiq.encoder import Encoder
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

PROCESS_EVENTS = "process_events"


class MsgpackEncoder(Encoder):
    """msgpack keeps batch payloads as raw bytes (JSON would base64 them)."""

    def __init__(self) -> None:
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder().decode

    def encode(self, data: dict[str, Any]) -> bytes:
        return self._encode(data)

    def decode(self, data: bytes) -> dict[str, Any]:
        return self._decode(data)


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


def queue_depth(broker: RedisBroker, queue_name: str) -> int:
    """Messages waiting (not counting those a worker holds)."""
    return int(broker.client.llen(f"{broker.namespace}:{queue_name}"))
