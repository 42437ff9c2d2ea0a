"""Every ClickHouse table, declared once: its columns with their ClickHouse types.

The DDL in `ch_migrations/` creates the tables; these declarations are what code
reads from: the Arrow schema writers insert with (`arrow_schema`) and, in the
workbench, the frame schema readers get (`analysis.tables`). A test creates the
tables from the migrations and compares `system.columns` with every declaration,
so a migration that changes a table fails until its declaration follows.

Types are written as `system.columns` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# How a ClickHouse type is written from Arrow. Aggregate-function columns are filled by
# materialized views, never inserted, and have no Arrow type.
_ARROW = {
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Float32": pa.float32(),
    "Float64": pa.float64(),
    "Bool": pa.bool_(),
    "String": pa.string(),
    "LowCardinality(String)": pa.string(),
    "FixedString(32)": pa.string(),
    "UUID": pa.binary(16),
    "DateTime('UTC')": pa.timestamp("s", tz="UTC"),
    "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
    "Map(String, String)": pa.map_(pa.string(), pa.string()),
    "Array(UUID)": pa.list_(pa.binary(16)),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    # Written as bytes, not text (a String column holding binary data).
    binary: bool = False

    @property
    def arrow_type(self) -> pa.DataType | None:
        return pa.binary() if self.binary else _ARROW.get(self.type)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    # Filled by a materialized view from another table's inserts, never written directly.
    fed_by_view: bool = False

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """What an insert into this table carries, in the table's column order."""
        if self.fed_by_view:
            raise TypeError(f"{self.name} is filled by a materialized view, not written")
        fields = []
        for column in self.columns:
            arrow_type = column.arrow_type
            if arrow_type is None:
                raise TypeError(f"{self.name}.{column.name}: no Arrow type for {column.type}")
            fields.append(pa.field(column.name, arrow_type))
        return pa.schema(fields)


def _table(name: str, *columns: tuple[str, str] | Column, fed_by_view: bool = False) -> Table:
    return Table(
        name,
        tuple(c if isinstance(c, Column) else Column(*c) for c in columns),
        fed_by_view=fed_by_view,
    )


_UTC_MS = "DateTime64(3, 'UTC')"
_LOW = "LowCardinality(String)"

EVENTS = _table(
    "events",
    ("project_id", "UInt64"),
    ("timestamp", _UTC_MS),
    ("event_id", "UUID"),
    ("received_at", _UTC_MS),
    ("type", _LOW),
    ("level", _LOW),
    ("platform", _LOW),
    ("release", "String"),
    ("environment", _LOW),
    ("logger", _LOW),
    ("transaction", "String"),
    ("exception_type", "String"),
    ("exception_value", "String"),
    ("message", "String"),
    ("user_key", "String"),
    ("sdk_name", _LOW),
    ("sdk_version", _LOW),
    ("trace_id", "String"),
    ("tags", "Map(String, String)"),
    ("sample_rate", "Float32"),
    ("payload", "String"),
)
EVENT_GROUPS = _table(
    "event_groups",
    ("project_id", "UInt64"),
    ("timestamp", _UTC_MS),
    ("event_id", "UUID"),
    ("group_id", "UInt64"),
    ("primary_hash", "FixedString(32)"),
    ("grouping_version", _LOW),
    ("level", _LOW),
    ("environment", _LOW),
    ("release", "String"),
    ("user_key", "String"),
    ("sample_weight", "Float32"),
    ("processed_at", _UTC_MS),
)
PROCESSED_EVENTS = _table(
    "processed_events",
    ("project_id", "UInt64"),
    ("timestamp", _UTC_MS),
    ("event_id", "UUID"),
    ("processed_at", _UTC_MS),
    ("payload", "String"),
)
TRANSACTIONS = _table(
    "transactions",
    ("project_id", "UInt64"),
    ("timestamp", _UTC_MS),
    ("start_timestamp", _UTC_MS),
    ("event_id", "UUID"),
    ("received_at", _UTC_MS),
    ("transaction", "String"),
    ("op", _LOW),
    ("status", _LOW),
    ("duration_ms", "Float64"),
    ("release", "String"),
    ("environment", _LOW),
    ("platform", _LOW),
    ("trace_id", "String"),
    ("user_key", "String"),
    ("sample_rate", "Float32"),
    ("payload", "String"),
)
ERROR_METRICS_HOURLY = _table(
    "error_metrics_hourly",
    ("project_id", "UInt64"),
    ("hour", "DateTime('UTC')"),
    ("group_id", "UInt64"),
    ("level", _LOW),
    ("environment", _LOW),
    ("release", "String"),
    ("events", "SimpleAggregateFunction(sum, UInt64)"),
    ("weighted", "SimpleAggregateFunction(sum, Float64)"),
    ("users", "AggregateFunction(uniq, String)"),
    fed_by_view=True,
)
ATTACHMENTS = _table(
    "attachments",
    ("project_id", "UInt64"),
    ("event_id", "UUID"),
    ("received_at", _UTC_MS),
    ("position", "UInt16"),
    ("name", "String"),
    ("content_type", _LOW),
    ("attachment_type", _LOW),
    ("size", "UInt64"),
    ("item_headers", "String"),
    Column("data", "String", binary=True),
)
SESSIONS = _table(
    "sessions",
    ("project_id", "UInt64"),
    ("received_at", _UTC_MS),
    ("started", _UTC_MS),
    ("session_id", "String"),
    ("distinct_id", "String"),
    ("release", "String"),
    ("environment", _LOW),
    ("status", _LOW),
    ("errors", "UInt32"),
    ("duration_s", "Float64"),
    ("init", "UInt8"),
    ("quantity", "UInt32"),
)
OUTCOMES = _table(
    "outcomes",
    ("project_id", "UInt64"),
    ("hour", "DateTime('UTC')"),
    ("outcome", _LOW),
    ("reason", _LOW),
    ("category", _LOW),
    ("source", _LOW),
    ("quantity", "UInt64"),
)
SEED_GROUND_TRUTH = _table(
    "seed_ground_truth",
    ("project_id", "UInt64"),
    ("event_id", "UUID"),
    ("timestamp", _UTC_MS),
    ("type", _LOW),
    ("root_cause", _LOW),
    ("family", _LOW),
    ("category", _LOW),
    ("severity", _LOW),
    ("title", _LOW),
    ("release", _LOW),
    ("regression", "Bool"),
    ("run", _LOW),
    ("received_at", _UTC_MS),
    fed_by_view=True,
)
INGEST_LEDGER = _table(
    "ingest_ledger",
    ("project_id", "UInt64"),
    ("hour", "DateTime('UTC')"),
    ("category", _LOW),
    ("segment", "String"),
    ("items", "UInt64"),
    ("event_ids", "Array(UUID)"),
    ("flushed_at", _UTC_MS),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        EVENTS,
        EVENT_GROUPS,
        PROCESSED_EVENTS,
        TRANSACTIONS,
        ERROR_METRICS_HOURLY,
        ATTACHMENTS,
        SESSIONS,
        OUTCOMES,
        SEED_GROUND_TRUTH,
        INGEST_LEDGER,
    )
}
