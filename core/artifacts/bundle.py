"""The artifact bundle sentry-cli uploads: a zip of files and a `manifest.json`.

    manifest.json  {"org", "project", "release"?, "dist"?, "debug_id",
                    "files": {"files/_/_/app.min.js": {"type": "minified_source",
                              "url": "~/app.min.js",
                              "headers": {"debug-id": "…", "sourcemap": "app.min.js.map"}}}}

`read_bundle` accepts a bundle whole or not at all: every size is bounded before and
while it is read (zip bombs), no name climbs out with `..` or starts at `/`, every
file the manifest lists is in the zip, and every source map parses as one. What it
returns is ready to be stored; nothing was stored yet.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import msgspec

from core.errors import ArtifactError, ArtifactTooLarge

MANIFEST = "manifest.json"
MAX_BUNDLE_FILES = 20_000
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
SOURCE_MAP = "source_map"
MINIFIED_SOURCE = "minified_source"


@dataclass(frozen=True)
class BundleFile:
    path: str
    url: str
    type: str
    debug_id: str | None
    # A minified file's `sourcemap` header: its map's URL, relative to the file's.
    sourcemap: str
    content: bytes


@dataclass(frozen=True)
class Bundle:
    bundle_id: str
    release: str
    dist: str
    files: list[BundleFile]

    @property
    def size_bytes(self) -> int:
        return sum(len(f.content) for f in self.files)


class _ManifestFile(msgspec.Struct):
    url: str
    type: str = ""
    headers: dict[str, str] = {}


class _Manifest(msgspec.Struct):
    files: dict[str, _ManifestFile]
    debug_id: str | None = None
    release: str | None = None
    dist: str | None = None


class _SourceMap(msgspec.Struct):
    version: Any = None
    mappings: Any = None
    sections: Any = None


_decode_manifest = msgspec.json.Decoder(_Manifest).decode
_decode_source_map = msgspec.json.Decoder(_SourceMap).decode


def unsafe_path(path: str) -> bool:
    """A name that is absolute, climbs with `..`, or hides a separator or NUL."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return True
    return any(part == ".." for part in path.split("/"))


def normalize_debug_id(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        # sentry-cli writes plain UUIDs; native debug ids append an age ("…-0"): not ours.
        return str(uuid.UUID(raw[:36]))
    except ValueError as e:
        raise ArtifactError(f"debug id {raw!r} is not a UUID") from e


def check_source_map(name: str, content: bytes) -> None:
    try:
        parsed = _decode_source_map(content)
    except msgspec.DecodeError as e:
        raise ArtifactError(f"{name} is not a source map: not a JSON object ({e})") from e
    if parsed.version != 3:
        raise ArtifactError(f"{name} is not a source map: version {parsed.version!r}, not 3")
    if not isinstance(parsed.mappings, str) and not isinstance(parsed.sections, list):
        raise ArtifactError(f"{name} is not a source map: no mappings and no sections")


def read_bundle(data: bytes, *, max_bytes: int) -> Bundle:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise ArtifactError(f"the bundle is not a zip archive: {e}") from e
    with archive:
        entries = _entries(archive, max_bytes=max_bytes)
        if MANIFEST not in entries:
            raise ArtifactError("the bundle has no manifest.json")
        try:
            manifest = _decode_manifest(_read(archive, entries[MANIFEST], MAX_MANIFEST_BYTES))
        except msgspec.DecodeError as e:
            raise ArtifactError(f"manifest.json is not a bundle manifest: {e}") from e
        files = [
            _bundle_file(archive, entries, path, described, max_bytes)
            for path, described in manifest.files.items()
        ]
    return Bundle(
        bundle_id=normalize_debug_id(manifest.debug_id) or "",
        release=(manifest.release or "")[:250],
        dist=(manifest.dist or "")[:64],
        files=files,
    )


def _entries(archive: zipfile.ZipFile, *, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_BUNDLE_FILES:
        raise ArtifactTooLarge(f"the bundle has {len(infos)} files, over {MAX_BUNDLE_FILES}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise ArtifactTooLarge(
            f"the bundle unpacks to {declared} bytes, over artifact_max_bundle_bytes ({max_bytes})"
        )
    entries = {}
    for info in infos:
        if unsafe_path(info.filename.rstrip("/") if info.is_dir() else info.filename):
            raise ArtifactError(f"unsafe path in the bundle: {info.filename!r}")
        entries[info.filename] = info
    return entries


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's contents, never more than its declared size (nor `limit`)."""
    if info.file_size > limit:
        raise ArtifactTooLarge(f"{info.filename} is {info.file_size} bytes, over {limit}")
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise ArtifactError(f"{info.filename} cannot be read from the bundle: {e}") from e
    if len(content) != info.file_size:
        raise ArtifactError(f"{info.filename} does not have the size its zip entry declares")
    return content


def _bundle_file(
    archive: zipfile.ZipFile,
    entries: dict[str, zipfile.ZipInfo],
    path: str,
    described: _ManifestFile,
    max_bytes: int,
) -> BundleFile:
    if unsafe_path(path):
        raise ArtifactError(f"unsafe path in manifest.json: {path!r}")
    if path not in entries:
        raise ArtifactError(f"manifest.json lists {path!r}, which the bundle does not hold")
    url = described.url
    if not url or "\x00" in url or any(part == ".." for part in url.split("/")):
        raise ArtifactError(f"unsafe URL in manifest.json: {url!r}")
    headers = {k.lower(): v for k, v in described.headers.items()}
    content = _read(archive, entries[path], max_bytes)
    if described.type == SOURCE_MAP:
        check_source_map(path, content)
    return BundleFile(
        path=path,
        url=url[:2048],
        type=described.type,
        debug_id=normalize_debug_id(headers.get("debug-id")),
        sourcemap=headers.get("sourcemap", headers.get("x-sourcemap", ""))[:2048],
        content=content,
    )
