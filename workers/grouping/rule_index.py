"""Which stack-trace rules match a frame's identity, without trying every rule.

A rule's identity matchers (family, path, module, function, package) each look
at one field of the frame. Trying every rule of a frame's family costs a call
per matcher for each new frame, and with one distinct stack per issue new
frames are the traffic. The index instead:

- decides family matchers once per family, when it is built;
- per family and field, tries a value against one regex combining every glob
  on that field (plus their literal text, which module and function matchers
  also accept): when it fails, which is the common case, no glob matches the
  value, so the field's positive matchers fail and its negated ones hold;
- memoizes which matchers hold per field value (module, package and path
  strings repeat even when frames do not), within a bound;
- finds function, module and category patterns without wildcards (most of
  them: `abort`, `malloc`, `start_thread`) by dictionary lookup, and tries
  only the globs whose literal head (`std::`, `art_quick_`) the value starts
  with, or that have none;
- checks only the rules anchored on a matcher that holds (a rule is anchored
  on its first positive field matcher; rules without one are always checked).

The result is exactly the straightforward evaluation's
(every rule's identity matchers tried in turn), which the tests compare against.
"""

from __future__ import annotations

import re

from workers.grouping.stacktrace_rules import (
    Matcher,
    MatchFrame,
    StacktraceRule,
    field_regex,
    is_literal,
)

# Bound on memory per family and field: a full memo is dropped and refilled.
MEMO_MAX_VALUES = 20_000
_NONE: frozenset[int] = frozenset()
# (field, matcher id in that field's table) pairs a rule needs to hold.
Requirements = tuple[tuple[str, int], ...]


# Globs are bucketed by this many leading literal characters.
_HEAD = 3


def _literal_head(pattern: str) -> str:
    """The text a glob's matches must start with (up to its first wildcard)."""
    for index, char in enumerate(pattern):
        if char in "*?[{\\":
            return pattern[:index]
    return pattern


class FieldTable:
    """The distinct matchers of one family's rules on one frame field."""

    def __init__(self, key: str, package_retry: bool = False) -> None:
        self.key = key
        # Path matchers (and, per version, package ones) also try a relative
        # value with a leading slash.
        self._retries_slash = key == "path" or (key == "package" and package_retry)
        self.matchers: list[Matcher] = []
        self._ids: dict[tuple[str, bool], int] = {}
        self._negated: frozenset[int] = _NONE
        self._literal_ids: dict[str, list[int]] = {}
        self._glob_ids: list[int] = []  # globs without a usable head
        self._globs_by_head: dict[str, list[int]] = {}
        self._prefilter: re.Pattern[str] | None = None
        self._literals: frozenset[str] = frozenset()
        self._memo: dict[str | None, frozenset[int]] = {}

    def add(self, matcher: Matcher) -> int:
        """The id of `matcher` in this table (equal matchers share one)."""
        key = (matcher.pattern, matcher.negated)
        if key not in self._ids:
            self._ids[key] = len(self.matchers)
            self.matchers.append(matcher)
        return self._ids[key]

    def seal(self) -> None:
        """Compile the prefilter once every matcher is added."""
        patterns = [m.pattern for m in self.matchers]
        self._negated = frozenset(i for i, m in enumerate(self.matchers) if m.negated) or _NONE
        self._literals = frozenset(patterns)
        # Path and package values are lowercased and normalized before matching:
        # only other fields compare a literal pattern by equality.
        by_equality = self.key not in ("path", "package")
        for index, pattern in enumerate(patterns):
            head = _literal_head(pattern)
            if by_equality and is_literal(pattern):
                self._literal_ids.setdefault(pattern, []).append(index)
            elif by_equality and len(head) >= _HEAD:
                self._globs_by_head.setdefault(head[:_HEAD], []).append(index)
            else:
                self._glob_ids.append(index)
        if patterns:
            alternatives = (field_regex(self.key, pattern).pattern for pattern in patterns)
            self._prefilter = re.compile("|".join(f"(?:{regex})" for regex in alternatives))

    def holding(self, frame: MatchFrame) -> frozenset[int]:
        """Ids of the matchers that hold for the frame's value of this field."""
        value = getattr(frame, self.key)
        found = self._memo.get(value)
        if found is None:
            found = self._evaluate(frame, value)
            if len(self._memo) >= MEMO_MAX_VALUES:
                self._memo.clear()
            self._memo[value] = found
        return found

    def _evaluate(self, frame: MatchFrame, value: str | None) -> frozenset[int]:
        if value is None or not self._may_match(value):
            return self._negated  # no glob matches: only negated matchers hold
        matched = set(self._literal_ids.get(value, ()))
        matchers = self.matchers
        for ids in (self._globs_by_head.get(value[:_HEAD], ()), self._glob_ids):
            for index in ids:
                if matchers[index].test(frame):  # the pattern matches (before negation)
                    matched.add(index)
        held = self._negated.symmetric_difference(matched)
        return held or _NONE

    def _may_match(self, value: str) -> bool:
        """False only when no matcher's glob matches the value (true may be a false alarm)."""
        prefilter = self._prefilter
        if prefilter is None:
            return False
        if value in self._literals or prefilter.match(value) is not None:
            return True
        return (
            self._retries_slash
            and not value.startswith("/")
            and prefilter.match("/" + value) is not None
        )


class FamilyIndex:
    """The rules that can match frames of one family, anchored on a field matcher."""

    def __init__(
        self, rules: tuple[StacktraceRule, ...], family: str, package_retry: bool = False
    ) -> None:
        probe = MatchFrame(family, None, None, None, None, None, None)
        self._package_retry = package_retry
        self.tables: dict[str, FieldTable] = {}
        self.always: list[tuple[int, Requirements]] = []
        self.anchored: dict[tuple[str, int], list[tuple[int, Requirements]]] = {}
        for rule_id, rule in enumerate(rules):
            family_matchers = [m for m in rule.frame_matchers if m.key == "family"]
            if all(m(probe) for m in family_matchers):
                self._add(rule_id, rule)
        for table in self.tables.values():
            table.seal()

    def _add(self, rule_id: int, rule: StacktraceRule) -> None:
        requirements = []
        anchor = None
        for matcher in rule.frame_matchers:
            if matcher.key == "family":
                continue
            table = self.tables.get(matcher.key)
            if table is None:
                table = self.tables[matcher.key] = FieldTable(matcher.key, self._package_retry)
            required = (matcher.key, table.add(matcher))
            requirements.append(required)
            if anchor is None and not matcher.negated:
                anchor = required
        entry = (rule_id, tuple(requirements))
        if anchor is None:
            self.always.append(entry)
        else:
            self.anchored.setdefault(anchor, []).append(entry)

    def matches(self, frame: MatchFrame) -> frozenset[int]:
        """Ids of the rules whose identity matchers all hold for the frame."""
        holding = {key: table.holding(frame) for key, table in self.tables.items()}
        found = [
            rule_id
            for rule_id, requirements in self.always
            if all(held in holding[key] for key, held in requirements)
        ]
        for key, held_ids in holding.items():
            for held_id in held_ids:
                for rule_id, requirements in self.anchored.get((key, held_id), ()):
                    if all(held in holding[k] for k, held in requirements):
                        found.append(rule_id)
        return frozenset(found) if found else _NONE
