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


class _SingularHead(msgspec.Struct):
    """`{"values": [...]}`, or (Relay's Values<T>) one bare item in its place: an
    object with fields of the item and no `values`."""

    values: list[msgspec.Raw] | None = None
    # Fields of a bare exception, thread or breadcrumb: any of them marks one.
    type: Any = None
    value: Any = None
    stacktrace: Any = None
    mechanism: Any = None
    id: Any = None
    crashed: Any = None
    message: Any = None
    category: Any = None
    timestamp: Any = None

    def is_singular(self) -> bool:
        if self.values is not None:
            return False
        fields = (self.type, self.value, self.stacktrace, self.mechanism, self.id)
        more = (self.crashed, self.message, self.category, self.timestamp)
        return any(field is not None for field in (*fields, *more))


def _is_singular(container: Any) -> bool:
    return isinstance(container, _SingularHead) and container.is_singular()


class EventHead(msgspec.Struct):
    event_id: Any = None
    timestamp: Any = None
    start_timestamp: Any = None
    platform: Any = None
    level: Any = None
    type: Any = None
    exception: _SingularHead | list[msgspec.Raw] | None = None
    threads: _SingularHead | list[msgspec.Raw] | None = None
    breadcrumbs: _SingularHead | list[msgspec.Raw] | None = None

    def has_exception(self) -> bool:
        return _is_singular(self.exception) or bool(interface_values(self.exception))

    def has_singular(self) -> bool:
        """Whether an interface is one bare object that normalization wraps."""
        return any(map(_is_singular, (self.exception, self.threads, self.breadcrumbs)))


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


class _Exceptions(ExceptionView):
    """`{"values": [...]}` or one bare exception (see _SingularHead)."""

    values: list[ExceptionView] | None = None
    mechanism: Any = None


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
    threads: _SingularHead | list[msgspec.Raw] | None = None
    breadcrumbs: _SingularHead | list[msgspec.Raw] | None = None
    request: _Request | None = None
    user: _User | None = None
    contexts: _Contexts | None = None

    def exceptions(self) -> list[ExceptionView]:
        values = self.exception
        if isinstance(values, _Exceptions) and values.values is None and _single_exception(values):
            return [ExceptionView(values.type, values.value, values.stacktrace)]
        return interface_values(values)

    def has_exception(self) -> bool:
        return bool(self.exceptions())

    def has_singular(self) -> bool:
        exception = self.exception
        bare = isinstance(exception, _Exceptions) and exception.values is None
        return (
            (bare and _single_exception(exception))  # type: ignore[arg-type]
            or _is_singular(self.threads)
            or _is_singular(self.breadcrumbs)
        )

    def trace_id(self) -> str | None:
        trace = self.contexts.trace if self.contexts else None
        return trace.trace_id if trace and isinstance(trace.trace_id, str) else None


def _single_exception(exception: _Exceptions) -> bool:
    fields = (exception.type, exception.value, exception.mechanism)
    return any(field is not None for field in fields) or exception.stacktrace != _NULL


_NULL = msgspec.Raw(b"null")
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
