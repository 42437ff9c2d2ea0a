"""The public entry points: build a config once, group events with it.

    config = GroupingConfig.build(fingerprint_rules=text, stacktrace_rules=text)
    result = group_event(payload, config, explain=True)
    results = group_events(list_of_event_bytes, config)

A config is immutable and safe to share between threads (its caches only
memoize pure functions of frame identity). Grouping never raises on an event:
what cannot be understood degrades to the fallback variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec

from workers.grouping.behaviour import Behaviour
from workers.grouping.enhancers import Enhancements
from workers.grouping.event import decode_event
from workers.grouping.explain import Explanation, describe_variant
from workers.grouping.fingerprint_rules import (
    FingerprintRule,
    parse_fingerprint_rules,
    rule_matches,
)
from workers.grouping.fingerprint_vars import EventAccess, expand_title
from workers.grouping.functions import family_for_platform
from workers.grouping.metadata import compute_culprit, compute_title
from workers.grouping.normalize import FramePreparer, PreparedEvent, prepare_event
from workers.grouping.stacktrace_rules import parse_stacktrace_rules
from workers.grouping.strategies import Caches, Context
from workers.grouping.variants import (
    FALLBACK_HASH,
    checksum_variants,
    clean_fingerprint,
    compute_variants,
    ordered_hashes,
)
from workers.grouping.versions import GROUPING_VERSION, get_version


class GroupingResult(msgspec.Struct, frozen=True, kw_only=True):
    hash: str  # primary hash: the event joins the issue of this hash
    hashes: list[str]  # all hashes, primary first (Sentry's get_hashes order)
    variant: str  # the variant that produced `hash`: app, system, default, ...
    version: str
    title: str
    culprit: str
    exception_type: str = ""
    exception_value: str = ""
    fingerprint: list[str] = []  # effective fingerprint after rules
    fingerprint_rule: str | None = None  # the rule that set it, if any
    explanation: Explanation | None = None


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    version: str
    behaviour: Behaviour
    fingerprint_rules: tuple[FingerprintRule, ...]  # project rules, then built-in ones
    enhancements: Enhancements
    preparer: FramePreparer
    rules_by_family: dict[str, tuple[FingerprintRule, ...]]
    caches: Caches = field(default_factory=Caches, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        version: str = GROUPING_VERSION,
        fingerprint_rules: str = "",
        stacktrace_rules: str = "",
    ) -> GroupingConfig:
        """Parse rules once (raising RuleSyntaxError) into a reusable config."""
        spec = get_version(version)
        behaviour = spec.behaviour
        project_rules = parse_fingerprint_rules(fingerprint_rules)
        builtin_rules = parse_fingerprint_rules(spec.fingerprints, is_builtin=True)
        retry = behaviour.package_retries_leading_slash
        enhancements = Enhancements(
            parse_stacktrace_rules(spec.enhancements, package_retries_leading_slash=retry)
            + parse_stacktrace_rules(stacktrace_rules, package_retries_leading_slash=retry),
            match_before_applying=behaviour.rule_matches_before_applying,
            package_retry=retry,
        )
        rules = project_rules + builtin_rules
        by_family = {
            family: tuple(rule for rule in rules if rule.may_match_family(family))
            for family in ("native", "javascript", "other")
        }
        preparer = FramePreparer(enhancements, behaviour)
        return cls(version, behaviour, rules, enhancements, preparer, by_family)


@cache
def get_config(version: str = GROUPING_VERSION) -> GroupingConfig:
    """The shared config of a version, without project rules."""
    return GroupingConfig.build(version)


def validate_fingerprint_rules(text: str) -> None:
    parse_fingerprint_rules(text)


def validate_stacktrace_rules(text: str) -> None:
    parse_stacktrace_rules(text)


def group_event(
    event: bytes | str | dict[str, Any], config: GroupingConfig, *, explain: bool = False
) -> GroupingResult:
    """Group one event payload (JSON bytes or a decoded dict)."""
    try:
        return _group(decode_event(event), config, explain)
    except Exception as error:  # a worker must not die on one weird event
        return _failed(config, error, explain)


def group_events(events: Sequence[bytes], config: GroupingConfig) -> list[GroupingResult]:
    """The batch path for workers and replays."""
    return [group_event(event, config) for event in events]


def _match_rule(prepared: PreparedEvent, config: GroupingConfig) -> FingerprintRule | None:
    rules = config.rules_by_family[family_for_platform(prepared.platform)]
    if not rules:
        return None
    access = EventAccess(prepared)
    for rule in rules:
        if rule_matches(rule, access):
            return rule
    return None


def _variants(prepared: PreparedEvent, config: GroupingConfig, explain: bool):
    """(fingerprint, matched rule, variants): checksum first, then fingerprint rules."""
    checksum = prepared.event.checksum
    if checksum:
        return [], None, checksum_variants(checksum)
    fingerprint = clean_fingerprint(prepared.event.fingerprint)
    rule = _match_rule(prepared, config)
    if rule is not None:
        fingerprint = list(rule.fingerprint)
    ctx = Context(
        config.enhancements, config.behaviour, explain, None if explain else config.caches
    )
    builtin = rule is not None and rule.is_builtin
    return fingerprint, rule, compute_variants(prepared, ctx, fingerprint, builtin)


def _group(decoded, config: GroupingConfig, explain: bool) -> GroupingResult:
    prepared = prepare_event(decoded, config.preparer)
    fingerprint, rule, variants = _variants(prepared, config, explain)
    if rule is not None and rule.title:
        title = expand_title(rule.title, prepared)
    else:
        title = compute_title(prepared)
    hashes, primary = ordered_hashes(variants)
    main = prepared.exceptions[-1] if prepared.exceptions else None
    explanation = None
    if explain:
        explanation = Explanation(
            version=config.version,
            hash=hashes[0],
            variant=primary,
            hashes=hashes,
            fingerprint=fingerprint,
            fingerprint_rule=rule.text if rule is not None else None,
            variants=[describe_variant(v) for v in variants],
        )
    return GroupingResult(
        hash=hashes[0],
        hashes=hashes,
        variant=primary,
        version=config.version,
        title=title,
        culprit=compute_culprit(prepared),
        exception_type=(main.type or "") if main is not None else "",
        exception_value=(main.value or "") if main is not None else "",
        fingerprint=fingerprint,
        fingerprint_rule=rule.text if rule is not None else None,
        explanation=explanation,
    )


def _failed(config: GroupingConfig, error: Exception, explain: bool) -> GroupingResult:
    explanation = None
    if explain:
        explanation = Explanation(
            version=config.version,
            hash=FALLBACK_HASH,
            variant="fallback",
            hashes=[FALLBACK_HASH],
            fingerprint=[],
            fingerprint_rule=None,
            variants=[],
        )
    return GroupingResult(
        hash=FALLBACK_HASH,
        hashes=[FALLBACK_HASH],
        variant="fallback",
        version=config.version,
        title=f"<grouping failed: {type(error).__name__}>",
        culprit="",
        explanation=explanation,
    )
