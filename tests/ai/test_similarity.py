"""Similar issues and merge suggestions: the pure scoring, then stored through analyze_group."""

from __future__ import annotations

import itertools

import pytest

from tests.ai.conftest import FAST
from tests.ai.factories import default_frames, frame, ingest, make_project, python_error
from tests.support.openai_server import EMBEDDINGS_PATH, no_embeddings
from workers.ai.analyze import analyze_group
from workers.ai.event_view import Frame
from workers.ai.find_similar import refresh_similarity
from workers.ai.similar import (
    MERGE_THRESHOLDS,
    decide_merge_suggestion,
    pending_merge_suggestions,
)
from workers.ai.similarity import (
    GroupFeatures,
    cosine,
    embedding_scores,
    frame_token,
    lexical_scores,
    tfidf,
)


def features(group_id: int, kind: str, message: str, frames: list[str], **extra) -> GroupFeatures:
    pairs = [f"{a}>{b}" for a, b in itertools.pairwise(frames)]
    return GroupFeatures(
        group_id=group_id,
        exception_type=kind,
        text_tokens=[f"type:{kind.lower()}", *message.split()],
        frame_tokens=frames + pairs,
        **extra,
    )


def test_tfidf_weighs_tokens_every_document_shares_below_rare_ones():
    vectors = tfidf({1: ["common", "rare"], 2: ["common", "other"], 3: ["common"]})
    assert vectors[1]["rare"] > vectors[1]["common"] > 0
    assert sum(w * w for w in vectors[1].values()) == pytest.approx(1.0)
    assert cosine(vectors[1], vectors[1]) == pytest.approx(1.0)


def test_a_variant_of_an_issue_scores_above_another_issue_of_the_same_code():
    stack = ["shop.views:checkout", "shop.cart:load_cart"]
    target = features(1, "KeyError", "items missing for cart", stack)
    variant = features(2, "KeyError", "items missing for cart", ["shop.api:handle", *stack])
    other_error = features(3, "ValueError", "invalid quantity for cart", stack)
    unrelated = features(4, "TimeoutError", "gateway timed out", ["shop.pay:charge"])
    scores = lexical_scores(target, [variant, other_error, unrelated])
    assert scores[2] > scores[3] > scores[4]
    assert scores[2] >= MERGE_THRESHOLDS["lexical"]
    assert scores[4] < 0.2
    assert lexical_scores(target, [features(5, "KeyError", "items missing for cart", stack)])[
        5
    ] == pytest.approx(1.0)


def test_an_issue_without_a_stack_is_not_a_close_match_for_one_with_a_stack():
    with_stack = features(1, "KeyError", "items missing", ["shop.cart:load_cart"])
    bare = features(2, "KeyError", "items missing", [])
    assert lexical_scores(with_stack, [bare])[2] == pytest.approx(0.7)


def test_frame_tokens_ignore_build_hashes_and_numbers():
    bundled = Frame(function="onClick", filename="static/chunk-3f9a8b7c12.js", in_app=True)
    rebuilt = Frame(function="onClick", filename="static/chunk-a1b2c3d4e5.js", in_app=True)
    lambdas = Frame(function="<lambda_12>", module="shop.tasks", in_app=True)
    assert frame_token(bundled) == frame_token(rebuilt) == "static/chunk-.js:onclick"
    assert frame_token(lambdas) == "shop.tasks:<lambda_>"


def test_embedding_scores_compare_only_vectors_of_the_same_model():
    target = features(1, "E", "m", [], embedding=[1.0, 0.0], embedding_model="a")
    same = features(2, "E", "m", [], embedding=[0.6, 0.8], embedding_model="a")
    other_model = features(3, "E", "m", [], embedding=[1.0, 0.0], embedding_model="b")
    missing = features(4, "E", "m", [])
    assert embedding_scores(target, [same, other_model, missing]) == {2: 0.6}


def _variant_event() -> dict:
    """The same root cause reached through another entry point: a separate fingerprint."""
    frames = default_frames()
    frames.insert(1, frame("handle", "shop.api", 12, context_line="    return checkout(req)"))
    return python_error(value="'items' missing for cart 7 (ann@example.org)", frames=frames)


def _timeout_event() -> dict:
    frames = [frame("charge", "shop.payments", 51, context_line="    resp = gateway.post(body)")]
    return python_error(exc_type="TimeoutError", value="gateway timed out after 30s", frames=frames)


@pytest.fixture
def three_issues(local_ctx) -> tuple[int, int, int, int]:
    project = make_project(local_ctx.stack)
    original = ingest(local_ctx, project, [python_error() for _ in range(3)])[0]
    timeout = ingest(local_ctx, project, [_timeout_event()])[0]
    variant = ingest(local_ctx, project, [_variant_event()])[0]
    assert len({original, timeout, variant}) == 3
    return project, original, timeout, variant


def merged_into(ctx, group_id: int) -> int | None:
    with ctx.stack.pool.connection() as conn:
        row = conn.execute("SELECT merged_into FROM error_groups WHERE id = %s", (group_id,))
        return row.fetchone()["merged_into"]


def test_a_fragment_of_an_issue_is_found_and_suggested_for_merging_never_merged(
    local_ctx, three_issues
):
    project, original, timeout, variant = three_issues
    analyze_group(local_ctx, original, reason="new")
    analyze_group(local_ctx, timeout, reason="new")
    outcome = analyze_group(local_ctx, variant, reason="new")

    assert outcome.similar[0].group_id == original
    assert outcome.similar[0].method == "lexical"
    assert outcome.similar[0].title.startswith("KeyError")
    assert all(s.score < outcome.similar[0].score for s in outcome.similar[1:])
    (suggestion,) = outcome.merge_suggestions
    assert (suggestion.source_group_id, suggestion.target_group_id) == (variant, original)
    assert suggestion.status == "pending"
    assert outcome.auto_merge is False
    with local_ctx.stack.pool.connection() as conn:
        assert pending_merge_suggestions(conn, project) == [suggestion]
        stored = conn.execute(
            "SELECT similar_group_id, method FROM ai_similar_issues WHERE group_id = %s "
            "ORDER BY score DESC",
            (variant,),
        ).fetchall()
    assert stored[0] == {"similar_group_id": original, "method": "lexical"}
    assert merged_into(local_ctx, variant) is None
    assert merged_into(local_ctx, original) is None


def test_a_decision_is_kept_when_the_issue_is_analyzed_again(local_ctx, three_issues):
    project, original, _, variant = three_issues
    analyze_group(local_ctx, original, reason="new")
    (suggestion,) = analyze_group(local_ctx, variant, reason="new").merge_suggestions
    with local_ctx.stack.pool.connection() as conn:
        rejected = decide_merge_suggestion(conn, suggestion.id, accept=False, decided_by="ana")
    assert rejected.status == "rejected"

    again = analyze_group(local_ctx, variant, reason="regression")
    assert again.similar[0].group_id == original
    assert again.merge_suggestions == []
    with local_ctx.stack.pool.connection() as conn:
        assert pending_merge_suggestions(conn, project) == []
        row = conn.execute(
            "SELECT status, decided_by FROM ai_merge_suggestions WHERE id = %s", (suggestion.id,)
        ).fetchone()
    assert row == {"status": "rejected", "decided_by": "ana"}


def test_auto_merge_is_reported_but_nothing_is_merged_here(local_ctx):
    project = make_project(local_ctx.stack, auto_merge=True)
    original = ingest(local_ctx, project, [python_error()])[0]
    variant = ingest(local_ctx, project, [_variant_event()])[0]
    analyze_group(local_ctx, original, reason="new")
    outcome = analyze_group(local_ctx, variant, reason="new")
    assert outcome.auto_merge is True
    assert len(outcome.merge_suggestions) == 1
    assert merged_into(local_ctx, variant) is None


def test_with_an_embeddings_api_neighbours_are_scored_by_embeddings(ctx, openai_server):
    project = make_project(ctx.stack)
    original = ingest(ctx, project, [python_error()])[0]
    timeout = ingest(ctx, project, [_timeout_event()])[0]
    variant = ingest(ctx, project, [_variant_event()])[0]
    for group_id in (original, timeout):
        refresh_similarity(ctx, group_id, options=FAST)
    similar = refresh_similarity(ctx, variant, options=FAST).similar

    assert [s.method for s in similar] == ["embedding"] * len(similar)
    assert similar[0].group_id == original
    assert len(openai_server.requests_to(EMBEDDINGS_PATH)) == 3
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT embedding_model, cardinality(embedding) AS dims FROM ai_group_features "
            "WHERE project_id = %s",
            (project,),
        ).fetchall()
        (status,) = {
            r["status"]
            for r in conn.execute(
                "SELECT status FROM ai_calls WHERE project_id = %s AND purpose = 'embedding'",
                (project,),
            )
        }
    assert {(r["embedding_model"], r["dims"]) for r in rows} == {(ctx.settings.openai_model, 64)}
    assert status == "ok"


def test_an_endpoint_without_embeddings_falls_back_to_lexical_and_is_not_asked_again(
    ctx, openai_server
):
    openai_server.script_embeddings(no_embeddings)
    project = make_project(ctx.stack)
    original = ingest(ctx, project, [python_error()])[0]
    variant = ingest(ctx, project, [_variant_event()])[0]
    refresh_similarity(ctx, original, options=FAST)
    similar = refresh_similarity(ctx, variant, options=FAST).similar

    assert [(s.group_id, s.method) for s in similar] == [(original, "lexical")]
    assert len(openai_server.requests_to(EMBEDDINGS_PATH)) == 1
