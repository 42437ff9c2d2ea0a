"""What people, notifications, the AI features, jobs and exports read of issues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.storage.postgres import DbConnection

Row = dict[str, Any]

# The workbench's export and frames (analysis.tables): every issue, JSON as text.
EXPORT_SQL = (
    "SELECT id, project_id, fingerprint_hash, grouping_version, title, culprit, level, "
    "exception_type, status, first_seen, last_seen, times_seen, users_seen, times_regressed, "
    "merged_into, ai_summary::text AS ai_summary FROM error_groups WHERE {where} ORDER BY id"
)

# Each issue's sample event (its first, as processed: resolved by source maps), as text.
SAMPLES_EXPORT_SQL = (
    "SELECT id, project_id, convert_from(sample_event, 'UTF8') AS sample_event "
    "FROM error_groups WHERE {where} AND sample_event IS NOT NULL ORDER BY id"
)


def notice_rows(conn: DbConnection, group_ids: list[int]) -> dict[int, Row]:
    """What a notification says about each issue (see workers.notifications.issue_notice)."""
    rows = conn.execute(
        "SELECT id, project_id, title, culprit, level, times_seen, times_regressed "
        "FROM error_groups WHERE id = ANY(%s)",
        (group_ids,),
    ).fetchall()
    return {row["id"]: row for row in rows}


def threshold_rows(conn: DbConnection, group_ids: list[int]) -> list[Row]:
    """Issues over their alert threshold, as their notification describes them."""
    return conn.execute(
        "SELECT id, project_id, title, culprit, level, times_seen FROM error_groups "
        "WHERE id = ANY(%s)",
        (group_ids,),
    ).fetchall()


def live_group_ids(conn: DbConnection, group_ids: list[int]) -> set[int]:
    """Those of these issues that exist and are not merged into another."""
    rows = conn.execute(
        "SELECT id FROM error_groups WHERE id = ANY(%s) AND merged_into IS NULL",
        (group_ids,),
    ).fetchall()
    return {row["id"] for row in rows}


def new_issues_by_day(conn: DbConnection, days: list[date]) -> dict[tuple[int, date], int]:
    """Issues first seen on each of these days (UTC), per project, merged ones left out."""
    return {
        (row["project_id"], row["day"]): row["n"]
        for row in conn.execute(
            "SELECT project_id, (first_seen AT TIME ZONE 'UTC')::date AS day, count(*) AS n "
            "FROM error_groups WHERE (first_seen AT TIME ZONE 'UTC')::date = ANY(%s) "
            "AND merged_into IS NULL GROUP BY 1, 2",
            (days,),
        )
    }


_ISSUE_WITH_MEMBERS_SQL = """
SELECT g.id, g.project_id, g.title, g.culprit, g.level, g.exception_type, g.status,
       g.first_seen, g.last_seen, g.times_seen, g.merged_into, g.ai_summary, p.config,
       m.member_ids
FROM error_groups g
JOIN projects p ON p.id = g.project_id
CROSS JOIN LATERAL (
    SELECT array_agg(x.id ORDER BY x.id) AS member_ids
    FROM error_groups x WHERE x.id = g.id OR x.merged_into = g.id
) m
WHERE g.id = %s
"""


def issue_with_members(conn: DbConnection, group_id: int) -> Row | None:
    """An issue, its project's configuration, and the ids of the issues merged into it."""
    return conn.execute(_ISSUE_WITH_MEMBERS_SQL, (group_id,)).fetchone()


def latest_occurrences(
    conn: DbConnection, group_ids: list[int], limit: int
) -> list[tuple[str, float]]:
    """The newest events of these issues, newest first: (event id as 32 hex digits, the
    event's timestamp in epoch seconds). Served by the (group_id, occurred_at) index, so
    it costs the same for an issue of ten events as for one of ten million."""
    rows = conn.execute(
        "SELECT replace(event_id::text, '-', '') AS event_id, "
        "extract(epoch FROM occurred_at)::float8 AS ts FROM error_occurrences "
        "WHERE group_id = ANY(%s) ORDER BY occurred_at DESC LIMIT %s",
        (group_ids, limit),
    ).fetchall()
    return [(row["event_id"], row["ts"]) for row in rows]


def list_issues(
    conn: DbConnection, *, project_id: int | None, status: str | None, limit: int
) -> list[Row]:
    """Unmerged issues, most recently seen first; `status` None for every status."""
    filters: list[str] = ["merged_into IS NULL"]
    values: list[Any] = []
    if project_id is not None:
        filters.append("project_id = %s")
        values.append(project_id)
    if status is not None:
        filters.append("status = %s")
        values.append(status)
    return conn.execute(
        "SELECT id, title, status, substatus, times_seen, users_seen, last_seen "
        f"FROM error_groups WHERE {' AND '.join(filters)} "
        "ORDER BY last_seen DESC LIMIT %s",
        (*values, limit),
    ).fetchall()


def issue_detail(conn: DbConnection, group_id: int) -> tuple[Row, list[Row], list[Row]] | None:
    """An issue, its latest releases and its latest activity (None: no such issue)."""
    group = conn.execute("SELECT * FROM error_groups WHERE id = %s", (group_id,)).fetchone()
    if group is None:
        return None
    releases = conn.execute(
        "SELECT release, environment, times_seen, first_seen, last_seen FROM group_releases "
        "WHERE group_id = %s ORDER BY last_seen DESC LIMIT 10",
        (group_id,),
    ).fetchall()
    activity = conn.execute(
        "SELECT kind, data, created_at FROM group_activity WHERE group_id = %s "
        "ORDER BY created_at DESC LIMIT 10",
        (group_id,),
    ).fetchall()
    return group, releases, activity


def project_issues(conn: DbConnection, project_id: int) -> list[Row]:
    """A project's unmerged issues, most events first (the demo's table)."""
    return conn.execute(
        "SELECT id, title, times_seen, first_seen, last_seen FROM error_groups "
        "WHERE project_id = %s AND merged_into IS NULL ORDER BY times_seen DESC, id",
        (project_id,),
    ).fetchall()


def occurrences_of(conn: DbConnection, event_ids: list[str]) -> int:
    """How many of these events were grouped."""
    row = conn.execute(
        "SELECT count(*) AS n FROM error_occurrences WHERE event_id = ANY(%s::uuid[])",
        (event_ids,),
    ).fetchone()
    return row["n"] if row else 0


def occurrence_count(conn: DbConnection, project_id: int | None = None) -> int:
    """Events grouped, in one project or in all."""
    if project_id is None:
        row = conn.execute("SELECT count(*) AS n FROM error_occurrences").fetchone()
    else:
        row = conn.execute(
            "SELECT count(*) AS n FROM error_occurrences WHERE project_id = %s", (project_id,)
        ).fetchone()
    return row["n"] if row else 0


def merge_families(conn: DbConnection, group_ids: list[int]) -> list[Row]:
    """These issues' surviving issues (`canonical`) with every issue merged into them:
    id, canonical, project_id, times_seen."""
    return conn.execute(
        "WITH canonical AS (SELECT DISTINCT coalesce(merged_into, id) AS id FROM error_groups "
        "WHERE id = ANY(%s)) "
        "SELECT g.id, coalesce(g.merged_into, g.id) AS canonical, g.project_id, g.times_seen "
        "FROM error_groups g JOIN canonical c ON coalesce(g.merged_into, g.id) = c.id",
        (group_ids,),
    ).fetchall()


def grouped_events(conn: DbConnection, project_id: int, *, exact: bool = False) -> int:
    """Events the project's issues have counted (`exact`: their occurrence rows, slower);
    what `just bench e2e` waits for."""
    query = (
        "SELECT count(*) AS n FROM error_occurrences WHERE project_id = %s"
        if exact
        else "SELECT coalesce(sum(times_seen), 0) AS n FROM error_groups WHERE project_id = %s"
    )
    row = conn.execute(query, (project_id,)).fetchone()
    return int(row["n"]) if row else 0


# -- the issues app (stackwise.ui) ------------------------------------------------------

ISSUE_SORTS = {
    "recent": "g.last_seen DESC",
    "events": "g.times_seen DESC",
    "users": "g.users_seen DESC",
    "new": "g.first_seen DESC",
}


@dataclass(frozen=True, kw_only=True)
class IssueSearch:
    """What the issues app filters on; empty fields filter nothing."""

    project_id: int | None = None
    status: str = ""
    release: str = ""
    environment: str = ""
    level: str = ""
    first_seen_from: datetime | None = None
    last_seen_from: datetime | None = None
    text: str = ""
    sort: str = "recent"
    limit: int = 100


def _search_filters(search: IssueSearch) -> tuple[list[str], list[Any]]:
    filters: list[str] = ["g.merged_into IS NULL"]
    values: list[Any] = []
    for column, value in (
        ("g.project_id", search.project_id),
        ("g.status", search.status or None),
        ("g.level", search.level or None),
    ):
        if value is not None:
            filters.append(f"{column} = %s")
            values.append(value)
    if search.release or search.environment:
        filters.append(
            "EXISTS (SELECT 1 FROM group_releases r WHERE r.group_id = g.id"
            + (" AND r.release = %s" if search.release else "")
            + (" AND r.environment = %s" if search.environment else "")
            + ")"
        )
        values += [v for v in (search.release, search.environment) if v]
    if search.first_seen_from is not None:
        filters.append("g.first_seen >= %s")
        values.append(search.first_seen_from)
    if search.last_seen_from is not None:
        filters.append("g.last_seen >= %s")
        values.append(search.last_seen_from)
    if search.text:
        # A literal substring: the user's % and _ are not wildcards.
        pattern = "%" + search.text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        filters.append("(g.title ILIKE %s OR g.culprit ILIKE %s)")
        values += [pattern + "%", pattern + "%"]
    return filters, values


def search_issues(conn: DbConnection, search: IssueSearch) -> list[Row]:
    """Unmerged issues matching `search`, in its order (`ISSUE_SORTS`), with project slugs."""
    order = ISSUE_SORTS.get(search.sort)
    if order is None:
        raise ValueError(f"unknown sort {search.sort!r}; use {', '.join(ISSUE_SORTS)}")
    filters, values = _search_filters(search)
    return conn.execute(
        "SELECT g.id, p.slug AS project, g.title, g.culprit, g.level, g.status, g.substatus, "
        "g.times_seen, g.users_seen, g.first_seen, g.last_seen "
        "FROM error_groups g JOIN projects p ON p.id = g.project_id "
        f"WHERE {' AND '.join(filters)} ORDER BY {order}, g.id DESC LIMIT %s",
        (*values, search.limit),
    ).fetchall()


def issue_facets(conn: DbConnection) -> dict[str, list[str]]:
    """The values the app's filters offer: releases, environments and levels in use."""
    releases = conn.execute(
        "SELECT DISTINCT release FROM group_releases WHERE release <> '' ORDER BY 1"
    ).fetchall()
    environments = conn.execute(
        "SELECT DISTINCT environment FROM group_releases WHERE environment <> '' ORDER BY 1"
    ).fetchall()
    levels = conn.execute("SELECT DISTINCT level FROM error_groups ORDER BY 1").fetchall()
    return {
        "release": [r["release"] for r in releases],
        "environment": [r["environment"] for r in environments],
        "level": [r["level"] for r in levels],
    }


def issue_releases(conn: DbConnection, group_id: int) -> list[Row]:
    """Every release and environment the issue (and issues merged into it) was seen in."""
    return conn.execute(
        "SELECT r.release, r.environment, sum(r.times_seen)::bigint AS events, "
        "min(r.first_seen) AS first_seen, max(r.last_seen) AS last_seen "
        "FROM group_releases r JOIN error_groups g ON g.id = r.group_id "
        "WHERE g.id = %s OR g.merged_into = %s GROUP BY 1, 2 ORDER BY events DESC",
        (group_id, group_id),
    ).fetchall()
