"""Each project's event volume per minute, measured across relay processes.

Requests only bump an in-memory counter. Once a second a background task adds the
counts to per-minute Redis counters shared by all relays and reads back, for the
projects this process serves, the current and previous minutes and the trailing
hour. Dynamic sampling reads the measured rate; spike protection compares the
current minute with the trailing baseline. Nothing here is on the request path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

_BASELINE_MINUTES = 60
_KEEP_S = 3 * 3600


@dataclass
class ProjectVolume:
    current: int = 0
    previous: int = 0
    # Mean events per minute over the trailing hour before the previous minute.
    baseline: float = 0.0


@dataclass
class VolumeTracker:
    redis: aioredis.Redis
    namespace: str
    _pending: Counter[int] = field(default_factory=Counter)
    _volumes: dict[int, ProjectVolume] = field(default_factory=dict)
    _minute: int = field(default_factory=lambda: int(time.time() // 60))

    def record(self, project_id: int, count: int) -> None:
        self._pending[project_id] += count
        volume = self._volumes.setdefault(project_id, ProjectVolume())
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._roll(minute)
        volume.current += count

    def _roll(self, minute: int) -> None:
        # A new minute began: until the next sync, what we counted is the previous minute.
        for volume in self._volumes.values():
            volume.previous, volume.current = volume.current, 0
        self._minute = minute

    def per_minute(self, project_id: int, now: float | None = None) -> float:
        """The measured rate: events over the last sixty seconds, estimated as this minute
        so far plus the part of the previous minute still inside the window (a sliding
        window). Extrapolating this minute alone would read a burst of a few hundred
        events in its first seconds as thousands a minute, and sample them away."""
        volume = self._volumes.get(project_id)
        if volume is None:
            return 0.0
        elapsed = (time.time() if now is None else now) % 60
        return volume.current + volume.previous * (60.0 - elapsed) / 60.0

    def get(self, project_id: int) -> ProjectVolume:
        return self._volumes.get(project_id, ProjectVolume())

    def _key(self, project_id: int, minute: int) -> str:
        return f"{self.namespace}:volume:{project_id}:{minute}"

    async def sync(self) -> None:
        minute = int(time.time() // 60)
        pending, self._pending = self._pending, Counter()
        pipe = self.redis.pipeline(transaction=False)
        for project_id, count in pending.items():
            pipe.incrby(self._key(project_id, minute), count)
            pipe.expire(self._key(project_id, minute), _KEEP_S)
        minutes = list(range(minute - _BASELINE_MINUTES - 1, minute + 1))
        projects = list(self._volumes)
        for project_id in projects:
            pipe.mget([self._key(project_id, m) for m in minutes])
        results = await pipe.execute()
        for project_id, values in zip(projects, results[len(pending) * 2 :], strict=True):
            counts = [int(v) if v is not None else 0 for v in values]
            history = counts[:-2]
            self._volumes[project_id] = ProjectVolume(
                current=counts[-1],
                previous=counts[-2],
                baseline=sum(history) / len(history) if history else 0.0,
            )
        self._minute = minute

    async def run(self, interval_s: float = 1.0) -> None:
        failing = False
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sync()
            except Exception as e:
                # Once per outage, not every second of it.
                if not failing:
                    log.warning("volume sync with Redis failed (%s); using local counts", e)
                failing = True
            else:
                if failing:
                    log.info("volume sync with Redis works again")
                failing = False
