"""The relay's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_MAX_CHILDREN = 512


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # Its own by default; the storage owner's flushers share the workers' registry.
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "relay_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.items = Counter(
            "relay_items",
            "Envelope items by type and outcome (accepted, invalid, ignored)",
            ["item_type", "outcome"],
            registry=self.registry,
        )
        self.encodings = Counter(
            "relay_request_encodings",
            "Request bodies by Content-Encoding",
            ["encoding"],
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "relay_batch_rows",
            "Rows per batch written to ClickHouse",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
            registry=self.registry,
        )
        self.flush_seconds = Histogram(
            "relay_flush_seconds",
            "Seconds to store a batch and hand it to the workers",
            registry=self.registry,
        )
        self.stored = Counter(
            "relay_stored_rows",
            "Rows written to ClickHouse, by table",
            ["table"],
            registry=self.registry,
        )
        self.quarantined_records_total = Counter(
            "relay_quarantined_records",
            "Spooled records no row could be built from, kept aside in the spool's quarantine",
            registry=self.registry,
        )
        self.flush_failures_total = Counter(
            "relay_flush_failures", "Failed batch flushes (retried)", registry=self.registry
        )
        self.spool_bytes = Gauge(
            "relay_spool_bytes", "Bytes acknowledged but not yet flushed", registry=self.registry
        )
        self.queue_depth = Gauge(
            "relay_queue_depth", "Batches waiting for the workers", registry=self.registry
        )

        # Children by label values: `labels()` costs a microsecond and more per call, and a
        # request counts itself twice.
        self._request_children: dict[tuple[str, int | str], Counter] = {}
        self._encoding_children: dict[str, Counter] = {}

    def count_request(self, endpoint: str, status: int | str) -> None:
        child = self._request_children.get((endpoint, status))
        if child is None:
            child = self.requests.labels(endpoint, str(status))
            _remember(self._request_children, (endpoint, status), child)
        child.inc()

    def count_encoding(self, encoding: str) -> None:
        child = self._encoding_children.get(encoding)
        if child is None:
            child = self.encodings.labels(encoding)
            _remember(self._encoding_children, encoding, child)
        child.inc()

    def count_items(self, outcome: str, counts: dict[str, int]) -> None:
        for item_type, count in counts.items():
            self.items.labels(item_type, outcome).inc(count)

    def record_flush(self, *, rows: int, seconds: float) -> None:
        self.batch_rows.observe(rows)
        self.flush_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _remember(children: dict, key: object, child: Counter) -> None:
    # Clients choose some label values (an encoding): remember a bounded number of them.
    if len(children) < _MAX_CHILDREN:
        children[key] = child
