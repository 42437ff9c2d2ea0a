"""The retention periods the code relies on are the TTLs the migrations give the tables."""

from __future__ import annotations

import re

import pytest

from core.storage import retention

# ClickHouse prints a table's TTL as `... + toIntervalDay(30)` or `toIntervalYear(1)`.
_TTL = re.compile(r"TTL .*?\+ toInterval(Day|Year)\((\d+)\)")


@pytest.mark.parametrize(
    ("table", "seconds"),
    [
        ("events", retention.EVENTS_RETENTION_S),
        ("processed_events", retention.EVENTS_RETENTION_S),
        ("transactions", retention.TRANSACTIONS_RETENTION_S),
        ("attachments", retention.ATTACHMENTS_RETENTION_S),
        ("sessions", retention.SESSIONS_RETENTION_S),
        ("ingest_ledger", retention.LEDGER_RETENTION_S),
    ],
)
def test_retention_constants_are_the_tables_ttl(stack, table, seconds):
    engine = (
        stack.clickhouse()
        .query(
            "SELECT engine_full FROM system.tables "
            "WHERE database = currentDatabase() AND name = {t:String}",
            parameters={"t": table},
        )
        .result_rows[0][0]
    )
    match = _TTL.search(engine)
    assert match, engine
    unit, count = match.groups()
    assert int(count) * (365 if unit == "Year" else 1) * 86400 == seconds
