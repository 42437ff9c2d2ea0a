"""The whole run, derived from the options alone: releases, catalogue, days, incidents,
epochs and units. Worker processes rebuild it from the same options and get the
same plan; each part has its own RNG stream, so changing the number of root
causes does not move the timeline, and vice versa.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from seed.catalogue import AIMessages, build_catalogue
from seed.model import RootCause
from seed.projects import SeedProject, select_projects
from seed.releases import Release, release_at, release_schedule
from seed.timeline import DAY_S, UNIT_EVENTS, Day, Unit, make_units, plan_days

# Categories that make plausible outages and bad deploys (the spike days' bursts).
INCIDENT_CATEGORIES = frozenset(
    {
        "connection_lost",
        "pool_exhausted",
        "upstream_timeout",
        "http_5xx",
        "connection_refused",
        "deadlock",
        "slow_query",
        "chunk_load",
        "type_error",
        "null_pointer",
    }
)


def today_utc() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


@dataclass(frozen=True)
class SeedOptions:
    events: int = 20_000
    days: int = 30
    root_causes: int = 300
    seed: int = 1
    # The period ends here (exclusive): midnight UTC today by default.
    end: datetime = field(default_factory=today_utc)
    projects: tuple[str, ...] = ()
    # AI-written messages per (family, platform), resolved before planning (`--ai`).
    ai_messages: AIMessages | None = None
    # Events per generation unit (a unit is generated from its own RNG).
    unit_events: int = UNIT_EVENTS
    # Browser errors sent minified, with their releases' source maps uploaded.
    sourcemaps: bool = False

    @property
    def end_ts(self) -> float:
        return self.end.timestamp()

    @property
    def run_id(self) -> str:
        """Names this exact run: the same options give the same id (and the same events)."""
        ai = msgspec.json.encode(
            sorted(
                ((k[0], k[1], [m.message for m in v]) for k, v in (self.ai_messages or {}).items())
            )
        )
        parts = (
            self.seed,
            self.events,
            self.days,
            self.root_causes,
            self.end_ts,
            self.projects,
            self.unit_events,
            *(("sourcemaps",) if self.sourcemaps else ()),
        )
        text = "/".join(map(str, parts))
        return hashlib.sha256(text.encode() + ai).hexdigest()[:12]


@dataclass(frozen=True)
class Epoch:
    """A stretch of time with no deploy: the live root causes don't change within it."""

    start: float
    causes: tuple[RootCause, ...]
    cum_weights: tuple[float, ...]


class SeedPlan:
    def __init__(self, options: SeedOptions) -> None:
        self.options = options
        self.run_id = options.run_id
        seed = options.seed
        self.projects: tuple[SeedProject, ...] = select_projects(list(options.projects))
        self.end = options.end_ts
        self.start = self.end - options.days * DAY_S
        self.releases: dict[str, list[Release]] = {
            p.key: release_schedule(
                random.Random(f"releases/{seed}/{p.key}"), p, self.start, self.end
            )
            for p in self.projects
        }
        self._release_starts = {k: [r.deployed_at for r in v] for k, v in self.releases.items()}
        self.catalogue: list[RootCause] = build_catalogue(
            random.Random(f"catalogue/{seed}"),
            self.projects,
            {k: len(v) for k, v in self.releases.items()},
            options.root_causes,
            options.ai_messages,
        )
        self.days: list[Day] = plan_days(
            random.Random(f"timeline/{seed}"), options.days, self.end, options.events
        )
        self.epochs = self._epochs()
        self._epoch_starts = [e.start for e in self.epochs]
        self.incidents = self._incidents(random.Random(f"incidents/{seed}"))
        self.units: list[Unit] = make_units(self.days, options.unit_events)

    def release_at(self, project: str, moment: float) -> Release:
        return release_at(self.releases[project], moment, self._release_starts[project])

    def _live(self, moment: float) -> list[RootCause]:
        return [
            rc
            for rc in self.catalogue
            if rc.lifecycle.state(self.release_at(rc.project, moment).index) != "off"
        ]

    def _epochs(self) -> list[Epoch]:
        deploys = {r.deployed_at for rs in self.releases.values() for r in rs}
        starts = sorted({self.start} | {t for t in deploys if self.start < t < self.end})
        epochs = []
        for start in starts:
            causes = tuple(self._live(start))
            cum = tuple(itertools.accumulate(rc.weight for rc in causes))
            epochs.append(Epoch(start, causes, cum))
        return epochs

    def epoch_index(self, moment: float) -> int:
        return max(0, bisect.bisect_right(self._epoch_starts, moment) - 1)

    def _incidents(self, rng: random.Random) -> dict[int, tuple[RootCause, ...]]:
        """For each spike day, the 1-3 error root causes behind its burst."""
        out = {}
        for day in self.days:
            if not day.spike:
                continue
            late = {rc.id for rc in self._live(day.start + DAY_S - 1)}
            candidates = [
                rc for rc in self._live(day.start) if rc.id in late and rc.kind == "error"
            ]
            preferred = [rc for rc in candidates if rc.category in INCIDENT_CATEGORIES]
            pool = preferred or candidates
            count = min(len(pool), rng.choice((1, 1, 2, 3)))
            out[day.index] = tuple(rng.sample(pool, count))
        return out
