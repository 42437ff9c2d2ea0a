"""Chunk upload: the options sentry-cli reads first, then the chunks themselves.

Each chunk arrives gzip-compressed as a multipart file named by the SHA-1 of its
uncompressed bytes (field `file_gzip`, or `file` when uncompressed). Every chunk of a
request is checked (whole gzip stream, size, checksum) before any is stored, so a
request that fails stores nothing.
"""

from __future__ import annotations

import asyncio
import zlib

from sanic import Request
from sanic.response import HTTPResponse, json

from core.artifacts.store import is_sha1, sha1_hex
from relay.errors import BadRequest, PayloadTooLarge
from relay.uploads.auth import authorized, deps_of
from relay.uploads.deps import CHUNK_SIZE_BYTES, CHUNKS_PER_REQUEST, MAX_REQUEST_BYTES

_FIELDS = ("file_gzip", "file")


async def options(request: Request, org: str) -> HTTPResponse:
    await authorized(request, write=True)
    return json(
        {
            "url": request.url.split("?", 1)[0],
            "chunkSize": CHUNK_SIZE_BYTES,
            "chunksPerRequest": CHUNKS_PER_REQUEST,
            "maxFileSize": deps_of(request).max_bundle_bytes,
            "maxRequestSize": MAX_REQUEST_BYTES,
            "concurrency": 2,
            "hashAlgorithm": "sha1",
            "compression": ["gzip"],
            # Artifact bundles only: no debug files, ProGuard mappings or legacy release files.
            "accept": ["artifact_bundles"],
        }
    )


def gunzip_chunk(name: str, data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, CHUNK_SIZE_BYTES + 1)
    except zlib.error as e:
        raise BadRequest(f"chunk {name} is not valid gzip: {e}") from e
    if len(out) > CHUNK_SIZE_BYTES or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"chunk {name} unpacks to more than {CHUNK_SIZE_BYTES} bytes")
    if not decompressor.eof:
        raise BadRequest(f"chunk {name} is truncated: its gzip stream does not end")
    return out


def checked_chunks(request: Request) -> dict[str, bytes]:
    chunks: dict[str, bytes] = {}
    files = request.files
    for field in _FIELDS:
        for upload in (files.getlist(field) if files else None) or []:
            name = (upload.name or "").lower()
            if not is_sha1(name):
                raise BadRequest(f"a chunk's file name must be its SHA-1, not {name!r}")
            data = gunzip_chunk(name, upload.body) if field == "file_gzip" else upload.body
            if len(data) > CHUNK_SIZE_BYTES:
                raise PayloadTooLarge(f"chunk {name} is over {CHUNK_SIZE_BYTES} bytes")
            if sha1_hex(data) != name:
                raise BadRequest(f"chunk {name} does not match its checksum (SHA-1)")
            chunks[name] = data
    if not chunks:
        raise BadRequest("no chunks: send multipart files named by their SHA-1 (file_gzip)")
    if len(chunks) > CHUNKS_PER_REQUEST:
        raise BadRequest(f"{len(chunks)} chunks in one request, over {CHUNKS_PER_REQUEST}")
    return chunks


async def upload(request: Request, org: str) -> HTTPResponse:
    await authorized(request, write=True)
    chunks = await asyncio.to_thread(checked_chunks, request)
    store = deps_of(request).store

    def write() -> None:
        for name, data in chunks.items():
            store.put_chunk(name, data)

    await asyncio.to_thread(write)
    return json({}, status=200)
