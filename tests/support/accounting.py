"""Did every acknowledged event arrive once? Read from the stores of a Deployment.

An event id answered 200 must be a row of its table (`events`, or `transactions` for a
transaction) exactly once: its rows are counted without FINAL, and so are its inserts,
which the deployment counts apart because a merge of the ReplacingMergeTree collapses a
duplicate. An error event must also have exactly one `error_occurrences` row, and every
issue's `times_seen` must equal its occurrences (each event counted once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.support.deployment import Deployment

_ROWS_PER_ID = """
SELECT replaceAll(toString(event_id), '-', ''), count() FROM {table}
WHERE project_id IN {{projects:Array(UInt64)}} GROUP BY event_id
"""


@dataclass
class Accounts:
    acknowledged: int = 0
    stored: int = 0  # acknowledged ids found in their table
    grouped: int = 0  # acknowledged error events with their occurrence
    missing: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)  # id -> rows
    ungrouped: list[str] = field(default_factory=list)
    miscounted_issues: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.ungrouped or self.miscounted_issues)

    def __str__(self) -> str:
        return (
            f"{self.acknowledged} acknowledged, {self.stored} stored, {self.grouped} grouped; "
            f"missing {self.missing[:5]} ({len(self.missing)}), duplicated "
            f"{dict(list(self.duplicated.items())[:5])} ({len(self.duplicated)}), ungrouped "
            f"{self.ungrouped[:5]} ({len(self.ungrouped)}), miscounted issues "
            f"{self.miscounted_issues[:5]}"
        )


def rows_per_id(deployment: Deployment, table: str, projects: list[int]) -> dict[str, int]:
    """Rows of `table` per event id: those it holds, or more if more were ever inserted."""
    held = _count_per_id(deployment, table, projects)
    inserted = _count_per_id(deployment, f"{table}_inserted", projects)
    return {event_id: max(rows, inserted.get(event_id, 0)) for event_id, rows in held.items()}


def _count_per_id(deployment: Deployment, table: str, projects: list[int]) -> dict[str, int]:
    client = deployment.clickhouse()
    try:
        rows = client.query(
            _ROWS_PER_ID.format(table=table), parameters={"projects": projects}
        ).result_rows
    finally:
        client.close()
    return dict(rows)


def occurrences_per_id(deployment: Deployment, projects: list[int]) -> dict[str, int]:
    with deployment.postgres() as conn:
        rows = conn.execute(
            "SELECT replace(event_id::text, '-', '') AS id, count(*) AS n FROM error_occurrences "
            "WHERE project_id = ANY(%s) GROUP BY event_id",
            (projects,),
        ).fetchall()
    return {row["id"]: row["n"] for row in rows}


def miscounted_issues(deployment: Deployment, projects: list[int]) -> list[dict]:
    with deployment.postgres() as conn:
        return conn.execute(
            "SELECT g.id, g.times_seen, count(o.id) AS occurrences FROM error_groups g "
            "LEFT JOIN error_occurrences o ON o.group_id = g.id "
            "WHERE g.project_id = ANY(%s) AND g.merged_into IS NULL "
            "GROUP BY g.id HAVING g.times_seen <> count(o.id)",
            (projects,),
        ).fetchall()


def account(deployment: Deployment, acknowledged: dict[str, str], projects: list[int]) -> Accounts:
    """`acknowledged`: event id -> item type ("event" or "transaction") of each 200."""
    events = rows_per_id(deployment, "events", projects)
    transactions = rows_per_id(deployment, "transactions", projects)
    occurrences = occurrences_per_id(deployment, projects)
    accounts = Accounts(acknowledged=len(acknowledged))
    for event_id, kind in acknowledged.items():
        rows = (transactions if kind == "transaction" else events).get(event_id, 0)
        if rows == 0:
            accounts.missing.append(event_id)
            continue
        accounts.stored += 1
        if rows > 1:
            accounts.duplicated[event_id] = rows
        if kind != "transaction":
            if occurrences.get(event_id, 0) == 1:
                accounts.grouped += 1
            else:
                accounts.ungrouped.append(event_id)
    accounts.miscounted_issues = miscounted_issues(deployment, projects)
    return accounts


def settled(deployment: Deployment, projects: list[int]) -> bool:
    """Nothing in flight: spools empty, no batch queued, every stored event grouped."""
    if not all(relay.running for relay in deployment.relays):
        return False
    if deployment.spooled_bytes() or deployment.queued_batches():
        return False
    stored = len(rows_per_id(deployment, "events", projects))
    return stored == len(occurrences_per_id(deployment, projects))


def wait_settled(deployment: Deployment, projects: list[int], timeout_s: float = 120) -> float:
    """Seconds it took until nothing was in flight; fails after `timeout_s`."""
    started = time.monotonic()
    while not settled(deployment, projects):
        if time.monotonic() - started > timeout_s:
            raise AssertionError(
                f"not settled after {timeout_s:.0f} s: {deployment.spooled_bytes():.0f} bytes "
                f"spooled, {deployment.queued_batches()} batches queued, "
                f"{deployment.dead_batches()} dead"
            )
        time.sleep(0.5)
    return time.monotonic() - started
