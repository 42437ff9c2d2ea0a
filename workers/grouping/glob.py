"""Glob patterns as Sentry's rules understand them (Relay's glob semantics).

`*` matches anything except, with `doublestar`, a `/`; `**` matches anything;
`?` one character; `[abc]`/`[!abc]` classes; `{a,b}` alternatives (the built-in
React hydration rule relies on them); `\\x` escapes. Like Relay with
`allow_newline=false`, wildcards do not cross a newline.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: str, doublestar: bool) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/\n]*" if doublestar else ".*")
        elif char == "?":
            out.append("[^/\n]" if doublestar else ".")
        elif char == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
            continue
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    out.append(")" * depth)
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_glob(
    pattern: str,
    *,
    doublestar: bool = False,
    ignorecase: bool = False,
    path_normalize: bool = False,
) -> re.Pattern[str]:
    """Compile `pattern` into a regex that must match a whole value."""
    if path_normalize:
        pattern = normalize_path(pattern)
    flags = re.IGNORECASE if ignorecase else 0
    return re.compile(_translate(pattern, doublestar) + r"\Z", flags)


def normalize_path(value: str) -> str:
    """Backslashes become slashes so Windows paths match `/` patterns."""
    return value.replace("\\", "/")
