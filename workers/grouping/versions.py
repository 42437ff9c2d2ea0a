"""Grouping versions: each a named, frozen set of behaviour and built-in rules.

A stored issue records the version that made its hash. Changing what any
version produces is forbidden (golden files under fixtures/grouping/golden/
pin it); new behaviour is a new entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.grouping import builtin_v1

GROUPING_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class GroupingVersion:
    name: str
    sentry_config: str  # the Sentry grouping config whose behaviour it follows
    description: str
    enhancements: str  # built-in stack-trace rules, applied before a project's
    fingerprints: str  # built-in fingerprint rules, tried after a project's


VERSIONS: dict[str, GroupingVersion] = {
    "v1": GroupingVersion(
        name="v1",
        sentry_config="newstyle:2023-01-11",
        description=(
            "Sentry's newstyle:2023-01-11 strategies (exception: stack trace, type, value; "
            "csp/hpkp/expect-staple/expect-ct reports) with Sentry's current message "
            "parameterization; minified JavaScript and generated code do not split issues"
        ),
        enhancements=builtin_v1.ENHANCEMENTS,
        fingerprints=builtin_v1.FINGERPRINTS,
    ),
}


def get_version(name: str) -> GroupingVersion:
    try:
        return VERSIONS[name]
    except KeyError:
        known = ", ".join(sorted(VERSIONS))
        raise ValueError(f"unknown grouping version {name!r} (known: {known})") from None
