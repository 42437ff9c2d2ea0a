"""PostgreSQL's tables have one owner each: their aggregate module in core/pg.

A statement against one of them anywhere else (a worker, the CLI, the demo, the
workbench, a benchmark) fails this test: call the aggregate's function instead, or add
one there.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "relay", "workers", "analysis", "seed", "stackwise", "bench", "notebooks")
OWNERS = ROOT / "core" / "pg"
MIGRATIONS = ROOT / "core" / "storage" / "pg_migrations"


def postgres_tables() -> set[str]:
    found = set()
    for path in MIGRATIONS.glob("*.sql"):
        found |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", path.read_text()))
    return found


def statements_against(tables: set[str], source: str) -> list[str]:
    pattern = re.compile(
        r"\b(?:FROM|JOIN|INTO|UPDATE|DELETE FROM)\s+(" + "|".join(sorted(tables)) + r")\b"
    )
    return [match.group(0) for match in pattern.finditer(source)]


def test_the_migrations_define_the_aggregates_tables():
    assert {"projects", "error_groups", "notifications", "ai_calls", "project_stats"} <= (
        postgres_tables()
    )


def test_no_sql_against_a_postgresql_table_outside_its_aggregate_module():
    tables = postgres_tables()
    offenders = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if OWNERS in path.parents:
                continue
            found = statements_against(tables, path.read_text())
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_check_sees_a_statement_when_there_is_one():
    tables = postgres_tables()
    assert statements_against(tables, 'conn.execute("SELECT id FROM error_groups")')
    assert statements_against(tables, '"UPDATE notifications SET status = %s"')
    assert not statements_against(tables, "events from projects are grouped")
