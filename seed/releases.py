"""Each project's releases over the period: one live at the start, then deploys.

Deploys happen every few days (the project's cadence), in working hours. Release
names follow each team's habit: semantic versions for the web, API and billing
services, a date and commit for the Django backend.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from seed.projects import SeedProject

DAY_S = 86_400.0


@dataclass(frozen=True)
class Release:
    index: int
    version: str
    deployed_at: float


class _Versions:
    def __init__(self, rng: random.Random, project: SeedProject) -> None:
        self.rng = rng
        self.project = project
        self.major = {"web": 4, "api": 2, "billing": 1}.get(project.key, 1)
        self.minor = rng.randint(8, 30)
        self.patch = 0

    def next(self, deployed_at: float) -> str:
        if self.project.key == "backend":
            day = datetime.fromtimestamp(deployed_at, UTC).strftime("%Y.%m.%d")
            return f"{self.project.slug}@{day}-{self.rng.getrandbits(28):07x}"
        if self.rng.random() < 0.25:
            self.patch += 1
        else:
            self.minor, self.patch = self.minor + 1, 0
        return f"{self.project.slug}@{self.major}.{self.minor}.{self.patch}"


def release_schedule(
    rng: random.Random, project: SeedProject, start: float, end: float
) -> list[Release]:
    versions = _Versions(rng, project)
    first = start - rng.uniform(0.5, 4.0) * DAY_S
    releases = [Release(0, versions.next(first), first)]
    moment = start
    low, high = project.deploy_every_days
    while True:
        moment += rng.uniform(low, high) * DAY_S
        # Teams deploy in working hours (UTC here).
        deployed_at = moment - moment % DAY_S + rng.uniform(8.0, 17.0) * 3600
        if deployed_at >= end:
            return releases
        releases.append(Release(len(releases), versions.next(deployed_at), deployed_at))


def release_at(
    releases: list[Release], moment: float, starts: list[float] | None = None
) -> Release:
    """The release live at `moment` (pass `starts`, the deploy times, to skip rebuilding it)."""
    starts = starts if starts is not None else [r.deployed_at for r in releases]
    return releases[max(0, bisect.bisect_right(starts, moment) - 1)]
