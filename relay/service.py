"""Assemble a relay from a running stack: spool, flusher, project cache, app; and the
storage owner's flushers of relay processes that only append (`RelaySpoolFlushers`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from dramatiq.brokers.redis import RedisBroker
from prometheus_client import CollectorRegistry
from sanic import Sanic

from core.artifacts.store import ArtifactStore
from core.queue import PROCESS_EVENTS, enqueue, queue_depth
from core.runtime import Stack
from core.settings import spool_dir_of
from relay.app import create_app
from relay.deps import RelayDeps
from relay.flusher import BatchSink, Flusher
from relay.metrics import RelayMetrics
from relay.policy import Policy, connect_policy_redis
from relay.project_cache import ProjectCache
from relay.spool import SealedSegments, Spool
from relay.uploads import UploadDeps

_QUEUE_POLL_S = 0.2


class RelayService:
    def __init__(
        self,
        stack: Stack,
        broker: RedisBroker,
        *,
        app_name: str | None = None,
        extra_metrics: list[Callable[[], bytes]] | None = None,
    ) -> None:
        settings = stack.settings
        self.stack = stack
        self.broker = broker
        self.metrics = RelayMetrics()
        self.spool = Spool(
            settings.spool_dir,
            max_records=settings.segment_rows,
            max_age_s=settings.segment_age_s,
            max_bytes=settings.spool_max_bytes,
            flushed_here=settings.relay_flushes,
        )
        self._health_client = stack.clickhouse()
        self._health_lock = threading.Lock()
        self.flusher = (
            Flusher(
                self.spool,
                batch_sink(stack, broker, self.metrics, batch_rows=settings.segment_rows),
                self.metrics,
            )
            if settings.relay_flushes
            else None
        )
        self.project_cache = ProjectCache(stack.pool)
        self.policy = Policy(connect_policy_redis(stack.redis_url), settings.redis_namespace)
        deps = RelayDeps(
            project_cache=self.project_cache,
            spool=self.spool,
            metrics=self.metrics,
            health_checks={
                "clickhouse": self._check_clickhouse,
                "postgres": self._check_postgres,
                "redis": self._check_redis,
                "spool": self._check_spool,
            },
            key_refresh_interval_s=settings.key_refresh_interval_s,
            extra_metrics=extra_metrics or [],
            policy=self.policy,
            uploads=UploadDeps(
                pool=stack.pool,
                store=ArtifactStore(settings.artifacts_path),
                max_bundle_bytes=settings.artifact_max_bundle_bytes,
            ),
        )
        self.app: Sanic = create_app(deps, name=app_name, fast_front=settings.relay_fast_front)

    async def _check_clickhouse(self) -> str | None:
        def probe() -> None:
            with self._health_lock:
                self._health_client.query("SELECT 1")

        await asyncio.to_thread(probe)
        return None

    async def _check_postgres(self) -> str | None:
        def probe() -> None:
            with self.stack.pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1")

        await asyncio.to_thread(probe)
        return None

    async def _check_redis(self) -> str | None:
        await asyncio.to_thread(self.stack.redis.ping)
        return None

    async def _check_spool(self) -> str | None:
        if self.spool.bytes_on_disk >= self.spool.max_bytes:
            return f"spool full ({self.spool.bytes_on_disk} bytes)"
        if self.flusher and self.flusher.last_error and self.spool.sealed.qsize() > 0:
            return f"flush failing: {self.flusher.last_error}"
        return None

    def start(self) -> None:
        if self.flusher is not None:
            self.flusher.start()

    def stop(self) -> None:
        """After the HTTP server stopped: store what the spool holds (or seal it for the
        process that flushes it), then let go of it."""
        self.spool.seal_open()
        if self.flusher is not None:
            self.flusher.stop()
        self.spool.close()


def batch_sink(
    stack: Stack, broker: RedisBroker, metrics: RelayMetrics, *, batch_rows: int
) -> BatchSink:
    """Stored in the stack's ClickHouse, handed to the workers through its broker, in
    batches of up to `batch_rows` events."""
    settings = stack.settings
    queue_bound = settings.queue_bound(batch_rows)

    def enqueue_batch(encoded: bytes) -> None:
        enqueue(broker, settings.queue_name, PROCESS_EVENTS, encoded)

    def wait_for_queue_room() -> None:
        # The spool, not Redis, absorbs a backlog: Redis holds at most this many batches.
        while True:
            depth = queue_depth(broker, settings.queue_name)
            metrics.queue_depth.set(depth)
            if depth < queue_bound:
                return
            time.sleep(_QUEUE_POLL_S)

    return BatchSink(
        clickhouse=stack.clickhouse,
        enqueue_batch=enqueue_batch,
        wait_for_queue_room=wait_for_queue_room,
    )


class RelaySpoolFlushers:
    """The storage owner's flushers: one per relay process's spool, each a `Flusher` over
    `SealedSegments`, so the relays only answer requests and append."""

    def __init__(
        self, stack: Stack, broker: RedisBroker, relays: int, registry: CollectorRegistry
    ) -> None:
        self.metrics = RelayMetrics(registry)
        # The relays' segments: their size, not this process's own setting's.
        relay_rows = stack.settings.segment_rows_when(relay_flushes=False)
        sink = batch_sink(stack, broker, self.metrics, batch_rows=relay_rows)
        self.spools = [
            SealedSegments(spool_dir_of(stack.settings.data_dir, index)) for index in range(relays)
        ]
        # One insert at a time: chdb aborted ("the server is shutting down due to a fatal
        # error") under concurrent segment inserts from several flushers of one process.
        turn = threading.Lock()
        nice = stack.settings.storage_nice
        self.flushers = [
            Flusher(spool, sink, self.metrics, turn=turn, nice=nice) for spool in self.spools
        ]

    def start(self) -> None:
        for flusher in self.flushers:
            flusher.start()

    def stop(self) -> None:
        """Once the relays stopped (they sealed what they held): store what is sealed."""
        for flusher in self.flushers:
            flusher.stop()
        for spool in self.spools:
            spool.close()
