"""Direct mode's rows: what the relay and its flusher would write for each seed event.

The relay (relay.normalize.normalize_payload) stores an event's bytes as sent and
keeps its normalized scalars beside them, unless the secret check
(relay.scrub.plan_scrub) or an over-long stack calls for a rewrite. That check
reads the whole event, which costs more than generating it. Seed events are
assembled from parts checked once (shapes, pools, project parts) and a few
strings made per event (`Rendered.probe`); the check looks inside JSON strings
and keys, never across them, so when every part is clean the whole event is,
and only the scalars need work here. The promoted columns come straight from
what the generator knows, not from decoding the payload again.

Anything the shortcuts do not cover (a rewrite) takes the relay's and the
flusher's own functions. tests/seed/test_direct.py compares every column with
`normalize_payload` + `event_row` / `transaction_row` on every root cause.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pyarrow as pa

from relay.limits import MAX_FRAMES_PER_STACKTRACE
from relay.normalize import (
    MAX_FUTURE_S,
    EventTooOld,
    NormalizedEvent,
    normalize_payload,
    normalized_dict,
    parse_timestamp,
    retention_s,
)
from relay.scrub import plan_scrub
from stackwise.seed.render import Rendered
from stackwise.storage.event_rows import (
    EVENT_SCHEMA,
    TRANSACTION_SCHEMA,
    decode_promoted,
    event_row,
    transaction_row,
    user_key,
)

_encode = msgspec.json.encode
# Below this many braces in an event's fixed parts, the few per event cannot reach the
# relay's rewrite threshold (MAX_FRAMES_PER_STACKTRACE objects) and the count is skipped.
_BRACES_SURE = MAX_FRAMES_PER_STACKTRACE - 100


def _timestamp(value: Any, received_at: float, kind: str) -> float:
    timestamp = parse_timestamp(value)
    if timestamp is None or timestamp > received_at + MAX_FUTURE_S:
        return received_at
    if timestamp < received_at - retention_s(kind):
        raise EventTooOld(f"{kind} timestamp is older than the retention period")
    return timestamp


def normalized(rendered: Rendered, raw: bytes, received_at: float) -> NormalizedEvent:
    """The relay's NormalizedEvent for this event (BadRequest if it would refuse it)."""
    if not rendered.clean:
        return normalize_payload(raw, received_at=received_at, item_type=rendered.kind)
    if (
        (rendered.braces > _BRACES_SURE and raw.count(b"{") > MAX_FRAMES_PER_STACKTRACE)
        # A leading 0: no probed string may look like the name of a [name, value] pair.
        or plan_scrub(_encode([0, *rendered.probe])) is not None
    ):
        # The relay rewrites this one. Its shapes are scrubbed already (msgspec.Raw, which
        # the walk skips): normalizing the dict as built gives the relay's bytes, cheaper.
        return normalized_dict(
            rendered.payload, raw, received_at=received_at, item_type=rendered.kind
        )
    payload = rendered.payload
    timestamp = _timestamp(payload["timestamp"], received_at, rendered.kind)
    start = timestamp
    if rendered.kind == "transaction":
        parsed = parse_timestamp(payload.get("start_timestamp"))
        start = parsed if parsed is not None else timestamp
        kind = "transaction"
    else:
        kind = "error" if payload.get("exception") else "default"
    return NormalizedEvent(
        event_id=rendered.event_id,
        timestamp=timestamp,
        start_timestamp=start,
        type=kind,
        payload=raw,
    )


class _UserKeys:
    """user_key() per user, computed once: users come from a pool."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, user: dict | None) -> str:
        if user is None:
            return ""
        key = self._cache.get(user["id"])
        if key is None:
            key = self._cache[user["id"]] = user_key(decode_promoted(_encode({"user": user})))
        return key


def _message(payload: dict[str, Any]) -> str:
    logentry = payload.get("logentry")
    if logentry is not None:
        return logentry.get("formatted") or logentry.get("message") or ""
    return payload.get("message") or ""


class Columns:
    """Rows of one table, kept as columns (Arrow takes those far faster than dicts)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.data: dict[str, list] = {name: [] for name in schema.names}
        self._users = _UserKeys()

    def __len__(self) -> int:
        return len(self.data["project_id"])

    def add_row(self, row: dict[str, Any]) -> None:
        for name, values in self.data.items():
            values.append(row[name])

    def add(
        self,
        project_id: int,
        rendered: Rendered,
        raw: bytes,
        event: NormalizedEvent,
        received_at: float,
    ) -> None:
        if event.payload is not raw:
            # Rewritten by the relay: the flusher's own reading of what it would store.
            build = transaction_row if rendered.kind == "transaction" else event_row
            extra = (
                {"start_timestamp": event.start_timestamp}
                if rendered.kind == "transaction"
                else {"event_type": event.type}
            )
            row = build(
                project_id,
                event.event_id,
                received_at,
                event.payload,
                timestamp=event.timestamp,
                **extra,
            )
            self.add_row(row)
            return
        if rendered.kind == "transaction":
            self._transaction(project_id, rendered, event, received_at)
        else:
            self._event(project_id, rendered, event, received_at)

    def _shared(self, project_id, rendered, event, received_at) -> dict[str, list]:
        data = self.data
        payload = rendered.payload
        data["project_id"].append(project_id)
        data["timestamp"].append(int(event.timestamp * 1000))
        data["event_id"].append(bytes.fromhex(event.event_id))
        data["received_at"].append(int(received_at * 1000))
        data["platform"].append(payload["platform"])
        data["release"].append(payload["release"][:250])
        data["environment"].append(payload["environment"][:64])
        data["transaction"].append((payload.get("transaction") or "")[:200])
        data["user_key"].append(self._users(payload.get("user")))
        data["sample_rate"].append(1.0)
        data["payload"].append(event.payload.decode("utf-8", "replace"))
        return data

    def _event(self, project_id, rendered, event, received_at) -> None:
        data = self._shared(project_id, rendered, event, received_at)
        payload = rendered.payload
        values = payload.get("exception", {}).get("values") or [{}]
        data["type"].append(event.type)
        data["level"].append(payload["level"])
        data["logger"].append((payload.get("logger") or "")[:64])
        data["exception_type"].append(values[-1].get("type", "")[:256])
        data["exception_value"].append(values[-1].get("value", "")[:8192])
        data["message"].append(_message(payload)[:8192])
        data["sdk_name"].append(rendered.sdk[0])
        data["sdk_version"].append(rendered.sdk[1])
        data["trace_id"].append(payload["contexts"]["trace"]["trace_id"])
        data["tags"].append([(k, v[:200]) for k, v in payload["tags"].items()])

    def _transaction(self, project_id, rendered, event, received_at) -> None:
        data = self._shared(project_id, rendered, event, received_at)
        trace = rendered.payload["contexts"]["trace"]
        data["start_timestamp"].append(int(event.start_timestamp * 1000))
        data["op"].append(trace["op"][:64])
        data["status"].append(trace["status"][:32])
        data["duration_ms"].append(max(0.0, (event.timestamp - event.start_timestamp) * 1000))
        data["trace_id"].append(trace["trace_id"])

    def table(self) -> pa.Table:
        """Sorted by project and time, as the table is ordered."""
        table = pa.Table.from_pydict(self.data, schema=self.schema)
        return table.sort_by([("project_id", "ascending"), ("timestamp", "ascending")])


def event_columns() -> Columns:
    return Columns(EVENT_SCHEMA)


def transaction_columns() -> Columns:
    return Columns(TRANSACTION_SCHEMA)


def batches(table: pa.Table, size: int) -> Iterator[tuple[int, int, int, list[str]]]:
    """(project id, first ms, last ms, event ids) per chunk of at most `size` rows of one
    project; `table` is sorted by project and time."""
    projects = table.column("project_id").to_pylist()
    stamps = table.column("timestamp").cast("int64").to_pylist()
    ids = table.column("event_id").to_pylist()
    start = 0
    while start < len(projects):
        project = projects[start]
        stop = start
        while stop < len(projects) and stop - start < size and projects[stop] == project:
            stop += 1
        chunk = [bytes(i).hex() for i in ids[start:stop]]
        yield project, stamps[start], stamps[stop - 1], chunk
        start = stop
