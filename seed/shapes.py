"""The parts of a root cause's events that change only with the release (and browser).

A shape is built once per (root cause, release, variant) and reused by every
event of that combination: stack traces already serialized (msgspec.Raw), the
ground-truth context, breadcrumb templates. Each part went through the relay's
own scrubber when it was built, so an event assembled from shapes is stored
exactly as the relay would store it (tests/seed/test_direct.py checks this).

Releases move code: an in-app file changed by a deploy shifts its line numbers
(`line_drift`), Spring's proxy classes get a new hash at each restart, and the
browser bundle gets new file names and new mangled function names, while the
source-mapped frames stay the same.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import msgspec

from relay import write
from seed import payloads
from seed.model import ExceptionSpec, Frame, RootCause
from seed.releases import Release
from seed.sourcemaps import JsBundles

encode = msgspec.json.encode
_MANGLED = ("t", "n", "e", "r", "o", "i", "a", "s", "u", "c", "l", "d", "Ce", "Xt", "Qn", "zr")
# Browser engines whose error messages differ; Edge words errors like Chrome.
ENGINES = ("chrome", "firefox", "safari")
PYTHON_VARIANTS = 3


def prescrubbed(top: str, key: str, value: Any) -> msgspec.Raw:
    """`value` (found at event[top][key]) scrubbed as the relay would, then serialized."""
    container = {top: {key: value}}
    write.scrub(container)
    return msgspec.Raw(encode(container[top][key]))


def is_clean(part: msgspec.Raw | bytes) -> bool:
    """Nothing the relay's secret check would flag (it looks inside strings, never across)."""
    return write.is_clean(bytes(part))


def line_drift(path: str, release_index: int) -> int:
    """How far a deploy history moved the lines of one file (0 for release 0)."""
    drift = 0
    for index in range(1, release_index + 1):
        code = zlib.crc32(f"{path}/{index}".encode())
        if code % 10 < 4:  # the file changed in 40% of the deploys
            drift += (code >> 8) % 26 - 5
    return drift


def _hex(text: str, digits: int = 8) -> str:
    return f"{zlib.crc32(text.encode()):08x}"[:digits]


def release_lineno(frame: Frame, release: Release) -> int:
    """Where a release moved a frame's line (code shifts between releases)."""
    return _lineno(frame, release)


def _lineno(frame: Frame, release: Release) -> int:
    if not frame.in_app or frame.lineno <= 0:
        return frame.lineno
    return max(1, frame.lineno + line_drift(frame.abs_path, release.index))


def _python_vars(frame: Frame, variant: int) -> dict[str, str] | None:
    if not frame.in_app:
        return None
    number = 1000 + zlib.crc32(f"{frame.function}/{variant}".encode()) % 900_000
    return {
        "self": f"<{frame.module}.Service object at 0x7f{number:08x}>",
        "request_id": f"'{_hex(frame.function + str(variant), 8)}'",
        "attempt": str(1 + variant),
        "object_id": str(number),
    }


def _minified(frame: Frame, release: Release, engine: str) -> dict[str, Any]:
    key = f"{release.version}/{frame.module}/{frame.function}"
    code = zlib.crc32(key.encode())
    name = _MANGLED[code % len(_MANGLED)]
    if engine == "chrome" and frame.in_app and code % 3 == 0:
        name = f"HTMLButtonElement.{name}"
    elif engine == "firefox" and code % 2 == 0:
        name = f"{name}/<"
    bundle = "main" if frame.in_app else "vendors"
    url = f"{payloads.WEB_ORIGIN}/static/js/{bundle}.{_hex(release.version)}.js"
    return payloads.minified_frame(url, name, 1000 + (code >> 8) % 180_000, frame.in_app)


class FrameRenderer:
    """Frames of one release as the project's SDK serializes them."""

    def __init__(
        self,
        platform: str,
        release: Release,
        variant: int,
        project_key: str,
        bundles: JsBundles | None = None,
    ) -> None:
        self.platform = platform
        # Browser frames are sent minified, as the SDK sends them (`seed --sourcemaps`).
        self.bundles = bundles if platform == "javascript" else None
        self.release = release
        self.variant = variant
        self.cglib = _hex(f"{project_key}/{release.version}")
        self.sourcemap = f"{payloads.WEB_ORIGIN}/static/js/main.{_hex(release.version)}.js.map"

    def frame(self, frame: Frame) -> dict[str, Any]:
        lineno = _lineno(frame, self.release)
        if self.platform == "python":
            return payloads.python_frame(frame, lineno, _python_vars(frame, self.variant))
        if self.platform == "node":
            return payloads.node_frame(frame, lineno)
        if self.platform == "java":
            module = (frame.module or "").replace("{cglib}", self.cglib)
            return payloads.java_frame(frame, lineno, module)
        if self.bundles is not None and frame.minified:
            return self.bundles.minified_frame(frame, self.release)
        return payloads.web_frame(frame, lineno, self.sourcemap)

    def minified(self, frames: tuple[Frame, ...]) -> dict[str, Any] | None:
        if self.bundles is not None:
            return None  # the frames are the minified ones: the workers resolve them
        if self.platform != "javascript" or not any(f.minified for f in frames):
            return None
        engine = ENGINES[self.variant]
        return {"frames": [_minified(f, self.release, engine) for f in frames]}


@dataclass(frozen=True)
class ExceptionShape:
    type: str
    module: str | None
    # A format template, already chosen for the browser engine.
    value: str
    stacktrace: msgspec.Raw | None
    raw_stacktrace: msgspec.Raw | None
    mechanism: msgspec.Raw


@dataclass(frozen=True)
class Shape:
    exceptions: tuple[ExceptionShape, ...]
    seed: msgspec.Raw
    seed_regressed: msgspec.Raw
    breadcrumbs: tuple[dict[str, Any], ...]
    # The secret check found nothing in any part (nor would it in a breadcrumb's timestamp).
    clean: bool
    # Objects in the parts, for the relay's over-long-stack test.
    braces: int


def _exception(spec: ExceptionSpec, frames: FrameRenderer) -> ExceptionShape:
    value = spec.value
    if isinstance(value, dict):
        value = value[ENGINES[frames.variant]]
    stacktrace = raw = None
    if spec.frames:
        stacktrace = prescrubbed(
            "exception", "stacktrace", {"frames": [frames.frame(f) for f in spec.frames]}
        )
        minified = frames.minified(spec.frames)
        if minified is not None:
            raw = prescrubbed("exception", "raw_stacktrace", minified)
    mechanism = msgspec.Raw(encode(spec.mechanism))
    return ExceptionShape(spec.type, spec.module, value, stacktrace, raw, mechanism)


def seed_context(rc: RootCause, release: Release, regressed: bool, run: str) -> msgspec.Raw:
    truth = {
        "root_cause": rc.id,
        "family": rc.family,
        "category": rc.category,
        "severity": rc.severity,
        "title": rc.title,
        "release": release.version,
        "regression": regressed,
        "run": run,
    }
    return prescrubbed("contexts", "seed", truth)


def build_shape(
    rc: RootCause,
    release: Release,
    variant: int,
    *,
    platform: str,
    run: str,
    breadcrumbs,
    bundles: JsBundles | None = None,
) -> Shape:
    frames = FrameRenderer(platform, release, variant, rc.project, bundles)
    exceptions = tuple(_exception(e, frames) for e in getattr(rc.spec, "exceptions", ()))
    crumbs = {"breadcrumbs": [dict(b) for b in breadcrumbs]}
    write.scrub(crumbs)
    seed = seed_context(rc, release, False, run)
    seed_regressed = seed_context(rc, release, True, run)
    parts = [seed, seed_regressed, encode(crumbs["breadcrumbs"])]
    for exc in exceptions:
        parts.extend(p for p in (exc.stacktrace, exc.raw_stacktrace, exc.mechanism) if p)
        parts.append(encode([exc.type, exc.module]))
    return Shape(
        exceptions=exceptions,
        seed=seed,
        seed_regressed=seed_regressed,
        breadcrumbs=tuple(crumbs["breadcrumbs"]),
        clean=all(is_clean(part) for part in parts),
        braces=sum(bytes(part).count(b"{") for part in parts),
    )
