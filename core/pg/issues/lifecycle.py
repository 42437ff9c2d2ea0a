"""Issue status changes, merges and the activity log, as statements.

The rules (when an event regresses an issue, when an ignore ends) are the workers'
(`workers.lifecycle`); these only write what they decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection


def releases_first_seen(
    conn: DbConnection, pairs: list[tuple[int, str]]
) -> dict[tuple[int, str], datetime]:
    """When each (project, release) was first seen."""
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT project_id, version, first_seen FROM releases "
        "WHERE (project_id, version) IN (SELECT * FROM unnest(%b::bigint[], %b::text[]))",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    return {(r["project_id"], r["version"]): r["first_seen"] for r in rows}


def reopen(conn: DbConnection, group_id: int, *, substatus: str, regression: bool) -> None:
    """Back to unresolved: a regression (counted) or an ignore that ended."""
    conn.execute(
        """
        UPDATE error_groups SET status = 'unresolved', substatus = %s,
            resolved_at = NULL, resolution = NULL, ignored_at = NULL,
            ignore_until = NULL, ignore_until_count = NULL,
            regressed_at = CASE WHEN %s THEN now() ELSE regressed_at END,
            times_regressed = times_regressed + CASE WHEN %s THEN 1 ELSE 0 END
        WHERE id = %s
        """,
        (substatus, regression, regression, group_id),
    )


def age_substatuses(conn: DbConnection) -> None:
    """Sentry's aging: new issues stop being new after 3 days, regressions after 7."""
    conn.execute(
        "UPDATE error_groups SET substatus = 'ongoing' WHERE status = 'unresolved' AND ("
        "(substatus = 'new' AND first_seen < now() - interval '3 days') OR "
        "(substatus IN ('regressed', 'escalating') AND coalesce(regressed_at, first_seen) "
        "< now() - interval '7 days'))"
    )


def record_activities(conn: DbConnection, entries: list[tuple[int, int, str, dict]]) -> None:
    """(group id, project id, kind, data) rows, in one statement."""
    if not entries:
        return
    conn.execute(
        "INSERT INTO group_activity (group_id, project_id, kind, data) "
        "SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::jsonb[])",
        (
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
            [Jsonb(e[3]) for e in entries],
        ),
    )


def lock_group(conn: DbConnection, group_id: int) -> dict[str, Any] | None:
    """The group's project and merge target, locked for the transaction (None: no group)."""
    return conn.execute(
        "SELECT project_id, merged_into FROM error_groups WHERE id = %s FOR UPDATE", (group_id,)
    ).fetchone()


def mark_resolved(conn: DbConnection, group_id: int, resolution: str) -> None:
    conn.execute(
        "UPDATE error_groups SET status = 'resolved', substatus = 'resolved', "
        "resolved_at = now(), resolution = %s, ignore_until = NULL, ignore_until_count = NULL "
        "WHERE id = %s",
        (resolution, group_id),
    )


def mark_unresolved(conn: DbConnection, group_id: int) -> None:
    conn.execute(
        "UPDATE error_groups SET status = 'unresolved', substatus = 'ongoing', "
        "resolved_at = NULL, resolution = NULL, ignored_at = NULL, ignore_until = NULL, "
        "ignore_until_count = NULL WHERE id = %s",
        (group_id,),
    )


def mark_ignored(
    conn: DbConnection, group_id: int, *, more_events: int | None, until: datetime | None
) -> None:
    conn.execute(
        "UPDATE error_groups SET status = 'ignored', substatus = 'archived', ignored_at = now(), "
        "ignore_until = %s, ignore_until_count = CASE WHEN %s::bigint IS NULL THEN NULL "
        "ELSE times_seen + %s::bigint END WHERE id = %s",
        (until, more_events, more_events, group_id),
    )


def end_expired_ignores(conn: DbConnection) -> list[tuple[int, int]]:
    """Ignored-until-a-time issues whose time has come, unresolved: (id, project id)."""
    rows = conn.execute(
        "UPDATE error_groups SET status = 'unresolved', substatus = 'escalating', "
        "ignored_at = NULL, ignore_until = NULL, ignore_until_count = NULL "
        "WHERE status = 'ignored' AND ignore_until IS NOT NULL AND ignore_until <= now() "
        "RETURNING id, project_id"
    ).fetchall()
    return [(r["id"], r["project_id"]) for r in rows]


def merge_groups(conn: DbConnection, target_id: int, sources: list[int]) -> list[str]:
    """Move the sources' hashes, occurrences, users and counts to the target and point the
    sources (and issues merged into them) at it. Returns the moved hashes as
    `project:version:hash`."""
    moved = conn.execute(
        "UPDATE group_hashes SET group_id = %s WHERE group_id = ANY(%s) "
        "RETURNING project_id, grouping_version, hash",
        (target_id, sources),
    ).fetchall()
    conn.execute(
        "UPDATE error_occurrences SET group_id = %s WHERE group_id = ANY(%s)", (target_id, sources)
    )
    conn.execute(
        """
        INSERT INTO group_users (group_id, user_key)
        SELECT %s, user_key FROM group_users WHERE group_id = ANY(%s) ON CONFLICT DO NOTHING
        """,
        (target_id, sources),
    )
    conn.execute(
        """
        UPDATE error_groups t SET
            times_seen = t.times_seen + s.times_seen,
            first_seen = least(t.first_seen, s.first_seen),
            last_seen = greatest(t.last_seen, s.last_seen),
            users_seen = (SELECT count(*) FROM group_users WHERE group_id = t.id)
        FROM (SELECT sum(times_seen) AS times_seen, min(first_seen) AS first_seen,
                     max(last_seen) AS last_seen
              FROM error_groups WHERE id = ANY(%s)) s
        WHERE t.id = %s
        """,
        (sources, target_id),
    )
    conn.execute(
        "UPDATE error_groups SET merged_into = %s WHERE id = ANY(%s)", (target_id, sources)
    )
    # Issues merged into a source earlier now lead to the target directly.
    conn.execute(
        "UPDATE error_groups SET merged_into = %s WHERE merged_into = ANY(%s)", (target_id, sources)
    )
    return [f"{r['project_id']}:{r['grouping_version']}:{r['hash'].strip()}" for r in moved]


def delete_older_than(conn: DbConnection, cutoff: datetime) -> dict[str, int]:
    """Occurrences and activity older than `cutoff`, and issues last seen before it that
    no issue is merged into; returns the rows deleted per table."""
    deleted = {}
    for table, column in (("error_occurrences", "occurred_at"), ("group_activity", "created_at")):
        cursor = conn.execute(f"DELETE FROM {table} WHERE {column} < %s", (cutoff,))
        deleted[table] = cursor.rowcount
    cursor = conn.execute(
        "DELETE FROM error_groups WHERE last_seen < %s AND id NOT IN "
        "(SELECT merged_into FROM error_groups WHERE merged_into IS NOT NULL)",
        (cutoff,),
    )
    deleted["error_groups"] = cursor.rowcount
    return deleted
