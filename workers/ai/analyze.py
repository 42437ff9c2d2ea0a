"""analyze_group: one issue -> similar issues (always) and a model's analysis (when possible).

    facts      the group (PostgreSQL) and its latest events (ClickHouse): two queries
    similarity features (+ an embedding when the endpoint has them) -> neighbours,
               merge suggestions; runs with or without a model
    analysis   not configured? -> say so, store nothing
               too few events for a new issue? -> retry later
               cached for (prompt version, model, input key)? -> done, no request
               another worker on it? -> leave it to that worker
               budget spent? -> retry when the window resets
               ask the model -> decode -> store on error_groups.ai_summary
Every model failure is recorded (`ai_calls`, `ai_pending_analyses`) and
returned as an outcome; only infrastructure errors raise, for Dramatiq to retry.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import msgspec

from core.pg import ai as ai_results
from core.storage.postgres import DbConnection
from workers.ai.budget import Budget
from workers.ai.errors import AIError, BudgetExceeded, MalformedAnswer, ProviderError
from workers.ai.facts import GroupFacts, load_facts
from workers.ai.find_similar import find_similar
from workers.ai.prompt import PROMPT_VERSION, Prompt, build_prompt, estimated_tokens
from workers.ai.provider import (
    DEFAULT_OPTIONS,
    AIOptions,
    ChatResult,
    Endpoint,
    NotConfigured,
    Provider,
    resolve_endpoint,
)
from workers.ai.schema import IssueAnalysis, decode_analysis
from workers.ai.similar import MergeSuggestion, SimilarIssue
from workers.ai.store import (
    StoredAnalysis,
    parse_stored,
    record_call,
    record_pending,
    save_analysis,
)
from workers.context import WorkerContext

log = logging.getLogger(__name__)

REASONS = ("new", "regression", "retry", "manual")
_NOTEWORTHY = frozenset({"analyzed", "failed", "budget_exhausted"})


class AnalysisOutcome(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    # analyzed | cached | not_configured | disabled | waiting_for_events | busy
    # | budget_exhausted | failed | missing | merged
    status: str
    message: str = ""
    analysis: IssueAnalysis | None = None
    failure_kind: str = ""
    attempts: int = 0
    similar: list[SimilarIssue] = []
    merge_suggestions: list[MergeSuggestion] = []
    # The project lets suggestions be applied without a person (ai.auto_merge).
    auto_merge: bool = False


def analyze_group(
    ctx: WorkerContext,
    group_id: int,
    *,
    reason: str,
    options: AIOptions = DEFAULT_OPTIONS,
    force: bool = False,
) -> AnalysisOutcome:
    """Analyze one issue; `force` skips the cache and the minimum event count."""
    if reason not in REASONS:
        raise ValueError(f"unknown analysis reason {reason!r}; expected one of {REASONS}")
    facts = load_facts(ctx, group_id)
    if facts is None:
        return AnalysisOutcome(group_id=group_id, status="missing", message="no such issue")
    if facts.group.merged_into is not None:
        return AnalysisOutcome(
            group_id=group_id, status="merged", message=f"merged into {facts.group.merged_into}"
        )
    endpoint = resolve_endpoint(ctx.settings, facts.group.config.ai, options)
    if isinstance(endpoint, NotConfigured):
        similarity = find_similar(ctx, facts, None)
        outcome = AnalysisOutcome(
            group_id=group_id, status=endpoint.status, message=endpoint.message
        )
    else:
        with Provider(endpoint, options) as provider:
            similarity = find_similar(ctx, facts, provider)
            outcome = _model_analysis(ctx, facts, provider, reason=reason, force=force)
    # Every new issue passes here: only outcomes that cost or fail something are worth INFO.
    level = logging.INFO if outcome.status in _NOTEWORTHY else logging.DEBUG
    log.log(level, "issue %s (%s): %s %s", group_id, reason, outcome.status, outcome.message)
    return msgspec.structs.replace(
        outcome,
        similar=similarity.similar,
        merge_suggestions=similarity.suggestions,
        auto_merge=facts.group.config.ai.auto_merge,
    )


def _budget(ctx: WorkerContext) -> Budget:
    return Budget(ctx.stack.redis, ctx.settings.redis_namespace)


def _is_cached(facts: GroupFacts, endpoint: Endpoint, prompt: Prompt) -> IssueAnalysis | None:
    stored = parse_stored(facts.group.ai_summary)
    if (
        stored is not None
        and stored.prompt_version == prompt.version
        and stored.model == endpoint.model
        and stored.input_key == prompt.input_key
    ):
        return stored.answer
    return None


def _model_analysis(
    ctx: WorkerContext, facts: GroupFacts, provider: Provider, *, reason: str, force: bool
) -> AnalysisOutcome:
    group, ai = facts.group, facts.group.config.ai
    kind = "waiting_for_events"
    if not force and reason == "new" and group.times_seen < ai.min_events:
        message = f"{group.times_seen} of {ai.min_events} events (ai.min_events) so far"
        return _pending(ctx, facts, reason, kind, message, status=kind)
    if not facts.events:
        # Grouped but not yet readable in ClickHouse: a prompt from the title alone is guesswork.
        message = "none of this issue's events is in ClickHouse yet"
        return _pending(ctx, facts, reason, kind, message, status=kind)
    prompt = build_prompt(facts)
    cached = None if force else _is_cached(facts, provider.endpoint, prompt)
    if cached is not None:
        with ctx.stack.pool.connection() as conn:
            ai_results.clear_pending(conn, group.id)
        return AnalysisOutcome(group_id=group.id, status="cached", analysis=cached)
    lock_timeout_s = provider.options.timeout_s * provider.options.max_attempts + 60
    lock = ctx.stack.redis.lock(
        f"{ctx.settings.redis_namespace}:ai:lock:{group.id}", timeout=lock_timeout_s
    )
    if not lock.acquire(blocking=False):
        return AnalysisOutcome(group_id=group.id, status="busy", message="being analyzed")
    try:
        return _ask_model(ctx, facts, provider, prompt, reason)
    finally:
        lock.release()


def _ask_model(
    ctx: WorkerContext, facts: GroupFacts, provider: Provider, prompt: Prompt, reason: str
) -> AnalysisOutcome:
    group = facts.group
    estimate = estimated_tokens(prompt, provider.options.max_answer_tokens)
    try:
        _budget(ctx).reserve_call(group.project_id, group.config.ai, estimated_tokens=estimate)
    except BudgetExceeded as e:
        return _pending(
            ctx, facts, reason, e.kind, str(e), status="budget_exhausted", retry_at=e.retry_at
        )
    try:
        result = provider.chat(prompt.system, prompt.user)
    except (ProviderError, MalformedAnswer) as e:
        return _failed(ctx, facts, provider, reason, e, result=None)
    _budget(ctx).record_tokens(group.project_id, result.prompt_tokens + result.completion_tokens)
    try:
        answer = decode_analysis(result.text)
    except MalformedAnswer as e:
        if result.finish_reason == "length":
            e = MalformedAnswer(f"{e} (cut at max_answer_tokens)")
        return _failed(ctx, facts, provider, reason, e, result=result)
    stored = StoredAnalysis(
        answer=answer,
        model=provider.endpoint.model,
        served_model=result.model,
        prompt_version=PROMPT_VERSION,
        input_key=prompt.input_key,
        reason=reason,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        latency_ms=round(result.latency_ms, 1),
        attempts=result.attempts,
        analyzed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    with ctx.stack.pool.connection() as conn, conn.transaction():
        save_analysis(conn, group.id, stored)
        _record_chat(conn, facts, provider, status="ok", attempts=result.attempts, result=result)
    return AnalysisOutcome(
        group_id=group.id, status="analyzed", analysis=answer, attempts=result.attempts
    )


def _record_chat(
    conn: DbConnection,
    facts: GroupFacts,
    provider: Provider,
    *,
    status: str,
    attempts: int,
    result: ChatResult | None,
) -> None:
    record_call(
        conn,
        project_id=facts.group.project_id,
        group_id=facts.group.id,
        purpose="analysis",
        model=provider.endpoint.model,
        status=status,
        attempts=attempts,
        prompt_version=PROMPT_VERSION,
        prompt_tokens=result.prompt_tokens if result else 0,
        completion_tokens=result.completion_tokens if result else 0,
        latency_ms=result.latency_ms if result else 0.0,
    )


def _failed(
    ctx: WorkerContext,
    facts: GroupFacts,
    provider: Provider,
    reason: str,
    error: AIError,
    *,
    result: ChatResult | None,
) -> AnalysisOutcome:
    attempts = result.attempts if result else getattr(error, "attempts", 1)
    retry_after = getattr(error, "retry_after_s", None)
    with ctx.stack.pool.connection() as conn, conn.transaction():
        _record_chat(conn, facts, provider, status=error.kind, attempts=attempts, result=result)
    outcome = _pending(
        ctx,
        facts,
        reason,
        error.kind,
        str(error),
        status="failed",
        retry_at=time.time() + retry_after if retry_after else None,
    )
    log.warning("analysis of issue %s failed (%s): %s", facts.group.id, error.kind, error)
    return msgspec.structs.replace(outcome, attempts=attempts)


def _pending(
    ctx: WorkerContext,
    facts: GroupFacts,
    reason: str,
    kind: str,
    message: str,
    *,
    status: str,
    retry_at: float | None = None,
) -> AnalysisOutcome:
    with ctx.stack.pool.connection() as conn, conn.transaction():
        record_pending(
            conn,
            group_id=facts.group.id,
            project_id=facts.group.project_id,
            reason=reason,
            kind=kind,
            detail=message,
            retry_at=retry_at,
        )
    return AnalysisOutcome(
        group_id=facts.group.id, status=status, message=message, failure_kind=kind
    )
