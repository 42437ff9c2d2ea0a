"""Function-name trimming per platform (Sentry's stacktraces/functions.py).

Native (C, C++, Rust, Objective-C, Swift) symbols carry arguments, return
types, templates and compiler-specific lambda names that differ between
compilers and builds; trimming keeps the stable part, the qualified function
name. C# (Unity) names lose their argument list. Other platforms are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NATIVE_PLATFORMS = frozenset({"objc", "cocoa", "swift", "native", "c"})
JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})

_CPP_TRAILER = re.compile(r"(?:\bconst\b|&|\[clone [^\]]*\]|@@?GLIBC_[0-9.]+)$")
_RUST_HASH = re.compile(r"::h[a-z0-9]{16}$")
_WINDECL_HASH = re.compile(r"^@?(.*?)@[0-9]+$")
_RUST_BLANKET = re.compile(r"^([A-Z] as )")
_LAMBDA = re.compile(
    r"(?:\{lambda\(.*?\)\#\d+\})"  # gcc
    r"|(?:\blambda_[a-f0-9]{32}\b)"  # msvc
    r"|(?:\$_\d+\b)"  # clang
)
_ANON_NAMESPACE = re.compile(r"\?A0x[a-f0-9]{8}::")

# operator<< and friends break bracket balancing: swap them for characters
# that never occur in symbols, and swap back at the end (as Sentry does).
_PROTECT = (
    ("operator<<", "operator⟨⟨"),
    ("operator<", "operator⟨"),
    ("operator()", "operator◯"),
    ("operator->", "operator⟿"),
    (" -> ", " ⟿ "),
    ("`anonymous namespace'", "\u3014anonymousnamespace\u3015"),
)
_RESTORE = (
    ("⟨", "<"),
    ("◯", "()"),
    ("⟿", "->"),
    ("\u3014anonymousnamespace\u3015", "`anonymous namespace'"),
)


def family_for_platform(platform: str | None) -> str:
    """Sentry's get_behavior_family_for_platform: native, javascript or other."""
    if platform in NATIVE_PLATFORMS:
        return "native"
    if platform in JAVASCRIPT_PLATFORMS:
        return "javascript"
    return "other"


def trim_function_name(function: str, platform: str | None) -> str:
    if platform == "csharp":
        # Unity emits "Namespace.Type:Method (args)"; the .NET SDK emits parts.
        return function.split(" (", 1)[0]
    if platform in NATIVE_PLATFORMS:
        return trim_native_function_name(function)
    return function


def replace_enclosed(text: str, start: str, end: str, replace: Callable[[str, int], str]) -> str:
    """Replace every outermost `start ... end` span by `replace(inner, offset)`."""
    if start not in text:
        return text
    depth = 0
    pair_start = 0
    out: list[str] = []
    for index, char in enumerate(text):
        if char == start:
            if depth == 0:
                pair_start = index
            depth += 1
        elif char == end and depth:
            depth -= 1
            if depth == 0:
                out.append(replace(text[pair_start + 1 : index], pair_start))
        elif depth == 0:
            out.append(char)
    return "".join(out)


def split_func_tokens(text: str) -> list[str]:
    """Split on spaces that are not inside (), <>, [] or {}."""
    tokens: list[str] = []
    buf: list[str] = []
    depth = 0
    for char in text:
        if char in "(<[{":
            depth += 1
        elif char in ")>]}" and depth:
            depth -= 1
        elif char == " " and depth == 0:
            if buf:
                tokens.append("".join(buf))
                buf = []
            continue
        buf.append(char)
    if buf:
        tokens.append("".join(buf))
    return tokens


def _drop_args(value: str, start: int) -> str:
    value = value.strip()
    return f"({value})" if value in ("anonymous namespace", "operator") else ""


def _generics(value: str, start: int) -> str:
    if value == "lambda" or _LAMBDA.match(value):
        return f"<{value}>"
    if start > 0:
        return "<T>"
    # Rust's leading "<Foo as Bar>::baz": keep the type, or the trait for blanket impls.
    value = _RUST_BLANKET.sub("", value)
    value = replace_enclosed(value, "<", ">", _generics)
    return value.split(" as ", 1)[0]


def trim_native_function_name(function: str) -> str:
    if function in ("<redacted>", "<unknown>"):
        return function
    original = function
    function = function.strip()
    # Objective-C selectors are already stable.
    if function.startswith(("[", "+[", "-[")):
        return function
    while match := _CPP_TRAILER.search(function):
        function = function[: match.start()].rstrip()
    for old, new in _PROTECT:
        function = function.replace(old, new)
    function = _LAMBDA.sub("lambda", function)
    function = _ANON_NAMESPACE.sub("\u3014anonymousnamespace\u3015::", function)
    function = replace_enclosed(function, "(", ")", _drop_args)
    function = replace_enclosed(function, "<", ">", _generics)
    tokens = split_func_tokens(function)
    # MSVC writes generic operators as "operator< <T>": keep both parts.
    if len(tokens) > 1 and tokens[-1] == "<T>":
        tokens.pop()
        tokens[-1] += " <T>"
    # The function is left of a Swift "->" return marker, else the last token.
    if "⟿" in tokens and tokens.index("⟿") > 0:
        token = tokens[tokens.index("⟿") - 1]
    else:
        token = tokens[-1] if tokens else ""
    if not token:
        return original
    for old, new in _RESTORE:
        token = token.replace(old, new)
    token = _RUST_HASH.sub("", token)
    return _WINDECL_HASH.sub(r"\1", token)
