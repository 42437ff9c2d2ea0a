"""An event's stack traces as people read them: one row per frame, resolved or not.

For JavaScript events the workers resolved with source maps, each frame shows the
original function, file, line and source line, and where the minified frame was (from
the exception's `raw_stacktrace`); the event's errors say why a frame was not resolved.
The command line (`issues show`) and the workbench print these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

# Event error types the source-map step writes (workers.sourcemaps.frames).
SOURCEMAP_ERROR_PREFIX = "js_"


@dataclass(frozen=True)
class FrameRow:
    exception: int
    exception_type: str
    position: int
    function: str
    location: str
    context_line: str
    in_app: bool | None
    # "debug-id" or "release" when a source map resolved it, else "".
    resolved_with: str
    # The frame as the SDK sent it ("t at app.min.js:1:4021"), when it was resolved.
    minified: str


def _location(frame: dict[str, Any]) -> str:
    path = frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?"
    parts = [str(path)]
    for key in ("lineno", "colno"):
        if isinstance(frame.get(key), int):
            parts.append(str(frame[key]))
        else:
            break
    return ":".join(parts)


def _describe(frame: dict[str, Any]) -> str:
    return f"{frame.get('function') or '?'} at {_location(frame)}"


def frame_rows(payload: bytes | str) -> list[FrameRow]:
    """Every exception's frames, most recent call last, as stored (resolved if it was)."""
    try:
        event = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return []
    exception = event.get("exception") if isinstance(event, dict) else None
    values = exception.get("values") if isinstance(exception, dict) else exception
    rows: list[FrameRow] = []
    for index, value in enumerate(values if isinstance(values, list) else []):
        if not isinstance(value, dict):
            continue
        frames = _frames(value.get("stacktrace"))
        raw = _frames(value.get("raw_stacktrace"))
        for position, frame in enumerate(frames):
            data = frame.get("data")
            data = data if isinstance(data, dict) else {}
            resolved = str(data.get("resolved_with") or "") if data.get("sourcemap") else ""
            raw_frame = raw[position] if resolved and position < len(raw) else None
            rows.append(
                FrameRow(
                    exception=index,
                    exception_type=str(value.get("type") or ""),
                    position=position,
                    function=str(frame.get("function") or "?"),
                    location=_location(frame),
                    context_line=str(frame.get("context_line") or "").strip(),
                    in_app=frame.get("in_app") if isinstance(frame.get("in_app"), bool) else None,
                    resolved_with=resolved,
                    minified=_describe(raw_frame) if raw_frame else "",
                )
            )
    return rows


def frame_context(
    payload: bytes | str, lines: int = 3
) -> dict[tuple[int, int], tuple[list[str], str, list[str]]]:
    """Each frame's source: the lines before (at most `lines`), its own line unstripped
    (indented like its neighbours), the lines after; keyed as `frame_rows` numbers
    frames: (exception, position)."""
    try:
        event = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return {}
    exception = event.get("exception") if isinstance(event, dict) else None
    values = exception.get("values") if isinstance(exception, dict) else exception
    found: dict[tuple[int, int], tuple[list[str], str, list[str]]] = {}
    for index, value in enumerate(values if isinstance(values, list) else []):
        if not isinstance(value, dict):
            continue
        for position, frame in enumerate(_frames(value.get("stacktrace"))):
            pre, post = _lines(frame.get("pre_context")), _lines(frame.get("post_context"))
            if pre or post:
                line = str(frame.get("context_line") or "")
                found[(index, position)] = (
                    pre[len(pre) - lines :] if lines else [],
                    line,
                    post[:lines],
                )
    return found


def _lines(value: Any) -> list[str]:
    return [str(line) for line in value] if isinstance(value, list) else []


def _frames(stacktrace: Any) -> list[dict[str, Any]]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []


def sourcemap_errors(payload: bytes | str) -> list[dict[str, Any]]:
    """Why frames stayed unresolved: the event's source-map errors."""
    try:
        event = msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return []
    errors = event.get("errors") if isinstance(event, dict) else None
    return [
        e
        for e in (errors if isinstance(errors, list) else [])
        if isinstance(e, dict) and str(e.get("type", "")).startswith(SOURCEMAP_ERROR_PREFIX)
    ]
