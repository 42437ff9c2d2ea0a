"""Assemble: join uploaded chunks into an artifact bundle, check it, store and index it.

sentry-cli posts `{checksum, chunks, projects, version?, dist?}` and polls while the
state is not final: `not_found` with `missingChunks` (it uploads those, then asks
again), then `ok` (or `error` with a `detail`). Bundles are bounded, so this relay
assembles at once, in a thread: the answer after the last chunk is already `ok`.

A bad bundle (not a zip, `../` names, a bomb, a map that is not JSON, a checksum that
does not match) is a 4xx with a `detail`, and nothing is indexed: files are written to
the content-addressed folder first (harmless, unreferenced ones are swept), then the
index in one transaction.
"""

from __future__ import annotations

import asyncio

import msgspec
from sanic import Request
from sanic.response import HTTPResponse, json

from core.artifacts.bundle import read_bundle
from core.artifacts.store import is_sha1, sha1_hex
from core.errors import ArtifactError, ArtifactTooLarge
from core.pg import artifacts
from relay.errors import MALFORMED_JSON, BadRequest, PayloadTooLarge
from relay.uploads.auth import authorized, deps_of, project_ids
from relay.uploads.deps import UploadDeps


class AssembleRequest(msgspec.Struct):
    checksum: str
    chunks: list[str]
    projects: list[str] = []
    version: str | None = None
    dist: str | None = None


_decode_request = msgspec.json.Decoder(AssembleRequest).decode


def _answer(state: str, missing: list[str] | None = None, detail: str | None = None):
    return json({"state": state, "missingChunks": missing or [], "detail": detail})


def parse_request(body: bytes) -> AssembleRequest:
    try:
        request = _decode_request(body)
    except (*MALFORMED_JSON, msgspec.ValidationError) as e:
        raise BadRequest(f"not an assemble request: {e}") from e
    for name in (request.checksum, *request.chunks):
        if not is_sha1(name.lower()):
            raise BadRequest(f"{name!r} is not a SHA-1")
    if not request.chunks:
        raise BadRequest("an assemble request names at least one chunk")
    return request


def assemble_bundle(deps: UploadDeps, request: AssembleRequest, targets: list[int]) -> None:
    """Read, check, store and index the bundle for every target project; a bundle that
    fails a check takes its chunks with it, so nothing of it stays."""
    chunk_names = [c.lower() for c in request.chunks]
    try:
        _store_and_index(deps, request, targets, chunk_names)
    except (BadRequest, PayloadTooLarge):
        deps.store.delete_chunks(chunk_names)
        raise
    deps.store.delete_chunks(chunk_names)


def _store_and_index(
    deps: UploadDeps, request: AssembleRequest, targets: list[int], chunk_names: list[str]
) -> None:
    data = deps.store.read_chunks(chunk_names, max_bytes=deps.max_bundle_bytes)
    if data is None:
        raise PayloadTooLarge(
            f"the bundle is over artifact_max_bundle_bytes ({deps.max_bundle_bytes} bytes)"
        )
    if sha1_hex(data) != request.checksum.lower():
        raise BadRequest("the assembled chunks do not match the bundle's checksum (SHA-1)")
    try:
        bundle = read_bundle(data, max_bytes=deps.max_bundle_bytes)
    except ArtifactTooLarge as e:
        raise PayloadTooLarge(str(e)) from e
    except ArtifactError as e:
        raise BadRequest(str(e)) from e
    if request.version is not None or request.dist is not None:
        bundle = type(bundle)(
            bundle_id=bundle.bundle_id,
            release=(request.version or bundle.release)[:250],
            dist=(request.dist or bundle.dist)[:64],
            files=bundle.files,
        )
    sha1s = [deps.store.put_file(f.content) for f in bundle.files]
    with deps.pool.connection() as conn, conn.transaction():
        for project_id in targets:
            artifacts.index_bundle(conn, project_id, request.checksum.lower(), bundle, sha1s)


async def assemble(request: Request, org: str) -> HTTPResponse:
    token = await authorized(request, write=True)
    wanted = parse_request(request.body)
    found = await project_ids(request, token, wanted.projects)
    if not found:
        raise BadRequest("no project to upload to: name one (--project)")
    deps = deps_of(request)

    def pending() -> tuple[list[int], list[str]]:
        with deps.pool.connection() as conn:
            done = artifacts.indexed_bundles(conn, list(found.values()), wanted.checksum.lower())
        targets = [p for p in found.values() if p not in done]
        missing = deps.store.missing_chunks(c.lower() for c in wanted.chunks) if targets else []
        return targets, missing

    targets, missing = await asyncio.to_thread(pending)
    if not targets:
        return _answer("ok")
    if missing:
        return _answer("not_found", missing)
    await asyncio.to_thread(assemble_bundle, deps, wanted, targets)
    return _answer("ok")
