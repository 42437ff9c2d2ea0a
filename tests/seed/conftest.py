"""Shared seed runs: planning and generating cost a second or two, so tests share them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seed.generate import Generator, SeedEvent
from seed.plan import SeedOptions, SeedPlan
from seed.pools import Pools

# A fixed end: pure generation tests do not depend on today's date.
FIXED_END = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def pools() -> Pools:
    return Pools(1)


@pytest.fixture(scope="session")
def default_plan() -> SeedPlan:
    """The default catalogue and period with a modest event count."""
    return SeedPlan(SeedOptions(events=20_000, seed=1, end=FIXED_END))


@pytest.fixture(scope="session")
def default_events(default_plan: SeedPlan, pools: Pools) -> list[SeedEvent]:
    return list(Generator(default_plan, pools).events())
