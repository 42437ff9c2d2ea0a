"""`audit`: reconcile what the relay kept with what is stored and grouped.

    stackwise audit [--project P] [--since 24h] [--settle 60] [--hourly]

Prints, per project and category, what the relay kept (its ledger), dropped with an
outcome, stored, and grouped into issues; then the hours and issues that disagree.
Exits 1 when anything kept is missing, stored twice, left ungrouped past the settling
time, or when an issue's event count disagrees with ClickHouse. Reads the live stores
as the workbench does (a ClickHouse server, a running `serve` over HTTP, the folder).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from core.audit import LedgerLine, Reconciliation, reconcile
from core.pg import projects

console = Console(width=None if Console().is_terminal else 130)
_SINCE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def register(commands) -> None:
    parser = commands.add_parser(
        "audit", help="reconcile acknowledged, dropped, stored and grouped events"
    )
    parser.add_argument("--project", help="project slug or id (default: all)")
    parser.add_argument("--since", default="24h", help="how far back: 90m, 24h, 7d")
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds events may take to be grouped"
    )
    parser.add_argument("--hourly", action="store_true", help="one row per hour")
    parser.set_defaults(handler=_audit)


def _since(text: str, now: datetime) -> datetime:
    match = _SINCE.match(text)
    if not match:
        raise SystemExit(f"stackwise audit: --since takes 90m, 24h or 7d, not {text!r}")
    return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _project_ids(slugs: dict[int, str], wanted: str | None) -> list[int] | None:
    if not wanted:
        return None
    found = [i for i, slug in slugs.items() if wanted in (slug, str(i))]
    if not found:
        raise SystemExit(f"stackwise audit: no project {wanted!r}")
    return found


def _audit(settings, args) -> int:
    from analysis.clickhouse_source import ClickHouseSource
    from analysis.source import WorkbenchSourceError, open_live_source

    now = datetime.now(UTC)
    since = _since(args.since, now)
    try:
        source = open_live_source(settings)
    except WorkbenchSourceError as e:
        print(f"stackwise audit: {e}", file=sys.stderr)
        return 2
    assert isinstance(source, ClickHouseSource)  # a live source is always ClickHouse
    with source, psycopg.connect(source.postgres_url, row_factory=dict_row) as conn:
        slugs = projects.slugs(conn)
        result = reconcile(
            source.client,
            conn,
            since=since,
            until=now,
            now=now,
            projects=_project_ids(slugs, args.project),
            settle_s=args.settle,
        )
    print_reconciliation(result, slugs, hourly=args.hourly)
    return 0 if result.ok else 1


_COLUMNS = ("kept", "dropped", "stored", "missing", "extra", "grouped", "ungrouped")


def _figures(lines: list[LedgerLine]) -> list[int]:
    return [
        sum(line.accepted for line in lines),
        sum(sum(line.dropped.values()) for line in lines),
        sum(line.stored for line in lines),
        sum(line.missing for line in lines),
        sum(line.extra for line in lines),
        sum(line.grouped for line in lines),
        sum(line.ungrouped for line in lines),
    ]


def _row(cells: list[int]) -> list[str]:
    return [f"{n:,}" if n else "·" for n in cells]


def print_reconciliation(result: Reconciliation, slugs: dict[int, str], *, hourly: bool) -> None:
    span = f"{result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC"
    table = Table("project", *(["hour (UTC)"] if hourly else []), "category", *_COLUMNS)
    table.title = f"ledger, {span}"
    groups: dict[tuple, list[LedgerLine]] = defaultdict(list)
    for line in result.lines:
        key = (
            (line.project_id, line.hour, line.category)
            if hourly
            else (line.project_id, line.category)
        )
        groups[key].append(line)
    for key, lines in sorted(groups.items()):
        name = slugs.get(key[0], str(key[0]))
        when = [f"{key[1]:%m-%d %H:00}"] if hourly else []
        table.add_row(name, *when, key[-1], *_row(_figures(lines)))
    table.add_section()
    table.add_row("all", *([""] if hourly else []), "", *_row(_figures(result.lines)))
    console.print(table)
    differing = [line for line in result.lines if line.missing or line.extra or line.ungrouped]
    if differing and not hourly:
        hours = Table("project", "hour (UTC)", "category", "missing", "extra", "ungrouped")
        hours.title = "hours that do not reconcile"
        for line in differing:
            name = slugs.get(line.project_id, str(line.project_id))
            cells = _row([line.missing, line.extra, line.ungrouped])
            hours.add_row(name, f"{line.hour:%m-%d %H:00}", line.category, *cells)
        console.print(hours)
    if result.issue_differences:
        issues = Table("issue", "project", "events in PostgreSQL", "events in ClickHouse")
        issues.title = "issues whose event count disagrees"
        for issue in result.issue_differences:
            name = slugs.get(issue.project_id, str(issue.project_id))
            issues.add_row(
                str(issue.group_id), name, f"{issue.times_seen:,}", f"{issue.assigned:,}"
            )
        console.print(issues)
    console.print(result.summary())
