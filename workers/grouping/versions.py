"""Grouping versions: each one object naming its built-in rules and its behaviour.

A stored issue records the version that made its hash. Changing what any
version produces is forbidden (golden files under fixtures/grouping/golden/
pin it); new behaviour is a new entry here. A version is everything that
decides a hash besides the event and the project's own rules:

- `enhancements`: built-in stack-trace rules, applied before a project's;
- `fingerprints`: built-in fingerprint rules, tried after a project's;
- `behaviour`: which strategies and frame rules the code follows and which
  message parameterizer it uses (see `behaviour`).

New projects get `GROUPING_VERSION`; a project keeps its version until it is
moved, and a move keeps its issues (the old version stays the project's
secondary version for a while, see stackwise/project_config.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.grouping import builtin_v1, builtin_v2, parameterize, parameterize_v2
from workers.grouping.behaviour import Behaviour

GROUPING_VERSION = "v2"


@dataclass(frozen=True, slots=True)
class GroupingVersion:
    name: str
    sentry_config: str  # the Sentry grouping config whose behaviour it follows
    description: str
    enhancements: str
    fingerprints: str
    behaviour: Behaviour


V1 = GroupingVersion(
    name="v1",
    sentry_config="newstyle:2023-01-11",
    description=(
        "Sentry's newstyle:2023-01-11 strategies (exception: stack trace, type, value; "
        "csp/hpkp/expect-staple/expect-ct reports) with Sentry's current message "
        "parameterization; minified JavaScript and generated code do not split issues"
    ),
    enhancements=builtin_v1.ENHANCEMENTS,
    fingerprints=builtin_v1.FINGERPRINTS,
    behaviour=Behaviour(
        rule_matches_before_applying=False,
        package_retries_leading_slash=False,
        missing_function_is_unknown=False,
        unset_in_app_matches_no=False,
        native_filename_with_function=False,
        minified_javascript=True,
        javascript_engine_names=True,
        singular_interfaces=False,
        relay_exception_normalization=False,
        tags_from_event_fields=False,
        exception_group_root_first=False,
        normalize_message=parameterize.normalize_message,
    ),
)

V2 = GroupingVersion(
    name="v2",
    sentry_config="newstyle:2023-01-11",
    description=(
        "Sentry's newstyle:2023-01-11 on every platform: its built-in stack-trace rules "
        "with frame categories (native, Apple, JVM, JavaScript, Dart), its matcher "
        "semantics, native file names beside functions, Relay's exception shapes, exception "
        "groups root to leaf, minified JavaScript as Sentry groups it; generated code "
        "(JVM, Python, PHP, Ruby) still does not split issues"
    ),
    enhancements=builtin_v2.ENHANCEMENTS,
    fingerprints=builtin_v2.FINGERPRINTS,
    behaviour=Behaviour(
        rule_matches_before_applying=True,
        package_retries_leading_slash=True,
        missing_function_is_unknown=True,
        unset_in_app_matches_no=True,
        native_filename_with_function=True,
        minified_javascript=False,
        javascript_engine_names=False,
        singular_interfaces=True,
        relay_exception_normalization=True,
        tags_from_event_fields=True,
        exception_group_root_first=True,
        normalize_message=parameterize_v2.normalize_message,
    ),
)

VERSIONS: dict[str, GroupingVersion] = {version.name: version for version in (V1, V2)}


def get_version(name: str) -> GroupingVersion:
    try:
        return VERSIONS[name]
    except KeyError:
        known = ", ".join(sorted(VERSIONS))
        raise ValueError(f"unknown grouping version {name!r} (known: {known})") from None
