"""The Sanic application: routes, error answers and background tasks of the relay.

The ingestion endpoints live in `endpoints`. Every RelayError (and any Sanic error
caused by the client) becomes the status and JSON `detail` body a Sentry SDK expects;
nothing a client sends can produce a 500.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from sanic import Request, Sanic
from sanic import exceptions as sanic_exceptions
from sanic.response import HTTPResponse, json, raw

from relay import endpoints, uploads
from relay.arrival import error_reply, internal_error_reply
from relay.deps import CORS_HEADERS, RelayDeps
from relay.errors import RelayError
from relay.limits import MAX_ENVELOPE_COMPRESSED_BYTES
from relay.spool import Spool

log = logging.getLogger(__name__)

PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": (
        "x-sentry-auth, x-requested-with, origin, accept, content-type, content-encoding, "
        "authorization, baggage, sentry-trace"
    ),
    "access-control-max-age": "3600",
}
_app_numbers = itertools.count(1)


def error_response(error: RelayError) -> HTTPResponse:
    return endpoints.response_of(error_reply(error))


def create_app(deps: RelayDeps, *, name: str | None = None, fast_front: bool = True) -> Sanic:
    # Sanic's own log handlers would bypass the process's logging configuration.
    app = Sanic(name or f"stackwise-relay-{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_ENVELOPE_COMPRESSED_BYTES
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.config.ACCESS_LOG = False
    app.config.NOISY_EXCEPTIONS = False
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.deps = deps
    # Whether `front.RelayProtocol` frames SDK event posts itself (served with it).
    app.ctx.fast_front = fast_front
    _register_routes(app, deps)
    if deps.uploads is not None:
        uploads.register(app, deps.uploads)
    _register_errors(app, deps)
    _register_lifecycle(app, deps)
    return app


def _register_routes(app: Sanic, deps: RelayDeps) -> None:
    for path, handler in (
        ("envelope", endpoints.envelope),
        ("store", endpoints.store),
        ("security", endpoints.security),
        ("csp-report", endpoints.security),
    ):
        route = f"/api/<project_id:int>/{path}"
        name = path.replace("-", "_")
        app.add_route(handler, route, methods=["POST"], strict_slashes=False, name=name)
        app.add_route(
            _preflight, route, methods=["OPTIONS"], strict_slashes=False, name=f"{name}_options"
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


async def _preflight(request: Request, project_id: int) -> HTTPResponse:
    return raw(b"", status=200, headers=PREFLIGHT_HEADERS)


def _endpoint_of(request: Request) -> str:
    path = request.path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path.startswith("/api/") else "other"


def _register_errors(app: Sanic, deps: RelayDeps) -> None:
    @app.exception(RelayError)
    async def relay_error(request: Request, error: RelayError) -> HTTPResponse:
        deps.metrics.count_request(_endpoint_of(request), error.status)
        return error_response(error)

    @app.exception(sanic_exceptions.SanicException)
    async def sanic_error(request: Request, error: sanic_exceptions.SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        detail = str(error) or type(error).__name__
        if status >= 500:
            log.exception("relay failure", exc_info=error)
        deps.metrics.count_request(_endpoint_of(request), status)
        return json({"detail": detail}, status=status, headers=CORS_HEADERS)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        # A bug of ours: logged with its trace and counted, so tests and alerts see it.
        log.exception("unexpected relay error", exc_info=error)
        deps.metrics.count_request(_endpoint_of(request), 500)
        return endpoints.response_of(internal_error_reply())


def _register_lifecycle(app: Sanic, deps: RelayDeps) -> None:
    @app.before_server_start
    async def start_background(app: Sanic) -> None:
        await asyncio.to_thread(deps.project_cache.load)
        app.ctx.background = [
            asyncio.create_task(deps.project_cache.run_refresher(deps.key_refresh_interval_s)),
            asyncio.create_task(_seal_periodically(deps.spool)),
        ]
        if deps.policy is not None:
            app.ctx.background.append(asyncio.create_task(deps.policy.volume.run()))

    @app.before_server_stop
    async def stop_keeping_alive(app: Sanic) -> None:
        # Sanic closes the idle connections once, then waits up to its graceful timeout
        # (15 s) for the others and cuts the requests still in them. An SDK posting one
        # event after another on its keep-alive connection kept that connection busy the
        # whole time: every stop under load took 15 s and ended with requests cut off.
        # From now on each request is answered with `Connection: close`.
        app.config.KEEP_ALIVE = False

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
