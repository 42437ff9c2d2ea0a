"""The Sanic application: Sentry's ingestion endpoints over the relay's stages.

Each handler reads the body, authenticates, parses, normalizes and spools, and
answers only once the spool has the events on disk. Every RelayError (and any
Sanic error caused by the client) becomes the status and JSON `detail` body a
Sentry SDK expects; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sanic import Request, Sanic
from sanic import exceptions as sanic_exceptions
from sanic.response import HTTPResponse, json, raw

from relay.auth import extract_credentials
from relay.decompress import decompress
from relay.envelope import parse_envelope
from relay.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    RateLimited,
    RelayError,
    Unavailable,
    UnsupportedMediaType,
)
from relay.ingest import IngestResult, ingest_envelope, ingest_events, ingest_store
from relay.limits import (
    MAX_ENVELOPE_BYTES,
    MAX_ENVELOPE_COMPRESSED_BYTES,
    MAX_EVENT_BYTES,
    MAX_SECURITY_REPORT_BYTES,
    MAX_STORE_COMPRESSED_BYTES,
)
from relay.metrics import RelayMetrics
from relay.project_cache import ProjectCache
from relay.security import SECURITY_CONTENT_TYPES, security_events
from relay.spool import Spool, SpoolFullError

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": (
        "x-sentry-auth, x-requested-with, origin, accept, content-type, content-encoding, "
        "authorization, baggage, sentry-trace"
    ),
    "access-control-max-age": "3600",
}
# Bodies above this are decompressed off the event loop.
_INLINE_DECOMPRESS_BYTES = 256 * 1024
_app_numbers = itertools.count(1)


@dataclass
class RelayDeps:
    project_cache: ProjectCache
    spool: Spool
    metrics: RelayMetrics
    # name -> async check returning None when healthy or a problem description.
    health_checks: dict[str, Callable[[], Awaitable[str | None]]]
    key_refresh_interval_s: float = 2.0
    # Other registries rendered at /metrics (the workers', when they share this process).
    extra_metrics: list[Callable[[], bytes]] = field(default_factory=list)


def error_response(error: RelayError) -> HTTPResponse:
    headers = {**CORS_HEADERS, "x-sentry-error": error.detail[:200]}
    if isinstance(error, RateLimited):
        headers["retry-after"] = str(error.retry_after_s)
        headers["x-sentry-rate-limits"] = error.rate_limits_header
    elif isinstance(error, Unavailable):
        headers["retry-after"] = str(error.retry_after_s)
    return json({"detail": error.detail}, status=error.status, headers=headers)


async def _decompressed(request: Request, *, limit: int, what: str) -> bytes:
    body = request.body
    encoding = request.headers.get("content-encoding")
    request.app.ctx.deps.metrics.encodings.labels((encoding or "identity").lower()[:16]).inc()
    if len(body) > _INLINE_DECOMPRESS_BYTES:
        return await asyncio.to_thread(decompress, body, encoding, limit=limit, what=what)
    return decompress(body, encoding, limit=limit, what=what)


def _query(request: Request) -> dict[str, str]:
    return {name: values[0] for name, values in request.args.items() if values}


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


def create_app(deps: RelayDeps, *, name: str | None = None) -> Sanic:
    # Sanic's own log handlers would bypass the process's logging configuration.
    app = Sanic(name or f"stackwise-relay-{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_ENVELOPE_COMPRESSED_BYTES
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.ACCESS_LOG = False
    app.config.NOISY_EXCEPTIONS = False
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.deps = deps
    _register_routes(app, deps)
    _register_errors(app, deps)
    _register_lifecycle(app, deps)
    return app


def _check_dsn_project(envelope_dsn: str | None, project_id: int) -> None:
    """An envelope's `dsn` header must name the project of the URL it was posted to."""
    if not envelope_dsn:
        return
    named = envelope_dsn.rstrip("/").rsplit("/", 1)[-1]
    if named.isdigit() and int(named) != project_id:
        raise Forbidden(f"the envelope's dsn names project {named}, the URL project {project_id}")


async def _accept(
    deps: RelayDeps, endpoint: str, result: IngestResult, *, status: int = 200
) -> HTTPResponse:
    try:
        await deps.spool.append(result.records)
    except SpoolFullError as e:
        raise Unavailable("the relay's spool is full; retry later", retry_after_s=10) from e
    metrics = deps.metrics
    metrics.count_items("accepted", result.accepted)
    metrics.count_items("invalid", result.invalid)
    metrics.count_items("ignored", result.ignored)
    metrics.requests.labels(endpoint, str(status)).inc()
    if status == 201:
        return raw(b"", status=201, headers=CORS_HEADERS)
    body = {"id": result.event_id} if result.event_id else {}
    return json(body, headers=CORS_HEADERS)


def _register_routes(app: Sanic, deps: RelayDeps) -> None:
    cache = deps.project_cache

    @app.post("/api/<project_id:int>/envelope", strict_slashes=False)
    async def envelope(request: Request, project_id: int) -> HTTPResponse:
        received_at = time.time()
        query = _query(request)
        credentials = None
        if "x-sentry-auth" in request.headers or "authorization" in request.headers or query:
            credentials = extract_credentials(request.headers, query)
        body = await _decompressed(request, limit=MAX_ENVELOPE_BYTES, what="envelope")
        parsed = parse_envelope(body)
        if credentials is None or parsed.headers.dsn:
            credentials = extract_credentials(request.headers, query, parsed.headers.dsn)
        _check_dsn_project(parsed.headers.dsn, project_id)
        project = await cache.authorize(credentials.public_key, project_id)
        result = ingest_envelope(parsed, project_id=project.id, received_at=received_at)
        return await _accept(deps, "envelope", result)

    @app.post("/api/<project_id:int>/store", strict_slashes=False)
    async def store(request: Request, project_id: int) -> HTTPResponse:
        received_at = time.time()
        credentials = extract_credentials(request.headers, _query(request))
        project = await cache.authorize(credentials.public_key, project_id)
        if len(request.body) > MAX_STORE_COMPRESSED_BYTES:
            raise PayloadTooLarge(f"store body exceeds {MAX_STORE_COMPRESSED_BYTES} bytes")
        body = _legacy_store_body(await _decompressed(request, limit=MAX_EVENT_BYTES, what="event"))
        result = ingest_store(body, project_id=project.id, received_at=received_at)
        return await _accept(deps, "store", result)

    async def security(request: Request, project_id: int) -> HTTPResponse:
        received_at = time.time()
        query = _query(request)
        credentials = extract_credentials(request.headers, query)
        project = await cache.authorize(credentials.public_key, project_id)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in SECURITY_CONTENT_TYPES:
            raise UnsupportedMediaType(f"unsupported security report type {content_type!r}")
        body = await _decompressed(request, limit=MAX_SECURITY_REPORT_BYTES, what="report")
        events = security_events(body, user_agent=request.headers.get("user-agent"), query=query)
        result = ingest_events(
            events, body, kind="security", project_id=project.id, received_at=received_at
        )
        # Relay answers browsers' reports with 201 Created and no body.
        return await _accept(deps, "security", result, status=201)

    for path in ("security", "csp-report"):
        app.add_route(
            security,
            f"/api/<project_id:int>/{path}",
            methods=["POST"],
            strict_slashes=False,
            name=f"security_{path.replace('-', '_')}",
        )

    async def preflight(request: Request, project_id: int) -> HTTPResponse:
        return raw(b"", status=200, headers=PREFLIGHT_HEADERS)

    for path in ("envelope", "store", "security", "csp-report"):
        app.add_route(
            preflight,
            f"/api/<project_id:int>/{path}",
            methods=["OPTIONS"],
            strict_slashes=False,
            name=f"preflight_{path.replace('-', '_')}",
        )

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        checks = {}
        for check_name, check in deps.health_checks.items():
            try:
                problem = await asyncio.wait_for(check(), timeout=5)
            except Exception as e:
                problem = f"{type(e).__name__}: {e}"
            checks[check_name] = problem or "ok"
        healthy = all(state == "ok" for state in checks.values())
        return json(
            {"status": "ok" if healthy else "unhealthy", "checks": checks},
            status=200 if healthy else 503,
        )

    @app.get("/metrics")
    async def metrics(request: Request) -> HTTPResponse:
        deps.metrics.spool_bytes.set(deps.spool.bytes_on_disk)
        body = b"".join([deps.metrics.render(), *(render() for render in deps.extra_metrics)])
        return raw(body, content_type="text/plain; version=0.0.4")


def _endpoint_of(request: Request) -> str:
    path = request.path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path.startswith("/api/") else "other"


def _register_errors(app: Sanic, deps: RelayDeps) -> None:
    @app.exception(RelayError)
    async def relay_error(request: Request, error: RelayError) -> HTTPResponse:
        deps.metrics.requests.labels(_endpoint_of(request), str(error.status)).inc()
        return error_response(error)

    @app.exception(sanic_exceptions.SanicException)
    async def sanic_error(request: Request, error: sanic_exceptions.SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        detail = str(error) or type(error).__name__
        if status >= 500:
            log.exception("relay failure", exc_info=error)
        deps.metrics.requests.labels(_endpoint_of(request), str(status)).inc()
        return json({"detail": detail}, status=status, headers=CORS_HEADERS)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        # A bug of ours: logged with its trace and counted, so tests and alerts see it.
        log.exception("unexpected relay error", exc_info=error)
        deps.metrics.requests.labels(_endpoint_of(request), "500").inc()
        return json({"detail": "internal relay error"}, status=500, headers=CORS_HEADERS)


def _register_lifecycle(app: Sanic, deps: RelayDeps) -> None:
    @app.before_server_start
    async def start_background(app: Sanic) -> None:
        await asyncio.to_thread(deps.project_cache.load)
        app.ctx.background = [
            asyncio.create_task(deps.project_cache.run_refresher(deps.key_refresh_interval_s)),
            asyncio.create_task(_seal_periodically(deps.spool)),
        ]

    @app.after_server_stop
    async def seal_spool(app: Sanic) -> None:
        # Requests are finished: seal the open segment so the flusher can store it.
        for task in app.ctx.background:
            task.cancel()
        while not deps.spool.idle:
            await asyncio.sleep(0.01)
        deps.spool.seal_open()


async def _seal_periodically(spool: Spool) -> None:
    while True:
        await asyncio.sleep(0.05)
        spool.tick()
