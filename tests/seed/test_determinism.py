"""Same options, same bytes: a run is a function of --seed, --end and the sizes."""

from __future__ import annotations

from dataclasses import replace

import msgspec

from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan
from seed.pools import Pools
from tests.seed.conftest import FIXED_END

OPTIONS = SeedOptions(events=3_000, days=10, root_causes=80, seed=11, end=FIXED_END)


def _payloads(options: SeedOptions, pools: Pools) -> list[bytes]:
    generator = Generator(SeedPlan(options), pools)
    return [msgspec.json.encode(e.rendered.payload) for e in generator.events()]


def test_the_same_options_give_byte_identical_events():
    # Fresh Faker pools each time: they are seeded too.
    first = _payloads(OPTIONS, Pools(OPTIONS.seed))
    second = _payloads(OPTIONS, Pools(OPTIONS.seed))
    assert len(first) == OPTIONS.events
    assert first == second
    assert OPTIONS.run_id == replace(OPTIONS).run_id


def test_another_seed_or_end_gives_other_events(pools):
    base = _payloads(OPTIONS, pools)
    assert _payloads(replace(OPTIONS, seed=12), pools) != base
    later = replace(OPTIONS, end=OPTIONS.end.replace(day=2))
    assert later.run_id != OPTIONS.run_id
    assert _payloads(later, pools) != base


def test_a_unit_generated_alone_equals_the_same_unit_in_a_full_run(pools):
    """Worker processes generate units independently: the split must not change them."""
    options = replace(OPTIONS, unit_events=500)
    plan = SeedPlan(options)
    assert len(plan.units) >= 5
    full = Generator(plan, pools)
    expected = []
    for unit in plan.units[:5]:
        expected.append([msgspec.json.encode(e.rendered.payload) for e in full.unit_events(unit)])
    alone = Generator(SeedPlan(options), pools)
    unit = plan.units[4]
    assert [msgspec.json.encode(e.rendered.payload) for e in alone.unit_events(unit)] == expected[4]
