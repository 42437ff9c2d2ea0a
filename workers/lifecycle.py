"""Issue lifecycle: what new events do to resolved and ignored issues, and what people do.

Statuses follow Sentry: unresolved (substatus new, ongoing, regressed, escalating),
resolved (now, or in the next release), ignored (forever, until N more events, until a
time). A new event on a resolved issue regresses it — unless the issue was resolved
"in the next release" and the event comes from a release seen before the resolution.
An ignored issue whose condition has passed becomes unresolved (escalating). Every
change is written to `group_activity`; what people should hear about is returned as
`Transition`s for the notifications outbox.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection
from workers.issue_store import GroupState, Occurrence


class LifecycleError(ValueError):
    """An operator action that cannot apply (unknown issue, merging into itself, ...)."""


@dataclass(frozen=True)
class Transition:
    group_id: int
    project_id: int
    kind: str  # "regression" or "escalating"
    data: dict = field(default_factory=dict)


def _releases_first_seen(conn: DbConnection, occurrences: list[Occurrence]) -> dict:
    pairs = sorted({(o.project_id, o.release) for o in occurrences if o.release})
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT project_id, version, first_seen FROM releases "
        "WHERE (project_id, version) IN (SELECT * FROM unnest(%b::bigint[], %b::text[]))",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    return {(r["project_id"], r["version"]): r["first_seen"] for r in rows}


def _regresses(state: GroupState, events: list[Occurrence], first_seen: dict) -> bool:
    assert state.resolved_at is not None
    resolved_at = state.resolved_at.timestamp()
    later = [o for o in events if o.received_at > resolved_at]
    if state.resolution != "next_release":
        return bool(later)
    # Resolved in the next release: only a release that appeared after the resolution counts.
    for o in later:
        seen = first_seen.get((o.project_id, o.release))
        if seen is not None and seen.timestamp() > resolved_at:
            return True
    return False


def _escalates(state: GroupState, now: datetime) -> bool:
    if state.ignore_until_count is not None and state.times_seen >= state.ignore_until_count:
        return True
    return state.ignore_until is not None and now >= state.ignore_until


def apply_event_rules(
    conn: DbConnection, states: list[GroupState], occurrences: list[Occurrence]
) -> list[Transition]:
    """Regress resolved issues and wake ignored ones that this batch's events concern."""
    by_group: dict[int, list[Occurrence]] = defaultdict(list)
    for o in occurrences:
        by_group[o.group_id].append(o)
    now = datetime.now(UTC)
    first_seen = _releases_first_seen(conn, occurrences)
    transitions: list[Transition] = []
    for state in states:
        if state.status == "resolved" and _regresses(state, by_group[state.id], first_seen):
            transitions.append(Transition(state.id, state.project_id, "regression"))
        elif state.status == "ignored" and _escalates(state, now):
            data = {"times_seen": state.times_seen}
            transitions.append(Transition(state.id, state.project_id, "escalating", data))
    for transition in transitions:  # rare: one statement each is fine
        substatus = "regressed" if transition.kind == "regression" else "escalating"
        conn.execute(
            """
            UPDATE error_groups SET status = 'unresolved', substatus = %s,
                resolved_at = NULL, resolution = NULL, ignored_at = NULL,
                ignore_until = NULL, ignore_until_count = NULL,
                regressed_at = CASE WHEN %s THEN now() ELSE regressed_at END,
                times_regressed = times_regressed + CASE WHEN %s THEN 1 ELSE 0 END
            WHERE id = %s
            """,
            (
                substatus,
                transition.kind == "regression",
                transition.kind == "regression",
                transition.group_id,
            ),
        )
        record_activity(
            conn, transition.group_id, transition.project_id, transition.kind, transition.data
        )
    return transitions


def age_substatuses(conn: DbConnection) -> None:
    """Sentry's aging: new issues stop being new after 3 days, regressions after 7."""
    conn.execute(
        "UPDATE error_groups SET substatus = 'ongoing' WHERE status = 'unresolved' AND ("
        "(substatus = 'new' AND first_seen < now() - interval '3 days') OR "
        "(substatus IN ('regressed', 'escalating') AND coalesce(regressed_at, first_seen) "
        "< now() - interval '7 days'))"
    )


def record_activity(
    conn: DbConnection, group_id: int, project_id: int, kind: str, data: dict | None = None
) -> None:
    record_activities(conn, [(group_id, project_id, kind, data or {})])


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


# -- operator actions ------------------------------------------------------------------


def _project_of(conn: DbConnection, group_id: int) -> int:
    row = conn.execute(
        "SELECT project_id, merged_into FROM error_groups WHERE id = %s FOR UPDATE", (group_id,)
    ).fetchone()
    if row is None:
        raise LifecycleError(f"no issue {group_id}")
    if row["merged_into"] is not None:
        raise LifecycleError(f"issue {group_id} was merged into {row['merged_into']}")
    return row["project_id"]


def resolve(conn: DbConnection, group_id: int, *, in_next_release: bool = False) -> None:
    project_id = _project_of(conn, group_id)
    resolution = "next_release" if in_next_release else "now"
    conn.execute(
        "UPDATE error_groups SET status = 'resolved', substatus = 'resolved', "
        "resolved_at = now(), resolution = %s, ignore_until = NULL, ignore_until_count = NULL "
        "WHERE id = %s",
        (resolution, group_id),
    )
    record_activity(conn, group_id, project_id, "resolved", {"resolution": resolution})


def unresolve(conn: DbConnection, group_id: int) -> None:
    project_id = _project_of(conn, group_id)
    conn.execute(
        "UPDATE error_groups SET status = 'unresolved', substatus = 'ongoing', "
        "resolved_at = NULL, resolution = NULL, ignored_at = NULL, ignore_until = NULL, "
        "ignore_until_count = NULL WHERE id = %s",
        (group_id,),
    )
    record_activity(conn, group_id, project_id, "unresolved")


def ignore(
    conn: DbConnection,
    group_id: int,
    *,
    more_events: int | None = None,
    until: datetime | None = None,
) -> None:
    """Ignore forever, until `more_events` more events arrive, or until a time."""
    project_id = _project_of(conn, group_id)
    conn.execute(
        "UPDATE error_groups SET status = 'ignored', substatus = 'archived', ignored_at = now(), "
        "ignore_until = %s, ignore_until_count = CASE WHEN %s::bigint IS NULL THEN NULL "
        "ELSE times_seen + %s::bigint END WHERE id = %s",
        (until, more_events, more_events, group_id),
    )
    data = {"more_events": more_events, "until": until.isoformat() if until else None}
    record_activity(conn, group_id, project_id, "ignored", data)


def expire_ignores(conn: DbConnection) -> list[Transition]:
    """Ignored-until-a-time issues whose time has come (a scheduled sweep)."""
    rows = conn.execute(
        "UPDATE error_groups SET status = 'unresolved', substatus = 'escalating', "
        "ignored_at = NULL, ignore_until = NULL, ignore_until_count = NULL "
        "WHERE status = 'ignored' AND ignore_until IS NOT NULL AND ignore_until <= now() "
        "RETURNING id, project_id"
    ).fetchall()
    transitions = [Transition(r["id"], r["project_id"], "escalating") for r in rows]
    for t in transitions:
        record_activity(conn, t.group_id, t.project_id, "unignored", {"reason": "time"})
    return transitions


def merge(conn: DbConnection, target_id: int, source_ids: list[int]) -> list[str]:
    """Fold sources into the target: their hashes (so later events follow), occurrences and
    counts move; the sources stay, pointing at the target. Returns the moved hashes' keys
    as `project:version:hash` so callers can drop cached lookups."""
    if target_id in source_ids:
        raise LifecycleError("an issue cannot be merged into itself")
    project_id = _project_of(conn, target_id)
    for source_id in sorted(set(source_ids)):
        if _project_of(conn, source_id) != project_id:
            raise LifecycleError(f"issue {source_id} belongs to another project")
    sources = sorted(set(source_ids))
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
    for source_id in sources:
        record_activity(conn, source_id, project_id, "merged", {"into": target_id})
    record_activity(conn, target_id, project_id, "merged", {"from": sources})
    return [f"{r['project_id']}:{r['grouping_version']}:{r['hash'].strip()}" for r in moved]
