"""Parsed source maps, kept in a bounded LRU, and the lookup of one minified position.

A map is parsed with `symbolic` (Sentry's Rust source-map library) together with its
minified file, which symbolic reads to name the original function a position is in.
A map that does not parse is remembered as bad (with symbolic's reason), so a broken
upload costs one parse, not one per event. Each map also memoizes the positions it has
resolved: production traffic repeats the same few frames.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from symbolic.exceptions import SymbolicError
from symbolic.sourcemap import SourceMapView, SourceView

CONTEXT_LINES = 5
# Sentry drops context lines over this length (a minified line would flood the page).
MAX_CONTEXT_LINE_CHARS = 1000
MAX_MEMOIZED_POSITIONS = 20_000


@dataclass(frozen=True)
class Token:
    """An original position: 1-based line and column, the source and its function."""

    source: str
    lineno: int
    colno: int
    function: str | None
    context: tuple[list[str], str, list[str]] | None


class ParsedMap:
    def __init__(self, view: SourceMapView, minified: SourceView | None) -> None:
        self.view = view
        self.minified = minified
        self._positions: dict[tuple[int, int, str | None], Token | None] = {}
        self._contexts: dict[tuple[int, int], tuple[list[str], str, list[str]] | None] = {}

    def lookup(self, lineno: int, colno: int, function: str | None) -> Token | None:
        """The original position of a minified 1-based (line, column), or None when the
        map has no token there."""
        key = (lineno, colno, function)
        if key in self._positions:
            return self._positions[key]
        token = self._lookup(lineno, colno, function)
        if len(self._positions) >= MAX_MEMOIZED_POSITIONS:
            self._positions.clear()
        self._positions[key] = token
        return token

    def _lookup(self, lineno: int, colno: int, function: str | None) -> Token | None:
        if function and self.minified is not None:
            match = self.view.lookup(lineno - 1, colno - 1, function, self.minified)
        else:
            match = self.view.lookup(lineno - 1, colno - 1)
        if match is None or match.src is None:
            return None
        return Token(
            source=match.src,
            lineno=match.src_line + 1,
            colno=match.src_col + 1,
            function=match.function_name,
            context=self._context(match.src_id, match.src_line),
        )

    def _context(self, src_id: int | None, line: int):
        if src_id is None:
            return None
        key = (src_id, line)
        if key not in self._contexts:
            self._contexts[key] = self._read_context(src_id, line)
        return self._contexts[key]

    def _read_context(self, src_id: int, line: int):
        source = self.view.get_sourceview(src_id)
        if source is None or line >= len(source):
            return None  # the map has no sourcesContent for it

        def clip(text: str) -> str:
            return text if len(text) <= MAX_CONTEXT_LINE_CHARS else ""

        pre = [clip(t) for t in source[max(0, line - CONTEXT_LINES) : line]]
        post = [clip(t) for t in source[line + 1 : line + 1 + CONTEXT_LINES]]
        return pre, clip(source[line]), post


class BadMap(Exception):
    """A map (or its minified file) that symbolic cannot read; says why."""


def parse_map(map_bytes: bytes, minified_bytes: bytes | None) -> ParsedMap:
    try:
        view = SourceMapView.from_json_bytes(map_bytes)
        minified = SourceView.from_bytes(minified_bytes) if minified_bytes else None
    except SymbolicError as e:
        raise BadMap(str(e) or type(e).__name__) from e
    return ParsedMap(view, minified)


class MapCache:
    """The most recently used parsed maps (and bad ones), keyed by their files' SHA-1s."""

    def __init__(self, max_maps: int) -> None:
        self.max_maps = max(1, max_maps)
        self._maps: OrderedDict[tuple[str, str], ParsedMap | BadMap] = OrderedDict()
        self._lock = threading.Lock()
        self.parsed = 0

    def get(self, key: tuple[str, str]) -> ParsedMap | BadMap | None:
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: ParsedMap | BadMap) -> None:
        with self._lock:
            self.parsed += 1
            self._maps[key] = value
            self._maps.move_to_end(key)
            while len(self._maps) > self.max_maps:
                self._maps.popitem(last=False)

    def __len__(self) -> int:
        return len(self._maps)
