"""The ClickHouse declarations against the tables the migrations really create."""

from __future__ import annotations

import pyarrow as pa
import pytest

from core.storage.tables import TABLES, Column, Table


def test_every_table_the_migrations_create_is_declared_as_created(stack):
    client = stack.clickhouse()
    rows = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
        "AND table NOT IN (SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine = 'MaterializedView') AND table != 'schema_migrations' "
        "ORDER BY table, position"
    ).result_rows
    created: dict[str, list[tuple[str, str]]] = {}
    for table, name, type_ in rows:
        created.setdefault(table, []).append((name, type_))
    declared = {name: [(c.name, c.type) for c in table.columns] for name, table in TABLES.items()}
    assert declared == created


def test_a_declared_table_is_written_with_arrow_types_that_match_its_columns():
    events = TABLES["events"].arrow_schema()
    assert events.field("event_id").type == pa.binary(16)
    assert events.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert events.field("tags").type == pa.map_(pa.string(), pa.string())
    assert TABLES["outcomes"].arrow_schema().field("hour").type == pa.timestamp("s", tz="UTC")
    assert TABLES["attachments"].arrow_schema().field("data").type == pa.binary()


def test_tables_filled_by_a_view_or_with_unknown_types_have_no_write_schema():
    with pytest.raises(TypeError, match="materialized view"):
        TABLES["error_metrics_hourly"].arrow_schema()
    with pytest.raises(TypeError, match="no Arrow type"):
        Table("t", (Column("x", "Decimal(10, 2)"),)).arrow_schema()
