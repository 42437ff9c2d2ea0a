"""A unit of the timeline -> its events, in time order, from the unit's own RNG.

Normal traffic draws root causes by weight among those live at each moment
(the epoch); incident traffic on spike days draws from the day's incident root
causes, the first one dominating.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from seed.model import RootCause
from seed.plan import SeedPlan
from seed.pools import Pools
from seed.render import Rendered, Renderer
from seed.sourcemaps import js_bundles
from seed.timeline import Slice, Unit

_INCIDENT_WEIGHTS = (0.6, 0.3, 0.1)


@dataclass(slots=True)
class SeedEvent:
    project: str
    root_cause: RootCause
    timestamp: float
    release: str
    regression: bool
    rendered: Rendered


class Generator:
    """Turns units into events; holds the Faker pools and the shape cache of one process."""

    def __init__(self, plan: SeedPlan, pools: Pools | None = None) -> None:
        self.plan = plan
        self.pools = pools or Pools(plan.options.seed)
        self.renderer = Renderer(plan.projects, self.pools, plan.run_id, js_bundles(plan))

    def _normal(self, rng: random.Random, piece: Slice) -> list[tuple[float, RootCause]]:
        times = sorted(rng.uniform(piece.start, piece.end) for _ in range(piece.normal))
        out: list[tuple[float, RootCause]] = []
        position = 0
        while position < len(times):
            index = self.plan.epoch_index(times[position])
            epoch = self.plan.epochs[index]
            stop = position
            limit = self.plan.epochs[index + 1].start if index + 1 < len(self.plan.epochs) else None
            while stop < len(times) and (limit is None or times[stop] < limit):
                stop += 1
            causes = rng.choices(epoch.causes, cum_weights=epoch.cum_weights, k=stop - position)
            out.extend(zip(times[position:stop], causes, strict=True))
            position = stop
        return out

    def _incident(self, rng: random.Random, piece: Slice) -> list[tuple[float, RootCause]]:
        if not piece.incident:
            return []
        causes = self.plan.incidents.get(piece.day, ())
        if not causes:
            return []
        weights = _INCIDENT_WEIGHTS[: len(causes)]
        picked = rng.choices(causes, weights, k=piece.incident)
        return [(rng.uniform(piece.start, piece.end), rc) for rc in picked]

    def moments(self, unit: Unit) -> tuple[random.Random, list[tuple[float, RootCause]]]:
        rng = random.Random(unit.seed_key(self.plan.options.seed))
        moments: list[tuple[float, RootCause]] = []
        for piece in unit.slices:
            moments.extend(self._normal(rng, piece))
            moments.extend(self._incident(rng, piece))
        moments.sort(key=lambda item: item[0])
        return rng, moments

    def unit_events(self, unit: Unit) -> Iterator[SeedEvent]:
        rng, moments = self.moments(unit)
        plan = self.plan
        render = self.renderer.render
        for moment, rc in moments:
            release = plan.release_at(rc.project, moment)
            regression = rc.lifecycle.state(release.index) == "regressed"
            rendered = render(rc, moment, release, regression, rng)
            yield SeedEvent(rc.project, rc, moment, release.version, regression, rendered)

    def events(self) -> Iterator[SeedEvent]:
        for unit in self.plan.units:
            yield from self.unit_events(unit)
