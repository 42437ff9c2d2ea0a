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

from core.storage.postgres import DbConnection
from workers.ai.similarity import (
    FEATURES_VERSION,
    GroupFeatures,
    embedding_scores,
    lexical_scores,
)

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
    row = conn.execute(
        """
        INSERT INTO ai_group_features AS f (group_id, project_id, features_version, text_tokens,
                                            frame_tokens, embedding, embedding_model)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (group_id) DO UPDATE SET
            features_version = excluded.features_version,
            text_tokens = excluded.text_tokens,
            frame_tokens = excluded.frame_tokens,
            embedding = coalesce(excluded.embedding, f.embedding),
            embedding_model = CASE WHEN excluded.embedding IS NULL THEN f.embedding_model
                                   ELSE excluded.embedding_model END,
            updated_at = now()
        RETURNING embedding, embedding_model
        """,
        (
            features.group_id,
            project_id,
            FEATURES_VERSION,
            features.text_tokens,
            features.frame_tokens,
            features.embedding,
            features.embedding_model,
        ),
    ).fetchone()
    assert row is not None  # an upsert with RETURNING always returns the row
    return msgspec.structs.replace(
        features, embedding=row["embedding"], embedding_model=row["embedding_model"]
    )


def load_features(conn: DbConnection, group_id: int) -> GroupFeatures | None:
    row = conn.execute(
        """
        SELECT f.group_id, f.text_tokens, f.frame_tokens, f.embedding, f.embedding_model,
               g.exception_type
        FROM ai_group_features f JOIN error_groups g ON g.id = f.group_id
        WHERE f.group_id = %s AND f.features_version = %s
        """,
        (group_id, FEATURES_VERSION),
    ).fetchone()
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
    rows = conn.execute(
        """
        SELECT f.group_id, f.text_tokens, f.frame_tokens, NULL AS embedding,
               NULL AS embedding_model, g.exception_type, g.title, g.first_seen
        FROM ai_group_features f JOIN error_groups g ON g.id = f.group_id
        WHERE f.project_id = %s AND f.group_id <> %s AND g.merged_into IS NULL
          AND f.features_version = %s
        ORDER BY f.updated_at DESC
        LIMIT %s
        """,
        (project_id, group_id, FEATURES_VERSION, CANDIDATE_LIMIT),
    ).fetchall()
    return [
        _Candidate(features=_features(r), title=r["title"], first_seen=r["first_seen"])
        for r in rows
    ]


def _with_embeddings(
    conn: DbConnection, candidates: list[GroupFeatures], model: str
) -> list[GroupFeatures]:
    rows = conn.execute(
        """
        SELECT group_id, embedding FROM ai_group_features
        WHERE group_id = ANY(%s) AND embedding_model = %s AND embedding IS NOT NULL
        """,
        ([c.group_id for c in candidates], model),
    ).fetchall()
    vectors = {r["group_id"]: r["embedding"] for r in rows}
    return [
        msgspec.structs.replace(c, embedding=vectors[c.group_id], embedding_model=model)
        if c.group_id in vectors
        else c
        for c in candidates
    ]


def _replace_similar(
    conn: DbConnection, project_id: int, group_id: int, similar: list[SimilarIssue]
) -> None:
    conn.execute("DELETE FROM ai_similar_issues WHERE group_id = %s", (group_id,))
    if similar:
        conn.execute(
            """
            INSERT INTO ai_similar_issues (group_id, similar_group_id, project_id, score, method)
            SELECT %s, s.id, %s, s.score, s.method
            FROM unnest(%s::bigint[], %s::real[], %s::text[]) AS s(id, score, method)
            """,
            (
                group_id,
                project_id,
                [s.group_id for s in similar],
                [s.score for s in similar],
                [s.method for s in similar],
            ),
        )


def _suggest(
    conn: DbConnection, project_id: int, pairs: list[tuple[int, int, float, str]]
) -> list[MergeSuggestion]:
    """Upsert pending suggestions; decided ones keep their decision and are not returned."""
    if not pairs:
        return []
    rows = conn.execute(
        """
        INSERT INTO ai_merge_suggestions AS m
            (project_id, source_group_id, target_group_id, score, method)
        SELECT %s, p.source, p.target, p.score, p.method
        FROM unnest(%s::bigint[], %s::bigint[], %s::real[], %s::text[])
             AS p(source, target, score, method)
        ON CONFLICT (source_group_id, target_group_id) DO UPDATE
            SET score = excluded.score, method = excluded.method, updated_at = now()
            WHERE m.status = 'pending'
        RETURNING id, project_id, source_group_id, target_group_id, score, method, status
        """,
        (project_id, *(list(column) for column in zip(*sorted(pairs), strict=True))),
    ).fetchall()
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


class SuggestionNotFound(LookupError):
    """No merge suggestion with this id."""


def decide_merge_suggestion(
    conn: DbConnection, suggestion_id: int, *, accept: bool, decided_by: str
) -> MergeSuggestion:
    """Record a person's decision; an accepted suggestion is merged by the issue store."""
    row = conn.execute(
        """
        UPDATE ai_merge_suggestions
        SET status = %s, decided_at = now(), decided_by = %s, updated_at = now()
        WHERE id = %s
        RETURNING id, project_id, source_group_id, target_group_id, score, method, status
        """,
        ("accepted" if accept else "rejected", decided_by, suggestion_id),
    ).fetchone()
    if row is None:
        raise SuggestionNotFound(f"no merge suggestion {suggestion_id}")
    return MergeSuggestion(**row)


def pending_merge_suggestions(conn: DbConnection, project_id: int) -> list[MergeSuggestion]:
    rows = conn.execute(
        """
        SELECT id, project_id, source_group_id, target_group_id, score, method, status
        FROM ai_merge_suggestions WHERE project_id = %s AND status = 'pending'
        ORDER BY score DESC, id
        """,
        (project_id,),
    ).fetchall()
    return [MergeSuggestion(**r) for r in rows]
