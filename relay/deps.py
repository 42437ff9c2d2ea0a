"""What the relay's handlers share: the stages they call and the metrics they count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from relay.metrics import RelayMetrics
from relay.policy import Policy
from relay.project_cache import ProjectCache
from relay.spool import Spool
from relay.uploads.deps import UploadDeps

CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
}


@dataclass
class RelayDeps:
    project_cache: ProjectCache
    spool: Spool
    metrics: RelayMetrics
    # name -> async check returning None when healthy or a problem description.
    health_checks: dict[str, Callable[[], Awaitable[str | None]]]
    key_refresh_interval_s: float = 2.0
    # Other registries rendered at /metrics (the workers', when they share this process).
    extra_metrics: list[Callable[[], bytes]] = field(default_factory=list)
    # Quotas, spike protection, filters and sampling; None accepts everything.
    policy: Policy | None = None
    # sentry-cli's upload API (source maps, releases); None: not offered.
    uploads: UploadDeps | None = None
