"""The per-project budget on the machine's Redis: calls per hour, tokens per day."""

from __future__ import annotations

import pytest

from core.project_config import AISettings
from workers.ai.budget import DAY_S, HOUR_S, Budget
from workers.ai.errors import BudgetExceeded

# A fixed instant in the middle of an hour and of a day, so windows are predictable.
NOW = 1_750_000_000.0 - 1_750_000_000.0 % DAY_S + 10 * HOUR_S + 1200


def test_calls_are_refused_past_the_hourly_limit_until_the_next_hour(redis_client, redis_namespace):
    budget = Budget(redis_client, redis_namespace)
    ai = AISettings(calls_per_hour=2)
    budget.reserve_call(1, ai, estimated_tokens=10, now=NOW)
    assert budget.reserve_call(1, ai, estimated_tokens=10, now=NOW).calls_this_hour == 2
    with pytest.raises(BudgetExceeded, match="used its 2 AI calls this hour") as refused:
        budget.reserve_call(1, ai, estimated_tokens=10, now=NOW)
    assert refused.value.retry_at == NOW - NOW % HOUR_S + HOUR_S
    # Another project has its own allowance; the next hour starts afresh.
    budget.reserve_call(2, ai, estimated_tokens=10, now=NOW)
    budget.reserve_call(1, ai, estimated_tokens=10, now=refused.value.retry_at)
    assert budget.usage(1, now=NOW).calls_this_hour == 2


def test_tokens_are_counted_and_a_call_that_may_overshoot_the_day_is_refused(
    redis_client, redis_namespace
):
    budget = Budget(redis_client, redis_namespace)
    ai = AISettings(tokens_per_day=1000)
    budget.reserve_call(1, ai, estimated_tokens=900, now=NOW)
    budget.record_tokens(1, 700, now=NOW)
    assert budget.usage(1, now=NOW).tokens_today == 700
    budget.reserve_call(1, ai, estimated_tokens=300, now=NOW)
    with pytest.raises(BudgetExceeded, match="used 700 of its 1000 AI tokens") as refused:
        budget.reserve_call(1, ai, estimated_tokens=301, now=NOW)
    assert refused.value.retry_at == NOW - NOW % DAY_S + DAY_S
    assert budget.usage(1, now=NOW + DAY_S).tokens_today == 0


def test_a_refused_call_takes_nothing_and_token_only_checks_take_no_call(
    redis_client, redis_namespace
):
    budget = Budget(redis_client, redis_namespace)
    ai = AISettings(calls_per_hour=1, tokens_per_day=100)
    with pytest.raises(BudgetExceeded):
        budget.reserve_call(1, ai, estimated_tokens=500, now=NOW)
    budget.reserve_call(1, ai, estimated_tokens=5, count_call=False, now=NOW)
    assert budget.usage(1, now=NOW).calls_this_hour == 0
    budget.reserve_call(1, ai, estimated_tokens=5, now=NOW)
    assert budget.usage(1, now=NOW).calls_this_hour == 1


def test_counters_live_under_the_namespace_and_expire(redis_client, redis_namespace):
    budget = Budget(redis_client, redis_namespace)
    budget.reserve_call(1, AISettings(), estimated_tokens=1, now=NOW)
    budget.record_tokens(1, 10, now=NOW)
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=f"{redis_namespace}:*"))
    assert keys == [
        f"{redis_namespace}:ai:budget:1:calls:{int(NOW // HOUR_S)}",
        f"{redis_namespace}:ai:budget:1:tokens:{int(NOW // DAY_S)}",
    ]
    assert all(0 < redis_client.ttl(k) <= 2 * DAY_S for k in keys)
