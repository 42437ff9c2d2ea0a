"""Server-side fingerprint rules in Sentry's syntax.

    error.type:DatabaseUnavailable -> system-down
    error.value:"*timeout*" -> db-timeout, {{ transaction }} title="DB timeout: {{ value }}"

Matchers: error.type/type, error.value/value, message, logger, level,
tags.<key>, stack.function/function, stack.module/module, stack.abs_path/path,
stack.package/package, family, app, sdk, release; `!` negates. Matchers of the
same group (frames, exceptions, log info, ...) must match the SAME item (one
frame, one exception); the first rule that matches wins, project rules before
built-in ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workers.grouping.glob import compile_glob, normalize_path
from workers.grouping.rule_syntax import Cursor, iter_rule_lines

KEYS = {
    "error.type": "type",
    "type": "type",
    "error.value": "value",
    "value": "value",
    "message": "message",
    "logger": "logger",
    "level": "level",
    "stack.function": "function",
    "function": "function",
    "stack.module": "module",
    "module": "module",
    "stack.abs_path": "path",
    "path": "path",
    "stack.package": "package",
    "package": "package",
    "family": "family",
    "app": "app",
    "sdk": "sdk",
    "release": "release",
}
GROUPS = {
    "type": "exceptions",
    "value": "exceptions",
    "message": "messages",
    "logger": "log_info",
    "level": "log_info",
    "function": "frames",
    "module": "frames",
    "path": "frames",
    "package": "frames",
    "app": "frames",
    "family": "family",
    "sdk": "sdk",
    "release": "release",
}
ATTRIBUTES = frozenset({"title"})
_MATCHER_START = re.compile(r'!?(?:"[a-zA-Z0-9_.:\-]+"|[a-zA-Z0-9_.\-]+):')
_FP_VALUE = re.compile(r"\{\{\s*\S+?\s*\}\}|[^\s{,\"]+")
_ATTRIBUTE = re.compile(r"([a-zA-Z0-9_.\-]+)=(?=\")")
_TRUE = {"1", "yes", "true"}
_FALSE = {"0", "no", "false"}


@dataclass(frozen=True, slots=True)
class FingerprintMatcher:
    key: str
    pattern: str
    negated: bool
    test: Callable[[dict[str, Any]], bool] = field(compare=False, repr=False)

    @property
    def group(self) -> str:
        return "tags" if self.key.startswith("tags.") else GROUPS[self.key]

    def matches(self, values: dict[str, Any]) -> bool:
        return self.test(values) is not self.negated


@dataclass(frozen=True, slots=True)
class FingerprintRule:
    text: str
    matchers: tuple[FingerprintMatcher, ...]
    fingerprint: tuple[str, ...]
    title: str | None = None
    is_builtin: bool = False
    groups: tuple[tuple[str, tuple[FingerprintMatcher, ...]], ...] = ()

    def may_match_family(self, family: str) -> bool:
        """False when a family matcher rules this event's platform out."""
        for matcher in self.matchers:
            if matcher.key == "family":
                flags = matcher.pattern.split(",")
                hit = "all" in flags or family in flags
                if hit is matcher.negated:
                    return False
        return True


# Cheap groups first (a message glob runs a regex over every message and
# exception value: after the tag lookups); the family group is checked once
# per event platform (FingerprintRule.may_match_family) and left out of
# per-event matching.
_GROUP_ORDER = ("exceptions", "log_info", "sdk", "release", "tags", "messages", "frames")


def _group_matchers(matchers) -> tuple[tuple[str, tuple[FingerprintMatcher, ...]], ...]:
    groups: dict[str, list[FingerprintMatcher]] = {}
    for matcher in matchers:
        groups.setdefault(matcher.group, []).append(matcher)
    return tuple((group, tuple(groups[group])) for group in _GROUP_ORDER if group in groups)


def _path_test(keys: tuple[str, ...], pattern: str) -> Callable[[dict], bool]:
    regex = compile_glob(pattern, doublestar=True, ignorecase=True, path_normalize=True)

    def test(values: dict) -> bool:
        for key in keys:
            value = values.get(key)
            if value:
                value = normalize_path(value)
                if regex.match(value) or (not value.startswith("/") and regex.match("/" + value)):
                    return True
        return False

    return test


def _make_test(key: str, pattern: str) -> Callable[[dict], bool]:
    if key == "path":
        return _path_test(("abs_path", "filename"), pattern)
    if key in ("package", "release"):
        return _path_test((key,), pattern)
    if key == "message":
        regex = compile_glob(pattern, ignorecase=True)
        return lambda v: any(
            v.get(k) is not None and regex.match(v[k]) is not None for k in ("message", "value")
        )
    if key in ("family", "sdk"):
        flags = frozenset(pattern.split(","))
        return lambda v: v.get(key) is not None and ("all" in flags or v[key] in flags)
    if key == "app":
        lowered = pattern.lower()
        expected = True if lowered in _TRUE else False if lowered in _FALSE else None
        return lambda v: expected is not None and v.get("app") is expected
    regex = compile_glob(pattern, ignorecase=key in ("level", "value"))
    return lambda v: isinstance(v.get(key), str) and regex.match(v[key]) is not None


def _parse_matcher(cursor: Cursor) -> FingerprintMatcher:
    negated = cursor.take("!")
    start = cursor.pos
    key = cursor.key()
    canonical = KEYS.get(key) or (key if key.startswith("tags.") and len(key) > 5 else None)
    if canonical is None:
        raise cursor.error(f"unknown matcher '{key}'", start)
    cursor.expect(":")
    pattern = cursor.argument(stop="->")
    return FingerprintMatcher(canonical, pattern, negated, _make_test(canonical, pattern))


def _parse_fingerprint(cursor: Cursor) -> tuple[tuple[str, ...], dict[str, str]]:
    values: list[str] = []
    attributes: dict[str, str] = {}
    while not cursor.at_end():
        start = cursor.pos
        attribute = cursor.match(_ATTRIBUTE)
        if attribute:
            name = attribute.group(1)
            if name not in ATTRIBUTES:
                raise cursor.error(f"unknown fingerprint attribute '{name}' (only title)", start)
            attributes[name] = cursor.quoted()
        elif cursor.peek('"'):
            values.append(cursor.quoted())
        else:
            found = cursor.match(_FP_VALUE)
            if found is None:
                raise cursor.error("expected a fingerprint value")
            values.append(found.group(0))
        cursor.skip_space()
        cursor.take(",")
    if not values:
        raise cursor.error("expected a fingerprint value after '->'")
    return tuple(values), attributes


def _parse_rule(cursor: Cursor, is_builtin: bool) -> FingerprintRule:
    matchers: list[FingerprintMatcher] = []
    while True:
        cursor.skip_space()
        if cursor.peek("->"):
            break
        if cursor.at_end() or (matchers and not _MATCHER_START.match(cursor.text, cursor.pos)):
            raise cursor.error("expected '->'" if matchers else "expected a matcher")
        matchers.append(_parse_matcher(cursor))
    if not matchers:
        raise cursor.error("expected a matcher")
    cursor.expect("->")
    fingerprint, attributes = _parse_fingerprint(cursor)
    text = cursor.text[: cursor.pos].strip()
    return FingerprintRule(
        text,
        tuple(matchers),
        fingerprint,
        attributes.get("title"),
        is_builtin,
        _group_matchers(matchers),
    )


def parse_fingerprint_rules(text: str, *, is_builtin: bool = False) -> tuple[FingerprintRule, ...]:
    """Parse rule text; raises RuleSyntaxError naming line and column."""
    return tuple(_parse_rule(cursor, is_builtin) for _, cursor in iter_rule_lines(text))


def rule_matches(rule: FingerprintRule, values_for: Callable[[str], list[dict]]) -> bool:
    """Each group of matchers must match one item of that group together.

    Family matchers are not in `rule.groups`: callers pass only rules whose
    family matchers accept the event (see `may_match_family`).
    """
    # Plain loops: this runs for every event of a family with rules, and
    # generator frames cost more than the tests themselves.
    for group, matchers in rule.groups:
        for item in values_for(group):
            for matcher in matchers:
                if matcher.test(item) is matcher.negated:
                    break
            else:
                break  # every matcher accepted this item
        else:
            return False
    return True
