"""Stored event payloads -> rows of the ClickHouse `events` and `transactions` tables.

Only the promoted columns are decoded (core.event.promoted); the payload itself is
stored as the relay normalized it. Rows are kept as columns: Arrow takes those far
faster than a list of dicts.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from core.event.accessors import normalize_level, normalize_platform, text
from core.event.promoted import PromotedFields, decode_promoted, user_key
from core.storage.tables import EVENTS, TRANSACTIONS


def _seconds(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


class _Rows:
    """One table's rows, column by column."""

    schema: pa.Schema

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}

    def __len__(self) -> int:
        return len(self.columns["project_id"])

    def table(self) -> pa.Table:
        return pa.Table.from_pydict(self.columns, schema=self.schema)

    def _common(
        self,
        fields: PromotedFields,
        *,
        project_id: int,
        event_id: str,
        received_at: float,
        timestamp: float,
        payload: bytes,
        sample_rate: float,
    ) -> None:
        """The columns `events` and `transactions` share."""
        columns = self.columns
        columns["project_id"].append(project_id)
        columns["timestamp"].append(int(timestamp * 1000))
        # Event ids are 32 hex digits by now (the relay normalized them).
        columns["event_id"].append(bytes.fromhex(event_id))
        columns["received_at"].append(int(received_at * 1000))
        columns["release"].append(text(fields.release, 250))
        columns["environment"].append(text(fields.environment, 64))
        columns["platform"].append(normalize_platform(fields.platform))
        columns["trace_id"].append(fields.trace_id())
        columns["user_key"].append(user_key(fields))
        columns["sample_rate"].append(sample_rate)
        columns["payload"].append(payload.decode("utf-8", "replace"))


class EventRows(_Rows):
    schema = EVENTS.arrow_schema()

    def add(
        self,
        project_id: int,
        event_id: str,
        received_at: float,
        payload: bytes,
        sample_rate: float = 1.0,
        *,
        timestamp: float | None = None,
        event_type: str | None = None,
    ) -> None:
        """One `events` row. `timestamp` and `event_type` are the relay's normalized
        values; without them the payload's own (already normalized) fields are used."""
        fields = decode_promoted(payload)
        exception = fields.raised()
        if timestamp is None:
            timestamp = _seconds(fields.timestamp, received_at)
        self._common(
            fields,
            project_id=project_id,
            event_id=event_id,
            received_at=received_at,
            timestamp=timestamp,
            payload=payload,
            sample_rate=sample_rate,
        )
        columns = self.columns
        columns["type"].append(event_type or text(fields.type, 32) or "default")
        columns["level"].append(normalize_level(fields.level))
        columns["logger"].append(text(fields.logger, 64))
        columns["transaction"].append(text(fields.transaction, 200))
        columns["exception_type"].append(text(exception.type, 256) if exception else "")
        columns["exception_value"].append(text(exception.value, 8192) if exception else "")
        columns["message"].append(fields.message_text())
        columns["sdk_name"].append(text(fields.sdk.name, 64) if fields.sdk else "")
        columns["sdk_version"].append(text(fields.sdk.version, 64) if fields.sdk else "")
        columns["tags"].append(list(fields.tag_pairs().items()))


class TransactionRows(_Rows):
    schema = TRANSACTIONS.arrow_schema()

    def add(
        self,
        project_id: int,
        event_id: str,
        received_at: float,
        payload: bytes,
        sample_rate: float = 1.0,
        *,
        timestamp: float | None = None,
        start_timestamp: float | None = None,
    ) -> None:
        fields = decode_promoted(payload)
        if timestamp is None:
            timestamp = _seconds(fields.timestamp, received_at)
        start = start_timestamp
        if start is None:
            start = _seconds(fields.start_timestamp, timestamp)
        trace = fields.trace()
        self._common(
            fields,
            project_id=project_id,
            event_id=event_id,
            received_at=received_at,
            timestamp=timestamp,
            payload=payload,
            sample_rate=sample_rate,
        )
        columns = self.columns
        columns["start_timestamp"].append(int(start * 1000))
        columns["transaction"].append(text(fields.transaction, 200))
        columns["op"].append(text(trace.op, 64) if trace else "")
        columns["status"].append(text(trace.status, 32) if trace else "")
        columns["duration_ms"].append(max(0.0, (timestamp - start) * 1000))
