"""The workers' Prometheus metrics, on a registry of their own.

`serve` renders it beside the relay's at /metrics; a separate `worker` process serves it on
`STACKWISE_WORKER_METRICS_PORT`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

events_processed = Counter(
    "worker_events_processed", "Events grouped", ["outcome"], registry=REGISTRY
)
batches = Counter("worker_batches", "Batches processed, by result", ["result"], registry=REGISTRY)
stage_seconds = Histogram(
    "worker_stage_seconds",
    "Seconds per batch stage (load, sourcemaps, fingerprint, postgres, clickhouse)",
    ["stage"],
    registry=REGISTRY,
)
processing_lag_seconds = Histogram(
    "worker_processing_lag_seconds",
    "Event received by the relay -> grouped and stored",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
sourcemap_frames = Counter(
    "worker_sourcemap_frames",
    "JavaScript frames of projects using source maps, by result",
    ["result"],
    registry=REGISTRY,
)
new_issues = Counter("worker_new_issues", "Issues created", registry=REGISTRY)
queue_depth = Gauge(
    "worker_queue_depth", "Messages waiting, by queue", ["queue"], registry=REGISTRY
)
notifications = Counter(
    "worker_notifications", "Notification deliveries, by status", ["status"], registry=REGISTRY
)
