"""What resolution needs from an event, decoded lax and fast: its platform, release and
dist, the debug ids the SDK reported, and the frames of its exceptions.

Most events are not JavaScript, or have no frame a map could resolve; they cost one
typed decode here and are otherwise left untouched (their payload bytes pass through).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})
# Frames from these are the runtime's own: no map was ever uploaded for them.
_RUNTIME_PREFIXES = ("node:", "native", "[native code]", "<anonymous>", "internal/")


class _FrameData(msgspec.Struct, gc=False):
    sourcemap: Any = None


class _Frame(msgspec.Struct, gc=False):
    filename: Any = None
    abs_path: Any = None
    function: Any = None
    lineno: Any = None
    colno: Any = None
    in_app: Any = None
    platform: Any = None
    data: _FrameData | None = None


class _Stacktrace(msgspec.Struct, gc=False):
    frames: list[_Frame | None] | None = None


class _Exception(msgspec.Struct, gc=False):
    stacktrace: _Stacktrace | None = None


class _Exceptions(msgspec.Struct, gc=False):
    values: list[_Exception | None] | None = None


class _Image(msgspec.Struct, gc=False):
    type: Any = None
    code_file: Any = None
    debug_id: Any = None


class _DebugMeta(msgspec.Struct, gc=False):
    images: list[_Image | None] | None = None


class _Event(msgspec.Struct, gc=False):
    platform: Any = None
    release: Any = None
    dist: Any = None
    exception: _Exceptions | None = None
    debug_meta: _DebugMeta | None = None


_decode = msgspec.json.Decoder(_Event).decode


@dataclass(frozen=True)
class FrameRef:
    """A frame a map may resolve: where it is in the event, and where it points."""

    exception: int
    frame: int
    path: str
    lineno: int
    colno: int | None
    function: str | None
    in_app: bool | None


@dataclass(frozen=True)
class Probe:
    release: str
    dist: str
    # code_file -> debug id, from debug_meta.images of type "sourcemap".
    debug_ids: dict[str, str]
    frames: list[FrameRef]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def probe(payload: bytes) -> Probe | None:
    """The event's resolvable frames, or None when it has none (or does not decode)."""
    try:
        event = _decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if event.exception is None or not event.exception.values:
        return None
    platform = _text(event.platform)
    frames = []
    for e_index, exception in enumerate(event.exception.values):
        if exception is None or exception.stacktrace is None:
            continue
        for f_index, frame in enumerate(exception.stacktrace.frames or ()):
            ref = _frame_ref(frame, platform, e_index, f_index)
            if ref is not None:
                frames.append(ref)
    if not frames:
        return None
    return Probe(
        release=_text(event.release),
        dist=_text(event.dist),
        debug_ids=_debug_ids(event.debug_meta),
        frames=frames,
    )


def _frame_ref(frame: _Frame | None, platform: str, e_index: int, f_index: int):
    if frame is None:
        return None
    if (_text(frame.platform) or platform) not in JAVASCRIPT_PLATFORMS:
        return None
    if frame.data is not None and frame.data.sourcemap is not None:
        return None  # resolved already
    path = _text(frame.abs_path) or _text(frame.filename)
    if not path or path.startswith(_RUNTIME_PREFIXES):
        return None
    if not isinstance(frame.lineno, int) or isinstance(frame.lineno, bool) or frame.lineno < 1:
        return None
    colno = frame.colno if isinstance(frame.colno, int) and frame.colno >= 1 else None
    return FrameRef(
        exception=e_index,
        frame=f_index,
        path=path,
        lineno=frame.lineno,
        colno=colno,
        function=_text(frame.function) or None,
        in_app=frame.in_app if isinstance(frame.in_app, bool) else None,
    )


def _debug_ids(meta: _DebugMeta | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for image in (meta.images or ()) if meta else ():
        if image is None or image.type != "sourcemap":
            continue
        code_file, debug_id = _text(image.code_file), _text(image.debug_id)
        if code_file and debug_id:
            found[code_file] = debug_id.lower()
    return found
