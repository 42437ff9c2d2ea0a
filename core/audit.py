"""The audit: every event the relay kept is stored once, grouped, and counted by its issue.

For each project, hour of arrival and data category, the relay's ledger (`ingest_ledger`,
one account per stored spool segment) says what it kept; the audit finds those rows in
their tables (events, transactions by id; attachments, sessions by count), finds each
kept event's assignment to an issue (`event_groups`, written after the issue's
PostgreSQL transaction), and puts the relay's outcomes beside them (what was dropped,
and why). Then each issue touched in the window: its event count in PostgreSQL
(`times_seen`, merges folded in) must equal its assignments in ClickHouse.

Work still in flight is not a difference: events flushed within `settle_s` may be
ungrouped yet, and an issue whose last assignment is that recent is not compared.
Segments still in a relay's spool have no account yet; they appear once flushed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from core.pg.issues import reads
from core.wire import EventBatch, StoredEvents

# Categories whose rows carry an event id (errors, messages, security reports; transactions).
EVENT_CATEGORIES = ("error", "default", "security")
ID_CATEGORIES = (*EVENT_CATEGORIES, "transaction")
# Categories accounted by count: (table, the time column that places a row in an hour).
COUNTED_TABLES = {"attachment": "attachments", "session": "sessions"}
DROPPED_OUTCOMES = ("filtered", "rate_limited", "sampled", "invalid")


@dataclass
class LedgerLine:
    project_id: int
    hour: datetime
    category: str
    accepted: int = 0  # kept by the relay (its ledger)
    stored: int = 0  # of those, found in their table
    grouped: int = 0  # of the stored events, assigned to an issue
    due: int = 0  # of the stored events, flushed long enough ago to be grouped by now
    dropped: dict[str, int] = field(default_factory=dict)  # outcome -> quantity

    @property
    def missing(self) -> int:
        return max(self.accepted - self.stored, 0)

    @property
    def extra(self) -> int:
        """Rows beyond the ledger's count (counted categories): stored twice, or unledgered."""
        return max(self.stored - self.accepted, 0) if self.category in COUNTED_TABLES else 0

    @property
    def ungrouped(self) -> int:
        return max(self.due - self.grouped, 0) if self.category in EVENT_CATEGORIES else 0


@dataclass(frozen=True)
class IssueCount:
    group_id: int
    project_id: int
    times_seen: int  # PostgreSQL, with the issues merged into it
    assigned: int  # ClickHouse `event_groups`, distinct events of the same issues


@dataclass
class Reconciliation:
    since: datetime
    until: datetime
    lines: list[LedgerLine]
    issues_checked: int
    issue_differences: list[IssueCount]

    @property
    def missing(self) -> int:
        return sum(line.missing for line in self.lines)

    @property
    def extra(self) -> int:
        return sum(line.extra for line in self.lines)

    @property
    def ungrouped(self) -> int:
        return sum(line.ungrouped for line in self.lines)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.ungrouped or self.issue_differences)

    def summary(self) -> str:
        accepted = sum(line.accepted for line in self.lines)
        dropped = sum(sum(line.dropped.values()) for line in self.lines)
        verdict = "reconciled" if self.ok else "DIFFERENCES"
        return (
            f"{verdict}: {accepted} kept, {dropped} dropped with an outcome, "
            f"{self.missing} missing, {self.extra} extra, {self.ungrouped} ungrouped, "
            f"{len(self.issue_differences)} of {self.issues_checked} issues miscounted"
        )


def _utc(moment: datetime) -> datetime:
    """ClickHouse returns UTC times naive or aware by column type: make them all aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _project_filter(projects: list[int] | None, column: str = "project_id") -> str:
    return f" AND {column} IN {{projects:Array(UInt64)}}" if projects else ""


_ID_LINES = """
WITH acked AS (
    SELECT project_id, hour, category, arrayJoin(event_ids) AS event_id,
           flushed_at < {{settled:DateTime64(3)}} AS due
    FROM ingest_ledger FINAL
    WHERE hour >= {{since:DateTime}} AND hour < {{until:DateTime}}
      AND category IN {{id_categories:Array(String)}}{projects}
)
SELECT project_id, hour, category,
    uniqExact(event_id) AS accepted,
    uniqExactIf(event_id, if(category = 'transaction',
        (project_id, event_id) IN (
            SELECT project_id, event_id FROM transactions
            WHERE event_id IN (SELECT event_id FROM acked)),
        (project_id, event_id) IN (
            SELECT project_id, event_id FROM events
            WHERE received_at >= {{since:DateTime}} AND event_id IN (SELECT event_id FROM acked))
    )) AS stored,
    uniqExactIf(event_id, (project_id, event_id) IN (
        SELECT project_id, event_id FROM event_groups
        WHERE event_id IN (SELECT event_id FROM acked))) AS grouped,
    uniqExactIf(event_id, due AND category != 'transaction' AND (project_id, event_id) IN (
        SELECT project_id, event_id FROM events
        WHERE received_at >= {{since:DateTime}} AND event_id IN (SELECT event_id FROM acked)
    )) AS due
FROM acked
GROUP BY project_id, hour, category
"""


def _id_lines(client: Client, params: dict[str, Any], projects) -> list[LedgerLine]:
    sql = _ID_LINES.format(projects=_project_filter(projects))
    rows = client.query(sql, parameters=params).result_rows
    return [
        LedgerLine(project_id, _utc(hour), category, accepted, stored, grouped, due)
        for project_id, hour, category, accepted, stored, grouped, due in rows
    ]


def _counted_lines(client: Client, params: dict[str, Any], projects) -> list[LedgerLine]:
    lines: dict[tuple, LedgerLine] = {}
    ledger = client.query(
        "SELECT project_id, hour, category, sum(items) FROM ingest_ledger FINAL "
        "WHERE hour >= {since:DateTime} AND hour < {until:DateTime} "
        f"AND category IN {{counted:Array(String)}}{_project_filter(projects)} "
        "GROUP BY project_id, hour, category",
        parameters=params,
    ).result_rows
    for project_id, hour, category, items in ledger:
        key = (project_id, _utc(hour), category)
        lines[key] = LedgerLine(*key, items)
    for category, table in COUNTED_TABLES.items():
        stored = client.query(
            f"SELECT project_id, toStartOfHour(received_at) AS hour, count() FROM {table} "
            "WHERE received_at >= {since:DateTime} AND received_at < {until:DateTime}"
            f"{_project_filter(projects)} GROUP BY project_id, hour",
            parameters=params,
        ).result_rows
        for project_id, hour, count in stored:
            key = (project_id, _utc(hour), category)
            lines.setdefault(key, LedgerLine(*key)).stored = count
    return list(lines.values())


def _add_outcomes(
    client: Client, params: dict[str, Any], projects, lines: list[LedgerLine]
) -> list[LedgerLine]:
    by_key = {(line.project_id, line.hour, line.category): line for line in lines}
    rows = client.query(
        "SELECT project_id, hour, category, outcome, sum(quantity) FROM outcomes "
        "WHERE source = 'relay' AND outcome IN {dropped:Array(String)} "
        f"AND hour >= {{since:DateTime}} AND hour < {{until:DateTime}}{_project_filter(projects)} "
        "GROUP BY project_id, hour, category, outcome",
        parameters=params,
    ).result_rows
    for project_id, hour, category, outcome, quantity in rows:
        key = (project_id, _utc(hour), category)
        by_key.setdefault(key, LedgerLine(*key)).dropped[outcome] = quantity
    return sorted(by_key.values(), key=lambda x: (x.project_id, x.hour, x.category))


def _issue_counts(
    client: Client, conn, params: dict[str, Any], projects
) -> tuple[int, list[IssueCount]]:
    """Issues assigned an event in the window: PostgreSQL's count against ClickHouse's."""
    touched = [
        row[0]
        for row in client.query(
            "SELECT DISTINCT group_id FROM event_groups WHERE event_id IN ("
            "SELECT arrayJoin(event_ids) FROM ingest_ledger "
            "WHERE hour >= {since:DateTime} AND hour < {until:DateTime} "
            f"AND category IN {{event_categories:Array(String)}}{_project_filter(projects)})",
            parameters=params,
        ).result_rows
    ]
    if not touched:
        return 0, []
    # Merged issues point at their target; the target's count holds theirs.
    families = reads.merge_families(conn, touched)
    canonical_of = {row["id"]: row["canonical"] for row in families}
    expected = {row["id"]: row for row in families if row["id"] == row["canonical"]}
    assigned: dict[int, int] = defaultdict(int)
    last_assigned: dict[int, datetime] = {}
    for group_id, count, last in client.query(
        "SELECT group_id, uniqExact(event_id), max(processed_at) FROM event_groups "
        "WHERE group_id IN {groups:Array(UInt64)} GROUP BY group_id",
        parameters={"groups": sorted(canonical_of)},
    ).result_rows:
        target = canonical_of[group_id]
        assigned[target] += count
        last_assigned[target] = max(_utc(last), last_assigned.get(target, _utc(last)))
    settled = params["settled"]
    differences = [
        IssueCount(group_id, row["project_id"], row["times_seen"], assigned[group_id])
        for group_id, row in sorted(expected.items())
        if row["times_seen"] != assigned[group_id]
        and (group_id not in last_assigned or last_assigned[group_id] < settled)
    ]
    return len(expected), differences


_UNGROUPED = """
WITH due AS (
    SELECT project_id, arrayJoin(event_ids) AS event_id FROM ingest_ledger FINAL
    WHERE hour >= {{since:DateTime}} AND hour < {{until:DateTime}}
      AND category IN {{event_categories:Array(String)}}
      AND flushed_at < {{settled:DateTime64(3)}}{projects}
)
SELECT DISTINCT project_id, replaceAll(toString(event_id), '-', ''), toFloat64(timestamp)
FROM events
WHERE received_at >= {{since:DateTime}}
  AND (project_id, event_id) IN (SELECT project_id, event_id FROM due)
  AND (project_id, event_id) NOT IN (
      SELECT project_id, event_id FROM event_groups WHERE event_id IN (SELECT event_id FROM due))
LIMIT {{limit:UInt32}}
"""


def ungrouped_batches(
    client: Client,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    settle_s: float,
    limit: int = 100_000,
    batch_events: int = 1_000,
) -> list[EventBatch]:
    """Stored events that no issue has taken past the settling time, named in batches for
    the workers (as the seeder's bulk loads are): re-sent, they are grouped once. The
    batch id names its events, so sending the same repair twice stores it once."""
    params = {
        "since": since.replace(minute=0, second=0, microsecond=0),
        "until": until.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
        "settled": now - timedelta(seconds=settle_s),
        "event_categories": list(EVENT_CATEGORIES),
        "limit": limit,
    }
    rows = client.query(_UNGROUPED.format(projects=""), parameters=params).result_rows
    by_project: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for project_id, event_id, timestamp in rows:
        by_project[project_id].append((event_id, timestamp))
    batches = []
    for project_id, events in sorted(by_project.items()):
        events.sort()
        for start in range(0, len(events), batch_events):
            chunk = events[start : start + batch_events]
            ids = [event_id for event_id, _ in chunk]
            named = StoredEvents(
                project_id=project_id,
                # A millisecond of slack: the read compares these bounds as floats.
                start=min(t for _, t in chunk) - 0.001,
                end=max(t for _, t in chunk) + 0.001,
                event_ids=ids,
            )
            digest = hashlib.blake2b("".join(ids).encode(), digest_size=16).hexdigest()
            batches.append(
                EventBatch(batch_id=f"repair-{digest}", created_at=now.timestamp(), stored=[named])
            )
    return batches


def reconcile(
    client: Client,
    conn,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    projects: list[int] | None = None,
    settle_s: float = 60.0,
) -> Reconciliation:
    """Reconcile the hours from `since` to `until` (rounded out to whole hours).

    `conn` is a PostgreSQL connection returning rows as dicts."""
    since = since.replace(minute=0, second=0, microsecond=0)
    if until.replace(minute=0, second=0, microsecond=0) != until:
        until = until.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "settled": now - timedelta(seconds=settle_s),
        "id_categories": list(ID_CATEGORIES),
        "event_categories": list(EVENT_CATEGORIES),
        "counted": list(COUNTED_TABLES),
        "dropped": list(DROPPED_OUTCOMES),
    }
    if projects:
        params["projects"] = projects
    lines = _id_lines(client, params, projects) + _counted_lines(client, params, projects)
    lines = _add_outcomes(client, params, projects, lines)
    checked, differences = _issue_counts(client, conn, params, projects)
    return Reconciliation(since, until, lines, checked, differences)
