"""stackwise grouping engine: Sentry-compatible fingerprints, versioned and explainable.

A pure library (no I/O): the workers group live events with it and the
workbench replays stored events under other rules. See `api` for the entry
points and `versions` for what each grouping version means.
"""

from workers.grouping.api import (
    FALLBACK_HASH,
    GroupingConfig,
    GroupingResult,
    get_config,
    group_event,
    group_events,
    validate_fingerprint_rules,
    validate_stacktrace_rules,
)
from workers.grouping.errors import RuleSyntaxError
from workers.grouping.explain import ComponentInfo, Explanation, VariantInfo
from workers.grouping.versions import GROUPING_VERSION, VERSIONS, get_version

__all__ = [
    "FALLBACK_HASH",
    "GROUPING_VERSION",
    "VERSIONS",
    "ComponentInfo",
    "Explanation",
    "GroupingConfig",
    "GroupingResult",
    "RuleSyntaxError",
    "VariantInfo",
    "get_config",
    "get_version",
    "group_event",
    "group_events",
    "validate_fingerprint_rules",
    "validate_stacktrace_rules",
]
