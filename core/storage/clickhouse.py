"""ClickHouse through clickhouse-connect: `chdb://PATH` embedded, `http(s)://` server.

DDL lives in `ch_migrations/` as versioned, idempotent files (`IF NOT EXISTS`);
the versions applied are recorded in a `schema_migrations` table so a changed
file is never silently re-run.
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from core.errors import ClickHouseLockedError

log = logging.getLogger(__name__)

# chdb reports a second process on the same path this way; we turn it into a clear message.
_CHDB_LOCK_MARKERS = ("Cannot lock file", "status", "already locked")
_migrate_lock = threading.Lock()


def connect(dsn: str, database: str, **settings: Any) -> Client:
    """A client bound to `database`, creating the database if needed."""
    try:
        bootstrap = clickhouse_connect.get_client(dsn=dsn)
    except Exception as e:
        if dsn.startswith("chdb://") and any(m in str(e) for m in _CHDB_LOCK_MARKERS):
            raise ClickHouseLockedError(
                f"the embedded ClickHouse at {dsn.removeprefix('chdb://')} is in use by another "
                "process; stop it, or point STACKWISE_DATA_DIR at another folder"
            ) from e
        raise
    bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    if dsn.startswith("chdb://"):
        bootstrap.close()
    return clickhouse_connect.get_client(dsn=dsn, database=database, settings=settings or None)


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("core.storage") / "ch_migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text()) for p in files]


def migrate(client: Client) -> list[str]:
    with _migrate_lock:
        client.command(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version String, applied_at DateTime DEFAULT now()) "
            "ENGINE = ReplacingMergeTree ORDER BY version"
        )
        done = {row[0] for row in client.query("SELECT version FROM schema_migrations").result_rows}
        applied_now = []
        for version, sql in migration_files():
            if version in done:
                continue
            for statement in _statements(sql):
                client.command(statement)
            client.command(f"INSERT INTO schema_migrations (version) VALUES ('{version}')")
            log.info("applied ClickHouse migration %s", version)
            applied_now.append(version)
        return applied_now


def _statements(sql: str) -> list[str]:
    """Split a file on `;` at line ends; DDL here never has a `;` inside a literal."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";\n") if part.strip().strip(";")]
