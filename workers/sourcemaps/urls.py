"""URLs and paths of JavaScript frames: where a release file may have been uploaded,
where a map's sources are, and the module name Sentry derives from a source."""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin, urlsplit

# A frame's file is looked up under at most this many names (deep paths stop here).
MAX_CANDIDATES = 10
_VERSION_SEGMENT = re.compile(r"^[a-f0-9]{32}|[a-f0-9]{40}$", re.IGNORECASE)
_LEADING_RELATIVE = re.compile(r"^(?:/|(?<!\w)\.{1,2}/)+")
_SCHEMELESS_PREFIXES = ("webpack://", "webpack:///", "app:///", "app://")


def strip_query(path: str) -> str:
    return path.split("#", 1)[0].split("?", 1)[0]


def url_path(path: str) -> str:
    """The path part of a URL (`http://host/a/b.js?v=1` -> `/a/b.js`), or the path itself."""
    bare = strip_query(path)
    parts = urlsplit(bare)
    if parts.scheme and len(parts.scheme) > 1:
        return parts.path
    return bare


@functools.lru_cache(maxsize=65_536)
def candidate_urls(path: str) -> tuple[str, ...]:
    """The names a release file for `path` may carry, most specific first: the URL as
    is, without its query, then `~/` plus the path with fewer and fewer leading
    directories (`~/static/js/app.js`, `~/js/app.js`, `~/app.js`), as Sentry matches."""
    found: list[str] = []
    for name in (path, strip_query(path)):
        if name not in found:
            found.append(name)
    segments = [s for s in url_path(path).split("/") if s]
    for start in range(len(segments)):
        found.append("~/" + "/".join(segments[start:]))
    return tuple(found[:MAX_CANDIDATES])


@functools.lru_cache(maxsize=65_536)
def join(base: str, reference: str) -> str:
    """`reference` (a map's URL in a `sourcemap` header, a source in a map) read relative
    to `base`: a URL, a `~/` release path or a file path."""
    if reference.startswith(_SCHEMELESS_PREFIXES) or urlsplit(reference).scheme:
        return reference
    if base.startswith("~/"):
        return "~/" + urljoin(base[1:], reference).lstrip("/")
    return urljoin(base, reference)


def source_filename(source: str) -> str:
    """A map's source as Sentry shows it: without webpack's scheme and leading `./`."""
    if source.startswith("webpack://"):
        # webpack://<namespace>/./src/x.js, or no namespace: webpack:///./src/x.js
        rest = source[len("webpack://") :]
        source = rest.split("/", 1)[1] if "/" in rest else rest
    while source.startswith("./"):
        source = source[2:]
    return source


@functools.lru_cache(maxsize=65_536)
def resolved_paths(map_url: str, source: str) -> tuple[str, str, str]:
    """A resolved frame's abs_path, filename and module, from its map's URL and source."""
    abs_path = join(map_url, source)
    filename = source_filename(source)
    if "://" in abs_path and not filename.startswith("/"):
        filename = url_path(abs_path) or filename
    return abs_path, filename, generate_module(source)


def generate_module(source: str) -> str:
    """Sentry's module name for a JavaScript source: its path without extension, leading
    `/`, `./` and `../`, or `.min` (`../src/cart/total.js` -> `src/cart/total`)."""
    stem = url_path(source_filename(source))
    stem = stem.rsplit(".", 1)[0] if "." in stem.rsplit("/", 1)[-1] else stem
    stem = stem.removesuffix(".min")
    segments = stem.split("/")
    for index, segment in enumerate(segments):
        if _VERSION_SEGMENT.match(segment):
            return "/".join(segments[index + 1 :])
    return _LEADING_RELATIVE.sub("", stem) or "<unknown module>"
