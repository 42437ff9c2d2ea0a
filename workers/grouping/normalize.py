"""Prepare a decoded event for grouping (Sentry's normalize_stacktraces_for_grouping).

Per frame: fill `filename`/`abs_path` as Relay does (a URL's path becomes the
filename), trim the function name (keeping the original in `raw_function`),
then apply the stack-trace rules' in-app changes and finally treat an unknown
in-app flag as "not in app". Frame work is cached at three levels, each keyed
on what it depends on: the frame's identity (what grouping and rules look at:
paths, module, function, package, the source line where it counts), the whole
frame (its normalized copy, which keeps line numbers for explanations) and the
whole stack. So the thousandth event through the same code costs a dictionary
lookup, and a new stack of known frames a lookup per frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import msgspec

from core.event.accessors import interface_values
from workers.grouping.behaviour import Behaviour
from workers.grouping.components import Component, FrameComponent
from workers.grouping.enhancers import Enhancements
from workers.grouping.event import Event, Frame, LogEntry, SingleException, Stacktrace, Thread
from workers.grouping.frames import CONTEXT_LINE_PLATFORMS, FrameFacts, build_frame_facts
from workers.grouping.functions import JAVASCRIPT_PLATFORMS, trim_function_name
from workers.grouping.stacktrace_rules import MatchFrame, make_match_frame

# Relay's is_url: such an abs_path yields its URL path as the filename.
_URL_PREFIXES = ("file:", "http:", "https:", "applewebdata:")
# Relay splits a missing type out of a value like "TypeError: x is undefined".
_TYPE_IN_VALUE = re.compile(r"^(\w+):(.*)$", re.DOTALL)
# Bounds on memory: a full memo is dropped and refilled by the traffic.
_IDENTITIES_MAX = 50_000
_FRAMES_MAX = 50_000
_CHILDREN_MAX = 50_000
_STACKS_MAX = 8_192
# Stacks seen once are remembered by hash only (see FramePreparer._memoize).
_SEEN_STACKS_MAX = 4 * _STACKS_MAX


class FrameInfo(msgspec.Struct, frozen=True, eq=False, gc=False):
    """Cached per frame identity; compared and hashed by identity. `gc=False`
    (no cycles): the garbage collector need not walk thousands of them."""

    filename: str | None
    abs_path: str | None
    function: str | None
    raw_function: str | None
    facts: FrameFacts
    rule_ids: frozenset[int]  # rules that may match the frame, but those below
    category_rule_ids: frozenset[int]  # ... that need a frame with a category
    # Sentry's is_recursion_v1 compares abs_path, package, module, filename,
    # function (and line/column, compared per event).
    recursion_key: tuple


class PreparedFrame(msgspec.Struct, gc=False):
    """One distinct frame (line numbers included), normalized once.

    `frame` is the normalized copy with an unknown in-app flag made False, as
    it is when no stack-trace rule changes it (a stack whose rules do copies
    it again); `info` its per-identity facts. `system` and `app` memoize its
    frame components for stacks that do not change them (see `strategies`):
    they never change once built. Untracked by the garbage collector, like
    FrameInfo.
    """

    frame: Frame
    info: FrameInfo
    system: FrameComponent | None = None
    app: FrameComponent | None = None


class PreparedStack:
    """A normalized stack trace, shared by every event with the same frames.

    `frames` are normalized copies carrying the final in-app flag; `prepared`
    their cached per-frame work; `recursive` the frames identical to the
    previous one (Sentry's is_recursion_v1: same abs_path, package, module,
    filename, function, line and column); `match_frames` what stack-trace
    rules see after the in-app/category changes. `components` memoizes the
    stack trace components (pure functions of all of the above); `memoized`
    says whether later events can meet this very object again.
    """

    __slots__ = (
        "components",
        "exception",
        "frames",
        "match_frames",
        "memoized",
        "prepared",
        "recursive",
    )

    def __init__(self, frames, prepared, exception, recursive, match_frames) -> None:
        self.frames: list[Frame] = frames
        self.prepared: tuple[PreparedFrame, ...] = prepared
        self.exception = exception
        self.recursive: tuple[int, ...] = recursive
        self.match_frames: list[MatchFrame] | None = match_frames
        self.components: dict | None = None
        self.memoized = False


@dataclass(slots=True)
class PreparedEvent:
    event: Event
    platform: str
    exceptions: list[SingleException]
    exception_stacks: list[PreparedStack | None]
    threads: list[Thread]
    thread_stacks: list[PreparedStack | None]
    stack: PreparedStack | None
    message: str | None  # the template when there is one (logentry.message)
    formatted: str | None
    # Sentry copies level, logger, environment and transaction into the tags
    # before rules run (see Behaviour.tags_from_event_fields).
    tags_from_fields: bool = False
    _tags: list[tuple[str, str]] | None = None

    @property
    def tags(self) -> list[tuple[str, str]]:
        if self._tags is None:
            tags = _tags(self.event.tags)
            if self.tags_from_fields:
                tags = _with_field_tags(tags, self.event)
            self._tags = tags
        return self._tags


class FramePreparer:
    """Normalizes frames, caching per-identity work; safe to share across threads."""

    def __init__(self, enhancements: Enhancements, behaviour: Behaviour) -> None:
        self.enhancements = enhancements
        self.behaviour = behaviour
        # What a frame without a function matches as (Sentry: "<unknown>").
        self._unknown_function = "<unknown>" if behaviour.missing_function_is_unknown else None
        self._unset_in_app = False if behaviour.unset_in_app_matches_no else None
        self._identities: dict[tuple, FrameInfo] = {}
        self._children: dict[tuple, Component] = {}
        self._frames: dict[tuple[str, Frame], PreparedFrame] = {}
        self._stacks: dict[tuple, PreparedStack] = {}
        self._seen_stacks: set[int] = set()

    def info(self, frame: Frame, platform: str) -> FrameInfo:
        """The frame's identity facts, keyed on what they depend on only."""
        platform = frame.platform or platform
        data = frame.data
        key = (
            platform,
            frame.filename,
            frame.abs_path,
            frame.module,
            frame.function,
            frame.raw_function,
            frame.package,
            frame.context_line if platform in CONTEXT_LINE_PLATFORMS else None,
            # Only JavaScript frames care whether a source map was applied.
            platform in JAVASCRIPT_PLATFORMS and data is not None and data.sourcemap is not None,
        )
        info = self._identities.get(key)
        if info is None:
            info = self._build(frame, platform, key[8])
            if len(self._identities) >= _IDENTITIES_MAX:
                self._identities.clear()
            self._identities[key] = info
        return info

    def _build(self, frame: Frame, platform: str, sourcemap_used: bool) -> FrameInfo:
        abs_path, filename = _relay_paths(frame.abs_path, frame.filename)
        function, raw_function = frame.function, frame.raw_function
        if function == "?" and self.behaviour.relay_exception_normalization:
            function = None  # Relay: "?" is no function
        if function and not raw_function:
            trimmed = trim_function_name(function, platform)
            if trimmed != function:
                function, raw_function = trimmed, function
        facts = build_frame_facts(
            platform=platform,
            module=frame.module,
            filename=filename,
            abs_path=abs_path,
            function=function,
            raw_function=raw_function,
            context_line=frame.context_line,
            sourcemap_used=sourcemap_used,
            behaviour=self.behaviour,
        )
        facts = msgspec.structs.replace(facts, children=self._shared_children(facts.children))
        recursion_key = (abs_path, frame.package, frame.module, filename, function)
        none: frozenset[int] = frozenset()
        info = FrameInfo(
            filename, abs_path, function, raw_function, facts, none, none, recursion_key
        )
        probe = make_match_frame(info, frame, platform, unknown_function=self._unknown_function)
        rule_ids = self.enhancements.identity_matches(probe)
        category_only = self.enhancements.category_only_ids
        return FrameInfo(
            filename,
            abs_path,
            function,
            raw_function,
            facts,
            rule_ids - category_only if rule_ids else rule_ids,
            rule_ids & category_only if rule_ids else rule_ids,
            recursion_key,
        )

    def _shared_children(self, children: tuple[Component, ...]) -> tuple[Component, ...]:
        """Equal frame children as one object: distinct frames mostly differ in
        one part (their function, say), and each object kept is one more for
        the garbage collector to walk. Children never change once built."""
        shared = []
        for child in children:
            key = (child.id, tuple(child.values), child.contributes, child.hint)
            found = self._children.get(key)
            if found is None:
                if len(self._children) >= _CHILDREN_MAX:
                    self._children.clear()
                found = self._children[key] = child
            shared.append(found)
        return tuple(shared)

    def prepared(self, frame: Frame, platform: str) -> PreparedFrame:
        key = (platform, frame)
        try:
            prepared = self._frames.get(key)
        except TypeError:  # an unhashable line number or such: no memo
            return self._prepare(frame, platform)
        if prepared is None:
            prepared = self._prepare(frame, platform)
            if len(self._frames) >= _FRAMES_MAX:
                self._frames.clear()
            self._frames[key] = prepared
        return prepared

    def _prepare(self, frame: Frame, platform: str) -> PreparedFrame:
        info = self.info(frame, platform)
        normalized = msgspec.structs.replace(
            frame,
            filename=info.filename,
            abs_path=info.abs_path,
            function=info.function,
            raw_function=info.raw_function,
            in_app=bool(frame.in_app),
        )
        return PreparedFrame(normalized, info)

    def stack(
        self, stacktrace: Stacktrace | None, platform: str, exception
    ) -> PreparedStack | None:
        if stacktrace is None or not stacktrace.frames:
            return None
        frames = tuple([f for f in stacktrace.frames if f is not None])
        if not frames:
            return None
        key = (platform, frames, self.enhancements.exception_key(exception))
        try:
            stack = self._stacks.get(key)
        except TypeError:  # an unhashable line number or such: no memo
            return self._build_stack(frames, platform, exception)
        if stack is None:
            stack = self._build_stack(frames, platform, exception)
            self._memoize(key, stack)
        return stack

    def _memoize(self, key: tuple, stack: PreparedStack) -> None:
        """Keep a stack from its second sighting on. With one stack per issue
        most are seen once, and keeping them would only hold memory and make
        every full garbage collection longer and more frequent."""
        seen = hash(key)
        if seen not in self._seen_stacks:
            if len(self._seen_stacks) >= _SEEN_STACKS_MAX:
                self._seen_stacks.clear()
            self._seen_stacks.add(seen)
            return
        if len(self._stacks) >= _STACKS_MAX:
            self._stacks.clear()
        self._stacks[key] = stack
        stack.memoized = True

    def _build_stack(self, frames, platform: str, exception) -> PreparedStack:
        prepared = tuple([self.prepared(frame, platform) for frame in frames])
        normalized = [p.frame for p in prepared]
        match_frames = None
        # Rules that need a category matter only once some frame has one: from
        # a rule (then some frame has other rules too) or from the SDK.
        if any(p.info.rule_ids for p in prepared) or (
            any(p.info.category_rule_ids for p in prepared) and _sdk_category(frames)
        ):
            match_frames = [
                make_match_frame(
                    p.info,
                    frame,
                    platform,
                    unknown_function=self._unknown_function,
                    unset_in_app=self._unset_in_app,
                )
                for frame, p in zip(frames, prepared, strict=True)
            ]
            identity = [p.info.rule_ids | p.info.category_rule_ids for p in prepared]
            self.enhancements.apply_modifications(match_frames, identity, exception)
            for index, match_frame in enumerate(match_frames):
                # Grouping rules see frames after unknown in-app became False.
                match_frame.in_app = bool(match_frame.in_app)
                if match_frame.in_app != normalized[index].in_app:
                    normalized[index] = msgspec.structs.replace(
                        normalized[index], in_app=match_frame.in_app
                    )
        return PreparedStack(
            normalized, prepared, exception, _recursive(normalized, prepared), match_frames
        )


def _sdk_category(frames) -> bool:
    return any(frame.data is not None and frame.data.category for frame in frames)


def _recursive(frames: list[Frame], prepared: tuple[PreparedFrame, ...]) -> tuple[int, ...]:
    out = []
    for index in range(1, len(frames)):
        frame, previous = frames[index], frames[index - 1]
        if (
            prepared[index].info.recursion_key == prepared[index - 1].info.recursion_key
            and frame.lineno == previous.lineno
            and frame.colno == previous.colno
        ):
            out.append(index)
    return tuple(out)


def _relay_paths(abs_path: str | None, filename: str | None) -> tuple[str | None, str | None]:
    if not abs_path:
        abs_path, filename = filename, None
    if not filename and abs_path:
        filename = abs_path
        if abs_path.startswith(_URL_PREFIXES):
            try:
                path = urlsplit(abs_path).path
            except ValueError:
                path = ""
            if path and path != "/":
                filename = path
    return abs_path, filename


def prepare_event(event: Event, preparer: FramePreparer) -> PreparedEvent:
    platform = event.platform or "other"
    behaviour = preparer.behaviour
    singular = behaviour.singular_interfaces
    exceptions = [
        _split_type(e) for e in _values(event.exception or event.legacy_exception, singular)
    ]
    threads = [t for t in _values(event.threads, singular) if t is not None]
    stacktrace = event.stacktrace
    if behaviour.relay_exception_normalization:
        exceptions, stacktrace = _relay_exceptions(exceptions, stacktrace)
    message, formatted = _logentry(event.logentry or event.message or event.legacy_message)
    return PreparedEvent(
        event=event,
        platform=platform,
        exceptions=exceptions,
        exception_stacks=[preparer.stack(e.stacktrace, platform, e) for e in exceptions],
        threads=threads,
        thread_stacks=[preparer.stack(t.stacktrace, platform, None) for t in threads],
        stack=preparer.stack(stacktrace, platform, None),
        message=message,
        formatted=formatted,
        tags_from_fields=behaviour.tags_from_event_fields,
    )


def _relay_exceptions(
    exceptions: list[SingleException], stacktrace: Stacktrace | None
) -> tuple[list[SingleException], Stacktrace | None]:
    """Relay's normalize_exceptions: a top-level stack trace beside exactly one
    exception becomes its own; then an exception needs a type or a value."""
    if len(exceptions) == 1 and stacktrace is not None:
        exceptions = [msgspec.structs.replace(exceptions[0], stacktrace=stacktrace)]
        stacktrace = None
    return [e for e in exceptions if e.type or e.value], stacktrace


def _values(container, singular: bool = False) -> list:
    bare = container is not None and not isinstance(container, list) and container.values is None
    if singular and bare:
        single = container.single()
        return [single] if single is not None else []
    return interface_values(container)


def _split_type(exception: SingleException) -> SingleException:
    if not exception.type and exception.value:
        found = _TYPE_IN_VALUE.match(exception.value)
        if found:
            exception.type = found.group(1)
            exception.value = found.group(2).strip()
    return exception


def _logentry(entry: LogEntry | str | None) -> tuple[str | None, str | None]:
    if entry is None:
        return None, None
    if isinstance(entry, str):
        return None, entry
    return entry.message, entry.formatted or entry.message


# Relay's level names for what SDKs send.
_LEVELS = {"warn": "warning", "critical": "fatal", "log": "info"}


def _with_field_tags(tags: list[tuple[str, str]], event: Event) -> list[tuple[str, str]]:
    """Sentry's _pull_out_data: these fields replace tags of the same name."""
    level = (event.level or "error").lower()
    fields = {
        "level": _LEVELS.get(level, level),
        "logger": event.logger,
        "environment": event.environment,
        "transaction": event.transaction,
    }
    derived = [(key, value) for key, value in fields.items() if isinstance(value, str) and value]
    replaced = {key for key, _ in derived}
    return [pair for pair in tags if pair[0] not in replaced] + derived


def _tags(tags) -> list[tuple[str, str]]:
    if not tags:
        return []
    pairs = tags.items() if isinstance(tags, dict) else tags
    out = []
    for item in pairs:
        pair = item.split(":", 1) if isinstance(item, str) else item
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str):
            value = pair[1]
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                out.append((pair[0], str(value)))
    return out
