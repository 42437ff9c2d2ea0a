"""Group assignment: one PostgreSQL transaction per batch, everything that follows from it.

Resolve hashes (Redis cache, then one query; a hash still unknown whose event has
an issue under the project's previous grouping version joins that issue and is
attached to it, as Sentry's secondary grouping does during a move), create
missing issues, insert the occurrences, then — moved only by the occurrences
this call really inserted — users, releases, counters, lifecycle rules
(regressions, escalations) and the notifications outbox. A redelivered batch
inserts no occurrence and so changes nothing. Follow-ups (deliveries, AI
analyses) are returned, to be sent after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.pg.issues import reads
from core.pg.issues.batch import (
    GroupState,
    NewGroup,
    Occurrence,
    attach_hashes,
    bump_group_counters,
    create_groups,
    lookup_hashes,
    record_occurrences,
    record_releases,
    record_users,
)
from core.storage.postgres import DbConnection
from workers.batch_input import Grouped, HashKey
from workers.context import WorkerContext
from workers.lifecycle import Transition, apply_event_rules
from workers.notifications import Notice, add_to_outbox, issue_notice

_CACHE_TTL_S = 3600


@dataclass
class Assignment:
    groups: dict[HashKey, int] = field(default_factory=dict)
    new_occurrences: int = 0
    new_group_ids: list[int] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)
    # (group id, reason) pairs for AI analysis, sent after the commit.
    analyses: list[tuple[int, str]] = field(default_factory=list)


def cache_key(namespace: str, key: HashKey | str) -> str:
    suffix = key if isinstance(key, str) else f"{key[0]}:{key[1]}:{key[2]}"
    return f"{namespace}:grouphash:{suffix}"


def _cached_groups(ctx: WorkerContext, keys: list[HashKey]) -> dict[HashKey, int]:
    if not keys:
        return {}
    namespace = ctx.settings.redis_namespace
    values = ctx.stack.redis.mget([cache_key(namespace, k) for k in keys])
    return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}


def _remember_groups(ctx: WorkerContext, found: dict[HashKey, int]) -> None:
    if not found:
        return
    pipe = ctx.stack.redis.pipeline(transaction=False)
    for key, group_id in found.items():
        pipe.set(cache_key(ctx.settings.redis_namespace, key), group_id, ex=_CACHE_TTL_S)
    pipe.execute()


def _new_group(item: Grouped) -> NewGroup:
    result = item.result
    return NewGroup(
        project_id=item.key[0],
        grouping_version=item.key[1],
        hash=item.key[2],
        title=result.title,
        culprit=result.culprit,
        level=item.level,
        exception_type=result.exception_type,
        first_seen=item.event.timestamp,
        metadata={"variant": result.variant, "value": result.exception_value[:500]},
        sample_event=item.event.payload,
    )


def _first_events(grouped: list[Grouped], keys: set[HashKey]) -> list[Grouped]:
    """Per hash in `keys`, the batch's earliest event: a new issue's title, first_seen and
    sample event (what `issues show` explains) all come from its first event."""
    first: dict[HashKey, Grouped] = {}
    for item in grouped:
        if item.key not in keys:
            continue
        current = first.get(item.key)
        if current is None or item.event.timestamp < current.event.timestamp:
            first[item.key] = item
    return list(first.values())


def _occurrence(item: Grouped, group_id: int) -> Occurrence:
    return Occurrence(
        project_id=item.key[0],
        group_id=group_id,
        event_id=item.event.event_id,
        occurred_at=item.event.timestamp,
        received_at=item.event.received_at,
        release=item.release,
        environment=item.environment,
        user_key=item.user_key,
    )


def _group_rows(conn: DbConnection, group_ids: set[int]) -> dict[int, dict]:
    if not group_ids:
        return {}
    return reads.notice_rows(conn, sorted(group_ids))


def _follow_ups(
    ctx: WorkerContext,
    conn: DbConnection,
    *,
    created: set[int],
    states: list[GroupState],
    transitions: list[Transition],
    result: Assignment,
) -> None:
    """Activity, notifications and AI analyses for what this batch changed."""
    # A new issue's first sighting is its first_seen column, not an activity row: a bulk
    # load creating thousands of issues would write thousands of rows saying nothing more.
    rows = _group_rows(conn, created | {t.group_id for t in transitions})
    notices: list[Notice] = [
        issue_notice("new_issue", rows[g], period="first") for g in sorted(created)
    ]
    for transition in transitions:
        notices.append(issue_notice(transition.kind, rows[transition.group_id]))
        result.analyses.append((transition.group_id, transition.kind))
    result.notification_ids = add_to_outbox(conn, notices)
    rules = ctx.project_rules({s.project_id for s in states})
    for state in states:
        minimum = rules[state.project_id].config.ai.min_events
        if state.times_seen_before < minimum <= state.times_seen:
            result.analyses.append((state.id, "new_issue"))


def _still_valid(conn: DbConnection, cached: dict[HashKey, int]) -> dict[HashKey, int]:
    """Cached answers whose issue still exists unmerged (a reset, retention or a merge made
    elsewhere can leave the cache behind the database); one query by primary key."""
    if not cached:
        return {}
    alive = reads.live_group_ids(conn, sorted(set(cached.values())))
    return {key: group_id for key, group_id in cached.items() if group_id in alive}


def _adopt_by_secondary(
    conn: DbConnection, grouped: list[Grouped], unknown: set[HashKey]
) -> dict[HashKey, int]:
    """Unknown hashes whose event's previous-version hash has an issue: that issue
    takes them (one lookup for the batch)."""
    previous = {
        g.key: g.secondary_key for g in grouped if g.key in unknown and g.secondary_key is not None
    }
    if not previous:
        return {}
    existing = lookup_hashes(conn, set(previous.values()))
    adopted = {key: existing[old] for key, old in previous.items() if old in existing}
    return attach_hashes(conn, adopted)


def assign_groups(ctx: WorkerContext, grouped: list[Grouped]) -> Assignment:
    result = Assignment()
    keys = list({g.key for g in grouped})
    cached = _cached_groups(ctx, keys)
    with ctx.stack.pool.connection() as conn, conn.transaction():
        result.groups = _still_valid(conn, cached)
        missing = {k for k in keys if k not in result.groups}
        found = lookup_hashes(conn, missing)
        found |= _adopt_by_secondary(conn, grouped, missing - set(found))
        to_create = _first_events(grouped, missing - set(found))
        created_map, created = create_groups(conn, [_new_group(g) for g in to_create])
        result.groups |= found | created_map
        occurrences = [_occurrence(g, result.groups[g.key]) for g in grouped]
        inserted = record_occurrences(conn, occurrences)
        new_users = record_users(conn, inserted)
        record_releases(conn, inserted)
        states = bump_group_counters(conn, inserted, new_users)
        transitions = apply_event_rules(conn, states, inserted)
        _follow_ups(
            ctx, conn, created=created, states=states, transitions=transitions, result=result
        )
    _remember_groups(ctx, found | created_map)
    result.new_occurrences = len(inserted)
    result.new_group_ids = sorted(created)
    return result
