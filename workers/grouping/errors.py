"""Errors raised by the grouping library.

    RuleSyntaxError      a fingerprint or stack-trace rule text does not parse

Grouping an event never raises: malformed events degrade to the fallback
variant. Only rule texts, which a person writes and can fix, are rejected.
"""

from __future__ import annotations


class RuleSyntaxError(ValueError):
    """A rule text is invalid; `line` and `column` are 1-based."""

    def __init__(self, message: str, *, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column
