"""PostgreSQL: a psycopg 3 connection pool and the versioned SQL migrations.

Migrations are the files in `pg_migrations/`, applied in name order inside one
transaction each, under an advisory lock so that processes starting together
never apply one twice.
"""

from __future__ import annotations

import logging
from importlib import resources

import psycopg
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

# Rows are dicts everywhere: the pool and its connections say so to the type checker too.
DbConnection = Connection[DictRow]
Pool = ConnectionPool[DbConnection]

log = logging.getLogger(__name__)

_MIGRATION_LOCK_ID = 0x57AC_0001


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8, name: str = "stackwise") -> Pool:
    pool: Pool = ConnectionPool(
        url,
        connection_class=Connection[DictRow],
        min_size=min_size,
        max_size=max_size,
        name=name,
        kwargs={"row_factory": dict_row},
        open=False,
        # A restarted PostgreSQL leaves dead connections in the pool; check before lending.
        check=ConnectionPool.check_connection,
    )
    pool.open(wait=True, timeout=30)
    return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("core.storage") / "pg_migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text()) for p in files]


def migrate(url: str) -> list[str]:
    """Apply every pending migration; returns the versions applied now."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)  # type: ignore[arg-type]
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                log.info("applied PostgreSQL migration %s", version)
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
    return applied_now
