"""Shared lexing for Sentry's rule languages (fingerprint and stack-trace rules).

Both are line based: `matcher:argument ...` then actions or `-> fingerprint`;
`!` negates a matcher, `#` starts a comment, arguments are bare words or
double-quoted strings with backslash escapes. A `Cursor` walks one line and
raises RuleSyntaxError with the 1-based line and column of the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.grouping.errors import RuleSyntaxError

KEY = re.compile(r"[a-zA-Z0-9_.\-]+")
QUOTED_KEY = re.compile(r'"([a-zA-Z0-9_.:\-]+)"')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")


def unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)


@dataclass(slots=True)
class Cursor:
    text: str
    line: int
    pos: int = 0

    def error(self, message: str, pos: int | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(
            message, line=self.line, column=(self.pos if pos is None else pos) + 1
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text) or self.text[self.pos] == "#"

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.take(literal):
            raise self.error(f"expected '{literal}'")

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found is not None:
            self.pos = found.end()
        return found

    def quoted(self) -> str:
        start = self.pos
        found = self.match(_QUOTED)
        if found is None:
            raise self.error("unterminated quoted string", start)
        return unescape(found.group(1))

    def key(self) -> str:
        """A matcher key, bare (`error.type`) or quoted (`"tags.a:b"`)."""
        found = self.match(QUOTED_KEY) or self.match(KEY)
        if found is None:
            raise self.error("expected a matcher")
        return found.group(1) if found.re is QUOTED_KEY else found.group(0)

    def argument(self, stop: str = "") -> str:
        """A quoted string, or a bare word up to whitespace (or `stop` text)."""
        if self.peek('"'):
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            if stop and self.text.startswith(stop, self.pos):
                break
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a value after ':'")
        return self.text[start : self.pos]


def iter_rule_lines(text: str):
    """(line number, Cursor) for each non-blank, non-comment line."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, Cursor(line, number)
