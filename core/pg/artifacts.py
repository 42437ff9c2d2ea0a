"""Artifact bundles, the PostgreSQL aggregate: the source maps sentry-cli uploaded.

Tables: artifact_bundles, artifact_files. The relay indexes a bundle once
its files are on disk (`index_bundle`); the workers find an event's files by debug id
or by release, dist and URL, for a whole batch in one statement each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.artifacts.bundle import Bundle
from core.pg import releases
from core.storage.postgres import DbConnection


@dataclass(frozen=True)
class IndexedFile:
    project_id: int
    bundle_id: int
    type: str
    url: str
    debug_id: str | None
    release: str
    dist: str
    sourcemap: str
    sha1: str


_FILE_COLUMNS = (
    "f.project_id, f.bundle_id, f.type, f.url, f.debug_id::text AS debug_id, f.release, "
    "f.dist, f.sourcemap, f.sha1"
)


def _file(row: dict[str, Any]) -> IndexedFile:
    return IndexedFile(**{name: row[name] for name in IndexedFile.__dataclass_fields__})


# Bundles -----------------------------------------------------------------------------


def indexed_bundles(conn: DbConnection, project_ids: list[int], checksum: str) -> set[int]:
    """The projects among these that already hold the bundle with this checksum."""
    rows = conn.execute(
        "SELECT project_id FROM artifact_bundles WHERE project_id = ANY(%s) AND checksum = %s",
        (project_ids, checksum),
    ).fetchall()
    return {row["project_id"] for row in rows}


def index_bundle(
    conn: DbConnection, project_id: int, checksum: str, bundle: Bundle, sha1s: list[str]
) -> bool:
    """Record a bundle whose files are stored (`sha1s`, in `bundle.files` order), with
    its release. False when the project already had it. Run inside a transaction."""
    row = conn.execute(
        "INSERT INTO artifact_bundles "
        "(project_id, checksum, bundle_id, release, dist, file_count, size_bytes) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (project_id, checksum) DO NOTHING RETURNING id",
        (
            project_id,
            checksum,
            bundle.bundle_id,
            bundle.release,
            bundle.dist,
            len(bundle.files),
            bundle.size_bytes,
        ),
    ).fetchone()
    if row is None:
        return False
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO artifact_files (bundle_id, project_id, type, url, debug_id, release, "
            "dist, sourcemap, sha1, size_bytes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (bundle_id, url) DO NOTHING",
            [
                (
                    row["id"],
                    project_id,
                    f.type,
                    f.url,
                    f.debug_id,
                    bundle.release,
                    bundle.dist,
                    f.sourcemap,
                    sha1,
                    len(f.content),
                )
                for f, sha1 in zip(bundle.files, sha1s, strict=True)
            ],
        )
    if bundle.release:
        releases.upsert_release(conn, project_id, bundle.release)
    return True


def projects_with_artifacts(conn: DbConnection, project_ids: list[int]) -> set[int]:
    rows = conn.execute(
        "SELECT DISTINCT project_id FROM artifact_bundles WHERE project_id = ANY(%s)",
        (project_ids,),
    ).fetchall()
    return {row["project_id"] for row in rows}


def files_by_debug_id(conn: DbConnection, keys: list[tuple[int, str]]) -> list[IndexedFile]:
    """Every file carrying one of these (project, debug id), newest bundle first."""
    if not keys:
        return []
    rows = conn.execute(
        f"SELECT {_FILE_COLUMNS} FROM artifact_files f "
        "JOIN unnest(%s::bigint[], %s::uuid[]) AS k(project_id, debug_id) "
        "ON f.project_id = k.project_id AND f.debug_id = k.debug_id "
        "ORDER BY f.bundle_id DESC",
        ([k[0] for k in keys], [k[1] for k in keys]),
    ).fetchall()
    return [_file(row) for row in rows]


def files_by_url(conn: DbConnection, keys: list[tuple[int, str, str, str]]) -> list[IndexedFile]:
    """Every file at one of these (project, release, dist, url), newest bundle first."""
    if not keys:
        return []
    rows = conn.execute(
        f"SELECT {_FILE_COLUMNS} FROM artifact_files f "
        "JOIN unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) "
        "AS k(project_id, release, dist, url) "
        "ON f.project_id = k.project_id AND f.release = k.release AND f.dist = k.dist "
        "AND f.url = k.url ORDER BY f.bundle_id DESC",
        tuple([k[i] for k in keys] for i in range(4)),
    ).fetchall()
    return [_file(row) for row in rows]


def touch_bundles(conn: DbConnection, bundle_ids: list[int]) -> None:
    """Bundles an event used: retention counts from now (written at most daily)."""
    conn.execute(
        "UPDATE artifact_bundles SET last_used_at = now() WHERE id = ANY(%s) "
        "AND last_used_at < now() - interval '1 day'",
        (bundle_ids,),
    )


def delete_expired_bundles(conn: DbConnection, retention_days: int) -> tuple[int, list[str]]:
    """Delete bundles neither uploaded nor used within the retention: (bundles deleted,
    SHA-1s of their files that no bundle names any more, to delete from the store).
    Run inside a transaction."""
    expiring = "last_used_at < now() - make_interval(days => %s)"
    sha1s = [
        row["sha1"]
        for row in conn.execute(
            "SELECT DISTINCT f.sha1 FROM artifact_files f JOIN artifact_bundles b "
            f"ON b.id = f.bundle_id WHERE b.{expiring}",
            (retention_days,),
        )
    ]
    deleted = conn.execute(
        f"DELETE FROM artifact_bundles WHERE {expiring}", (retention_days,)
    ).rowcount
    return deleted, unreferenced_files(conn, sha1s)


def unreferenced_files(conn: DbConnection, sha1s: list[str]) -> list[str]:
    """Of these file SHA-1s, those no indexed bundle names."""
    rows = conn.execute(
        "SELECT s.sha1 FROM unnest(%s::text[]) AS s(sha1) WHERE NOT EXISTS "
        "(SELECT 1 FROM artifact_files f WHERE f.sha1 = s.sha1)",
        (sha1s,),
    ).fetchall()
    return [row["sha1"] for row in rows]
