"""When events happen: the plan's temporal distribution, made exact.

- Each day gets a base volume drawn from base x U(0.8, 1.2).
- About 10% of the days are spike days (deploys gone wrong, outages): the day
  is multiplied by U(5, 20). The extra events belong to a few incident root
  causes and arrive in a burst of a few hours.
- Within a day, traffic follows a daily cycle (quiet at night UTC, busiest in
  the afternoon).
- Day totals are scaled so that the whole period holds exactly `--events`.

The period is split into units (runs of hours, ~25,000 events each) that are
generated independently from their own RNG, so the result does not depend on
how many processes generate it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DAY_S = 86_400
HOUR_S = 3_600
DAILY_BASE_SPREAD = 0.2
SPIKE_DAY_RATE = 0.1
SPIKE_MULTIPLIER = (5.0, 20.0)
UNIT_EVENTS = 25_000
# Relative traffic per hour of the day (UTC): trough at 03:00, peak at 15:00.
HOUR_PROFILE = tuple(1.0 + 0.6 * math.sin(2 * math.pi * (hour - 9) / 24) for hour in range(24))


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights`; the parts sum to `total` exactly."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    counts = [int(x) for x in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


@dataclass(frozen=True)
class Day:
    index: int
    start: float
    # U(0.8, 1.2) around the base, and the spike multiplier (1.0 on normal days).
    factor: float
    multiplier: float
    normal: tuple[int, ...]  # events per hour following the daily cycle
    incident: tuple[int, ...]  # events per hour of the incident burst (spike days)

    @property
    def total(self) -> int:
        return sum(self.normal) + sum(self.incident)

    @property
    def spike(self) -> bool:
        return self.multiplier > 1.0


def _burst(rng: random.Random, total: int) -> list[int]:
    hours = rng.randint(2, 6)
    start = rng.randint(0, 24 - hours)
    shape = [0.0] * 24
    for offset in range(hours):
        # A sharp rise and a slower decay, like an outage and its recovery.
        shape[start + offset] = 1.0 / (1 + offset) if offset else 0.7
    return allocate(total, shape)


def plan_days(rng: random.Random, days: int, end: float, events: int) -> list[Day]:
    factors = [rng.uniform(1 - DAILY_BASE_SPREAD, 1 + DAILY_BASE_SPREAD) for _ in range(days)]
    spikes = round(days * SPIKE_DAY_RATE) if days >= 5 else 0
    multipliers = [1.0] * days
    for day in rng.sample(range(days), spikes):
        multipliers[day] = rng.uniform(*SPIKE_MULTIPLIER)
    totals = allocate(events, [f * m for f, m in zip(factors, multipliers, strict=True)])
    out = []
    for index in range(days):
        total = totals[index]
        normal_total = round(total / multipliers[index])
        # Hour-to-hour noise on top of the cycle, as real traffic has.
        cycle = [w * rng.uniform(0.9, 1.1) for w in HOUR_PROFILE]
        normal = allocate(normal_total, cycle)
        incident = _burst(rng, total - normal_total) if multipliers[index] > 1 else [0] * 24
        start = end - (days - index) * DAY_S
        out.append(
            Day(index, start, factors[index], multipliers[index], tuple(normal), tuple(incident))
        )
    return out


@dataclass(frozen=True)
class Slice:
    """A stretch of one hour (the whole hour unless it was split) and its event counts."""

    day: int
    start: float
    end: float
    normal: int
    incident: int


@dataclass(frozen=True)
class Unit:
    index: int
    slices: tuple[Slice, ...]

    @property
    def events(self) -> int:
        return sum(s.normal + s.incident for s in self.slices)

    def seed_key(self, seed: int) -> str:
        first = self.slices[0]
        return f"unit/{seed}/{first.start:.0f}"


def _hour_slices(day: Day, hour: int, target: int) -> list[Slice]:
    normal, incident = day.normal[hour], day.incident[hour]
    parts = max(1, math.ceil((normal + incident) / target))
    start = day.start + hour * HOUR_S
    width = HOUR_S / parts
    normals, incidents = allocate(normal, [1.0] * parts), allocate(incident, [1.0] * parts)
    return [
        Slice(day.index, start + p * width, start + (p + 1) * width, normals[p], incidents[p])
        for p in range(parts)
    ]


def make_units(days: list[Day], target: int = UNIT_EVENTS) -> list[Unit]:
    """Consecutive slices grouped until a unit holds about `target` events."""
    units: list[Unit] = []
    pending: list[Slice] = []
    size = 0
    for day in days:
        for hour in range(24):
            for piece in _hour_slices(day, hour, target):
                if pending and size + piece.normal + piece.incident > target:
                    units.append(Unit(len(units), tuple(pending)))
                    pending, size = [], 0
                pending.append(piece)
                size += piece.normal + piece.incident
    if pending:
        units.append(Unit(len(units), tuple(pending)))
    return units
