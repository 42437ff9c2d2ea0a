"""AI results, the PostgreSQL aggregate: analyses, the call ledger, similarity, anomalies.

Tables: ai_pending_analyses, ai_calls, ai_group_features, ai_similar_issues,
ai_merge_suggestions, ai_anomalies, and the answer column error_groups.ai_summary.
What is analyzed, compared or detected is the workers' (`workers.ai`); these are the
statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection

Row = dict[str, Any]

# The workbench's export and frames (analysis.tables).
CALLS_EXPORT_SQL = (
    "SELECT id, project_id, group_id, purpose, model, prompt_version, status, attempts, "
    "prompt_tokens, completion_tokens, latency_ms, created_at FROM ai_calls WHERE {where} "
    "ORDER BY id"
)
ANOMALIES_EXPORT_SQL = (
    "SELECT id, project_id, group_id, kind, start_hour, end_hour, peak_hour, peak_count, "
    "baseline, score, status FROM ai_anomalies WHERE {where} ORDER BY id"
)

# -- analyses --------------------------------------------------------------------------


def save_summary(conn: DbConnection, group_id: int, document: dict[str, Any]) -> None:
    """The issue's answer; the analysis is no longer pending."""
    conn.execute(
        "UPDATE error_groups SET ai_summary = %s WHERE id = %s",
        (Jsonb(document), group_id),
    )
    conn.execute("DELETE FROM ai_pending_analyses WHERE group_id = %s", (group_id,))


def clear_pending(conn: DbConnection, group_id: int) -> None:
    conn.execute("DELETE FROM ai_pending_analyses WHERE group_id = %s", (group_id,))


def pending_failures(conn: DbConnection, group_id: int) -> int:
    """Failures recorded so far for the issue's analysis (the row locked, 0 when none)."""
    row = conn.execute(
        "SELECT failures FROM ai_pending_analyses WHERE group_id = %s FOR UPDATE", (group_id,)
    ).fetchone()
    return row["failures"] if row else 0


def save_pending(
    conn: DbConnection,
    *,
    group_id: int,
    project_id: int,
    reason: str,
    kind: str,
    detail: str,
    failures: int,
    failed_at: datetime,
    next_attempt_at: datetime | None,
) -> None:
    conn.execute(
        """
        INSERT INTO ai_pending_analyses (group_id, project_id, reason, kind, detail, failures,
                                         first_failed_at, last_failed_at, next_attempt_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (group_id) DO UPDATE SET
            reason = excluded.reason, kind = excluded.kind, detail = excluded.detail,
            failures = excluded.failures, last_failed_at = excluded.last_failed_at,
            next_attempt_at = excluded.next_attempt_at
        """,
        (
            group_id,
            project_id,
            reason,
            kind,
            detail,
            failures,
            failed_at,
            failed_at,
            next_attempt_at,
        ),
    )


def claim_due(conn: DbConnection, *, now: datetime, lease_until: datetime, limit: int) -> list[Row]:
    """Pending analyses due by `now`, their next attempt pushed to `lease_until`."""
    return conn.execute(
        """
        UPDATE ai_pending_analyses SET next_attempt_at = %s
        WHERE group_id IN (
            SELECT group_id FROM ai_pending_analyses
            WHERE next_attempt_at <= %s
            ORDER BY next_attempt_at
            LIMIT %s
            FOR UPDATE SKIP LOCKED)
        RETURNING group_id, project_id, reason, kind, failures
        """,
        (lease_until, now, limit),
    ).fetchall()


def record_call(
    conn: DbConnection,
    *,
    project_id: int,
    group_id: int | None,
    purpose: str,
    model: str,
    status: str,
    attempts: int,
    prompt_version: str,
    prompt_tokens: int,
    completion_tokens: int,
    latency_ms: float,
) -> None:
    conn.execute(
        """
        INSERT INTO ai_calls (project_id, group_id, purpose, model, prompt_version, status,
                              attempts, prompt_tokens, completion_tokens, latency_ms)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            project_id,
            group_id,
            purpose,
            model,
            prompt_version,
            status,
            attempts,
            prompt_tokens,
            completion_tokens,
            latency_ms,
        ),
    )


# -- similarity ------------------------------------------------------------------------


def save_features(
    conn: DbConnection,
    *,
    group_id: int,
    project_id: int,
    version: str,
    text_tokens: list[str],
    frame_tokens: list[str],
    embedding: list[float] | None,
    embedding_model: str | None,
) -> Row:
    """Upsert; an earlier embedding is kept when this run could not embed. Returns the
    stored embedding and its model."""
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
        (group_id, project_id, version, text_tokens, frame_tokens, embedding, embedding_model),
    ).fetchone()
    assert row is not None  # an upsert with RETURNING always returns the row
    return row


def features(conn: DbConnection, group_id: int, version: str) -> Row | None:
    return conn.execute(
        """
        SELECT f.group_id, f.text_tokens, f.frame_tokens, f.embedding, f.embedding_model,
               g.exception_type
        FROM ai_group_features f JOIN error_groups g ON g.id = f.group_id
        WHERE f.group_id = %s AND f.features_version = %s
        """,
        (group_id, version),
    ).fetchone()


def candidates(
    conn: DbConnection, project_id: int, group_id: int, version: str, limit: int
) -> list[Row]:
    """The project's other live issues' features, newest first, without embeddings."""
    return conn.execute(
        """
        SELECT f.group_id, f.text_tokens, f.frame_tokens, NULL AS embedding,
               NULL AS embedding_model, g.exception_type, g.title, g.first_seen
        FROM ai_group_features f JOIN error_groups g ON g.id = f.group_id
        WHERE f.project_id = %s AND f.group_id <> %s AND g.merged_into IS NULL
          AND f.features_version = %s
        ORDER BY f.updated_at DESC
        LIMIT %s
        """,
        (project_id, group_id, version, limit),
    ).fetchall()


def embeddings(conn: DbConnection, group_ids: list[int], model: str) -> dict[int, list[float]]:
    rows = conn.execute(
        """
        SELECT group_id, embedding FROM ai_group_features
        WHERE group_id = ANY(%s) AND embedding_model = %s AND embedding IS NOT NULL
        """,
        (group_ids, model),
    ).fetchall()
    return {r["group_id"]: r["embedding"] for r in rows}


def replace_similar(
    conn: DbConnection, project_id: int, group_id: int, similar: list[tuple[int, float, str]]
) -> None:
    """The issue's nearest issues: (group id, score, method)."""
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
                [s[0] for s in similar],
                [s[1] for s in similar],
                [s[2] for s in similar],
            ),
        )


def suggest_merges(
    conn: DbConnection, project_id: int, pairs: list[tuple[int, int, float, str]]
) -> list[Row]:
    """Upsert pending suggestions (source, target, score, method); decided ones keep their
    decision and are not returned."""
    return conn.execute(
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


def decide_merge(
    conn: DbConnection, suggestion_id: int, *, accept: bool, decided_by: str
) -> Row | None:
    return conn.execute(
        """
        UPDATE ai_merge_suggestions
        SET status = %s, decided_at = now(), decided_by = %s, updated_at = now()
        WHERE id = %s
        RETURNING id, project_id, source_group_id, target_group_id, score, method, status
        """,
        ("accepted" if accept else "rejected", decided_by, suggestion_id),
    ).fetchone()


def pending_merges(conn: DbConnection, project_id: int) -> list[Row]:
    return conn.execute(
        """
        SELECT id, project_id, source_group_id, target_group_id, score, method, status
        FROM ai_merge_suggestions WHERE project_id = %s AND status = 'pending'
        ORDER BY score DESC, id
        """,
        (project_id,),
    ).fetchall()


# -- anomalies -------------------------------------------------------------------------


def extend_anomaly(conn: DbConnection, values: dict[str, Any]) -> int | None:
    """Extend the stored anomaly this one touches (within `touch` of it); its id, or None
    when there is none. `values`: project, group, kind, start, end, peak, count, baseline,
    score, touch."""
    row = conn.execute(
        """
        UPDATE ai_anomalies SET
            start_hour = least(start_hour, %(start)s), end_hour = greatest(end_hour, %(end)s),
            peak_hour = CASE WHEN %(count)s > peak_count THEN %(peak)s ELSE peak_hour END,
            baseline = CASE WHEN %(count)s > peak_count THEN %(baseline)s ELSE baseline END,
            peak_count = greatest(peak_count, %(count)s), score = greatest(score, %(score)s),
            updated_at = now()
        WHERE id = (
            SELECT id FROM ai_anomalies
            WHERE project_id = %(project)s AND group_id = %(group)s AND kind = %(kind)s
              AND start_hour <= %(end)s + %(touch)s AND end_hour >= %(start)s - %(touch)s
            ORDER BY start_hour LIMIT 1)
        RETURNING id
        """,
        values,
    ).fetchone()
    return row["id"] if row is not None else None


def insert_anomaly(conn: DbConnection, values: dict[str, Any]) -> int:
    row = conn.execute(
        """
        INSERT INTO ai_anomalies (project_id, group_id, kind, start_hour, end_hour, peak_hour,
                                  peak_count, baseline, score)
        VALUES (%(project)s, %(group)s, %(kind)s, %(start)s, %(end)s, %(peak)s, %(count)s,
                %(baseline)s, %(score)s)
        RETURNING id
        """,
        values,
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    return row["id"]


def similar_issues(conn: DbConnection, group_id: int, limit: int = 10) -> list[Row]:
    """The issues last found most like this one (by `refresh_similarity`), best first."""
    return conn.execute(
        "SELECT s.similar_group_id AS id, g.title, g.status, g.times_seen, s.score, s.method "
        "FROM ai_similar_issues s JOIN error_groups g ON g.id = s.similar_group_id "
        "WHERE s.group_id = %s ORDER BY s.score DESC LIMIT %s",
        (group_id, limit),
    ).fetchall()
