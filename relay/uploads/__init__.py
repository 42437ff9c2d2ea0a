"""The subset of Sentry's web API that `sentry-cli` uses to upload source maps.

    GET  /api/0/organizations/{org}/chunk-upload/              chunk options
    POST /api/0/organizations/{org}/chunk-upload/              gzip chunks, checked by SHA-1
    POST /api/0/organizations/{org}/artifactbundle/assemble/   chunks -> bundle -> index
    POST /api/0/organizations/{org}/releases/                  releases new
    GET  /api/0/organizations/{org}/releases/                  releases list
    GET/PUT /api/0/organizations/{org}/releases/{version}/     releases info / finalize
    GET  /api/0/projects/{org}/{project}/releases/[{version}/] releases list / info
    POST …/releases/{version}/files/                           older clients' per-file upload

One organization: any `{org}` slug means this deployment. Every request carries an API
token (`Authorization: Bearer`, `core.pg.tokens`); a token that names a project never
reaches another's. Errors are RelayErrors, answered with a JSON `detail` in `app`.
"""

from __future__ import annotations

from sanic import Sanic

from relay.uploads import assemble, chunks, release_files, releases
from relay.uploads.deps import UploadDeps

__all__ = ["UploadDeps", "register"]

_ORG = "/api/0/organizations/<org:str>"


def register(app: Sanic, deps: UploadDeps) -> None:
    app.ctx.uploads = deps
    for path, handler, methods in (
        (f"{_ORG}/chunk-upload", chunks.options, ["GET"]),
        (f"{_ORG}/chunk-upload", chunks.upload, ["POST"]),
        (f"{_ORG}/artifactbundle/assemble", assemble.assemble, ["POST"]),
        (f"{_ORG}/releases", releases.create, ["POST"]),
        (f"{_ORG}/releases", releases.list_all, ["GET"]),
        (f"{_ORG}/releases/<version:str>", releases.info, ["GET"]),
        (f"{_ORG}/releases/<version:str>", releases.update, ["PUT"]),
        ("/api/0/projects/<org:str>/<project:str>/releases", releases.list_project, ["GET"]),
        (
            "/api/0/projects/<org:str>/<project:str>/releases/<version:str>",
            releases.info_project,
            ["GET"],
        ),
        (f"{_ORG}/releases/<version:str>/files", release_files.upload, ["POST"]),
        (
            "/api/0/projects/<org:str>/<project:str>/releases/<version:str>/files",
            release_files.upload_project,
            ["POST"],
        ),
    ):
        name = f"uploads_{handler.__module__.rsplit('.', 1)[-1]}_{handler.__name__}"
        app.add_route(handler, path, methods=methods, strict_slashes=False, name=name)
