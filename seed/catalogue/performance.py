"""Performance problems: slow transactions whose spans show why (N+1 queries, a query
without an index, a slow upstream, heavy serialization, a slow page load).

Each root cause is a transaction name with one problem; its events are
transactions (stored in the `transactions` table), not errors.
"""

from __future__ import annotations

from seed.catalogue.codepaths import camel, pascal
from seed.catalogue.common import Ctx, Template
from seed.model import SpanSpec, TransactionSpec

# Span op names per SDK: what sentry-python, @sentry/node, sentry-java and the browser emit.
_DB_OP = {"python": "db", "node": "db", "java": "db.query"}
_PLACEHOLDER = {"python": "%s", "node": "$1", "java": "?"}
_FRAMEWORK_SPANS = {
    "python": (
        SpanSpec(
            "middleware.django", "django.contrib.sessions.middleware.SessionMiddleware.__call__", 3
        ),
    ),
    "node": (
        SpanSpec("middleware.express", "jsonParser", 2),
        SpanSpec("middleware.express", "authenticate", 6),
    ),
    "java": (SpanSpec("http.server.filter", "OncePerRequestFilter", 2),),
}


def _server_name(ctx: Ctx) -> tuple[str, str]:
    path = ctx.path
    if path.entry == "web":
        return path.transaction(ctx.platform), "http.server"
    return path.task, "queue.process" if ctx.platform != "python" else "queue.task.celery"


def _server(ctx: Ctx, problem: tuple[SpanSpec, ...], duration_ms: float) -> TransactionSpec:
    name, op = _server_name(ctx)
    db, ph = _DB_OP[ctx.platform], _PLACEHOLDER[ctx.platform]
    spans = (
        *_FRAMEWORK_SPANS[ctx.platform],
        SpanSpec(db, f"SELECT * FROM {ctx.table} WHERE id = {ph}", 4),
        *problem,
        SpanSpec("cache.set", f"{ctx.path.domain}:{ctx.entity}:{{id}}", 2),
    )
    return TransactionSpec(
        name=name, op=op, spans=spans, duration_ms=duration_ms, method=ctx.path.method
    )


def n_plus_one(ctx: Ctx):
    child = ctx.pick(("line", "address", "price", "tag", "note"))
    ph = _PLACEHOLDER[ctx.platform]
    repeat = ctx.rng.randint(20, 60)
    query = f"SELECT * FROM {ctx.path.domain}_{child} WHERE {ctx.entity}_id = {ph}"
    problem = (SpanSpec(_DB_OP[ctx.platform], query, 6, repeat=repeat),)
    name, _ = _server_name(ctx)
    return _server(
        ctx, problem, 80 + repeat * 9
    ), f"N+1 queries on {ctx.path.domain}_{child} in {name}"


def slow_query(ctx: Ctx):
    ph = _PLACEHOLDER[ctx.platform]
    query = (
        f"SELECT * FROM {ctx.table} WHERE customer_id = {ph} AND status IN ({ph}, {ph}) "
        "ORDER BY created_at DESC"
    )
    seconds = ctx.rng.uniform(1.5, 6.0)
    problem = (SpanSpec(_DB_OP[ctx.platform], query, seconds * 1000),)
    name, _ = _server_name(ctx)
    return _server(ctx, problem, seconds * 1000 + 120), f"Unindexed query on {ctx.table} in {name}"


def slow_upstream(ctx: Ctx):
    host = ctx.pick(
        ("api.stripe.com", "express.api.dhl.com", "rest.avatax.com", "api.sendgrid.com")
    )
    seconds = ctx.rng.uniform(2.0, 9.0)
    problem = (
        SpanSpec("http.client", f"POST https://{host}/v1/{ctx.path.domain}", seconds * 1000),
        SpanSpec("serialize", "encode request body", 3, nested=True),
    )
    name, _ = _server_name(ctx)
    return _server(ctx, problem, seconds * 1000 + 90), f"Slow calls to {host} in {name}"


def heavy_serialization(ctx: Ctx):
    ms = ctx.rng.uniform(800, 2500)
    description = {
        "python": f"{ctx.path.domain}.serializers.{pascal(ctx.entity)}Serializer",
        "node": f"JSON.stringify {camel(ctx.entity)}List",
        "java": f"Jackson {pascal(ctx.entity)}ListResponse",
    }[ctx.platform]
    problem = (SpanSpec("serialize", description, ms),)
    name, _ = _server_name(ctx)
    return _server(ctx, problem, ms + 150), f"Serializing huge {ctx.entity} lists in {name}"


def _page(ctx: Ctx) -> str:
    return f"/{ctx.path.domain}/:id" if ctx.path.entry != "cron" else f"/{ctx.path.domain}"


def slow_page_load(ctx: Ctx):
    lcp = ctx.rng.uniform(3500, 8000)
    chunk = f"https://shop.example.com/static/js/{ctx.path.domain}.chunk.js"
    spans = (
        SpanSpec("browser", "domContentLoadedEvent", 240),
        SpanSpec("resource.script", "https://shop.example.com/static/js/main.js", lcp * 0.45),
        SpanSpec("resource.script", chunk, lcp * 0.25),
        SpanSpec("http.client", f"GET /api/{ctx.path.domain}/{{id}}", lcp * 0.2),
        SpanSpec("ui.long-task", "Main UI thread blocked", 280, repeat=ctx.rng.randint(2, 6)),
    )
    measurements = {
        "lcp": (lcp, "millisecond"),
        "fcp": (lcp * 0.55, "millisecond"),
        "ttfb": (ctx.rng.uniform(200, 900), "millisecond"),
        "cls": (ctx.rng.uniform(0.05, 0.4), ""),
    }
    page = _page(ctx)
    spec = TransactionSpec(
        name=page, op="pageload", spans=spans, duration_ms=lcp * 1.1, measurements=measurements
    )
    return spec, f"Slow page load of {page}"


def slow_navigation(ctx: Ctx):
    ms = ctx.rng.uniform(2000, 6000)
    spans = (
        SpanSpec("http.client", f"GET /api/{ctx.path.domain}/{{id}}/{ctx.path.op}", ms * 0.7),
        SpanSpec("ui.react.render", f"{pascal(ctx.path.domain)}Page", ms * 0.2),
        SpanSpec("ui.long-task", "Main UI thread blocked", 150, repeat=ctx.rng.randint(3, 12)),
    )
    page = _page(ctx)
    spec = TransactionSpec(name=page, op="navigation", spans=spans, duration_ms=ms)
    return spec, f"Slow navigation to {page}"


_SERVERS = ("python", "node", "java")
TEMPLATES = (
    Template("performance", "n_plus_one", "high", _SERVERS, n_plus_one, weight=1.3),
    Template("performance", "slow_db_query", "medium", _SERVERS, slow_query, weight=1.2),
    Template("performance", "slow_http_call", "medium", _SERVERS, slow_upstream),
    Template("performance", "slow_serialization", "low", _SERVERS, heavy_serialization, 0.6),
    Template("performance", "slow_page_load", "high", ("javascript",), slow_page_load, 1.4),
    Template("performance", "slow_navigation", "medium", ("javascript",), slow_navigation),
)
