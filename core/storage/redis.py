"""Redis through redis-py: `redis://` and `unix://` URLs alike."""

from __future__ import annotations

import redis


def connect(url: str, **kwargs) -> redis.Redis:
    client = redis.Redis.from_url(url, health_check_interval=30, **kwargs)
    client.ping()
    return client
