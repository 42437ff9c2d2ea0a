"""Per-project configuration: one document, validated on every write.

Stored as JSON in `projects.config`; unknown keys are rejected so a typo in
`just project config` fails loudly instead of being ignored. Every field has a
default, so an empty document is a valid configuration.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from core.errors import ConfigError

# The grouping version a new project starts with (workers.grouping.GROUPING_VERSION;
# a test keeps them equal). A stored configuration that never recorded a version
# predates v2 and keeps meaning v1, so no existing project changes version unasked.
NEW_PROJECT_GROUPING_VERSION = "v2"
# How long a project moved to another grouping version keeps finding its issues by
# the old version's hashes too (Sentry's grouping migration phase).
GROUPING_TRANSITION_S = 30 * 24 * 3600


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class GroupingSettings(_Section):
    version: str = "v1"
    # Sentry syntax, one rule per line (see the grouping engine for the grammar).
    fingerprint_rules: str = ""
    stacktrace_rules: str = ""
    # During a move to another version, the old one ("" when none): an event whose
    # hash finds no issue is looked up by its hash under this version as well, and
    # an issue found so keeps the new hash too (Sentry's secondary grouping config).
    secondary_version: str = ""
    secondary_expires_unix_s: int = 0

    def secondary_active(self, now_s: float) -> bool:
        return bool(self.secondary_version) and now_s < self.secondary_expires_unix_s


class RateLimitSettings(_Section):
    # Data category ("error", "transaction", "attachment", "session", ... or "all") -> limit.
    per_minute: dict[str, int] = {}
    per_day: dict[str, int] = {}
    # Multiple of the per-minute limit a short burst may reach.
    burst_factor: float = 1.0


class SamplingTier(_Section):
    above_per_minute: int
    sample_rate: float


def _default_tiers() -> list[SamplingTier]:
    return [
        SamplingTier(above_per_minute=10_000, sample_rate=0.01),
        SamplingTier(above_per_minute=1_000, sample_rate=0.1),
    ]


class SamplingSettings(_Section):
    enabled: bool = True
    tiers: list[SamplingTier] = msgspec.field(default_factory=_default_tiers)

    def __post_init__(self) -> None:
        # Highest threshold first: the first tier the measured rate exceeds applies.
        self.tiers.sort(key=lambda tier: -tier.above_per_minute)


class SpikeProtectionSettings(_Section):
    enabled: bool = True
    # Cap at this multiple of the trailing baseline rate.
    multiple: float = 10.0
    min_per_minute: int = 1_000


class FilterSettings(_Section):
    localhost: bool = False
    browser_extensions: bool = False
    legacy_browsers: bool = False
    web_crawlers: bool = False
    releases: list[str] = []
    error_messages: list[str] = []
    client_ips: list[str] = []


class ScrubbingSettings(_Section):
    """The relay's secret scrubbing rules, each on by default (relay.scrub says what each
    one masks); `just project config P scrubbing.credit_cards false` turns one off."""

    sensitive_keys: bool = True
    credit_cards: bool = True
    bearer_tokens: bool = True
    private_keys: bool = True
    url_passwords: bool = True


class AISettings(_Section):
    enabled: bool = True
    model: str = ""
    base_url: str = ""
    calls_per_hour: int = 60
    tokens_per_day: int = 200_000
    min_events: int = 3
    auto_merge: bool = False


class NotificationSettings(_Section):
    webhook_url: str = ""
    threshold_events_per_hour: int = 0


class ProjectConfig(_Section):
    grouping: GroupingSettings = msgspec.field(default_factory=GroupingSettings)
    rate_limits: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    sampling: SamplingSettings = msgspec.field(default_factory=SamplingSettings)
    spike_protection: SpikeProtectionSettings = msgspec.field(
        default_factory=SpikeProtectionSettings
    )
    filters: FilterSettings = msgspec.field(default_factory=FilterSettings)
    scrubbing: ScrubbingSettings = msgspec.field(default_factory=ScrubbingSettings)
    ai: AISettings = msgspec.field(default_factory=AISettings)
    notifications: NotificationSettings = msgspec.field(default_factory=NotificationSettings)


class KeyConfig(_Section):
    """A DSN key's own settings: its quotas (within the project's)."""

    rate_limits: RateLimitSettings | None = None


def parse_key_config(document: dict[str, Any] | None) -> KeyConfig:
    try:
        return msgspec.convert(document or {}, KeyConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(str(e)) from e


def parse_config(document: dict[str, Any] | None) -> ProjectConfig:
    try:
        return msgspec.convert(document or {}, ProjectConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(str(e)) from e


def config_to_dict(config: ProjectConfig) -> dict[str, Any]:
    return msgspec.to_builtins(config)


def new_project_config() -> ProjectConfig:
    """What a project starts with: the current grouping version, recorded."""
    return ProjectConfig(grouping=GroupingSettings(version=NEW_PROJECT_GROUPING_VERSION))


def set_path(
    config: ProjectConfig, dotted: str, value: Any, *, now_s: float | None = None
) -> ProjectConfig:
    """Return a copy of `config` with `dotted` (e.g. `sampling.enabled`) set to `value`.

    Changing `grouping.version` starts a transition: the old version becomes the
    secondary one for GROUPING_TRANSITION_S from `now_s`, so existing issues keep
    their events."""
    document = config_to_dict(config)
    *parents, leaf = dotted.split(".")
    node = document
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            raise ConfigError(f"unknown configuration path {dotted!r}")
        node = child
    if leaf not in node:
        raise ConfigError(f"unknown configuration path {dotted!r}")
    node[leaf] = value
    old = config.grouping
    if dotted == "grouping.version" and value != old.version:
        now = time.time() if now_s is None else now_s
        node["secondary_version"] = old.version
        node["secondary_expires_unix_s"] = int(now) + GROUPING_TRANSITION_S
    return parse_config(document)
