"""What the upload API's handlers share: the index, the artifact folder, the limits."""

from __future__ import annotations

from dataclasses import dataclass

from core.artifacts.store import ArtifactStore
from core.storage.postgres import Pool

# sentry-cli splits files into chunks of this size and sends this many per request.
CHUNK_SIZE_BYTES = 8 * 1024 * 1024
CHUNKS_PER_REQUEST = 16
MAX_REQUEST_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class UploadDeps:
    pool: Pool
    store: ArtifactStore
    max_bundle_bytes: int
