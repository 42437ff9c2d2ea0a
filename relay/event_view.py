"""What the relay reads of an event, decoded once per event.

Two lax msgspec views: `EventHead`, just what normalization needs (the common path,
cheap: everything else is skipped, not decoded), and `EventView`, the head plus what
inbound filters and dynamic sampling read, decoded instead of the head when a
project's policy needs them. A shape we did not expect makes `read_*` return None;
the caller then takes the slow, tolerant path.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.event.accessors import interface_values


class _ExceptionHead(msgspec.Struct):
    values: list[msgspec.Raw] | None = None


class EventHead(msgspec.Struct):
    event_id: Any = None
    timestamp: Any = None
    start_timestamp: Any = None
    platform: Any = None
    level: Any = None
    type: Any = None
    exception: _ExceptionHead | list[msgspec.Raw] | None = None

    def has_exception(self) -> bool:
        return bool(interface_values(self.exception))


class Frame(msgspec.Struct):
    module: Any = None
    filename: Any = None
    abs_path: Any = None
    function: Any = None


class _Stack(msgspec.Struct):
    frames: list[Frame] | None = None


class _RawStack(msgspec.Struct):
    frames: list[msgspec.Raw] | None = None


_decode_stack = msgspec.json.Decoder(_Stack).decode
_decode_raw_stack = msgspec.json.Decoder(_RawStack).decode
_decode_frame = msgspec.json.Decoder(Frame).decode


class ExceptionView(msgspec.Struct):
    type: Any = None
    value: Any = None
    # Left undecoded: most decisions never look at frames (see `frames`). msgspec takes no
    # union with Raw, so an absent or null stack trace is the raw text "null".
    stacktrace: msgspec.Raw = msgspec.Raw(b"null")

    @property
    def frames(self) -> list[Frame]:
        try:
            return _decode_stack(self.stacktrace).frames or []
        except msgspec.ValidationError:
            return []

    @property
    def last_frame(self) -> Frame | None:
        """The crashing frame alone: skipping the others costs less than decoding them."""
        try:
            frames = _decode_raw_stack(self.stacktrace).frames
            return _decode_frame(frames[-1]) if frames else None
        except msgspec.ValidationError:
            return None


class _Exceptions(msgspec.Struct):
    values: list[ExceptionView] | None = None


class _LogEntry(msgspec.Struct):
    formatted: Any = None
    message: Any = None


class _Request(msgspec.Struct):
    url: Any = None
    headers: dict[str, Any] | list[Any] | None = None
    env: dict[str, Any] | None = None


class _User(msgspec.Struct):
    ip_address: Any = None


class _TraceContext(msgspec.Struct):
    trace_id: Any = None


class _Contexts(msgspec.Struct):
    trace: _TraceContext | None = None


class EventView(msgspec.Struct):
    """The head's fields, and what filters and sampling read."""

    event_id: Any = None
    timestamp: Any = None
    start_timestamp: Any = None
    platform: Any = None
    level: Any = None
    type: Any = None
    release: Any = None
    message: Any = None
    fingerprint: Any = None
    logentry: _LogEntry | None = None
    exception: _Exceptions | list[ExceptionView] | None = None
    request: _Request | None = None
    user: _User | None = None
    contexts: _Contexts | None = None

    def exceptions(self) -> list[ExceptionView]:
        return interface_values(self.exception)

    def has_exception(self) -> bool:
        return bool(self.exceptions())

    def trace_id(self) -> str | None:
        trace = self.contexts.trace if self.contexts else None
        return trace.trace_id if trace and isinstance(trace.trace_id, str) else None


_decode_head = msgspec.json.Decoder(EventHead).decode
_decode_view = msgspec.json.Decoder(EventView).decode


def read_head(payload: bytes) -> EventHead | None:
    """The head, or None when the shape is unexpected; DecodeError for invalid JSON."""
    try:
        return _decode_head(payload)
    except msgspec.ValidationError:
        return None


def read_view(payload: bytes) -> EventView | None:
    try:
        return _decode_view(payload)
    except msgspec.ValidationError:
        return None
