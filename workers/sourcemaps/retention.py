"""Artifact retention: bundles neither uploaded nor used by an event within
`artifact_retention_days` go, with the files no other bundle names, and chunks of
uploads given up half-way go after a day. Run hourly (with the rollups)."""

from __future__ import annotations

import logging

from core.artifacts.store import ArtifactStore
from core.pg import artifacts
from core.storage.postgres import Pool

log = logging.getLogger(__name__)

ABANDONED_CHUNK_AGE_S = 24 * 3600


def sweep_artifacts(pool: Pool, store: ArtifactStore, retention_days: int) -> tuple[int, int]:
    """(bundles deleted, files deleted)."""
    with pool.connection() as conn, conn.transaction():
        bundles, orphans = artifacts.delete_expired_bundles(conn, retention_days)
    files = store.delete_files(orphans)
    chunks = store.delete_chunks_older_than(ABANDONED_CHUNK_AGE_S)
    if bundles or files or chunks:
        log.info(
            "artifact retention: %s bundles, %s files, %s abandoned chunks deleted",
            bundles,
            files,
            chunks,
        )
    return bundles, files
