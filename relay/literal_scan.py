"""Where any of a few literals occur in a body, ASCII case-insensitively.

The relay's secret scan looks for a dozen words in every event it keeps. One
`bytes.find` per word over a 4 KB event costs about 2 µs, so the scan cost
more than the rest of normalization together. Hyperscan (Intel's multi-pattern
engine, BSD) finds them all in one pass, about twenty times faster. Where it
cannot run (it needs x86-64), the same answers come from `bytes.find` on the
lowercased body; the tests hold the two engines to identical results.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable

try:
    import hyperscan
except ImportError:  # not built for this machine: the find engine answers
    hyperscan = None  # type: ignore[assignment]

# on_match(literal index, end offset) -> True to stop scanning.
OnMatch = Callable[[int, int], bool]


class LiteralScanner:
    def __init__(self, literals: tuple[bytes, ...], *, engine: str = "auto") -> None:
        if engine not in ("auto", "hyperscan", "find"):
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "hyperscan" and hyperscan is None:
            raise RuntimeError("hyperscan is not installed")
        self.literals = tuple(literal.lower() for literal in literals)
        self.engine = "find" if engine == "find" or hyperscan is None else "hyperscan"
        self._local = threading.local()  # a Hyperscan scratch serves one thread at a time
        if self.engine == "hyperscan":
            self._database = hyperscan.Database()
            self._database.compile(
                expressions=[re.escape(literal) for literal in self.literals],
                ids=list(range(len(self.literals))),
                elements=len(self.literals),
                flags=hyperscan.HS_FLAG_CASELESS,
            )

    def scan(self, data: bytes, on_match: OnMatch) -> None:
        """Call `on_match` for occurrences until it returns True. Every occurrence is
        offered unless scanning stops; the order differs between engines."""
        if self.engine == "find":
            self._scan_with_find(data, on_match)
            return
        scratch = _thread_scratch(self._local, self._database)
        # When on_match returns True Hyperscan stops, and reports it as an exception.
        with contextlib.suppress(hyperscan.ScanTerminated):
            self._database.scan(
                data,
                match_event_handler=lambda index, _start, end, _flags, _ctx: on_match(index, end),
                scratch=scratch,
            )

    def _scan_with_find(self, data: bytes, on_match: OnMatch) -> None:
        lowered = data.lower()
        for index, literal in enumerate(self.literals):
            position = lowered.find(literal)
            while position >= 0:
                if on_match(index, position + len(literal)):
                    return
                position = lowered.find(literal, position + 1)


class PatternRuns:
    """Where a regular expression matches in a body, as `re.finditer` reports it: one
    Hyperscan pass that reports each match with its leftmost start, or `re.finditer`
    where Hyperscan cannot run. Only for patterns whose matches are maximal runs (a
    character class repeated without an upper bound, say): every match ending in a run
    starts where the run does, the longest ends where it does, and runs never overlap.
    The tests hold the two engines to identical answers for the patterns used."""

    def __init__(self, pattern: bytes, *, engine: str = "auto") -> None:
        if engine not in ("auto", "hyperscan", "re"):
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "hyperscan" and hyperscan is None:
            raise RuntimeError("hyperscan is not installed")
        self._regex = re.compile(pattern)
        self.engine = "re" if engine == "re" or hyperscan is None else "hyperscan"
        self._local = threading.local()
        if self.engine == "hyperscan":
            self._database = hyperscan.Database()
            self._database.compile(
                expressions=[pattern], ids=[0], elements=1, flags=hyperscan.HS_FLAG_SOM_LEFTMOST
            )

    def runs(self, data: bytes) -> list[tuple[int, int]]:
        """(start, end) of each run, in order."""
        if self.engine == "re":
            return [match.span() for match in self._regex.finditer(data)]
        scratch = _thread_scratch(self._local, self._database)
        # Matches come in order of their end: a run's last one is its longest.
        ends: dict[int, int] = {}

        def on_match(_index: int, start: int, end: int, _flags: int, _context: object) -> None:
            ends[start] = end

        self._database.scan(data, match_event_handler=on_match, scratch=scratch)
        return list(ends.items())


def _thread_scratch(local: threading.local, database: hyperscan.Database) -> hyperscan.Scratch:
    """This thread's Hyperscan scratch for `database` (a scratch serves one scan at a time)."""
    scratch = getattr(local, "scratch", None)
    if scratch is None:
        scratch = local.scratch = hyperscan.Scratch(database)
    return scratch
