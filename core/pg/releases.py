"""Releases as sentry-cli manages them (`releases new / finalize / info / list`).

Table: releases, shared with the issue store (`core.pg.issues` records the releases
events name, with when each was first seen; "resolved in the next release" orders by
it). A release created here before any event was first seen at its creation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.storage.postgres import DbConnection


def upsert_release(
    conn: DbConnection,
    project_id: int,
    version: str,
    *,
    date_started: datetime | None = None,
    date_released: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """The project's release, created if missing: (row, created)."""
    row = conn.execute(
        "INSERT INTO releases (project_id, version, first_seen, date_started, date_released) "
        "VALUES (%s, %s, now(), %s, %s) ON CONFLICT (project_id, version) DO NOTHING "
        "RETURNING *",
        (project_id, version, date_started, date_released),
    ).fetchone()
    if row is not None:
        return row, True
    existing = conn.execute(
        "SELECT * FROM releases WHERE project_id = %s AND version = %s", (project_id, version)
    ).fetchone()
    assert existing is not None
    return existing, False


def update_release(
    conn: DbConnection,
    project_id: int,
    version: str,
    *,
    date_started: datetime | None,
    date_released: datetime | None,
) -> dict[str, Any] | None:
    return conn.execute(
        "UPDATE releases SET date_started = coalesce(%s, date_started), "
        "date_released = coalesce(%s, date_released) "
        "WHERE project_id = %s AND version = %s RETURNING *",
        (date_started, date_released, project_id, version),
    ).fetchone()


def releases_named(conn: DbConnection, project_ids: list[int], version: str) -> list[dict]:
    """The release with this version in each of these projects that has it."""
    return conn.execute(
        "SELECT r.*, p.slug FROM releases r JOIN projects p ON p.id = r.project_id "
        "WHERE r.project_id = ANY(%s) AND r.version = %s ORDER BY p.slug",
        (project_ids, version),
    ).fetchall()


def list_releases(conn: DbConnection, project_ids: list[int], limit: int = 100) -> list[dict]:
    return conn.execute(
        "SELECT r.*, p.slug FROM releases r JOIN projects p ON p.id = r.project_id "
        "WHERE r.project_id = ANY(%s) ORDER BY r.first_seen DESC, r.version DESC LIMIT %s",
        (project_ids, limit),
    ).fetchall()
