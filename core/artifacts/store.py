"""The content-addressed artifact folder: upload chunks and the files of bundles.

    <root>/chunks/<ab>/<sha1>   a chunk sentry-cli uploaded (decompressed), until assembled
    <root>/files/<ab>/<sha1>    a bundle's file, named by the SHA-1 of its contents

Everything is written to a temporary name and renamed into place, so a reader (another
relay, a worker on a shared folder) sees a whole file or none; equal contents are
stored once. Which project may use a file is PostgreSQL's business (`core.pg.artifacts`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

SHA1_HEX_LENGTH = 40


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def is_sha1(text: str) -> bool:
    return len(text) == SHA1_HEX_LENGTH and all(c in "0123456789abcdef" for c in text)


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, sha1: str) -> Path:
        if not is_sha1(sha1):
            raise ValueError(f"not a SHA-1: {sha1!r}")
        return self.root / kind / sha1[:2] / sha1

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            # Touched: the retention sweep spares files younger than an hour, so a file
            # uploaded again while it decides is not lost.
            os.utime(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)

    # Chunks --------------------------------------------------------------------------

    def put_chunk(self, sha1: str, data: bytes) -> None:
        self._write(self._path("chunks", sha1), data)

    def missing_chunks(self, sha1s: Iterable[str]) -> list[str]:
        return [s for s in sha1s if not self._path("chunks", s).exists()]

    def read_chunks(self, sha1s: list[str], *, max_bytes: int) -> bytes | None:
        """The chunks joined in order, or None when they add up to more than `max_bytes`."""
        total = sum(self._path("chunks", s).stat().st_size for s in sha1s)
        if total > max_bytes:
            return None
        return b"".join(self._path("chunks", s).read_bytes() for s in sha1s)

    def delete_chunks(self, sha1s: Iterable[str]) -> None:
        for sha1 in sha1s:
            self._path("chunks", sha1).unlink(missing_ok=True)

    def delete_chunks_older_than(self, age_s: float) -> int:
        """Chunks never assembled (an upload given up half-way)."""
        return _delete_older_than(self.root / "chunks", time.time() - age_s)

    # Files ---------------------------------------------------------------------------

    def put_file(self, data: bytes) -> str:
        sha1 = sha1_hex(data)
        self._write(self._path("files", sha1), data)
        return sha1

    def read_file(self, sha1: str) -> bytes | None:
        try:
            return self._path("files", sha1).read_bytes()
        except FileNotFoundError:
            return None

    def delete_files(self, sha1s: Iterable[str], *, min_age_s: float = 3600) -> int:
        """Files no index row names any more, unless written or touched recently."""
        cutoff = time.time() - min_age_s
        deleted = 0
        for sha1 in sha1s:
            path = self._path("files", sha1)
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue
        return deleted


def _delete_older_than(folder: Path, cutoff_s: float) -> int:
    deleted = 0
    if not folder.exists():
        return 0
    for path in folder.glob("*/*"):
        try:
            if path.stat().st_mtime < cutoff_s:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted
