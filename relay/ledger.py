"""The ledger: what each stored spool segment held, for the audit to reconcile.

Per segment, project, hour of arrival and data category: how many rows the flush
writes to the category's table, and for events and transactions their ids. It is
written beside the rows, never deduplicated by token (see migration 0011), so a
flaw that drops rows silently cannot drop their account with them.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from core.storage.tables import INGEST_LEDGER

LEDGER_SCHEMA = INGEST_LEDGER.arrow_schema()
# The ledger's rows must land even when a token would drop the data's (the point of it).
LEDGER_INSERT_SETTINGS = {"insert_deduplicate": 0}


def hour_of(seconds: float) -> int:
    return int(seconds // 3600 * 3600)


@dataclass
class _Entry:
    items: int = 0
    event_ids: list[bytes] = field(default_factory=list)


class Ledger:
    """Collects one segment's account while its rows are built."""

    def __init__(self, segment: str) -> None:
        self.segment = segment
        self._entries: dict[tuple[int, int, str], _Entry] = defaultdict(_Entry)

    def add(self, project_id: int, received_at: float, category: str, items: int = 1) -> None:
        self._entries[(project_id, hour_of(received_at), category)].items += items

    def add_event(self, project_id: int, received_at: float, category: str, event_id: str) -> None:
        entry = self._entries[(project_id, hour_of(received_at), category)]
        entry.items += 1
        entry.event_ids.append(uuid.UUID(hex=event_id).bytes)

    def accepted(self) -> Counter[tuple[int, int, str]]:
        """What the relay kept, per project, hour and category, for the `accepted` outcome
        (sessions are counted by their own table, not as outcomes)."""
        return Counter(
            {key: entry.items for key, entry in self._entries.items() if key[2] != "session"}
        )

    def table(self) -> pa.Table:
        now_ms = int(time.time() * 1000)
        keys = sorted(self._entries)
        entries = [self._entries[key] for key in keys]
        return pa.Table.from_pydict(
            {
                "project_id": [key[0] for key in keys],
                "hour": [datetime.fromtimestamp(key[1], tz=UTC) for key in keys],
                "category": [key[2] for key in keys],
                "segment": [self.segment] * len(keys),
                "items": [entry.items for entry in entries],
                "event_ids": [entry.event_ids for entry in entries],
                "flushed_at": [now_ms] * len(keys),
            },
            schema=LEDGER_SCHEMA,
        )
