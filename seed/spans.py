"""Transactions with spans, timed so the slow part of the root cause shows.

Span durations vary around their typical value (log-normal), spans run one
after the other (nested ones inside their parent), and the transaction ends at
the event's moment. Timestamps are ISO strings for sentry-python and Unix
seconds for the JavaScript and Java SDKs, as they send them.
"""

from __future__ import annotations

import re
from typing import Any

from seed import payloads
from seed.model import SpanSpec, TransactionSpec

_ORIGINS = {
    "python": "auto.http.django",
    "node": "auto.http.otel.http",
    "java": "auto.http.spring_jakarta.webmvc",
    "javascript": "auto.pageload.browser",
}
_DB_SYSTEMS = {"db", "db.query"}
# Span ids the relay's card check could trip on (13 digits in a row).
_DIGIT_RUN = re.compile(r"\d{13}")


def _stamp(platform: str, moment: float) -> Any:
    if platform == "python":
        return payloads.iso_timestamp(moment)
    return int(moment * 1_000_000) / 1_000_000


def _durations(event, spec: TransactionSpec) -> list[tuple[SpanSpec, float]]:
    rng = event.rng
    out = []
    for span in spec.spans:
        for _ in range(span.repeat):
            out.append((span, span.duration_ms * rng.lognormvariate(0.0, 0.3) / 1000))
    return out


def _span(event, span: SpanSpec, span_id: str, *, parent: str, begin: float, end: float):
    platform = event.platform
    data: dict[str, Any] = {"sentry.op": span.op}
    if span.op in _DB_SYSTEMS:
        data["db.system"] = "postgresql"
    out: dict[str, Any] = {
        "trace_id": event.trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "op": span.op,
        "description": span.description.format_map(event.filler),
        "start_timestamp": _stamp(platform, begin),
        "timestamp": _stamp(platform, end),
        "status": "ok",
        "origin": "auto",
        "data": data,
    }
    if platform == "python":
        out["same_process_as_parent"] = True
    return out


def _spans(event, timed: list[tuple[SpanSpec, float]], start: float) -> list[dict[str, Any]]:
    rng = event.rng
    spans = []
    cursor = start + rng.uniform(0.001, 0.01)
    previous: tuple[str, float] | None = None
    for span, seconds in timed:
        span_id = f"{rng.getrandbits(64):016x}"
        if span.nested and previous is not None:
            parent, begin = previous[0], previous[1] + 0.0005
            spans.append(
                _span(event, span, span_id, parent=parent, begin=begin, end=begin + seconds)
            )
            continue
        spans.append(
            _span(event, span, span_id, parent=event.span_id, begin=cursor, end=cursor + seconds)
        )
        previous = (span_id, cursor)
        cursor += seconds + rng.uniform(0.0002, 0.003)
    return spans


def transaction_payload(event, spec: TransactionSpec) -> tuple[dict[str, Any], list[Any]]:
    """The transaction's own fields; the caller adds what every event carries."""
    rng = event.rng
    timed = _durations(event, spec)
    busy = sum(seconds for span, seconds in timed if not span.nested)
    total = max(spec.duration_ms / 1000 * rng.lognormvariate(0.0, 0.15), busy + 0.02)
    end = event.moment
    start = end - total
    platform = event.platform
    trace = {
        "trace_id": event.trace_id,
        "span_id": event.span_id,
        "op": spec.op,
        "status": spec.status,
        "origin": _ORIGINS[platform],
    }
    payload: dict[str, Any] = {
        "type": "transaction",
        "transaction_info": {"source": spec.source},
        "contexts": event._contexts(trace),
        "start_timestamp": _stamp(platform, start),
        "spans": _spans(event, timed, start),
    }
    if spec.measurements:
        payload["measurements"] = {
            name: {"value": round(value * rng.lognormvariate(0.0, 0.2), 3), "unit": unit}
            for name, (value, unit) in spec.measurements.items()
        }
    # The strings made for this event: descriptions (ids in them) and span ids.
    probe = [span["description"] for span in payload["spans"]]
    probe += [span["span_id"] for span in payload["spans"] if _DIGIT_RUN.search(span["span_id"])]
    return payload, probe
