"""The batch path: resolve hashes to groups, create groups, record occurrences.

Every statement works on a whole batch (one round trip per step, never per
event) and is idempotent: groups are upserted on (project, hash, version),
occurrences are unique per (project, event id), and counters only move by the
occurrences this call actually inserted. Rows are sorted before writing so two
workers on overlapping batches lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection


@dataclass(frozen=True)
class NewGroup:
    project_id: int
    grouping_version: str
    hash: str
    title: str
    culprit: str
    level: str
    exception_type: str
    first_seen: float
    metadata: dict
    sample_event: bytes = b""


@dataclass(frozen=True)
class Occurrence:
    project_id: int
    group_id: int
    event_id: str
    occurred_at: float
    received_at: float
    release: str = ""
    environment: str = ""
    user_key: str = ""


@dataclass(frozen=True)
class GroupState:
    """A group after this batch's occurrences were counted: what lifecycle rules read."""

    id: int
    project_id: int
    status: str
    times_seen_before: int
    times_seen: int
    resolved_at: datetime | None
    resolution: str | None
    ignore_until: datetime | None
    ignore_until_count: int | None


HashKey = tuple[int, str, str]  # project_id, grouping_version, hash


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


LOOKUP_HASHES = """
    SELECT h.project_id, h.grouping_version, h.hash, coalesce(g.merged_into, g.id) AS group_id
    FROM unnest(%b::bigint[], %b::text[], %b::bpchar[]) AS k(project_id, version, hash)
    JOIN group_hashes h
      ON h.project_id = k.project_id AND h.grouping_version = k.version AND h.hash = k.hash
    JOIN error_groups g ON g.id = h.group_id
"""


def lookup_hashes(conn: DbConnection, keys: set[HashKey]) -> dict[HashKey, int]:
    """Groups already known for these hashes, following merges to the surviving group.

    The hashes go in as `bpchar`, the column's type: as `text` the comparison casts the
    column, the primary key cannot be used, and every lookup scans the whole table.
    """
    if not keys:
        return {}
    projects, versions, hashes = zip(*sorted(keys), strict=True)
    rows = conn.execute(LOOKUP_HASHES, (list(projects), list(versions), list(hashes))).fetchall()
    return {
        (r["project_id"], r["grouping_version"], r["hash"].strip()): r["group_id"] for r in rows
    }


INSERT_HASHES = """
    INSERT INTO group_hashes (project_id, grouping_version, hash, group_id)
    SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::bigint[])
    ON CONFLICT DO NOTHING
"""


def attach_hashes(conn: DbConnection, hashes: dict[HashKey, int]) -> dict[HashKey, int]:
    """Point new hashes at existing groups; returns where each hash points now (a
    concurrent worker may have attached it elsewhere first: trust the table)."""
    if not hashes:
        return {}
    keys = sorted(hashes)
    conn.execute(
        INSERT_HASHES,
        (
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [hashes[k] for k in keys],
        ),
    )
    return lookup_hashes(conn, set(keys))


def create_groups(
    conn: DbConnection, groups: list[NewGroup]
) -> tuple[dict[HashKey, int], set[int]]:
    """Insert groups (or find the ones a concurrent worker created) and their hashes.

    Returns hash -> group for every given hash, and the ids this call really created.
    """
    if not groups:
        return {}, set()
    groups = sorted(groups, key=lambda g: (g.project_id, g.grouping_version, g.hash))
    rows = conn.execute(
        """
        INSERT INTO error_groups (project_id, fingerprint_hash, grouping_version, title, culprit,
                                  level, exception_type, first_seen, last_seen, metadata,
                                  sample_event)
        SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[],
                             %b::text[], %b::text[], %b::timestamptz[], %b::timestamptz[],
                             %b::jsonb[], %b::bytea[])
        ON CONFLICT (project_id, fingerprint_hash, grouping_version)
        DO UPDATE SET project_id = excluded.project_id
        RETURNING id, project_id, grouping_version, fingerprint_hash, (xmax = 0) AS inserted
        """,
        (
            [g.project_id for g in groups],
            [g.hash for g in groups],
            [g.grouping_version for g in groups],
            [g.title[:1000] for g in groups],
            [g.culprit[:1000] for g in groups],
            [g.level for g in groups],
            [g.exception_type[:256] for g in groups],
            [_ts(g.first_seen) for g in groups],
            [_ts(g.first_seen) for g in groups],
            [Jsonb(g.metadata) for g in groups],
            [g.sample_event for g in groups],
        ),
    ).fetchall()
    created = {
        (r["project_id"], r["grouping_version"], r["fingerprint_hash"]): r["id"] for r in rows
    }
    inserted = {r["id"] for r in rows if r["inserted"]}
    conn.execute(
        INSERT_HASHES,
        (
            [k[0] for k in created],
            [k[1] for k in created],
            [k[2] for k in created],
            list(created.values()),
        ),
    )
    # A hash may already point elsewhere (a merge, or a concurrent worker): trust the table.
    return lookup_hashes(conn, set(created)), inserted


def _array_literal(values: list[int] | list[float] | list[str]) -> str:
    """A PostgreSQL array literal of numbers or hex ids (nothing to quote), for `%s::T[]`.

    psycopg dumps a list element by element in Python; one string joined in C and parsed
    by PostgreSQL costs a fraction of that for a batch's thousand values. `str` of a float
    is its shortest exact form, which float8 reads back bit for bit.
    """
    return "{" + ",".join(map(str, values)) + "}"


RECORD_OCCURRENCES = """
    INSERT INTO error_occurrences (project_id, group_id, event_id, occurred_at, received_at)
    SELECT project_id, group_id, event_id::uuid, to_timestamp(occurred_at),
           to_timestamp(received_at)
    FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::float8[], %s::float8[])
        AS o(project_id, group_id, event_id, occurred_at, received_at)
    ON CONFLICT (project_id, event_id) DO NOTHING
    RETURNING project_id, replace(event_id::text, '-', '')
"""


def record_occurrences(conn: DbConnection, occurrences: list[Occurrence]) -> list[Occurrence]:
    """Insert occurrences; returns only those new to the database (redeliveries are skipped).

    Ids go in as hex text and times as epoch seconds, converted by PostgreSQL: building a
    UUID and two datetimes per event in Python cost more than the insert itself. Each
    column is one array literal (see `_array_literal`). Rows come back as tuples: a dict
    per inserted row is work nobody reads.
    """
    if not occurrences:
        return []
    occurrences = sorted(occurrences, key=lambda o: (o.project_id, o.event_id))
    with conn.cursor(row_factory=tuple_row) as cursor:
        rows = cursor.execute(
            RECORD_OCCURRENCES,
            (
                _array_literal([o.project_id for o in occurrences]),
                _array_literal([o.group_id for o in occurrences]),
                _array_literal([o.event_id for o in occurrences]),
                _array_literal([o.occurred_at for o in occurrences]),
                _array_literal([o.received_at for o in occurrences]),
            ),
        ).fetchall()
    inserted = set(rows)
    return [o for o in occurrences if (o.project_id, o.event_id) in inserted]


def record_users(conn: DbConnection, occurrences: list[Occurrence]) -> dict[int, int]:
    """Remember each issue's affected users; returns how many are new per issue."""
    pairs = sorted({(o.group_id, o.user_key) for o in occurrences if o.user_key})
    if not pairs:
        return {}
    rows = conn.execute(
        """
        INSERT INTO group_users (group_id, user_key)
        SELECT * FROM unnest(%b::bigint[], %b::text[])
        ON CONFLICT DO NOTHING
        RETURNING group_id
        """,
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    counts: Counter[int] = Counter(row["group_id"] for row in rows)
    return dict(counts)


def record_releases(conn: DbConnection, occurrences: list[Occurrence]) -> None:
    """Releases and environments each issue was seen in, and each project's releases."""
    seen: dict[tuple[int, str, str], list[float]] = {}
    first_by_release: dict[tuple[int, str], float] = {}
    for o in occurrences:
        entry = seen.setdefault((o.group_id, o.release, o.environment), [0, o.received_at, 0.0])
        entry[0] += 1
        entry[1] = min(entry[1], o.occurred_at)
        entry[2] = max(entry[2], o.occurred_at)
        if o.release:
            key = (o.project_id, o.release)
            first_by_release[key] = min(first_by_release.get(key, o.received_at), o.received_at)
    keys = sorted(seen)
    if keys:
        conn.execute(
            """
            INSERT INTO group_releases AS r (group_id, release, environment, first_seen,
                                             last_seen, times_seen)
            SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[],
                                 %b::timestamptz[], %b::bigint[])
            ON CONFLICT (group_id, release, environment) DO UPDATE SET
                first_seen = least(r.first_seen, excluded.first_seen),
                last_seen = greatest(r.last_seen, excluded.last_seen),
                times_seen = r.times_seen + excluded.times_seen
            """,
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [_ts(seen[k][1]) for k in keys],
                [_ts(seen[k][2]) for k in keys],
                [int(seen[k][0]) for k in keys],
            ),
        )
    releases = sorted(first_by_release)
    if releases:
        conn.execute(
            """
            INSERT INTO releases AS r (project_id, version, first_seen)
            SELECT * FROM unnest(%b::bigint[], %b::text[], %b::timestamptz[])
            ON CONFLICT (project_id, version)
            DO UPDATE SET first_seen = least(r.first_seen, excluded.first_seen)
            """,
            (
                [k[0] for k in releases],
                [k[1] for k in releases],
                [_ts(first_by_release[k]) for k in releases],
            ),
        )


def bump_group_counters(
    conn: DbConnection, occurrences: list[Occurrence], new_users: dict[int, int]
) -> list[GroupState]:
    """Add this batch's new occurrences (and users) to their issues; returns the issues."""
    stats: dict[int, list[float]] = defaultdict(lambda: [0, float("inf"), float("-inf")])
    for o in occurrences:
        entry = stats[o.group_id]
        entry[0] += 1
        entry[1] = min(entry[1], o.occurred_at)
        entry[2] = max(entry[2], o.occurred_at)
    if not stats:
        return []
    group_ids = sorted(stats)
    rows = conn.execute(
        """
        UPDATE error_groups g
        SET times_seen = g.times_seen + s.n,
            users_seen = g.users_seen + s.users,
            first_seen = least(g.first_seen, s.first_seen),
            last_seen = greatest(g.last_seen, s.last_seen)
        FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::timestamptz[],
                    %b::timestamptz[]) AS s(id, n, users, first_seen, last_seen)
        WHERE g.id = s.id
        RETURNING g.id, g.project_id, g.status, g.times_seen - s.n AS times_seen_before,
                  g.times_seen, g.resolved_at, g.resolution, g.ignore_until,
                  g.ignore_until_count
        """,
        (
            group_ids,
            [int(stats[i][0]) for i in group_ids],
            [new_users.get(i, 0) for i in group_ids],
            [_ts(stats[i][1]) for i in group_ids],
            [_ts(stats[i][2]) for i in group_ids],
        ),
    ).fetchall()
    return [GroupState(**row) for row in rows]
