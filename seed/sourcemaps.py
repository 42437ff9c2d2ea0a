"""`just seed --sourcemaps`: browser errors sent minified, as the SDK sends them, with the
source maps of every release uploaded, so the workers resolve them before grouping.

Without the option the seeder sends browser frames as Sentry stores them after its
source-map step. With it, each release of a browser project gets two bundles (`main`
for the app's code, `vendors` for node_modules) holding every frame of the catalogue in
a slot of its own: `function <name>(){return 0}` at a fixed column of one long line,
and a source map whose tokens send the slot's name to the frame's function and its
`return` to the frame's file, line and column, with the source lines in
`sourcesContent`. The frames' positions are the same in every generator process (they
follow from the catalogue alone), the lines follow the release (code moves between
releases), and the bundles carry debug ids that events name in `debug_meta`.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.artifacts.bundle import Bundle
from core.artifacts.bundle import BundleFile as StoredFile
from core.artifacts.store import ArtifactStore
from core.pg.artifacts import index_bundle
from core.storage.postgres import Pool
from seed.catalogue.frames import WEB_ROOT
from seed.model import ExceptionSpec, Frame, RootCause
from seed.payloads import WEB_ORIGIN
from seed.releases import Release

SLOT_WIDTH = 48
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def vlq(value: int) -> str:
    """One source-map VLQ number."""
    value = (-value << 1) | 1 if value < 0 else value << 1
    out = ""
    while True:
        digit = value & 31
        value >>= 5
        out += _B64[digit | (32 if value else 0)]
        if not value:
            return out


def identifier(index: int) -> str:
    """a, b, ..., z, ba, bb, ...: a minifier's names, never a keyword (all have 'z'-free
    prefixes of letters only and are at most 3 letters: 'do', 'if', 'in' are skipped)."""
    name = ""
    index += 1
    while index:
        index, digit = divmod(index - 1, 26)
        name = _LETTERS[digit] + name
    return name if name not in {"do", "if", "in", "for", "let", "new", "try", "var"} else f"_{name}"


def frame_key(frame: Frame) -> tuple[str, str, int]:
    return (frame.abs_path, frame.function, frame.colno or 0)


@dataclass(frozen=True)
class Slot:
    name: str
    column: int  # 1-based column of the slot's `return`, the frame's position


@dataclass(frozen=True)
class BundleFile:
    url: str
    kind: str
    content: bytes
    headers: dict[str, str]


class JsBundles:
    """The browser bundles of every release of one seed run."""

    def __init__(self, catalogue: list[RootCause], origin: str, projects: set[str]) -> None:
        self.origin = origin
        frames: dict[str, dict[tuple[str, str, int], Frame]] = {"main": {}, "vendors": {}}
        for rc in catalogue:
            if rc.project not in projects:
                continue
            for exception in getattr(rc.spec, "exceptions", ()):
                for frame in _frames(exception):
                    frames[_bundle(frame)].setdefault(frame_key(frame), frame)
        self.frames = {name: [found[k] for k in sorted(found)] for name, found in frames.items()}
        self.slots = {
            name: {
                frame_key(f): Slot(identifier(i), i * SLOT_WIDTH + _return_offset(identifier(i)))
                for i, f in enumerate(listed)
            }
            for name, listed in self.frames.items()
        }

    def url(self, bundle: str, release: Release) -> str:
        return f"{self.origin}/static/js/{bundle}.{_hex(release.version)}.js"

    def debug_id(self, bundle: str, release: Release) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.url(bundle, release)))

    def minified_frame(self, frame: Frame, release: Release) -> dict:
        bundle = _bundle(frame)
        slot = self.slots[bundle][frame_key(frame)]
        url = self.url(bundle, release)
        return {
            "filename": url,
            "abs_path": url,
            "function": slot.name,
            "lineno": 1,
            "colno": slot.column,
            "in_app": frame.in_app,
        }

    def debug_meta(self, release: Release) -> dict:
        return {
            "images": [
                {
                    "type": "sourcemap",
                    "code_file": self.url(b, release),
                    "debug_id": self.debug_id(b, release),
                }
                for b in ("main", "vendors")
            ]
        }

    def files(self, release: Release, lineno) -> list[BundleFile]:
        """Both bundles of a release and their maps; `lineno(frame, release)` is where
        the release moved each frame's line."""
        out = []
        for bundle, frames in self.frames.items():
            if not frames:
                continue
            url = self.url(bundle, release)
            name = url.rsplit("/", 1)[-1]
            code, source_map = self._build(bundle, frames, release, lineno)
            debug_id = self.debug_id(bundle, release)
            out.append(
                BundleFile(
                    f"~/static/js/{name}",
                    "minified_source",
                    code,
                    {"debug-id": debug_id, "sourcemap": f"{name}.map"},
                )
            )
            out.append(
                BundleFile(
                    f"~/static/js/{name}.map", "source_map", source_map, {"debug-id": debug_id}
                )
            )
        return out

    def _build(self, bundle, frames: list[Frame], release: Release, lineno) -> tuple[bytes, bytes]:
        sources: dict[str, dict[int, str]] = {}
        names: list[str] = []
        segments: list[str] = []
        previous = [0, 0, 0, 0, 0]  # column, source, line, column, name
        code = []
        for frame in frames:
            slot = self.slots[bundle][frame_key(frame)]
            source = frame.abs_path.removeprefix(WEB_ROOT)
            line = lineno(frame, release)
            lines = sources.setdefault(source, {})
            # The catalogue may put two different lines at one place in a file; a real
            # file cannot hold both, so the second moves down to the next free line.
            while lines.get(line, frame.context_line or "") != (frame.context_line or ""):
                line += 1
            lines[line] = frame.context_line or ""
            source_index = list(sources).index(source)
            names.append(frame.function)
            declaration = slot.column - _return_offset(slot.name) + len("function ")
            # As a minifier maps it: `function` and the name are tokens of their own, and
            # the name's ends where the next begins; symbolic reads the minified name
            # between them to find the original function's name.
            tokens = (
                (declaration - len("function "), None),
                (declaration, len(names) - 1),
                (declaration + len(slot.name), None),
                (slot.column - 1, None),
            )
            for column, name_index in tokens:
                fields = [column, source_index, line - 1, max((frame.colno or 1) - 1, 0)]
                if name_index is not None:
                    fields.append(name_index)
                deltas = [value - previous[i] for i, value in enumerate(fields)]
                segments.append("".join(vlq(d) for d in deltas))
                previous[: len(fields)] = fields
            code.append(f"function {slot.name}(){{return 0}}".ljust(SLOT_WIDTH))
        source_map = {
            "version": 3,
            "file": f"{bundle}.js",
            "sources": [f"{WEB_ROOT}{s}" for s in sources],
            "sourcesContent": [_content(lines) for lines in sources.values()],
            "names": names,
            "mappings": ",".join(segments),
        }
        return "".join(code).encode(), json.dumps(source_map).encode()


def _return_offset(name: str) -> int:
    """1-based column of `return` inside the slot `function <name>(){return 0}`."""
    return len(f"function {name}(){{") + 1


def _content(lines: dict[int, str]) -> str:
    last = max(lines)
    return "\n".join(lines.get(n, "") for n in range(1, last + 1)) + "\n"


def _frames(exception: ExceptionSpec):
    return (f for f in exception.frames if f.minified)


def _bundle(frame: Frame) -> str:
    return "main" if frame.in_app else "vendors"


def _hex(text: str) -> str:
    return f"{zlib.crc32(text.encode()):08x}"


def js_bundles(plan: Any) -> JsBundles | None:
    """The run's bundles when it sends minified browser errors (`--sourcemaps`)."""
    if not plan.options.sourcemaps:
        return None
    browser = {p.key for p in plan.projects if p.platform == "javascript"}
    return JsBundles(plan.catalogue, WEB_ORIGIN, browser)


def upload_source_maps(
    pool: Pool,
    store: ArtifactStore,
    plan: Any,
    project_ids: dict[str, int],
    lineno: Callable[[Frame, Release], int],
) -> int:
    """Store and index every release's bundles and maps, as `sentry-cli sourcemaps
    upload` through the relay would (the same store and index); returns bundles indexed."""
    bundles = js_bundles(plan)
    if bundles is None:
        return 0
    indexed = 0
    for project in plan.projects:
        if project.platform != "javascript" or project.key not in project_ids:
            continue
        for release in plan.releases[project.key]:
            files = [
                StoredFile(
                    f.url,
                    f.url,
                    f.kind,
                    f.headers.get("debug-id"),
                    f.headers.get("sourcemap", ""),
                    f.content,
                )
                for f in bundles.files(release, lineno)
            ]
            sha1s = [store.put_file(f.content) for f in files]
            bundle = Bundle(bundle_id="", release=release.version, dist="", files=files)
            checksum = _hex(f"{plan.run_id}/{release.version}") * 5
            with pool.connection() as conn, conn.transaction():
                indexed += index_bundle(conn, project_ids[project.key], checksum, bundle, sha1s)
    return indexed
