"""The plan's temporal distribution, checked on the generated events themselves."""

from __future__ import annotations

import random
import statistics
from collections import Counter

from seed.timeline import (
    DAY_S,
    HOUR_PROFILE,
    SPIKE_MULTIPLIER,
    make_units,
    plan_days,
)

END = 1_790_000_000 - 1_790_000_000 % DAY_S


def _per_day(events, plan) -> list[int]:
    counts = Counter(int((e.timestamp - plan.start) // DAY_S) for e in events)
    return [counts[day] for day in range(plan.options.days)]


def test_every_event_falls_in_the_period_and_the_total_is_exact(default_plan, default_events):
    assert len(default_events) == default_plan.options.events
    assert all(default_plan.start <= e.timestamp < default_plan.end for e in default_events)
    stamps = [e.timestamp for e in default_events]
    assert stamps == sorted(stamps), "events come in time order"


def test_daily_totals_stay_within_the_plans_bounds(default_plan, default_events):
    per_day = _per_day(default_events, default_plan)
    spikes = {d.index for d in default_plan.days if d.spike}
    normal = [n for day, n in enumerate(per_day) if day not in spikes]
    # The daily base: total events over the sum of the days' weights.
    weights = sum(d.factor * d.multiplier for d in default_plan.days)
    base = default_plan.options.events / weights
    assert all(0.8 * base - 1 <= n <= 1.2 * base + 1 for n in normal), (base, normal)
    for day in spikes:
        plan_day = default_plan.days[day]
        ratio = per_day[day] / (base * plan_day.factor)
        assert SPIKE_MULTIPLIER[0] - 0.01 <= ratio <= SPIKE_MULTIPLIER[1] + 0.01
        # A spike is visible against the ordinary days around it.
        assert per_day[day] > 3 * statistics.median(normal)


def test_about_one_day_in_ten_is_a_spike():
    for days in (10, 30, 90, 365):
        plan = plan_days(random.Random(days), days, END, 100_000)
        spikes = sum(d.spike for d in plan)
        assert spikes == round(days * 0.1)
        assert all(
            SPIKE_MULTIPLIER[0] <= d.multiplier <= SPIKE_MULTIPLIER[1] for d in plan if d.spike
        )


def test_ordinary_days_follow_the_daily_cycle(default_plan, default_events):
    spikes = {d.index for d in default_plan.days if d.spike}
    hours = Counter(
        int((e.timestamp % DAY_S) // 3600)
        for e in default_events
        if int((e.timestamp - default_plan.start) // DAY_S) not in spikes
    )
    observed = [hours[h] for h in range(24)]
    correlation = statistics.correlation(observed, list(HOUR_PROFILE))
    assert correlation > 0.95, correlation
    # Quiet nights, busy afternoons (UTC).
    assert min(observed[2:5]) * 2.5 < max(observed[13:18])


def test_spike_days_are_bursts_of_a_few_incident_root_causes(default_plan, default_events):
    spike = next(d for d in default_plan.days if d.spike)
    incident_ids = {rc.id for rc in default_plan.incidents[spike.index]}
    on_day = [
        e for e in default_events if int((e.timestamp - default_plan.start) // DAY_S) == spike.index
    ]
    share = sum(e.root_cause.id in incident_ids for e in on_day) / len(on_day)
    assert share > 0.5, "most of a spike day's events come from its incident root causes"
    busy_hours = Counter(int((e.timestamp % DAY_S) // 3600) for e in on_day).most_common(6)
    assert sum(n for _, n in busy_hours) > 0.6 * len(on_day), "the burst lasts a few hours"


def test_units_cover_every_event_once_and_split_busy_hours():
    days = plan_days(random.Random(3), 30, END, 2_000_000)
    units = make_units(days, target=25_000)
    assert sum(u.events for u in units) == 2_000_000
    assert max(u.events for u in units) <= 25_000 + max(max(d.normal) for d in days)
    starts = [s.start for u in units for s in u.slices]
    assert starts == sorted(starts)
