"""Per request: which categories a project may send now, and how its events are sampled.

Assembles what is decided before the answer: quotas (per project and key, shared
through Redis) and spike protection (a project far above its trailing hour is capped);
and what the request hands on to the stage that processes its items after the answer
(`process`): the project's inbound filters and dynamic sampling's current rate.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from core.project_config import (
    FilterSettings,
    ProjectConfig,
    RateLimitSettings,
    ScrubbingSettings,
)
from relay.filters import any_enabled
from relay.quotas import Quota, QuotaLimiter, Refusal, quotas_for
from relay.sampling import sample_rate
from relay.scrub import DEFAULT_SCRUBBING
from relay.volume import VolumeTracker

# The request path waits on Redis for a quota lease at most this long (connect or answer);
# a Redis that stops answering is then treated as unreachable (see quotas).
REDIS_TIMEOUT_S = 1.0

# The data category of each item type that quotas count (Sentry's categories).
ITEM_CATEGORIES = {
    "event": "error",
    "security": "security",
    "transaction": "transaction",
    "attachment": "attachment",
    "session": "session",
    "sessions": "session",
}


def connect_policy_redis(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )


@dataclass(frozen=True)
class RequestPolicy:
    """What `ingest` decides with, and hands on to `process`, for one request."""

    refused: dict[str, Refusal] = field(default_factory=dict)
    filters: FilterSettings | None = None
    sample_rate: float = 1.0
    client_ip: str | None = None
    trace_id: str | None = None
    scrubbing: ScrubbingSettings = DEFAULT_SCRUBBING


@dataclass
class Policy:
    redis: aioredis.Redis
    namespace: str
    limiter: QuotaLimiter = field(init=False)
    volume: VolumeTracker = field(init=False)
    _quotas: dict[tuple[int, str, int], list[Quota]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limiter = QuotaLimiter(self.redis, self.namespace)
        self.volume = VolumeTracker(self.redis, self.namespace)

    def _quotas_for(
        self,
        project_id: int,
        public_key: str,
        config: ProjectConfig,
        key_limits: RateLimitSettings | None,
    ) -> list[Quota]:
        cache_key = (project_id, public_key, id(config) ^ id(key_limits))
        quotas = self._quotas.get(cache_key)
        if quotas is None:
            if len(self._quotas) > 10_000:
                self._quotas.clear()
            quotas = quotas_for(project_id, public_key, config.rate_limits, key_limits)
            self._quotas[cache_key] = quotas
        return quotas

    def _spike_refusal(self, project_id: int, config: ProjectConfig) -> Refusal | None:
        settings = config.spike_protection
        if not settings.enabled:
            return None
        measured = self.volume.get(project_id)
        if measured.baseline <= 0:
            return None  # no history yet: nothing to call a spike
        cap = max(settings.min_per_minute, settings.multiple * measured.baseline)
        if measured.current <= cap:
            return None
        retry_after = max(1, math.ceil(60 - time.time() % 60))
        quota = Quota(
            "project", str(project_id), "all", "minute", int(cap), reason_code="spike_protection"
        )
        return Refusal("all", quota, retry_after)

    async def refusals(
        self,
        project_id: int,
        public_key: str,
        config: ProjectConfig,
        key_limits: RateLimitSettings | None,
        categories: Counter[str],
    ) -> dict[str, Refusal]:
        """Categories of this request that may not be accepted now, with the reason."""
        refused: dict[str, Refusal] = {}
        spike = self._spike_refusal(project_id, config) if categories else None
        quotas = self._quotas_for(project_id, public_key, config, key_limits)
        for category, count in categories.items():
            if spike is not None and category in ("error", "transaction", "security"):
                refused[category] = Refusal(category, spike.quota, spike.retry_after_s)
                continue
            if not quotas or self.limiter.admit_locally(quotas, category, count):
                continue
            refusal = await self.limiter.admit(quotas, category, count)
            if refusal is not None:
                refused[category] = refusal
        return refused

    def for_request(
        self,
        project_id: int,
        config: ProjectConfig,
        refused: dict[str, Refusal],
        *,
        client_ip: str | None,
        trace_id: str | None,
    ) -> RequestPolicy:
        return RequestPolicy(
            refused=refused,
            filters=config.filters if any_enabled(config.filters) else None,
            sample_rate=sample_rate(config.sampling, self.volume.per_minute(project_id)),
            client_ip=client_ip,
            trace_id=trace_id,
            scrubbing=config.scrubbing,
        )
