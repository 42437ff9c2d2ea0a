"""analyze_group end to end: real grouping, PostgreSQL, chdb, Redis and a real OpenAI-protocol
server answering the real `openai` client."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import msgspec
import pytest

from tests.ai.conftest import FAST, MODEL
from tests.ai.factories import SECRETS, SEED_LABELS, ingest, make_project, python_error
from tests.support.openai_server import (
    CHAT_PATH,
    EMBEDDINGS_PATH,
    chat_reply,
    error_reply,
    rate_limited,
    slow,
)
from workers.ai.analyze import analyze_group
from workers.ai.budget import DAY_S, HOUR_S, Budget
from workers.ai.prompt import PROMPT_VERSION
from workers.ai.store import MAX_FAILURES, claim_due_analyses

ANSWER = {
    "summary": "KeyError in shop.cart in load_cart: carts saved without items break checkout.",
    "likely_cause": "Carts written before shop@1.4.0 have no 'items' key.",
    "suggested_fix": "In shop/cart.py load_cart use row.get('items', []) and backfill old carts.",
    "severity": "high",
    "severity_reason": "Checkout fails for every affected user.",
    "category": "code",
}
GOOD = chat_reply(json.dumps(ANSWER), completion_tokens=80)


def one_issue(ctx, events: int = 3, **ai) -> int:
    project = make_project(ctx.stack, **ai)
    (group_id,) = set(ingest(ctx, project, [python_error() for _ in range(events)]))
    return group_id


def group_row(ctx, group_id: int) -> dict:
    with ctx.stack.pool.connection() as conn:
        return conn.execute("SELECT * FROM error_groups WHERE id = %s", (group_id,)).fetchone()


def pending_row(ctx, group_id: int) -> dict | None:
    with ctx.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT * FROM ai_pending_analyses WHERE group_id = %s", (group_id,)
        ).fetchone()


def calls(ctx, group_id: int, purpose: str = "analysis") -> list[dict]:
    with ctx.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT * FROM ai_calls WHERE group_id = %s AND purpose = %s ORDER BY id",
            (group_id, purpose),
        ).fetchall()


def claimed(ctx, now: float | None = None) -> set[int]:
    with ctx.stack.pool.connection() as conn:
        return {due.group_id for due in claim_due_analyses(conn, now=now)}


def test_an_analysis_is_stored_with_its_model_prompt_version_tokens_and_latency(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(GOOD)
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)

    assert outcome.status == "analyzed"
    assert outcome.analysis is not None
    assert outcome.analysis.severity == "high"
    (request,) = openai_server.requests_to(CHAT_PATH)
    stored = group_row(ctx, group_id)["ai_summary"]
    assert stored["answer"] == ANSWER
    assert stored["source"] == "model"
    assert stored["model"] == stored["served_model"] == MODEL
    assert stored["prompt_version"] == PROMPT_VERSION
    assert stored["reason"] == "new"
    assert stored["prompt_tokens"] == len(request.prompt_text) // 4
    assert stored["completion_tokens"] == 80
    assert stored["attempts"] == 1
    assert stored["latency_ms"] > 0
    analyzed_at = datetime.fromisoformat(stored["analyzed_at"])
    assert abs((datetime.now(UTC) - analyzed_at).total_seconds()) < 60
    (call,) = calls(ctx, group_id)
    assert (call["status"], call["model"], call["completion_tokens"]) == ("ok", MODEL, 80)
    assert pending_row(ctx, group_id) is None


def test_nothing_secret_and_no_seed_label_is_sent_to_the_endpoint(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(GOOD)
    analyze_group(ctx, group_id, reason="new", options=FAST)
    (chat,) = openai_server.requests_to(CHAT_PATH)
    (embedding,) = openai_server.requests_to(EMBEDDINGS_PATH)
    sent = json.dumps(chat.body) + json.dumps(embedding.body)
    assert "shop.cart in load_cart" in chat.prompt_text
    assert "return row['items']" in chat.prompt_text
    for secret in (*SECRETS, *SEED_LABELS):
        assert secret not in sent
    assert "seed" not in sent.lower()


def test_a_second_analysis_is_served_from_the_cache_until_a_new_release_appears(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(GOOD, GOOD)
    analyze_group(ctx, group_id, reason="new", options=FAST)
    project_id = group_row(ctx, group_id)["project_id"]
    ingest(ctx, project_id, [python_error()])

    again = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert again.status == "cached"
    assert again.analysis is not None
    assert again.analysis.summary == ANSWER["summary"]
    assert len(openai_server.requests_to(CHAT_PATH)) == 1
    # The issue's features did not change either: its stored embedding is reused.
    assert len(openai_server.requests_to(EMBEDDINGS_PATH)) == 1

    ingest(ctx, project_id, [python_error(release="shop@1.5.0")])
    regressed = analyze_group(ctx, group_id, reason="regression", options=FAST)
    assert regressed.status == "analyzed"
    assert len(openai_server.requests_to(CHAT_PATH)) == 2
    assert group_row(ctx, group_id)["ai_summary"]["reason"] == "regression"


def test_force_asks_the_model_again(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(GOOD, GOOD)
    analyze_group(ctx, group_id, reason="new", options=FAST)
    assert analyze_group(ctx, group_id, reason="manual", options=FAST, force=True).status == (
        "analyzed"
    )
    assert len(openai_server.requests_to(CHAT_PATH)) == 2


@pytest.mark.parametrize(
    "answer",
    [
        "The error is a KeyError in load_cart; severity is high.",
        json.dumps({"summary": "KeyError in load_cart", "severity": "high"}),
        json.dumps({**ANSWER, "severity": "catastrophic"}),
    ],
    ids=["prose", "missing-fields", "unknown-severity"],
)
def test_a_malformed_answer_is_a_recorded_failure_that_the_schedule_retries(
    ctx, openai_server, answer
):
    group_id = one_issue(ctx)
    openai_server.script_chat(chat_reply(answer), GOOD)
    started = time.time()
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)

    assert (outcome.status, outcome.failure_kind) == ("failed", "malformed")
    assert group_row(ctx, group_id)["ai_summary"] is None
    pending = pending_row(ctx, group_id)
    assert (pending["kind"], pending["reason"], pending["failures"]) == ("malformed", "new", 1)
    assert pending["next_attempt_at"].timestamp() >= started + 300
    (call,) = calls(ctx, group_id)
    assert call["status"] == "malformed"
    assert call["completion_tokens"] > 0  # a malformed answer still cost tokens

    assert group_id not in claimed(ctx)
    with ctx.stack.pool.connection() as conn:
        due = [d for d in claim_due_analyses(conn, now=time.time() + 301) if d.group_id == group_id]
    assert [(d.group_id, d.reason, d.kind) for d in due] == [(group_id, "new", "malformed")]
    assert group_id not in claimed(ctx, now=time.time() + 301)  # leased to the first claim
    assert analyze_group(ctx, group_id, reason=due[0].reason, options=FAST).status == "analyzed"
    assert pending_row(ctx, group_id) is None


def test_a_timeout_is_retried_in_line_then_recorded_with_its_attempts(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(slow(3, GOOD), slow(3, GOOD))
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert (outcome.status, outcome.failure_kind, outcome.attempts) == ("failed", "timeout", 2)
    assert len(openai_server.requests_to(CHAT_PATH)) == 2
    (call,) = calls(ctx, group_id)
    assert (call["status"], call["attempts"]) == ("timeout", 2)
    assert pending_row(ctx, group_id)["kind"] == "timeout"


def test_a_429_then_an_answer_is_one_successful_analysis_in_two_attempts(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(rate_limited(retry_after_s=1), GOOD)
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert (outcome.status, outcome.attempts) == ("analyzed", 2)
    first, second = openai_server.requests_to(CHAT_PATH)
    assert second.received_at - first.received_at >= 1.0
    assert group_row(ctx, group_id)["ai_summary"]["attempts"] == 2


def test_a_long_retry_after_schedules_the_retry_no_sooner(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.script_chat(rate_limited(retry_after_s=3600))
    started = time.time()
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert outcome.failure_kind == "rate_limited"
    assert len(openai_server.requests_to(CHAT_PATH)) == 1
    assert pending_row(ctx, group_id)["next_attempt_at"].timestamp() >= started + 3600


def test_repeated_failures_back_off_then_give_up(ctx, openai_server):
    group_id = one_issue(ctx)
    openai_server.chat_default = error_reply(500, "CUDA out of memory")
    delays = []
    for _ in range(MAX_FAILURES):
        before = time.time()
        outcome = analyze_group(ctx, group_id, reason="new", options=FAST)
        assert outcome.failure_kind == "unavailable"
        next_at = pending_row(ctx, group_id)["next_attempt_at"]
        delays.append(None if next_at is None else round(next_at.timestamp() - before, -1))
    assert delays == [300, 600, 1200, 2400, 4800, None]
    assert len(openai_server.requests_to(CHAT_PATH)) == MAX_FAILURES * FAST.max_attempts
    assert group_id not in claimed(ctx, now=time.time() + 30 * DAY_S)


def test_the_hourly_call_budget_refuses_without_a_request_and_retries_next_hour(ctx, openai_server):
    project = make_project(ctx.stack, calls_per_hour=1)
    first, second = (
        ingest(ctx, project, [python_error(exc_type=kind) for _ in range(3)])[0]
        for kind in ("KeyError", "ValueError")
    )
    openai_server.script_chat(GOOD, GOOD)
    assert analyze_group(ctx, first, reason="new", options=FAST).status == "analyzed"
    started = time.time()
    refused = analyze_group(ctx, second, reason="new", options=FAST)

    assert (refused.status, refused.failure_kind) == ("budget_exhausted", "budget")
    assert len(openai_server.requests_to(CHAT_PATH)) == 1
    next_at = pending_row(ctx, second)["next_attempt_at"].timestamp()
    assert next_at == started - started % HOUR_S + HOUR_S
    assert group_row(ctx, second)["ai_summary"] is None


def test_the_daily_token_budget_counts_reported_usage_and_refuses_beyond_it(ctx, openai_server):
    project = make_project(ctx.stack)
    first, second = (
        ingest(ctx, project, [python_error(exc_type=kind) for _ in range(3)])[0]
        for kind in ("KeyError", "ValueError")
    )
    openai_server.script_chat(GOOD, GOOD)
    analyze_group(ctx, first, reason="new", options=FAST)
    stored = group_row(ctx, first)["ai_summary"]
    (embedding,) = calls(ctx, first, "embedding")
    budget = Budget(ctx.stack.redis, ctx.settings.redis_namespace)
    used = budget.usage(project).tokens_today
    assert (
        used == stored["prompt_tokens"] + stored["completion_tokens"] + (embedding["prompt_tokens"])
    )

    with ctx.stack.pool.connection() as conn:
        conn.execute(
            "UPDATE projects SET config = %s WHERE id = %s",
            (json.dumps({"ai": {"tokens_per_day": used + 10}}), project),
        )
    refused = analyze_group(ctx, second, reason="new", options=FAST)
    assert refused.status == "budget_exhausted"
    assert "AI tokens today" in refused.message
    assert len(openai_server.requests_to(CHAT_PATH)) == 1


def test_a_new_issue_waits_for_a_few_events_before_asking(ctx, openai_server):
    group_id = one_issue(ctx, events=1, min_events=3)
    openai_server.script_chat(GOOD)
    waiting = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert waiting.status == "waiting_for_events"
    assert "1 of 3 events" in waiting.message
    assert openai_server.requests_to(CHAT_PATH) == []
    assert pending_row(ctx, group_id)["kind"] == "waiting_for_events"

    ingest(ctx, group_row(ctx, group_id)["project_id"], [python_error(), python_error()])
    assert analyze_group(ctx, group_id, reason="new", options=FAST).status == "analyzed"
    assert pending_row(ctx, group_id) is None


def test_a_regression_is_analyzed_whatever_the_event_count(ctx, openai_server):
    group_id = one_issue(ctx, events=1, min_events=3)
    openai_server.script_chat(GOOD)
    assert analyze_group(ctx, group_id, reason="regression", options=FAST).status == "analyzed"


def test_an_issue_whose_events_are_not_readable_yet_is_retried_later(ctx, openai_server):
    project = make_project(ctx.stack)
    (group_id,) = set(ingest(ctx, project, [python_error() for _ in range(3)], store=False))
    outcome = analyze_group(ctx, group_id, reason="regression", options=FAST)
    assert outcome.status == "waiting_for_events"
    assert "ClickHouse" in outcome.message
    assert openai_server.requests_to(CHAT_PATH) == []
    assert pending_row(ctx, group_id)["reason"] == "regression"


def test_a_second_worker_on_the_same_issue_leaves_it_to_the_first(ctx, openai_server):
    group_id = one_issue(ctx)
    # The first answer takes long enough that the second call, which loads the issue's
    # facts before it asks for the lock, finds it held even on a loaded machine.
    openai_server.script_chat(slow(3.0, GOOD))
    patient = msgspec.structs.replace(FAST, timeout_s=10.0)
    results = {}
    first = threading.Thread(
        target=lambda: results.update(
            first=analyze_group(ctx, group_id, reason="new", options=patient)
        )
    )
    first.start()
    deadline = time.monotonic() + 10
    while not openai_server.requests_to(CHAT_PATH) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = analyze_group(ctx, group_id, reason="new", options=patient)
    first.join(30)
    assert second.status == "busy"
    assert results["first"].status == "analyzed"
    assert len(openai_server.requests_to(CHAT_PATH)) == 1


def test_without_an_endpoint_it_says_so_stores_no_answer_and_still_finds_similar_issues(
    local_ctx,
):
    project = make_project(local_ctx.stack)
    older = ingest(local_ctx, project, [python_error() for _ in range(3)])[0]
    variant = [python_error(value="'items' missing for cart 7 (ann@example.org)")]
    variant[0]["exception"]["values"][-1]["stacktrace"]["frames"].insert(
        1, {"function": "handle", "module": "shop.api", "lineno": 12, "in_app": True}
    )
    newer = ingest(local_ctx, project, variant)[0]
    assert newer != older
    analyze_group(local_ctx, older, reason="new")
    outcome = analyze_group(local_ctx, newer, reason="new")

    assert outcome.status == "not_configured"
    assert "STACKWISE_OPENAI_BASE_URL" in outcome.message
    assert outcome.analysis is None
    assert group_row(local_ctx, newer)["ai_summary"] is None
    assert pending_row(local_ctx, newer) is None
    assert [(s.group_id, s.method) for s in outcome.similar] == [(older, "lexical")]
    assert outcome.similar[0].score >= 0.8


def test_a_project_with_ai_disabled_sends_nothing(ctx, openai_server):
    group_id = one_issue(ctx, enabled=False)
    outcome = analyze_group(ctx, group_id, reason="new", options=FAST)
    assert outcome.status == "disabled"
    assert openai_server.requests == []


def test_an_unknown_issue_is_reported_missing(ctx):
    assert analyze_group(ctx, 987654, reason="new", options=FAST).status == "missing"
