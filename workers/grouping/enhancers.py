"""Applying stack-trace rules to frames, as Sentry's Enhancements do.

Two passes, like Sentry: before grouping, rules with `+app`/`-app` or
`category=` change the frames themselves (rule by rule, so a later rule sees
the in-app flag an earlier one set; within one rule, Sentry first finds every
frame the rule matches and then applies it, where v1 applied it frame by
frame as it matched, see Behaviour); while grouping, rules with `+group`/
`-group` and the `max-frames`/`min-frames` variables change which frame
components contribute. Which rules can match a frame by its identity (path,
module, function, package, family) is found through an index (`rule_index`)
and cached per frame identity; the in-app flag, category, neighbours and
exception are checked per event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from workers.grouping.event import SingleException
from workers.grouping.rule_index import FamilyIndex
from workers.grouping.stacktrace_rules import FlagAction, MatchFrame, StacktraceRule, VarAction

_FAMILIES = ("native", "javascript", "other")


def exception_fields(exception: SingleException | None) -> dict[str, str | None]:
    if exception is None:
        return {}
    mechanism = exception.mechanism
    return {
        "type": exception.type,
        "value": exception.value,
        "mechanism": mechanism.type if mechanism is not None else None,
    }


def slice_range(seq: Sequence, index: int, range_: str | None) -> Sequence:
    """The frames an action covers: its own, those after (^) or before (v)."""
    if range_ is None:
        return seq[index : index + 1]
    if range_ == "down":
        return seq[:index]
    return seq[index + 1 :]


class Enhancements:
    """Compiled stack-trace rules; immutable."""

    def __init__(
        self,
        rules: tuple[StacktraceRule, ...],
        *,
        match_before_applying: bool = False,
        package_retry: bool = False,
    ) -> None:
        self.rules = rules
        self.match_before_applying = match_before_applying
        self.modifier_ids = frozenset(i for i, r in enumerate(rules) if r.modifies_frames)
        self.updater_ids = frozenset(i for i, r in enumerate(rules) if r.updates_grouping)
        # Rules that need a frame with a category: most stacks (Python, JavaScript...)
        # have none and skip them (see FramePreparer and grouping_matches).
        self.category_only_ids = frozenset(i for i, r in enumerate(rules) if r.needs_category)
        self._exception_sensitive = any(r.exception_matchers for r in rules)
        self._index = {family: FamilyIndex(rules, family, package_retry) for family in _FAMILIES}

    def exception_key(self, exception: SingleException | None) -> tuple:
        """What of the exception any rule can look at (part of memo keys)."""
        if not self._exception_sensitive or exception is None:
            return ()
        return tuple(exception_fields(exception).values())

    def identity_matches(self, match_frame: MatchFrame) -> frozenset[int]:
        """Ids of rules whose identity matchers all match this frame."""
        return self._index[match_frame.family].matches(match_frame)

    def iter_matches(
        self,
        candidate_ids: frozenset[int],
        identity: list[frozenset[int]],
        match_frames: list[MatchFrame],
        exception: dict[str, str | None],
        *,
        frozen_categories: bool = False,
    ) -> Iterator[tuple[StacktraceRule, int]]:
        """(rule, frame index) pairs, rule by rule in order, frames in order.

        `frozen_categories`: no category changes while this runs, so a rule that
        needs one category only visits the frames that have it.
        """
        by_category: dict[str, list[int]] | None = None
        everything = range(len(match_frames))
        for rule_id in sorted(candidate_ids):
            rule = self.rules[rule_id]
            if not all(m(exception) for m in rule.exception_matchers):
                continue
            indices: Sequence[int] = everything
            required = rule.required_category if frozen_categories else None
            if required is not None:
                if by_category is None:
                    by_category = _frames_by_category(match_frames)
                indices = by_category.get(required, ())
            for index in indices:
                if rule_id in identity[index] and _context_matches(rule, match_frames, index):
                    yield rule, index

    def apply_modifications(
        self,
        match_frames: list[MatchFrame],
        identity: list[frozenset[int]],
        exception: SingleException | None,
    ) -> None:
        """Set in-app flags and categories on the match frames, rule by rule
        (Sentry's apply_modifications_to_frame)."""
        candidates = _union(identity) & self.modifier_ids
        if not candidates:
            return
        fields = exception_fields(exception)
        if not self.match_before_applying:
            for rule, index in self.iter_matches(candidates, identity, match_frames, fields):
                _modify(rule, index, match_frames)
            return
        for rule_id in sorted(candidates):
            one = frozenset((rule_id,))
            matched = list(
                self.iter_matches(one, identity, match_frames, fields, frozen_categories=True)
            )
            for rule, index in matched:
                _modify(rule, index, match_frames)

    def grouping_matches(
        self,
        match_frames: list[MatchFrame] | None,
        identity: list[frozenset[int]],
        exception: SingleException | None,
    ) -> list[tuple[StacktraceRule, int]]:
        """Rules that change contributions, matched on the final frames."""
        candidates = _union(identity) & self.updater_ids
        if not candidates or match_frames is None:
            return []
        if not any(frame.category for frame in match_frames):
            candidates -= self.category_only_ids
        fields = exception_fields(exception)
        return list(
            self.iter_matches(candidates, identity, match_frames, fields, frozen_categories=True)
        )


def _frames_by_category(match_frames: list[MatchFrame]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for index, frame in enumerate(match_frames):
        if frame.category:
            out.setdefault(frame.category, []).append(index)
    return out


def _modify(rule: StacktraceRule, index: int, match_frames: list[MatchFrame]) -> None:
    """Apply a rule's in-app and category actions to the frame it matched."""
    for action in rule.actions:
        if isinstance(action, FlagAction) and action.key == "app":
            for position in _range_indices(len(match_frames), index, action.range):
                frame = match_frames[position]
                frame.app_rule = rule.text
                frame.in_app = action.flag
        elif isinstance(action, VarAction) and action.name == "category":
            frame = match_frames[index]
            frame.category = str(action.value)
            frame.category_rule = rule.text


def _union(identity: list[frozenset[int]]) -> frozenset[int]:
    nonempty = [ids for ids in identity if ids]
    if not nonempty:
        return frozenset()
    return frozenset().union(*nonempty)


def _range_indices(length: int, index: int, range_: str | None) -> range:
    if range_ is None:
        return range(index, index + 1)
    if range_ == "down":
        return range(index)
    return range(index + 1, length)


def _context_matches(rule: StacktraceRule, match_frames: list[MatchFrame], index: int) -> bool:
    frame = match_frames[index]
    if rule.state_matchers and not all(m(frame) for m in rule.state_matchers):
        return False
    if rule.caller:
        if index == 0:
            return False
        caller = match_frames[index - 1]
        if not all(m(caller) for m in rule.caller):
            return False
    if rule.callee:
        if index + 1 >= len(match_frames):
            return False
        callee = match_frames[index + 1]
        if not all(m(callee) for m in rule.callee):
            return False
    return True
