"""Older clients' per-file release upload: one file per request, named by its URL.

    POST /api/0/projects/{org}/{project}/releases/{version}/files/
    POST /api/0/organizations/{org}/releases/{version}/files/   (project from ?project=)

Multipart fields: `file`, `name` (`~/static/app.min.js` or a full URL), optional
`dist` and repeated `header` ("Sourcemap: app.min.js.map"). Each file becomes a bundle
of one in the same index, found by release, dist and URL like a bundle's files. A
name already taken in the release (and dist) is a 409, as in Sentry.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sanic import Request
from sanic.response import HTTPResponse, json

from core.artifacts.bundle import (
    MINIFIED_SOURCE,
    SOURCE_MAP,
    Bundle,
    BundleFile,
    check_source_map,
)
from core.artifacts.store import sha1_hex
from core.errors import ArtifactError
from core.pg import artifacts
from relay.errors import BadRequest, PayloadTooLarge, RelayError
from relay.uploads.auth import authorized, deps_of, project_ids


class Conflict(RelayError):
    status = 409


def _form_values(request: Request, name: str) -> list[str]:
    form = request.form
    return (form.getlist(name) if form is not None else None) or []


def _field(request: Request, name: str) -> str:
    return (_form_values(request, name) or [""])[0]


def _headers(request: Request) -> dict[str, str]:
    found = {}
    for line in _form_values(request, "header"):
        key, _, value = line.partition(":")
        found[key.strip().lower()] = value.strip()
    return found


def _release_file(request: Request) -> tuple[BundleFile, str]:
    upload = ((request.files.getlist("file") if request.files else None) or [None])[0]
    if upload is None:
        raise BadRequest("no file: send it as the multipart field `file`")
    name = _field(request, "name") or (upload.name or "")
    if not name or "\x00" in name or any(part == ".." for part in name.split("/")):
        raise BadRequest(f"unsafe or missing file name: {name!r}")
    if len(upload.body) > deps_of(request).max_bundle_bytes:
        raise PayloadTooLarge("the file is over artifact_max_bundle_bytes")
    headers = _headers(request)
    kind = SOURCE_MAP if name.endswith(".map") else MINIFIED_SOURCE
    if kind == SOURCE_MAP:
        try:
            check_source_map(name, upload.body)
        except ArtifactError as e:
            raise BadRequest(str(e)) from e
    file = BundleFile(name, name[:2048], kind, None, headers.get("sourcemap", ""), upload.body)
    return file, _field(request, "dist")[:64]


async def upload(
    request: Request, org: str, version: str, project: str | None = None
) -> HTTPResponse:
    token = await authorized(request, write=True)
    slug = project or request.args.get("project") or ""
    if not slug:
        raise BadRequest("name the project: /projects/{org}/{project}/releases/…/files/")
    (project_id,) = (await project_ids(request, token, [slug])).values()
    file, dist = _release_file(request)
    deps = deps_of(request)

    def store() -> bool:
        with deps.pool.connection() as conn, conn.transaction():
            if any(
                f.url == file.url
                for f in artifacts.files_by_url(conn, [(project_id, version, dist, file.url)])
            ):
                return False
            sha1 = deps.store.put_file(file.content)
            bundle = Bundle(bundle_id="", release=version, dist=dist, files=[file])
            checksum = sha1_hex(f"{version}\0{dist}\0{file.url}\0{sha1}".encode())
            return artifacts.index_bundle(conn, project_id, checksum, bundle, [sha1])

    if not await asyncio.to_thread(store):
        raise Conflict("a file with this name already exists for the release")
    return json(
        {
            "id": sha1_hex(file.content)[:16],
            "name": file.url,
            "dist": dist or None,
            "headers": {"Sourcemap": file.sourcemap} if file.sourcemap else {},
            "size": len(file.content),
            "sha1": sha1_hex(file.content),
            "dateCreated": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        },
        status=201,
    )


async def upload_project(request: Request, org: str, project: str, version: str) -> HTTPResponse:
    return await upload(request, org, version, project)
