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
from relay.items import (
    SessionAttributes,
    Text,
    decode_client_report,
    decode_session_aggregates,
    decode_session_update,
)
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


def _text(value: Text, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _session_row(
    record: SpoolRecord, attrs: SessionAttributes | None, **values: Any
) -> dict[str, Any]:
    return {
        "project_id": record.project_id,
        "received_at": _ms(record.received_at),
        "release": _text(attrs.release if attrs else None, 250),
        "environment": _text(attrs.environment if attrs else None, 64),
        "session_id": "",
        "distinct_id": "",
        "errors": 0,
        "duration_s": 0.0,
        "init": 0,
        **values,
    }


def _update_rows(record: SpoolRecord) -> list[dict[str, Any]]:
    update = decode_session_update(record.payload)
    started = parse_timestamp(update.started) or record.received_at
    return [
        _session_row(
            record,
            update.attrs,
            started=_ms(started),
            session_id=_text(update.sid, 64),
            distinct_id=_text(update.did, 128),
            status=(update.status or "ok")[:16],
            errors=update.errors if update.errors is not None and update.errors >= 0 else 0,
            duration_s=update.duration or 0.0,
            init=1 if update.init else 0,
            quantity=1,
        )
    ]


def _aggregate_rows(record: SpoolRecord) -> list[dict[str, Any]]:
    doc = decode_session_aggregates(record.payload)
    rows = []
    for aggregate in doc.aggregates:
        started = parse_timestamp(aggregate.started) or record.received_at
        for status in _AGGREGATE_STATUSES:
            count = getattr(aggregate, status)
            if count > 0:
                rows.append(
                    _session_row(
                        record,
                        doc.attrs,
                        started=_ms(started),
                        distinct_id=_text(aggregate.did, 128),
                        status=status,
                        quantity=count,
                    )
                )
    return rows


def session_rows(records: list[SpoolRecord]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for record in records:
        rows.extend(_aggregate_rows(record) if record.kind == "sessions" else _update_rows(record))
    return pa.Table.from_pylist(rows, schema=SESSION_SCHEMA)


OutcomeKey = tuple[int, int, str, str, str, str]  # project, hour, outcome, reason, category, source


def _client_report_outcomes(record: SpoolRecord, totals: Counter[OutcomeKey]) -> None:
    report = decode_client_report(record.payload)
    hour = _hour(parse_timestamp(report.timestamp) or record.received_at)
    for field in (
        "discarded_events",
        "rate_limited_events",
        "filtered_events",
        "filtered_sampling_events",
    ):
        for entry in getattr(report, field):
            reason = _text(entry.reason, 64) or field
            category = _text(entry.category, 32) or "default"
            key = (record.project_id, hour, "client_discard", reason, category, "client")
            totals[key] += max(entry.quantity, 0)


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
