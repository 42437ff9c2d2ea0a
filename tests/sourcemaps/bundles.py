"""Artifact bundles made by hand, as sentry-cli makes them, and sent the way it sends them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import uuid
import zipfile

import httpx

MINIFIED = b"function t(n){throw new Error('x'+n)}t(1);\n//# sourceMappingURL=app.min.js.map\n"
SOURCE_MAP = json.dumps(
    {
        "version": 3,
        "sources": ["../src/app.js"],
        "sourcesContent": ["function explode(n) {\n  throw new Error('x' + n);\n}\nexplode(1);\n"],
        "names": ["explode", "n"],
        "mappings": "AAAA,SAASA,EAAQC,GACf,MAAM,IAAI,MAAM,IAAMA,EAClB,CACAD,EAAQ",
    }
).encode()


def bundle(
    files: dict[str, tuple[str, str, bytes, dict[str, str]]] | None = None,
    *,
    manifest_extra: dict | None = None,
    entries: dict[str, bytes] | None = None,
    debug_id: str | None = None,
) -> bytes:
    """A zip with a manifest: `files` maps a path to (url, type, content, headers)."""
    debug_id = debug_id or str(uuid.uuid4())
    if files is None:
        files = {
            "files/_/_/app.min.js": (
                "~/app.min.js",
                "minified_source",
                MINIFIED,
                {"debug-id": debug_id, "sourcemap": "app.min.js.map"},
            ),
            "files/_/_/app.min.js.map": (
                "~/app.min.js.map",
                "source_map",
                SOURCE_MAP,
                {"debug-id": debug_id},
            ),
        }
    manifest = {
        "files": {
            path: {"url": url, "type": kind, "headers": headers}
            for path, (url, kind, _, headers) in files.items()
        },
        "debug_id": str(uuid.uuid4()),
        "org": "stackwise",
        "project": "web",
        **(manifest_extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, (_, _, content, _) in files.items():
            archive.writestr(path, content)
        for path, content in (entries or {}).items():
            archive.writestr(path, content)
        archive.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def upload_chunks(client: httpx.Client, chunks: list[bytes]) -> httpx.Response:
    files = [("file_gzip", (sha1(c), gzip.compress(c), "application/octet-stream")) for c in chunks]
    return client.post("/api/0/organizations/stackwise/chunk-upload/", files=files)


def assemble(
    client: httpx.Client, data: bytes, chunks: list[bytes], projects=("web",), **extra
) -> httpx.Response:
    return client.post(
        "/api/0/organizations/stackwise/artifactbundle/assemble/",
        json={
            "checksum": sha1(data),
            "chunks": [sha1(c) for c in chunks],
            "projects": list(projects),
            **extra,
        },
    )


def upload_bundle(client: httpx.Client, data: bytes, projects=("web",), **extra) -> httpx.Response:
    """What sentry-cli does: ask, send the missing chunks, ask again."""
    chunks = [data[i : i + 512 * 1024] for i in range(0, len(data), 512 * 1024)] or [b""]
    first = assemble(client, data, chunks, projects, **extra)
    if first.status_code != 200 or first.json()["state"] != "not_found":
        return first
    sent = upload_chunks(client, chunks)
    assert sent.status_code == 200, sent.text
    return assemble(client, data, chunks, projects, **extra)
