"""Projects and keys, the PostgreSQL aggregate: projects and their DSN keys.

Tables: projects, project_keys. Nothing outside this module writes SQL against them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from core.errors import ProjectError
from core.project_config import (
    ProjectConfig,
    config_to_dict,
    new_project_config,
    parse_config,
)
from core.storage.postgres import DbConnection, Pool

DEMO_PROJECT_SLUG = "demo"
# The workbench's export and frames (analysis.tables): every project, JSON as text.
EXPORT_SQL = (
    "SELECT id, slug, name, config::text AS config, created_at FROM projects WHERE {where} "
    "ORDER BY id"
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class ProjectKey:
    public_key: str
    project_id: int
    label: str
    is_active: bool
    created_at: datetime


@dataclass(frozen=True)
class Project:
    id: int
    slug: str
    name: str
    config: ProjectConfig
    created_at: datetime


def dsn(public_url: str, public_key: str, project_id: int) -> str:
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{public_key}@{parts.netloc}{parts.path.rstrip('/')}/{project_id}"


def new_public_key() -> str:
    return secrets.token_hex(16)


def _project(row: dict[str, Any]) -> Project:
    return Project(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        config=parse_config(row["config"]),
        created_at=row["created_at"],
    )


def create_project(
    pool: Pool, slug: str, name: str | None = None, *, public_key: str | None = None
) -> tuple[Project, ProjectKey]:
    if not _SLUG.match(slug):
        raise ProjectError(f"invalid slug {slug!r}: use lowercase letters, digits, - and _")
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO projects (slug, name, config) VALUES (%s, %s, %s) "
            "ON CONFLICT (slug) DO NOTHING RETURNING *",
            (slug, name or slug, Jsonb(config_to_dict(new_project_config()))),
        ).fetchone()
        if row is None:
            raise ProjectError(f"project {slug!r} already exists")
        project = _project(row)
        key = _insert_key(conn, project.id, "default", public_key or new_public_key())
    return project, key


def ensure_project(pool: Pool, slug: str) -> tuple[Project, ProjectKey]:
    """The project with its first active key, created if missing (the `demo` bootstrap)."""
    try:
        return create_project(pool, slug)
    except ProjectError:
        project = get_project(pool, slug)
        active = [k for k in list_keys(pool, project.id) if k.is_active]
        if active:
            return project, active[0]
        return project, add_key(pool, slug, "default")


def _insert_key(conn, project_id: int, label: str, public_key: str) -> ProjectKey:
    row = conn.execute(
        "INSERT INTO project_keys (public_key, project_id, label) VALUES (%s, %s, %s) RETURNING *",
        (public_key, project_id, label),
    ).fetchone()
    return ProjectKey(**{k: row[k] for k in ProjectKey.__dataclass_fields__})


def get_project(pool: Pool, slug_or_id: str | int) -> Project:
    column = "id" if str(slug_or_id).isdigit() else "slug"
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT * FROM projects WHERE {column} = %s",
            (int(slug_or_id) if column == "id" else slug_or_id,),
        ).fetchone()
    if row is None:
        raise ProjectError(f"no project {slug_or_id!r}")
    return _project(row)


def list_projects(pool: Pool) -> list[Project]:
    with pool.connection() as conn:
        return [_project(row) for row in conn.execute("SELECT * FROM projects ORDER BY id")]


def list_keys(pool: Pool, project_id: int) -> list[ProjectKey]:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT * FROM project_keys WHERE project_id = %s ORDER BY created_at", (project_id,)
        ).fetchall()
    return [ProjectKey(**{k: r[k] for k in ProjectKey.__dataclass_fields__}) for r in rows]


def add_key(pool: Pool, slug: str, label: str = "default") -> ProjectKey:
    project = get_project(pool, slug)
    with pool.connection() as conn:
        return _insert_key(conn, project.id, label, new_public_key())


def set_key_active(pool: Pool, public_key: str, active: bool) -> ProjectKey:
    with pool.connection() as conn:
        row = conn.execute(
            "UPDATE project_keys SET is_active = %s, updated_at = now() "
            "WHERE public_key = %s RETURNING *",
            (active, public_key),
        ).fetchone()
    if row is None:
        raise ProjectError(f"no key {public_key!r}")
    return ProjectKey(**{k: row[k] for k in ProjectKey.__dataclass_fields__})


def save_config(pool: Pool, slug: str, config: ProjectConfig) -> Project:
    project = get_project(pool, slug)
    with pool.connection() as conn:
        row = conn.execute(
            "UPDATE projects SET config = %s, updated_at = now() WHERE id = %s RETURNING *",
            (Jsonb(config_to_dict(config)), project.id),
        ).fetchone()
    if row is None:
        raise ProjectError(f"project {slug!r} disappeared while saving its configuration")
    return _project(row)


def all_keys(conn: DbConnection) -> list[dict[str, Any]]:
    """Every DSN key with its configuration (the relay's key cache)."""
    return conn.execute(
        "SELECT public_key, project_id, is_active, config FROM project_keys"
    ).fetchall()


def all_projects(conn: DbConnection) -> list[dict[str, Any]]:
    """Every project's id, slug and configuration document (the relay's cache)."""
    return conn.execute("SELECT id, slug, config FROM projects").fetchall()


def key_with_project(conn: DbConnection, public_key: str) -> dict[str, Any] | None:
    """One key and its project: `key_config` is the key's document, `config` the project's."""
    return conn.execute(
        "SELECT k.public_key, k.project_id, k.is_active, k.config AS key_config, "
        "p.slug, p.config FROM project_keys k JOIN projects p ON p.id = k.project_id "
        "WHERE k.public_key = %s",
        (public_key,),
    ).fetchone()


def configs(conn: DbConnection, project_ids: list[int]) -> dict[int, dict[str, Any]]:
    """These projects' configuration documents (missing projects left out)."""
    rows = conn.execute(
        "SELECT id, config FROM projects WHERE id = ANY(%s)", (project_ids,)
    ).fetchall()
    return {row["id"]: row["config"] for row in rows}


def all_configs(conn: DbConnection) -> list[dict[str, Any]]:
    """Every project's id and configuration document."""
    return conn.execute("SELECT id, config FROM projects").fetchall()


def slugs(conn: DbConnection) -> dict[int, str]:
    """Every project's slug by id."""
    return {row["id"]: row["slug"] for row in conn.execute("SELECT id, slug FROM projects")}


def ids_for_slugs(conn: DbConnection, project_slugs: list[str]) -> dict[str, int]:
    """These projects' ids by slug (unknown slugs left out)."""
    rows = conn.execute(
        "SELECT id, slug FROM projects WHERE slug = ANY(%s)", (project_slugs,)
    ).fetchall()
    return {row["slug"]: row["id"] for row in rows}
