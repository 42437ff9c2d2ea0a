"""The parts of a stored event payload the AI features read: exceptions and frames.

Lax msgspec Structs that declare only these fields (`Any` where SDKs disagree on
types), so request bodies, user data, extra, breadcrumbs and contexts are never
even decoded: what is not read cannot leak into a prompt.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.event.accessors import interface_values, message_text


class Frame(msgspec.Struct):
    filename: Any = None
    abs_path: Any = None
    module: Any = None
    function: Any = None
    lineno: Any = None
    in_app: Any = None
    context_line: Any = None
    pre_context: Any = None
    post_context: Any = None


class _Stacktrace(msgspec.Struct):
    frames: list[Frame] | None = None


class _Mechanism(msgspec.Struct):
    type: Any = None
    handled: Any = None


class ExceptionValue(msgspec.Struct):
    type: Any = None
    value: Any = None
    module: Any = None
    mechanism: _Mechanism | None = None
    stacktrace: _Stacktrace | None = None


class _Exceptions(msgspec.Struct):
    values: list[ExceptionValue] | None = None


class _LogEntry(msgspec.Struct):
    formatted: Any = None
    message: Any = None


class EventView(msgspec.Struct):
    platform: Any = None
    exception: _Exceptions | list[ExceptionValue] | None = None
    logentry: _LogEntry | None = None
    message: Any = None
    stacktrace: _Stacktrace | None = None

    @property
    def exceptions(self) -> list[ExceptionValue]:
        """The chain, outermost first (Sentry stores the innermost, raised one last)."""
        return interface_values(self.exception)

    @property
    def frames(self) -> list[Frame]:
        """The main exception's frames (or the thread stack), outermost first."""
        for exc in reversed(self.exceptions):
            if exc.stacktrace and exc.stacktrace.frames:
                return exc.stacktrace.frames
        if self.stacktrace and self.stacktrace.frames:
            return self.stacktrace.frames
        return []

    @property
    def text_message(self) -> str:
        return message_text(self.logentry, self.message, 2000)


_decode_view = msgspec.json.Decoder(EventView).decode


def decode_view(payload: bytes | str) -> EventView:
    try:
        return _decode_view(payload)
    except (msgspec.ValidationError, msgspec.DecodeError):
        # An odd shape in a part we read: keep what the promoted columns say instead.
        return EventView()


def text(value: Any, limit: int = 2000) -> str:
    if value is None:
        return ""
    return (value if isinstance(value, str) else str(value))[:limit]


def frame_location(frame: Frame) -> str:
    return text(frame.module) or text(frame.filename) or text(frame.abs_path) or "?"


def in_app_frames(frames: list[Frame], limit: int) -> list[Frame]:
    """Innermost in-app frames first; all frames when none is marked in-app."""
    marked = [f for f in frames if f.in_app is True]
    return list(reversed(marked or frames))[:limit]
