"""Per-project AI budget in Redis: model calls per clock hour, tokens per UTC day.

A call is reserved before it is made (one counter increment, refused at the
limit) and its tokens are added once the answer reports them. Before a call
the token check uses an estimate (prompt size plus the answer cap), so one
large prompt cannot overshoot the day's allowance by much. Counters live under
`{redis_namespace}:ai:budget:` and expire a little after their window.

A reserved call is one analysis, whatever retries it took. Embedding requests
spend tokens but not calls: they are small, one per analyzed issue, and the
hourly limit is there to bound the expensive completions.
"""

from __future__ import annotations

import time

import msgspec
import redis

from core.project_config import AISettings
from workers.ai.errors import BudgetExceeded

HOUR_S = 3600
DAY_S = 86400

# Check both limits and take a call in one step, so concurrent workers cannot
# both take the last call of the hour.
_RESERVE = """
local calls = tonumber(redis.call('GET', KEYS[1]) or '0')
local tokens = tonumber(redis.call('GET', KEYS[2]) or '0')
local take = tonumber(ARGV[5])
if take > 0 and calls >= tonumber(ARGV[1]) then return {1, calls, tokens} end
if tokens + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {2, calls, tokens} end
if take == 0 then return {0, calls, tokens} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {0, calls + 1, tokens}
"""


class BudgetUsage(msgspec.Struct, frozen=True, kw_only=True):
    calls_this_hour: int
    tokens_today: int


class Budget:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._redis = client
        self._namespace = namespace
        self._reserve = client.register_script(_RESERVE)

    def _keys(self, project_id: int, now: float) -> tuple[str, str]:
        prefix = f"{self._namespace}:ai:budget:{project_id}"
        return f"{prefix}:calls:{int(now // HOUR_S)}", f"{prefix}:tokens:{int(now // DAY_S)}"

    def reserve_call(
        self,
        project_id: int,
        ai: AISettings,
        *,
        estimated_tokens: int,
        count_call: bool = True,
        now: float | None = None,
    ) -> BudgetUsage:
        """Take one call from this hour's allowance (unless `count_call` is false) after
        checking that today's tokens allow `estimated_tokens` more, or raise BudgetExceeded."""
        now = time.time() if now is None else now
        calls_key, tokens_key = self._keys(project_id, now)
        refused, calls, tokens = self._reserve(
            keys=[calls_key, tokens_key],
            args=[
                ai.calls_per_hour,
                ai.tokens_per_day,
                estimated_tokens,
                2 * HOUR_S,
                1 if count_call else 0,
            ],
        )
        if refused == 1:
            raise BudgetExceeded(
                f"project {project_id} used its {ai.calls_per_hour} AI calls this hour",
                retry_at=(now // HOUR_S + 1) * HOUR_S,
            )
        if refused == 2:
            raise BudgetExceeded(
                f"project {project_id} used {tokens} of its {ai.tokens_per_day} AI tokens today "
                f"and the next call may need about {estimated_tokens}",
                retry_at=(now // DAY_S + 1) * DAY_S,
            )
        return BudgetUsage(calls_this_hour=int(calls), tokens_today=int(tokens))

    def record_tokens(self, project_id: int, tokens: int, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        _, tokens_key = self._keys(project_id, now)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incrby(tokens_key, max(0, tokens))
        pipe.expire(tokens_key, 2 * DAY_S)
        pipe.execute()

    def usage(self, project_id: int, *, now: float | None = None) -> BudgetUsage:
        now = time.time() if now is None else now
        calls, tokens = self._redis.mget(list(self._keys(project_id, now)))
        return BudgetUsage(calls_this_hour=int(calls or 0), tokens_today=int(tokens or 0))
