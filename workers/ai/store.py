"""PostgreSQL side of the analysis: answers on the group, pending retries, the call ledger.

Retry policy for an analysis that did not complete (`next_attempt_time`):
  budget              when the budget window resets; never given up
  waiting_for_events  10 min, doubling, given up after MAX_FAILURES (about 5 hours)
  anything else       5 min, doubling (capped at 6 h), given up after MAX_FAILURES;
                      never sooner than a Retry-After the endpoint sent
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.pg import ai
from core.storage.postgres import DbConnection
from workers.ai.schema import IssueAnalysis

MAX_FAILURES = 6
_BACKOFF_S = {"waiting_for_events": 600.0}
_DEFAULT_BACKOFF_S = 300.0
_MAX_BACKOFF_S = 6 * 3600.0
# A claimed retry is not handed out again for this long (the actor may still be queued).
CLAIM_LEASE_S = 900.0


class StoredAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    """`error_groups.ai_summary`: the answer and where it came from."""

    answer: IssueAnalysis
    # Always "model": nothing else writes here, so a reader can trust it is an AI answer.
    source: str = "model"
    # The model asked for (the cache key) and the one the endpoint says answered.
    model: str
    served_model: str = ""
    prompt_version: str
    input_key: str
    reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    attempts: int
    analyzed_at: str


class PendingAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    project_id: int
    reason: str
    kind: str
    failures: int


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_stored(document: dict[str, Any] | None) -> StoredAnalysis | None:
    if not document:
        return None
    try:
        return msgspec.convert(document, StoredAnalysis)
    except msgspec.ValidationError:
        return None  # written by an older layout: treated as absent, re-analyzed


def save_analysis(conn: DbConnection, group_id: int, stored: StoredAnalysis) -> None:
    ai.save_summary(conn, group_id, msgspec.to_builtins(stored))


def next_attempt_time(
    kind: str, failures: int, *, now: float, retry_at: float | None = None
) -> float | None:
    """When to try again after `failures` consecutive failures, or None to give up."""
    if kind == "budget":
        return retry_at if retry_at is not None else now + _DEFAULT_BACKOFF_S
    if failures >= MAX_FAILURES:
        return None
    base = _BACKOFF_S.get(kind, _DEFAULT_BACKOFF_S)
    delay = min(base * 2 ** (failures - 1), _MAX_BACKOFF_S)
    return max(now + delay, retry_at or 0.0)


def record_pending(
    conn: DbConnection,
    *,
    group_id: int,
    project_id: int,
    reason: str,
    kind: str,
    detail: str,
    retry_at: float | None = None,
    now: float | None = None,
) -> PendingAnalysis:
    """Record (or count another) incomplete analysis and schedule its retry."""
    now = time.time() if now is None else now
    failures = ai.pending_failures(conn, group_id) + 1
    next_at = next_attempt_time(kind, failures, now=now, retry_at=retry_at)
    ai.save_pending(
        conn,
        group_id=group_id,
        project_id=project_id,
        reason=reason,
        kind=kind,
        detail=detail[:1000],
        failures=failures,
        failed_at=_ts(now),
        next_attempt_at=_ts(next_at) if next_at is not None else None,
    )
    return PendingAnalysis(
        group_id=group_id, project_id=project_id, reason=reason, kind=kind, failures=failures
    )


def claim_due_analyses(
    conn: DbConnection, *, limit: int = 100, now: float | None = None
) -> list[PendingAnalysis]:
    """Pending analyses whose time has come, leased so a second scan does not repeat them."""
    now = time.time() if now is None else now
    rows = ai.claim_due(conn, now=_ts(now), lease_until=_ts(now + CLAIM_LEASE_S), limit=limit)
    return sorted((PendingAnalysis(**row) for row in rows), key=lambda pending: pending.group_id)


def record_call(
    conn: DbConnection,
    *,
    project_id: int,
    group_id: int | None,
    purpose: str,
    model: str,
    status: str,
    attempts: int = 1,
    prompt_version: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    latency_ms: float = 0.0,
) -> None:
    ai.record_call(
        conn,
        project_id=project_id,
        group_id=group_id,
        purpose=purpose,
        model=model,
        status=status,
        attempts=attempts,
        prompt_version=prompt_version,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
    )
