"""Stack-trace rules (Sentry's "enhancements"): syntax and compiled model.

    [ caller matchers ] | matchers | [ callee matchers ]  actions

Matchers: family, path/stack.abs_path, module/stack.module, function/
stack.function, package/stack.package, app, category (frame), type/error.type,
value/error.value, mechanism/error.mechanism (exception); `!` negates.
Actions: `+app`/`-app`, `+group`/`-group`, `+prefix`/`-prefix`,
`+sentinel`/`-sentinel`, optionally ranged with `^` (towards the crash: later
frames) or `v` (away from it); variables `max-frames=N`, `min-frames=N`,
`invert-stacktrace=1`, `category=X`. Built-in rules come first, project rules
after them, so a project can override a built-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workers.grouping.event import Frame
from workers.grouping.functions import family_for_platform
from workers.grouping.glob import compile_glob, normalize_path
from workers.grouping.rule_syntax import Cursor, iter_rule_lines

FRAME_KEYS = {
    "path": "path",
    "stack.abs_path": "path",
    "module": "module",
    "stack.module": "module",
    "function": "function",
    "stack.function": "function",
    "package": "package",
    "stack.package": "package",
    "family": "family",
    "app": "app",
    "stack.app": "app",
    "category": "category",
}
EXCEPTION_KEYS = {
    "type": "type",
    "error.type": "type",
    "value": "value",
    "error.value": "value",
    "mechanism": "mechanism",
    "error.mechanism": "mechanism",
}
FAMILIES = frozenset({"native", "javascript", "other", "all"})
_ACTION = re.compile(r"([\^v]?)([+-])(app|group|prefix|sentinel)(?=\s|$|#)")
_VAR_ACTION = re.compile(r"(max-frames|min-frames|invert-stacktrace|category)\s*=\s*")
_TRUE = {"1", "yes", "true"}
_FALSE = {"0", "no", "false"}


class MatchFrame:
    """The frame as matchers see it: paths and packages lowercased.

    `app_rule` and `category_rule` name the rules that last changed the in-app
    flag and set the category, for explanations.
    """

    __slots__ = (
        "app_rule",
        "category",
        "category_rule",
        "family",
        "function",
        "in_app",
        "module",
        "package",
        "path",
    )

    def __init__(self, family, function, module, package, path, in_app, category) -> None:  # noqa: PLR0917
        self.family = family
        self.function = function
        self.module = module
        self.package = package
        self.path = path
        self.in_app = in_app
        self.category = category
        self.app_rule: str | None = None
        self.category_rule: str | None = None


@dataclass(frozen=True, slots=True)
class Matcher:
    key: str
    pattern: str
    negated: bool
    test: Callable[[Any], bool] = field(compare=False, repr=False)

    def __call__(self, subject: object) -> bool:
        return self.test(subject) is not self.negated


@dataclass(frozen=True, slots=True)
class FlagAction:
    key: str  # app, group, prefix, sentinel
    flag: bool
    range: str | None  # None, "up" (^, towards the crash) or "down" (v)

    def __str__(self) -> str:
        arrow = {"up": "^", "down": "v"}.get(self.range or "", "")
        return f"{arrow}{'+' if self.flag else '-'}{self.key}"


@dataclass(frozen=True, slots=True)
class VarAction:
    name: str
    value: int | bool | str

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


@dataclass(frozen=True, slots=True)
class StacktraceRule:
    text: str
    frame_matchers: tuple[Matcher, ...]  # depend on the frame's identity only
    state_matchers: tuple[Matcher, ...]  # app and category: change as rules apply
    exception_matchers: tuple[Matcher, ...]
    caller: tuple[Matcher, ...]
    callee: tuple[Matcher, ...]
    actions: tuple[FlagAction | VarAction, ...]

    @property
    def matcher_description(self) -> str:
        return self.text.split(" ->")[0]

    @property
    def required_category(self) -> str | None:
        """The category a frame must have for the rule to match it, when one literal
        `category:` matcher says so (lets matching skip every other frame)."""
        for matcher in self.state_matchers:
            if matcher.key == "category" and not matcher.negated and is_literal(matcher.pattern):
                return matcher.pattern
        return None

    @property
    def needs_category(self) -> bool:
        """Whether the rule can only match a stack where some frame has a category."""
        matchers = (*self.state_matchers, *self.caller, *self.callee)
        return any(m.key == "category" and not m.negated for m in matchers)

    @property
    def modifies_frames(self) -> bool:
        return any(
            (isinstance(a, FlagAction) and a.key == "app")
            or (isinstance(a, VarAction) and a.name == "category")
            for a in self.actions
        )

    @property
    def updates_grouping(self) -> bool:
        return any(
            (isinstance(a, FlagAction) and a.key != "app")
            or (isinstance(a, VarAction) and a.name != "category")
            for a in self.actions
        )


def is_literal(pattern: str) -> bool:
    """Whether a glob matches only its own text."""
    return not any(char in pattern for char in "*?[{\\")


def field_regex(key: str, pattern: str) -> re.Pattern[str]:
    """The compiled glob a path, package, module, function or category matcher tries."""
    if key in ("path", "package"):
        return compile_glob(pattern.lower(), doublestar=True, path_normalize=True)
    return compile_glob(pattern)


def _frame_test(key: str, pattern: str, package_retry: bool) -> Callable[[MatchFrame], bool]:
    if key in ("path", "package"):
        regex = field_regex(key, pattern)
        if key == "package" and not package_retry:
            return lambda f: f.package is not None and regex.match(f.package) is not None
        if key == "package":

            def package_test(f: MatchFrame) -> bool:
                package = f.package
                if package is None:
                    return False
                if regex.match(package):
                    return True
                return not package.startswith("/") and regex.match("/" + package) is not None

            return package_test

        def path_test(f: MatchFrame) -> bool:
            if f.path is None:
                return False
            if regex.match(f.path):
                return True
            return not f.path.startswith("/") and regex.match("/" + f.path) is not None

        return path_test
    if key == "family":
        flags = frozenset(pattern.split(","))
        if "all" in flags:
            return lambda f: True
        return lambda f: f.family in flags
    if key == "app":
        expected = _parse_bool(pattern)
        return lambda f: expected is not None and f.in_app is expected
    regex = field_regex(key, pattern)
    attr = key  # function, module, category

    def field_test(f: MatchFrame) -> bool:
        value = getattr(f, attr)
        return value is not None and (value == pattern or regex.match(value) is not None)

    return field_test


def _exception_test(key: str, pattern: str) -> Callable[[dict[str, str]], bool]:
    regex = compile_glob(pattern)
    return lambda exc: regex.match(exc.get(key) or "<unknown>") is not None


def _parse_bool(text: str) -> bool | None:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _parse_matcher(cursor: Cursor, package_retry: bool, stop: str = "") -> Matcher:
    negated = cursor.take("!")
    start = cursor.pos
    key = cursor.key()
    if key not in FRAME_KEYS and key not in EXCEPTION_KEYS:
        raise cursor.error(f"unknown matcher '{key}'", start)
    cursor.expect(":")
    arg_start = cursor.pos
    pattern = cursor.argument(stop)
    if key in EXCEPTION_KEYS:
        canonical = EXCEPTION_KEYS[key]
        return Matcher(canonical, pattern, negated, _exception_test(canonical, pattern))
    canonical = FRAME_KEYS[key]
    if canonical == "family" and not set(pattern.split(",")) <= FAMILIES:
        raise cursor.error(
            f"unknown family '{pattern}' (native, javascript, other, all)", arg_start
        )
    if canonical == "app" and _parse_bool(pattern) is None:
        raise cursor.error(f"expected yes or no for app, got '{pattern}'", arg_start)
    return Matcher(canonical, pattern, negated, _frame_test(canonical, pattern, package_retry))


def _parse_bracketed(cursor: Cursor, package_retry: bool) -> tuple[Matcher, ...]:
    cursor.expect("[")
    matchers = []
    while True:
        cursor.skip_space()
        if cursor.take("]"):
            break
        if cursor.pos >= len(cursor.text) or cursor.peek("|"):
            raise cursor.error("expected ']'")
        matchers.append(_parse_matcher(cursor, package_retry, stop="]"))
    if not matchers:
        raise cursor.error("expected a matcher")
    return tuple(matchers)


def _parse_action(cursor: Cursor) -> FlagAction | VarAction | None:
    found = cursor.match(_ACTION)
    if found:
        arrow, sign, key = found.groups()
        return FlagAction(key, sign == "+", {"^": "up", "v": "down"}.get(arrow))
    start = cursor.pos
    found = cursor.match(_VAR_ACTION)
    if found is None:
        return None
    name = found.group(1)
    raw = cursor.argument()
    if name == "category":
        return VarAction(name, raw)
    if name == "invert-stacktrace":
        value = _parse_bool(raw)
        if value is None:
            raise cursor.error(f"invalid value for {name}: '{raw}'", start)
        return VarAction(name, value)
    if not raw.isdigit():
        raise cursor.error(f"invalid value for {name}: expected a number, got '{raw}'", start)
    return VarAction(name, int(raw))


def _parse_rule(cursor: Cursor, package_retry: bool) -> StacktraceRule:
    cursor.skip_space()
    start = cursor.pos
    caller: tuple[Matcher, ...] = ()
    callee: tuple[Matcher, ...] = ()
    if cursor.peek("["):
        caller = _parse_bracketed(cursor, package_retry)
        cursor.skip_space()
        cursor.expect("|")
    matchers: list[Matcher] = []
    actions: list[FlagAction | VarAction] = []
    while not cursor.at_end():
        if not actions and cursor.peek("|"):
            cursor.take("|")
            cursor.skip_space()
            callee = _parse_bracketed(cursor, package_retry)
            continue
        action = _parse_action(cursor)
        if action is not None:
            actions.append(action)
        elif actions or callee:
            raise cursor.error("expected an action (like +app, -group or max-frames=3)")
        else:
            matchers.append(_parse_matcher(cursor, package_retry))
    if not matchers:
        raise cursor.error("expected a matcher", start)
    if not actions:
        raise cursor.error("expected an action (like +app, -group or max-frames=3)")
    return StacktraceRule(
        text=" ".join(cursor.text[: cursor.pos].split()),
        frame_matchers=tuple(m for m in matchers if m.key in _IDENTITY_KEYS),
        state_matchers=tuple(m for m in matchers if m.key in ("app", "category")),
        exception_matchers=tuple(m for m in matchers if m.key in _EXCEPTION_CANONICAL),
        caller=caller,
        callee=callee,
        actions=tuple(actions),
    )


_IDENTITY_KEYS = frozenset({"path", "module", "function", "package", "family"})
_EXCEPTION_CANONICAL = frozenset(EXCEPTION_KEYS.values())


def parse_stacktrace_rules(
    text: str, *, package_retries_leading_slash: bool = False
) -> tuple[StacktraceRule, ...]:
    """Parse rule text; raises RuleSyntaxError naming line and column.

    With `package_retries_leading_slash`, `package:` also tries a relative
    package with a leading "/", as `path:` always does (see Behaviour).
    """
    retry = package_retries_leading_slash
    return tuple(_parse_rule(cursor, retry) for _, cursor in iter_rule_lines(text))


def make_match_frame(
    info,
    frame: Frame,
    event_platform: str | None,
    *,
    unknown_function: str | None = None,
    unset_in_app: bool | None = None,
) -> MatchFrame:
    """`info` carries the normalized paths and function (a normalize.FrameInfo);
    `unknown_function` is what a frame without a function matches as, and
    `unset_in_app` what a frame without an in-app flag does."""
    path = info.abs_path or info.filename
    package = frame.package
    return MatchFrame(
        family_for_platform(frame.platform or event_platform),
        info.function or unknown_function,
        frame.module,
        normalize_path(package).lower() if package else None,
        normalize_path(path).lower() if path else None,
        unset_in_app if frame.in_app is None else frame.in_app,
        frame.data.category if frame.data is not None else None,
    )
