"""Merging issues, by a person or by an accepted AI suggestion, with the cache kept right."""

from __future__ import annotations

import contextlib

from core.runtime import Stack
from workers.assign import cache_key
from workers.lifecycle import LifecycleError, merge


def merge_issues(stack: Stack, target_id: int, source_ids: list[int]) -> int:
    """Merge in one transaction, then drop the cached hash lookups that moved.

    Returns how many hashes now lead to the target."""
    with stack.pool.connection() as conn, conn.transaction():
        moved = merge(conn, target_id, source_ids)
    if moved:
        # A cached hash -> group lookup would keep sending events to the old issue.
        stack.redis.delete(*(cache_key(stack.settings.redis_namespace, key) for key in moved))
    return len(moved)


def decide_suggestion(stack: Stack, suggestion_id: int, *, accept: bool, decided_by: str):
    """Record the decision on a suggested merge; an accepted one is merged now."""
    from workers.ai import decide_merge_suggestion

    with stack.pool.connection() as conn, conn.transaction():
        suggestion = decide_merge_suggestion(
            conn, suggestion_id, accept=accept, decided_by=decided_by
        )
    if accept:
        # Merged some other way meanwhile: the decision stands, there is nothing to move.
        with contextlib.suppress(LifecycleError):
            merge_issues(stack, suggestion.target_group_id, [suggestion.source_group_id])
    return suggestion
