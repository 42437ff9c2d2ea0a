"""Spool records that are not events -> Arrow tables for their ClickHouse tables.

Attachments keep their bytes and item headers; session updates and session
aggregates become one row per status with a quantity; client reports and the
relay's own outcomes become `outcomes` rows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import msgspec
import pyarrow as pa

from core.storage.tables import ATTACHMENTS, OUTCOMES, SESSIONS
from relay.normalize import parse_timestamp
from relay.records import SpoolRecord

_decode = msgspec.json.decode

ATTACHMENT_SCHEMA = ATTACHMENTS.arrow_schema()
SESSION_SCHEMA = SESSIONS.arrow_schema()
OUTCOME_SCHEMA = OUTCOMES.arrow_schema()
_AGGREGATE_STATUSES = ("exited", "errored", "abnormal", "crashed")


class RelayOutcome(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """An outcome the relay decided (filtered, rate limited, sampled, invalid)."""

    timestamp: float
    outcome: str
    reason: str
    category: str
    quantity: int


encode_outcome = msgspec.msgpack.Encoder().encode
_decode_outcome = msgspec.msgpack.Decoder(RelayOutcome).decode


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _hour(seconds: float) -> int:
    return int(seconds // 3600 * 3600)


def attachment_rows(records: list[SpoolRecord]) -> pa.Table:
    rows = []
    positions: Counter[str] = Counter()
    for record in records:
        headers = _decode(record.item_headers) if record.item_headers else {}
        rows.append(
            {
                "project_id": record.project_id,
                "event_id": uuid.UUID(hex=record.event_id).bytes,
                "received_at": _ms(record.received_at),
                "position": positions[record.event_id],
                "name": str(headers.get("filename") or "attachment")[:255],
                "content_type": str(headers.get("content_type") or "application/octet-stream"),
                "attachment_type": str(headers.get("attachment_type") or "event.attachment"),
                "size": len(record.payload),
                "item_headers": record.item_headers.decode("utf-8", "replace"),
                "data": record.payload,
            }
        )
        positions[record.event_id] += 1
    return pa.Table.from_pylist(rows, schema=ATTACHMENT_SCHEMA)


def _session_row(record: SpoolRecord, doc: dict[str, Any], **values: Any) -> dict[str, Any]:
    found = doc.get("attrs")
    attrs: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "project_id": record.project_id,
        "received_at": _ms(record.received_at),
        "release": str(attrs.get("release") or "")[:250],
        "environment": str(attrs.get("environment") or "")[:64],
        "session_id": "",
        "distinct_id": "",
        "errors": 0,
        "duration_s": 0.0,
        "init": 0,
        **values,
    }


def _update_rows(record: SpoolRecord, doc: dict[str, Any]) -> list[dict[str, Any]]:
    started = parse_timestamp(doc.get("started")) or record.received_at
    errors = doc.get("errors")
    duration = doc.get("duration")
    return [
        _session_row(
            record,
            doc,
            started=_ms(started),
            session_id=str(doc.get("sid") or "")[:64],
            distinct_id=str(doc.get("did") or "")[:128],
            status=str(doc.get("status") or "ok")[:16],
            errors=errors if isinstance(errors, int) and errors >= 0 else 0,
            duration_s=float(duration) if isinstance(duration, int | float) else 0.0,
            init=1 if doc.get("init") is True else 0,
            quantity=1,
        )
    ]


def _aggregate_rows(record: SpoolRecord, doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for aggregate in doc.get("aggregates") or []:
        if not isinstance(aggregate, dict):
            continue
        started = parse_timestamp(aggregate.get("started")) or record.received_at
        for status in _AGGREGATE_STATUSES:
            count = aggregate.get(status)
            if isinstance(count, int) and count > 0:
                rows.append(
                    _session_row(
                        record,
                        doc,
                        started=_ms(started),
                        distinct_id=str(aggregate.get("did") or "")[:128],
                        status=status,
                        quantity=count,
                    )
                )
    return rows


def session_rows(records: list[SpoolRecord]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for record in records:
        doc = _decode(record.payload)
        build = _aggregate_rows if record.kind == "sessions" else _update_rows
        rows.extend(build(record, doc))
    return pa.Table.from_pylist(rows, schema=SESSION_SCHEMA)


OutcomeKey = tuple[int, int, str, str, str, str]  # project, hour, outcome, reason, category, source


def _client_report_outcomes(record: SpoolRecord, totals: Counter[OutcomeKey]) -> None:
    doc = _decode(record.payload)
    hour = _hour(parse_timestamp(doc.get("timestamp")) or record.received_at)
    for field in (
        "discarded_events",
        "rate_limited_events",
        "filtered_events",
        "filtered_sampling_events",
    ):
        for entry in doc.get(field) or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("quantity"), int):
                continue
            reason = str(entry.get("reason") or field)[:64]
            category = str(entry.get("category") or "default")[:32]
            key = (record.project_id, hour, "client_discard", reason, category, "client")
            totals[key] += max(entry["quantity"], 0)


def outcome_rows(records: list[SpoolRecord], accepted: Counter[tuple[int, int, str]]) -> pa.Table:
    """Client reports, relay outcomes and `accepted` counts (project, hour, category)."""
    totals: Counter[OutcomeKey] = Counter()
    for record in records:
        if record.kind == "client_report":
            _client_report_outcomes(record, totals)
        elif record.kind == "outcome":
            outcome = _decode_outcome(record.payload)
            key = (
                record.project_id,
                _hour(outcome.timestamp),
                outcome.outcome,
                outcome.reason,
                outcome.category,
                "relay",
            )
            totals[key] += outcome.quantity
    for (project_id, hour, category), quantity in accepted.items():
        totals[(project_id, hour, "accepted", "", category, "relay")] += quantity
    rows = [
        {
            "project_id": key[0],
            "hour": datetime.fromtimestamp(key[1], tz=UTC),
            "outcome": key[2],
            "reason": key[3],
            "category": key[4],
            "source": key[5],
            "quantity": quantity,
        }
        for key, quantity in totals.items()
        if quantity > 0
    ]
    return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA)
