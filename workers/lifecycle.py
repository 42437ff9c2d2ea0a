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

from core.pg.issues import lifecycle as statements
from core.pg.issues.batch import GroupState, Occurrence
from core.storage.postgres import DbConnection
from workers.errors import LifecycleError


@dataclass(frozen=True)
class Transition:
    group_id: int
    project_id: int
    kind: str  # "regression" or "escalating"
    data: dict = field(default_factory=dict)


def _releases_first_seen(conn: DbConnection, occurrences: list[Occurrence]) -> dict:
    pairs = sorted({(o.project_id, o.release) for o in occurrences if o.release})
    return statements.releases_first_seen(conn, pairs)


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
        regression = transition.kind == "regression"
        substatus = "regressed" if regression else "escalating"
        statements.reopen(conn, transition.group_id, substatus=substatus, regression=regression)
        record_activity(
            conn, transition.group_id, transition.project_id, transition.kind, transition.data
        )
    return transitions


def record_activity(
    conn: DbConnection, group_id: int, project_id: int, kind: str, data: dict | None = None
) -> None:
    statements.record_activities(conn, [(group_id, project_id, kind, data or {})])


# -- operator actions ------------------------------------------------------------------


def _project_of(conn: DbConnection, group_id: int) -> int:
    row = statements.lock_group(conn, group_id)
    if row is None:
        raise LifecycleError(f"no issue {group_id}")
    if row["merged_into"] is not None:
        raise LifecycleError(f"issue {group_id} was merged into {row['merged_into']}")
    return row["project_id"]


def resolve(conn: DbConnection, group_id: int, *, in_next_release: bool = False) -> None:
    project_id = _project_of(conn, group_id)
    resolution = "next_release" if in_next_release else "now"
    statements.mark_resolved(conn, group_id, resolution)
    record_activity(conn, group_id, project_id, "resolved", {"resolution": resolution})


def unresolve(conn: DbConnection, group_id: int) -> None:
    project_id = _project_of(conn, group_id)
    statements.mark_unresolved(conn, group_id)
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
    statements.mark_ignored(conn, group_id, more_events=more_events, until=until)
    data = {"more_events": more_events, "until": until.isoformat() if until else None}
    record_activity(conn, group_id, project_id, "ignored", data)


def expire_ignores(conn: DbConnection) -> list[Transition]:
    """Ignored-until-a-time issues whose time has come (a scheduled sweep)."""
    ended = statements.end_expired_ignores(conn)
    transitions = [Transition(group_id, project_id, "escalating") for group_id, project_id in ended]
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
    moved = statements.merge_groups(conn, target_id, sources)
    for source_id in sources:
        record_activity(conn, source_id, project_id, "merged", {"into": target_id})
    record_activity(conn, target_id, project_id, "merged", {"from": sources})
    return moved
