"""The release endpoints `sentry-cli releases new / finalize / info / list` call.

A release is recorded on each project it names (one organization: Sentry's release
belongs to the organization and lists its projects; here each project holds its own).
Answers have the fields sentry-cli reads: version, dateCreated, dateReleased,
lastEvent, newGroups, projects.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import msgspec
from sanic import Request
from sanic.response import HTTPResponse, json

from core.pg import releases
from relay.errors import MALFORMED_JSON, BadRequest, NotFound
from relay.uploads.auth import authorized, deps_of, project_ids

MAX_VERSION_LENGTH = 250


class ReleaseRequest(msgspec.Struct, rename="camel"):
    version: str | None = None
    projects: list[str] | None = None
    date_started: datetime | None = None
    date_released: datetime | None = None


_decode_release = msgspec.json.Decoder(ReleaseRequest).decode


def _parse(body: bytes) -> ReleaseRequest:
    try:
        return _decode_release(body or b"{}")
    except (*MALFORMED_JSON, msgspec.ValidationError) as e:
        raise BadRequest(f"not a release request: {e}") from e


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def release_json(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One release as Sentry shows it, from its rows in each project."""
    first = rows[0]
    released = [r["date_released"] for r in rows if r["date_released"]]
    started = [r["date_started"] for r in rows if r["date_started"]]
    return {
        "version": first["version"],
        "shortVersion": first["version"],
        "ref": None,
        "url": None,
        "dateCreated": _iso(min(r["first_seen"] for r in rows)),
        "dateStarted": _iso(min(started) if started else None),
        "dateReleased": _iso(max(released) if released else None),
        "lastEvent": None,
        "firstEvent": None,
        "newGroups": 0,
        "data": {},
        "commitCount": 0,
        "deployCount": 0,
        "authors": [],
        "status": "open",
        "projects": [{"slug": r["slug"], "name": r["slug"]} for r in rows],
    }


def _check_version(version: str | None) -> str:
    if not version or len(version) > MAX_VERSION_LENGTH or version in (".", ".."):
        raise BadRequest(f"a release version is 1 to {MAX_VERSION_LENGTH} characters")
    if "\n" in version or "/" in version or "\\" in version:
        raise BadRequest("a release version has no slashes or line breaks")
    return version


def _run(request: Request, work):
    def in_transaction():
        with deps_of(request).pool.connection() as conn, conn.transaction():
            return work(conn)

    return asyncio.to_thread(in_transaction)


async def create(request: Request, org: str) -> HTTPResponse:
    token = await authorized(request, write=True)
    wanted = _parse(request.body)
    version = _check_version(wanted.version)
    found = await project_ids(request, token, wanted.projects or [])
    if not found:
        raise BadRequest("a release needs a project: name one (--project)")

    def work(conn):
        results = [
            releases.upsert_release(
                conn,
                project_id,
                version,
                date_started=wanted.date_started,
                date_released=wanted.date_released,
            )
            for project_id in found.values()
        ]
        created = any(new for _, new in results)
        return created, releases.releases_named(conn, list(found.values()), version)

    created, rows = await _run(request, work)
    # Sentry answers 208 when the release already existed.
    return json(release_json(rows), status=201 if created else 208)


async def update(request: Request, org: str, version: str) -> HTTPResponse:
    token = await authorized(request, write=True)
    wanted = _parse(request.body)
    found = await project_ids(request, token, wanted.projects or [])

    def work(conn):
        for project_id in found.values():
            releases.update_release(
                conn,
                project_id,
                version,
                date_started=wanted.date_started,
                date_released=wanted.date_released,
            )
        return releases.releases_named(conn, list(found.values()), version)

    rows = await _run(request, work)
    if not rows:
        raise NotFound(f"no release {version!r}")
    return json(release_json(rows))


async def _info(request: Request, version: str, slugs: list[str]) -> HTTPResponse:
    token = await authorized(request, write=False)
    found = await project_ids(request, token, slugs)
    ids = list(found.values())
    rows = await _run(request, lambda conn: releases.releases_named(conn, ids, version))
    if not rows:
        raise NotFound(f"no release {version!r}")
    return json(release_json(rows))


async def _list(request: Request, slugs: list[str]) -> HTTPResponse:
    token = await authorized(request, write=False)
    found = await project_ids(request, token, slugs)
    rows = await _run(request, lambda conn: releases.list_releases(conn, list(found.values())))
    by_version: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_version.setdefault(row["version"], []).append(row)
    return json([release_json(group) for group in by_version.values()])


async def info(request: Request, org: str, version: str) -> HTTPResponse:
    return await _info(request, version, request.args.getlist("project") or [])


async def info_project(request: Request, org: str, project: str, version: str) -> HTTPResponse:
    return await _info(request, version, [project])


async def list_all(request: Request, org: str) -> HTTPResponse:
    return await _list(request, request.args.getlist("project") or [])


async def list_project(request: Request, org: str, project: str) -> HTTPResponse:
    return await _list(request, [project])
