"""A relay with the upload API for a whole module, a project and tokens for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest

from core.artifacts.store import ArtifactStore
from core.pg.projects import create_project
from core.pg.tokens import create_token
from core.runtime import Stack
from relay.service import RelayService
from stackwise.serve import stack_broker
from tests.conftest import fresh_postgres, fresh_redis_namespace, make_settings, open_test_stack
from tests.support.relay_thread import serving

# Small, so the tests can exceed it cheaply.
MAX_BUNDLE_BYTES = 1024 * 1024


@dataclass
class UploadRelay:
    stack: Stack
    base_url: str
    token: str
    store: ArtifactStore
    home: Path

    def indexed(self) -> dict[str, int]:
        with self.stack.pool.connection() as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM artifact_bundles) AS bundles, "
                "(SELECT count(*) FROM artifact_files) AS files"
            ).fetchone()
        assert row is not None
        return dict(row)

    def stored(self, kind: str) -> list[Path]:
        return sorted(p for p in (self.store.root / kind).glob("*/*") if p.is_file())

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def upload_relay(tmp_path_factory, postgres_template, chdb_dir) -> Iterator[UploadRelay]:
    with (
        fresh_postgres(postgres_template) as postgres_url,
        fresh_redis_namespace("redis://127.0.0.1:6379/0") as namespace,
    ):
        folder = tmp_path_factory.mktemp("uploads")
        settings = msgspec.structs.replace(
            make_settings(folder / "data", postgres_url, namespace, chdb_dir),
            artifact_max_bundle_bytes=MAX_BUNDLE_BYTES,
        )
        with open_test_stack(settings) as stack:
            create_project(stack.pool, "web")
            create_project(stack.pool, "other")
            token, _ = create_token(stack.pool, project_id=None, scopes=("project:releases",))
            service = RelayService(stack, stack_broker(stack))
            service.start()
            try:
                with serving(service.app) as base_url:
                    yield UploadRelay(
                        stack,
                        base_url,
                        token,
                        ArtifactStore(settings.artifacts_path),
                        folder,
                    )
            finally:
                service.stop()
