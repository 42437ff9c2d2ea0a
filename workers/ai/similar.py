"""Similar issues and merge suggestions, stored in PostgreSQL.

An issue's features are stored when it is analyzed (`ai_group_features`); its
neighbours are the most similar stored issues of the same project (the
`CANDIDATE_LIMIT` most recently analyzed), scored lexically (`similarity`), and
the `RERANK_LIMIT` lexically closest re-scored by embedding cosine when both
were embedded by the same model. The nearest are kept in `ai_similar_issues`; those above the
method's merge threshold with the same exception type become pending rows in
`ai_merge_suggestions`. Nothing here merges: accepting a suggestion is
`decide_merge_suggestion`, and the merge itself belongs to the issue store.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from core.pg import ai
from core.storage.postgres import DbConnection
from workers.ai.similarity import (
    FEATURES_VERSION,
    GroupFeatures,
    embedding_scores,
    lexical_scores,
)
from workers.errors import SuggestionNotFound

SIMILAR_LIMIT = 5
MIN_SIMILAR_SCORE = 0.35
# Above these an issue is probably a fragment of the other. Starting points from the test
# cases, not yet calibrated on the seeded corpus (the workbench should tune them).
MERGE_THRESHOLDS = {"lexical": 0.8, "embedding": 0.93}
CANDIDATE_LIMIT = 2000
# Candidates whose embeddings are compared: the lexically closest ones.
RERANK_LIMIT = 100


class SimilarIssue(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    score: float
    method: str
    title: str


class MergeSuggestion(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    project_id: int
    source_group_id: int
    target_group_id: int
    score: float
    method: str
    status: str


class SimilarityOutcome(msgspec.Struct, frozen=True, kw_only=True):
    similar: list[SimilarIssue] = []
    suggestions: list[MergeSuggestion] = []


class _Candidate(msgspec.Struct, frozen=True, kw_only=True):
    features: GroupFeatures
    title: str
    first_seen: datetime


def store_features(conn: DbConnection, project_id: int, features: GroupFeatures) -> GroupFeatures:
    """Upsert; an earlier embedding is kept when this run could not embed."""
    row = ai.save_features(
        conn,
        group_id=features.group_id,
        project_id=project_id,
        version=FEATURES_VERSION,
        text_tokens=features.text_tokens,
        frame_tokens=features.frame_tokens,
        embedding=features.embedding,
        embedding_model=features.embedding_model,
    )
    return msgspec.structs.replace(
        features, embedding=row["embedding"], embedding_model=row["embedding_model"]
    )


def load_features(conn: DbConnection, group_id: int) -> GroupFeatures | None:
    row = ai.features(conn, group_id, FEATURES_VERSION)
    return _features(row) if row is not None else None


def _features(row: dict) -> GroupFeatures:
    return GroupFeatures(
        group_id=row["group_id"],
        exception_type=row["exception_type"],
        text_tokens=row["text_tokens"],
        frame_tokens=row["frame_tokens"],
        embedding=row["embedding"],
        embedding_model=row["embedding_model"],
    )


def _candidates(conn: DbConnection, project_id: int, group_id: int) -> list[_Candidate]:
    """The project's other live issues, without their embeddings (see _with_embeddings)."""
    rows = ai.candidates(conn, project_id, group_id, FEATURES_VERSION, CANDIDATE_LIMIT)
    return [
        _Candidate(features=_features(r), title=r["title"], first_seen=r["first_seen"])
        for r in rows
    ]


def _with_embeddings(
    conn: DbConnection, candidates: list[GroupFeatures], model: str
) -> list[GroupFeatures]:
    vectors = ai.embeddings(conn, [c.group_id for c in candidates], model)
    return [
        msgspec.structs.replace(c, embedding=vectors[c.group_id], embedding_model=model)
        if c.group_id in vectors
        else c
        for c in candidates
    ]


def _replace_similar(
    conn: DbConnection, project_id: int, group_id: int, similar: list[SimilarIssue]
) -> None:
    ai.replace_similar(
        conn, project_id, group_id, [(s.group_id, s.score, s.method) for s in similar]
    )


def _suggest(
    conn: DbConnection, project_id: int, pairs: list[tuple[int, int, float, str]]
) -> list[MergeSuggestion]:
    """Upsert pending suggestions; decided ones keep their decision and are not returned."""
    if not pairs:
        return []
    rows = ai.suggest_merges(conn, project_id, pairs)
    return sorted((MergeSuggestion(**r) for r in rows), key=lambda s: s.id)


def compare_and_store(
    conn: DbConnection, project_id: int, features: GroupFeatures, first_seen: datetime
) -> SimilarityOutcome:
    """Store this issue's features, then its neighbours and merge suggestions."""
    target = store_features(conn, project_id, features)
    candidates = {c.features.group_id: c for c in _candidates(conn, project_id, target.group_id)}
    lexical = lexical_scores(target, [c.features for c in candidates.values()])
    scored = {gid: (score, "lexical") for gid, score in lexical.items()}
    if target.embedding is not None and target.embedding_model and scored:
        # Embeddings are large: fetch them for the lexically closest candidates only.
        closest = sorted(scored, key=lambda gid: -scored[gid][0])[:RERANK_LIMIT]
        embedded = _with_embeddings(
            conn, [candidates[gid].features for gid in closest], target.embedding_model
        )
        scored |= {
            g: (score, "embedding") for g, score in embedding_scores(target, embedded).items()
        }
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))
    similar = [
        SimilarIssue(group_id=gid, score=score, method=method, title=candidates[gid].title)
        for gid, (score, method) in ranked[:SIMILAR_LIMIT]
        if score >= MIN_SIMILAR_SCORE
    ]
    _replace_similar(conn, project_id, target.group_id, similar)
    pairs = []
    for issue in similar:
        other = candidates[issue.group_id]
        if issue.score < MERGE_THRESHOLDS[issue.method]:
            continue
        if other.features.exception_type != target.exception_type:
            continue
        # The newer issue goes into the older one, as a person would merge them.
        if (other.first_seen, other.features.group_id) < (first_seen, target.group_id):
            pairs.append((target.group_id, other.features.group_id, issue.score, issue.method))
        else:
            pairs.append((other.features.group_id, target.group_id, issue.score, issue.method))
    return SimilarityOutcome(similar=similar, suggestions=_suggest(conn, project_id, pairs))


def decide_merge_suggestion(
    conn: DbConnection, suggestion_id: int, *, accept: bool, decided_by: str
) -> MergeSuggestion:
    """Record a person's decision; an accepted suggestion is merged by the issue store."""
    row = ai.decide_merge(conn, suggestion_id, accept=accept, decided_by=decided_by)
    if row is None:
        raise SuggestionNotFound(f"no merge suggestion {suggestion_id}")
    return MergeSuggestion(**row)


def pending_merge_suggestions(conn: DbConnection, project_id: int) -> list[MergeSuggestion]:
    return [MergeSuggestion(**r) for r in ai.pending_merges(conn, project_id)]
