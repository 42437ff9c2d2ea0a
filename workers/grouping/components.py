"""Grouping components: the tree whose contributing leaves make a hash.

As in Sentry (grouping/component.py), a component has an id, values (strings
or child components), a `contributes` flag and a hint saying why. The flag is
computed from the values when the component is made and NOT recomputed when a
child changes later; Sentry's frame strategy relies on that (a JavaScript frame
whose only value is an ignored "?" function still "contributes", with nothing
to hash), and matching Sentry's hashes means keeping the quirk.
"""

from __future__ import annotations

from hashlib import md5
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.grouping.stacktrace_rules import MatchFrame


class Component:
    __slots__ = ("_hash", "_leaves", "contributes", "hint", "id", "values")

    def __init__(
        self,
        id: str,
        values: list | tuple = (),
        contributes: bool | None = None,
        hint: str | None = None,
    ) -> None:
        self.id = id
        self.values = values
        self.hint = hint
        self.contributes = contributes if contributes is not None else _any_contributes(values)
        self._leaves: list[str] | None = None
        self._hash: str | None = None

    def update(self, *, contributes: bool, hint: str | None = None) -> None:
        self.contributes = contributes
        self._leaves = None
        self._hash = None
        if hint is not None:
            self.hint = hint

    def replaced(self, *, contributes: bool, hint: str | None) -> Component:
        """A copy with another flag: shared (cached) components are never changed."""
        return Component(self.id, self.values, contributes, hint)

    def leaf_values(self) -> list[str]:
        """Values of contributing leaves, in tree order.

        Memoized: components are built bottom-up and a child is never changed
        once its parent exists, so only `update` on this component resets it.
        """
        if self._leaves is None:
            out: list[str] = []
            if self.contributes:
                _collect(self, out)
            self._leaves = out
        return self._leaves

    def hash(self) -> str | None:
        if not self.contributes:
            return None
        if self._hash is None:
            only = self._only_contributing_child()
            self._hash = only.hash() if only is not None else hash_values(self.leaf_values())
        return self._hash

    def _only_contributing_child(self) -> Component | None:
        """The one contributing value, when it is a (non-frame) component."""
        found = None
        for value in self.values:
            if value.__class__ is str:
                return None
            if value.contributes:
                if found is not None or value.__class__ is FrameComponent:
                    return None
                found = value
        return found


class FrameComponent(Component):
    """A frame; its children are shared, immutable, cached per frame identity.

    `match` is, in explanations only, the frame as stack-trace rules saw it
    (a stacktrace_rules.MatchFrame: its category and the rules that set it).
    """

    __slots__ = ("flat", "frame", "identifies", "match")

    def __init__(  # noqa: PLR0917
        self,
        children: tuple,
        flat: tuple[str, ...],
        contributes: bool,
        hint,
        frame,
        identifies: bool = True,
    ):
        self._leaves = None
        self._hash = None
        self.id = "frame"
        self.values = children
        self.contributes = contributes
        self.hint = hint
        self.flat = flat
        self.frame = frame
        self.identifies = identifies  # see FrameFacts.identifies
        self.match: MatchFrame | None = None


class StacktraceComponent(Component):
    """A stack trace; `weak` when no contributing frame names code (only
    minified bundle names, or nothing): the exception value then counts too."""

    __slots__ = ("weak",)

    def __init__(self, frames: list, contributes: bool | None = None, hint: str | None = None):
        self._leaves = None
        self._hash = None
        self.id = "stacktrace"
        self.values = frames
        self.hint = hint
        # One pass over the frames for both flags (frames are never strings).
        any_contributes = weak = False
        for frame in frames:
            if frame.contributes:
                any_contributes = True
                if frame.identifies:
                    break
        else:
            weak = True
        self.contributes = any_contributes if contributes is None else contributes
        self.weak = weak


def _any_contributes(values) -> bool:
    return any(value.__class__ is str or value.contributes for value in values)


def _collect(component: Component, out: list[str]) -> None:
    for value in component.values:
        if value.__class__ is str:
            out.append(value)
        elif value.contributes:
            if value.__class__ is FrameComponent:
                out.extend(value.flat)
            else:
                out.extend(value.leaf_values())


def hash_values(values) -> str:
    """md5 over the UTF-8 of the values concatenated, as Sentry's hash_from_values."""
    return md5("".join(values).encode("utf-8", "replace"), usedforsecurity=False).hexdigest()
