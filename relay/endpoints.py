"""Sentry's ingestion endpoints: envelope, legacy store, browser security reports.

Each endpoint reads the body, authenticates, frames the envelope, lets the quotas and
spike protection decide, spools the items as sent, and answers only once the spool has
them on disk (the fast acknowledge path: filters, sampling, normalization and scrubbing
run after the answer, in the flush stage, see `process`). Errors are RelayErrors,
answered with `arrival.error_reply`. The endpoints take an `Arrival` and return a `Reply`,
whichever front parsed the request; the Sanic handlers at the end adapt them to Sanic.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import zlib
from collections import Counter

import msgspec
from sanic import Request
from sanic.response import HTTPResponse, raw

from relay.arrival import Arrival, Reply, json_reply
from relay.auth import extract_credentials
from relay.decompress import decompress
from relay.deps import CORS_HEADERS
from relay.envelope import Envelope, parse_envelope
from relay.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)
from relay.ingest import IngestResult, ingest_envelope, single_item_envelope, store_envelope
from relay.limits import (
    MAX_ENVELOPE_BYTES,
    MAX_EVENT_BYTES,
    MAX_SECURITY_REPORT_BYTES,
    MAX_STORE_COMPRESSED_BYTES,
)
from relay.policy import ITEM_CATEGORIES
from relay.project_cache import KeyState, ProjectState
from relay.quotas import rate_limits_header
from relay.security import SECURITY_CONTENT_TYPES, security_events
from relay.spool import SpoolFullError, SpoolUnavailable

# Bodies above this are decompressed off the event loop.
_INLINE_DECOMPRESS_BYTES = 256 * 1024
_EVENT_CATEGORIES = ("error", "transaction", "security")


async def _decompressed(arrival: Arrival, *, limit: int, what: str) -> bytes:
    body = arrival.body
    encoding = arrival.headers.get("content-encoding")
    arrival.deps.metrics.count_encoding((encoding or "identity").lower()[:16])
    if len(body) > _INLINE_DECOMPRESS_BYTES:
        return await asyncio.to_thread(decompress, body, encoding, limit=limit, what=what)
    return decompress(body, encoding, limit=limit, what=what)


def _legacy_store_body(body: bytes) -> bytes:
    """Very old SDKs send base64 of zlib-compressed JSON to /store/."""
    if body[:1] in (b"{", b" ", b"\n", b"\r", b"\t") or not body:
        return body
    try:
        decoded = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError) as e:
        raise BadRequest("store body is neither JSON nor base64") from e
    try:
        out = zlib.decompressobj().decompress(decoded, MAX_EVENT_BYTES + 1)
    except zlib.error:
        return decoded
    if len(out) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"event exceeds {MAX_EVENT_BYTES} bytes")
    return out


def _check_dsn_project(envelope_dsn: str | None, project_id: int) -> None:
    """An envelope's `dsn` header must name the project of the URL it was posted to."""
    if not envelope_dsn:
        return
    named = envelope_dsn.rstrip("/").rsplit("/", 1)[-1]
    if named.isdigit() and int(named) != project_id:
        raise Forbidden(f"the envelope's dsn names project {named}, the URL project {project_id}")


async def _decide_and_ingest(
    arrival: Arrival,
    *,
    project: ProjectState,
    key: KeyState,
    envelope: Envelope,
    received_at: float,
) -> IngestResult:
    """Quotas and spike protection for the request's categories, then each item's fate."""
    deps = arrival.deps
    if deps.policy is None:
        return ingest_envelope(envelope, project_id=project.id, received_at=received_at)
    categories = Counter(
        ITEM_CATEGORIES[item.type] for item in envelope.items if item.type in ITEM_CATEGORIES
    )
    refused = await deps.policy.refusals(
        project.id, key.public_key, project.config, key.rate_limits, categories
    )
    trace = envelope.headers.trace or {}
    policy = deps.policy.for_request(
        project.id,
        project.config,
        refused,
        client_ip=arrival.client_ip,
        trace_id=trace.get("trace_id") if isinstance(trace.get("trace_id"), str) else None,
    )
    result = ingest_envelope(
        envelope, project_id=project.id, received_at=received_at, policy=policy
    )
    result.refusals = list(refused.values())
    deps.policy.volume.record(project.id, sum(categories[c] for c in _EVENT_CATEGORIES))
    return result


async def _accept(
    arrival: Arrival, endpoint: str, result: IngestResult, *, status: int = 200
) -> Reply:
    """Spool what the request leaves (kept items and outcomes), then answer."""
    deps = arrival.deps
    try:
        await deps.spool.append(result.records)
    except SpoolFullError as e:
        raise Unavailable("the relay's spool is full; retry later", retry_after_s=10) from e
    except SpoolUnavailable as e:
        raise Unavailable(f"{e}; retry later", retry_after_s=10) from e
    metrics = deps.metrics
    # Accepted and invalid items are counted once processed (the flusher).
    metrics.count_items("ignored", result.ignored)
    for (outcome, _, category), quantity in result.outcomes.items():
        metrics.items.labels(category, outcome).inc(quantity)
    headers = dict(CORS_HEADERS)
    if result.refusals:
        header = rate_limits_header(result.refusals)
        if result.refused_everything:
            retry_after = max(r.retry_after_s for r in result.refusals)
            raise RateLimited(
                "rate limited: " + header, retry_after_s=retry_after, rate_limits_header=header
            )
        # Partly accepted: a 200 that still tells the SDK which categories to hold back.
        headers["x-sentry-rate-limits"] = header
    metrics.count_request(endpoint, status)
    if status == 201:
        return Reply(201, headers)
    return json_reply(200, {"id": result.event_id} if result.event_id else {}, headers)


async def envelope_reply(arrival: Arrival, project_id: int) -> Reply:
    received_at = time.time()
    query = arrival.query
    credentials = None
    if "x-sentry-auth" in arrival.headers or "authorization" in arrival.headers or query:
        credentials = extract_credentials(arrival.headers, query)
    body = await _decompressed(arrival, limit=MAX_ENVELOPE_BYTES, what="envelope")
    parsed = parse_envelope(body)
    if credentials is None or parsed.headers.dsn:
        credentials = extract_credentials(arrival.headers, query, parsed.headers.dsn)
    _check_dsn_project(parsed.headers.dsn, project_id)
    project, key = await arrival.deps.project_cache.authorize(credentials.public_key, project_id)
    result = await _decide_and_ingest(
        arrival, project=project, key=key, envelope=parsed, received_at=received_at
    )
    return await _accept(arrival, "envelope", result)


async def store_reply(arrival: Arrival, project_id: int) -> Reply:
    received_at = time.time()
    credentials = extract_credentials(arrival.headers, arrival.query)
    project, key = await arrival.deps.project_cache.authorize(credentials.public_key, project_id)
    if len(arrival.body) > MAX_STORE_COMPRESSED_BYTES:
        raise PayloadTooLarge(f"store body exceeds {MAX_STORE_COMPRESSED_BYTES} bytes")
    body = _legacy_store_body(await _decompressed(arrival, limit=MAX_EVENT_BYTES, what="event"))
    result = await _decide_and_ingest(
        arrival, project=project, key=key, envelope=store_envelope(body), received_at=received_at
    )
    return await _accept(arrival, "store", result)


async def security_reply(arrival: Arrival, project_id: int) -> Reply:
    received_at = time.time()
    query = arrival.query
    credentials = extract_credentials(arrival.headers, query)
    project, key = await arrival.deps.project_cache.authorize(credentials.public_key, project_id)
    content_type = (arrival.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in SECURITY_CONTENT_TYPES:
        raise UnsupportedMediaType(f"unsupported security report type {content_type!r}")
    body = await _decompressed(arrival, limit=MAX_SECURITY_REPORT_BYTES, what="report")
    events = security_events(body, user_agent=arrival.headers.get("user-agent"), query=query)
    envelope = single_item_envelope(b"", "security")
    envelope.items = [
        single_item_envelope(msgspec.json.encode(event), "security").items[0] for event in events
    ]
    result = await _decide_and_ingest(
        arrival, project=project, key=key, envelope=envelope, received_at=received_at
    )
    # Relay answers browsers' reports with 201 Created and no body.
    return await _accept(arrival, "security", result, status=201)


# Sanic's handlers: the same endpoints, for the requests the fast front leaves to Sanic.


def arrival_of(request: Request) -> Arrival:
    query = {name: values[0] for name, values in request.args.items() if values}
    return Arrival(
        request.app.ctx.deps,
        request.headers,
        query,
        request.body,
        request.remote_addr or request.ip,
    )


def response_of(reply: Reply) -> HTTPResponse:
    content_type = reply.headers.get("content-type", "application/octet-stream")
    return raw(reply.body, status=reply.status, headers=reply.headers, content_type=content_type)


async def envelope(request: Request, project_id: int) -> HTTPResponse:
    return response_of(await envelope_reply(arrival_of(request), project_id))


async def store(request: Request, project_id: int) -> HTTPResponse:
    return response_of(await store_reply(arrival_of(request), project_id))


async def security(request: Request, project_id: int) -> HTTPResponse:
    return response_of(await security_reply(arrival_of(request), project_id))
