"""Rate limits and quotas, shared by every relay process through Redis.

A quota is a limit per project or per key, for one data category or all of them, over
a minute (a token bucket whose capacity is the limit times the burst factor, refilled
at the limit per minute) or a day (a fixed window). The state lives in Redis; each
process takes tokens in small leases (a Lua script grants what is left, atomically)
and spends them locally, so the hot path waits on Redis only when a lease runs out.
Once a quota grants nothing, the process refuses that category locally until the
bucket refills or the day ends: an over-limit project is stopped everywhere within a
lease, and costs no Redis round trip per refused event.

Leases are at most 1% of the limit, so the shared quota holds within about 1% per
process.

When Redis cannot be reached, a quota admits on trust (fails open) and asks Redis again
a second later: an outage of the quota store must neither lose the events SDKs send nor
answer them with errors. What the leases already know still holds (a category refused
until the bucket refills stays refused), so a project over its limit is not let through
by the outage, only one whose next lease could not be fetched.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.project_config import RateLimitSettings

log = logging.getLogger(__name__)

ALL = "all"
# Lua: refill a token bucket, grant up to ARGV[4] tokens; returns granted, then seconds
# until the next token (0 if some are left).
_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
return {granted, tostring(wait)}
"""
# Lua: a fixed window counter; grant up to ARGV[2] of what is left under ARGV[1].
_WINDOW = """
local limit = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.max(0, math.min(wanted, limit - used))
if granted > 0 then redis.call('INCRBY', KEYS[1], granted) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return granted
"""
# uvloop (the relay's event loop) reports a write on a connection the peer has reset as
# a RuntimeError, which redis-py passes on as it is.
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, RuntimeError)
# While Redis cannot be reached, quotas admit without asking it for this long.
_UNREACHABLE_RETRY_S = 1.0


@dataclass(frozen=True)
class Quota:
    scope: str  # "project" or "key"
    scope_id: str
    category: str  # a data category, or "all"
    window: str  # "minute" or "day"
    limit: int
    burst_factor: float = 1.0
    # Why refusing: the quota's scope by default, or e.g. "spike_protection".
    reason_code: str = ""

    @property
    def reason(self) -> str:
        return self.reason_code or f"{self.scope}_quota"

    def applies_to(self, category: str) -> bool:
        return self.category in (ALL, category)


@dataclass
class _Lease:
    tokens: int = 0
    size: int = 1
    blocked_until: float = 0.0


@dataclass(frozen=True)
class Refusal:
    category: str
    quota: Quota
    retry_after_s: int


def quotas_for(
    project_id: int, public_key: str, project: RateLimitSettings, key: RateLimitSettings | None
) -> list[Quota]:
    """The project's quotas, then the key's own (a key narrows, it cannot widen)."""
    found = []
    for scope, scope_id, settings in (
        ("project", str(project_id), project),
        ("key", public_key, key),
    ):
        if settings is None:
            continue
        for window, limits in (("minute", settings.per_minute), ("day", settings.per_day)):
            for category, limit in limits.items():
                found.append(
                    Quota(scope, scope_id, category, window, int(limit), settings.burst_factor)
                )
    return found


@dataclass
class QuotaLimiter:
    redis: aioredis.Redis
    namespace: str
    _leases: dict[Quota, _Lease] = field(default_factory=dict)
    # Until when Redis is presumed unreachable (monotonic seconds): admit on trust.
    _unreachable_until: float = 0.0

    def __post_init__(self) -> None:
        self._bucket = self.redis.register_script(_BUCKET)
        self._window = self.redis.register_script(_WINDOW)

    def _key(self, quota: Quota, now: float) -> str:
        base = f"{self.namespace}:quota:{quota.scope}:{quota.scope_id}:{quota.category}"
        if quota.window == "day":
            return f"{base}:day:{int(now // 86400)}"
        return f"{base}:minute"

    async def _reserve(self, quota: Quota, wanted: int, now: float) -> tuple[int, float]:
        """Tokens granted from Redis, and seconds until more may be had (when none)."""
        if quota.window == "minute":
            capacity = max(1.0, quota.limit * quota.burst_factor)
            granted, wait = await self._bucket(
                keys=[self._key(quota, now)], args=[capacity, quota.limit / 60.0, now, wanted]
            )
            return int(granted), float(wait)
        day_end = (now // 86400 + 1) * 86400
        granted = await self._window(
            keys=[self._key(quota, now)], args=[quota.limit, wanted, int(day_end - now) + 60]
        )
        return int(granted), day_end - now

    async def _take(self, quota: Quota, count: int, now: float) -> float | None:
        """Spend `count` tokens of this quota; None when admitted, else seconds to wait."""
        lease = self._leases.setdefault(quota, _Lease())
        if now < lease.blocked_until:
            return lease.blocked_until - now
        if lease.tokens >= count:
            lease.tokens -= count
            return None
        cap = max(1, quota.limit // 100)
        wanted = count - lease.tokens + min(lease.size, cap)
        if time.monotonic() < self._unreachable_until:
            return None
        try:
            granted, wait = await self._reserve(quota, wanted, now)
        except _UNREACHABLE as e:
            log.warning("quota store unreachable (%s): admitting on trust for now", e)
            self._unreachable_until = time.monotonic() + _UNREACHABLE_RETRY_S
            return None
        lease.tokens += granted
        lease.size = min(cap, lease.size * 2)
        if lease.tokens >= count:
            lease.tokens -= count
            return None
        # Not enough left: keep the tokens for smaller items, refuse until more may exist.
        lease.blocked_until = now + max(wait, 1.0)
        lease.size = 1
        return lease.blocked_until - now

    def admit_locally(self, quotas: list[Quota], category: str, count: int = 1) -> bool:
        """Admit from the tokens already leased, when every applicable quota has enough:
        the common case, with no Redis round trip and no coroutine. False: ask `admit`."""
        now = time.time()
        leases = []
        for quota in quotas:
            if not quota.applies_to(category):
                continue
            lease = self._leases.get(quota)
            if lease is None or lease.tokens < count or now < lease.blocked_until:
                return False
            leases.append(lease)
        for lease in leases:
            lease.tokens -= count
        return True

    async def admit(self, quotas: list[Quota], category: str, count: int = 1) -> Refusal | None:
        """Admit `count` items of `category`, or say which quota refuses and for how long."""
        now = time.time()
        for quota in quotas:
            if not quota.applies_to(category):
                continue
            wait = await self._take(quota, count, now)
            if wait is not None:
                return Refusal(category, quota, max(1, math.ceil(wait)))
        return None


def rate_limits_header(refusals: list[Refusal]) -> str:
    """`X-Sentry-Rate-Limits`: retry_after:categories:scope:reason, one per quota, joined."""
    parts = []
    for refusal in refusals:
        categories = "" if refusal.quota.category == ALL else refusal.category
        parts.append(
            f"{refusal.retry_after_s}:{categories}:{refusal.quota.scope}:{refusal.quota.reason}"
        )
    return ", ".join(parts)
