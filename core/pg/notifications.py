"""Notifications, the PostgreSQL aggregate: the outbox of webhook deliveries.

The table: notifications. What a notification says and where it goes are the
workers' (`workers.notifications`); these are the statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection

Row = dict[str, Any]


def add(conn: DbConnection, entries: list[tuple[int, int | None, str, dict, str]]) -> list[int]:
    """(project id, group id, kind, payload, dedup key) rows in one statement, skipping
    keys already recorded; returns the new ids, sorted."""
    rows = conn.execute(
        "INSERT INTO notifications (project_id, group_id, kind, payload, dedup_key) "
        "SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::jsonb[], %b::text[]) "
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        (
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
            [Jsonb(e[3]) for e in entries],
            [e[4] for e in entries],
        ),
    ).fetchall()
    return sorted(row["id"] for row in rows)


def pending_with_config(conn: DbConnection, ids: list[int]) -> list[Row]:
    """The pending ones among `ids`, with their project's configuration."""
    return conn.execute(
        "SELECT n.id, n.kind, n.payload, p.config FROM notifications n "
        "LEFT JOIN projects p ON p.id = n.project_id "
        "WHERE n.id = ANY(%s) AND n.status = 'pending' ORDER BY n.id",
        (ids,),
    ).fetchall()


def record_attempts(
    conn: DbConnection, ids: list[int], statuses: list[str | None], errors: list[str | None]
) -> None:
    """One more attempt for each; a status ends it (delivered now), an error is kept."""
    conn.execute(
        "UPDATE notifications n SET attempts = n.attempts + 1, last_error = u.error, "
        "status = coalesce(u.status, n.status), "
        "delivered_at = CASE WHEN u.status IS NULL THEN n.delivered_at ELSE now() END "
        "FROM unnest(%b::bigint[], %b::text[], %b::text[]) AS u(id, status, error) "
        "WHERE n.id = u.id",
        (ids, statuses, errors),
    )


def status_of(conn: DbConnection, notification_id: int) -> str | None:
    row = conn.execute(
        "SELECT status FROM notifications WHERE id = %s", (notification_id,)
    ).fetchone()
    return row["status"] if row else None


def mark_failed(conn: DbConnection, notification_id: int) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'failed' WHERE id = %s AND status = 'pending'",
        (notification_id,),
    )


def stale_pending(conn: DbConnection, older_than_s: float) -> list[int]:
    """Pending rows never attempted for this long (their delivery message was lost)."""
    rows = conn.execute(
        "SELECT id FROM notifications WHERE status = 'pending' AND attempts = 0 "
        "AND created_at < now() - make_interval(secs => %s) ORDER BY id LIMIT 1000",
        (older_than_s,),
    ).fetchall()
    return [row["id"] for row in rows]


def delete_older_than(conn: DbConnection, cutoff: datetime) -> int:
    cursor = conn.execute("DELETE FROM notifications WHERE created_at < %s", (cutoff,))
    return cursor.rowcount
