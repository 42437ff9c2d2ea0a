"""Plain factories for the AI tests: Sentry-shaped events and a path through real grouping.

`python_error` builds a normalized Python SDK event that carries the kinds of
secrets real events carry (a password in a source line and in frame locals, a
database URL with credentials in the message, an Authorization header, an API
key tag, a user email) and the seeder's ground truth under `contexts.seed`, so
prompt tests can prove none of it leaves.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from core.pg.projects import create_project
from core.runtime import Stack
from core.wire import EventBatch, QueuedEvent
from relay.write import EventRows
from workers.context import WorkerContext
from workers.process_events import process_event_batch

# Values that must never appear in anything sent to a model.
SECRETS = (
    "hunter2-local-var",
    "s3cr3t-Pa55word",
    "SuperSecret123",
    "Bearer abcdef123456secret",
    "AKIAIOSFODNN7EXAMPLE",
    "bob.jones@example.com",
    "4111111111111111",
)
SEED_LABELS = ("seed-root-cause-stale-cart", "seed-family-cache")


def frame(
    function: str,
    module: str,
    lineno: int,
    *,
    in_app: bool = True,
    context_line: str = "",
    pre_context: list[str] | None = None,
    post_context: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "function": function,
        "module": module,
        "filename": module.replace(".", "/") + ".py",
        "abs_path": "/srv/app/" + module.replace(".", "/") + ".py",
        "lineno": lineno,
        "in_app": in_app,
        "context_line": context_line or f"    {function}_result = run()",
        "pre_context": pre_context or [],
        "post_context": post_context or [],
        "vars": {"password": "hunter2-local-var", "cart_id": 42},
    }


def default_frames() -> list[dict[str, Any]]:
    return [
        frame("dispatch", "django.core.handlers.base", 181, in_app=False),
        frame("checkout", "shop.views", 40, context_line="    cart = load_cart(request.cart_id)"),
        frame(
            "load_cart",
            "shop.cart",
            88,
            pre_context=[
                '    db_password = "s3cr3t-Pa55word"',
                "    row = carts.get(cart_id)",
            ],
            context_line="    return row['items']",
            post_context=["", "def save_cart(cart):"],
        ),
    ]


def python_error(
    *,
    exc_type: str = "KeyError",
    value: str = "'items' missing for cart 42 (bob.jones@example.com)",
    frames: list[dict[str, Any]] | None = None,
    release: str = "shop@1.4.0",
    environment: str = "production",
    timestamp: float | None = None,
    user_id: str = "u-1",
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    event_id = uuid.uuid4().hex
    return {
        "event_id": event_id,
        "timestamp": timestamp if timestamp is not None else time.time(),
        "platform": "python",
        "level": "error",
        "release": release,
        "environment": environment,
        "exception": {
            "values": [
                {
                    "type": "OperationalError",
                    "value": "connection to postgres://app:SuperSecret123@db.internal/shop lost",
                    "module": "psycopg",
                },
                {
                    "type": exc_type,
                    "value": value,
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {"frames": frames if frames is not None else default_frames()},
                },
            ]
        },
        "request": {
            "url": "https://shop.example.com/checkout",
            "headers": {"Authorization": "Bearer abcdef123456secret"},
            "data": {"card": "4111111111111111"},
        },
        "user": {"id": user_id, "email": "bob.jones@example.com"},
        "tags": {
            "browser": "Chrome 120",
            "api_key": "AKIAIOSFODNN7EXAMPLE",
            "seed_root_cause": SEED_LABELS[0],
            **(tags or {}),
        },
        "contexts": {
            "seed": {"root_cause": SEED_LABELS[0], "family": SEED_LABELS[1], "severity": "high"},
            "runtime": {"name": "CPython", "version": "3.11.9"},
        },
        "extra": {"token": "tok_live_123456789"},
    }


def make_project(stack: Stack, **ai: Any) -> int:
    """A project of the calling test's own, with `ai` settings."""
    project, _ = create_project(stack.pool, f"shop-{uuid.uuid4().hex[:10]}")
    if ai:
        with stack.pool.connection() as conn:
            conn.execute(
                "UPDATE projects SET config = %s WHERE id = %s", (Jsonb({"ai": ai}), project.id)
            )
    return project.id


def ingest(
    ctx: WorkerContext, project_id: int, events: list[dict[str, Any]], *, store: bool = True
) -> list[int]:
    """Store events in ClickHouse (unless `store` is false: grouped, not yet readable) and
    group them with the real worker code; returns their group ids."""
    received = time.time()
    payloads = [msgspec.json.encode(e) for e in events]
    rows = EventRows()
    for e, payload in zip(events, payloads, strict=True):
        rows.add(project_id, e["event_id"], received, payload)
    if store:
        ctx.clickhouse().insert_arrow("events", rows.table())
    batch = EventBatch(
        batch_id=uuid.uuid4().hex,
        created_at=received,
        events=[
            QueuedEvent(
                project_id=project_id,
                event_id=e["event_id"],
                timestamp=float(e["timestamp"]),
                received_at=received,
                payload=payload,
            )
            for e, payload in zip(events, payloads, strict=True)
        ],
    )
    process_event_batch(ctx, batch)
    with ctx.stack.pool.connection() as conn:
        found = conn.execute(
            "SELECT event_id, group_id FROM error_occurrences WHERE event_id = ANY(%s::uuid[])",
            ([e["event_id"] for e in events],),
        ).fetchall()
    by_event = {row["event_id"].hex: row["group_id"] for row in found}
    return [by_event[e["event_id"]] for e in events]


def context_with(stack: Stack, **settings: Any) -> WorkerContext:
    """A worker context over the same stores with some settings changed (e.g. the endpoint)."""
    return WorkerContext(
        replace(stack, settings=msgspec.structs.replace(stack.settings, **settings))
    )
