"""Inbound event Structs: only the fields grouping reads, decoded leniently.

The event is what an SDK sent after the relay's light normalization, so shapes
vary: `exception` is `{"values": [...]}`, a bare list or (as Relay accepts it)
one bare exception object, `logentry`/`message` a string or an object, `tags`
a dict or a list of pairs, `threads` like `exception`. Unknown fields are
ignored. A field of the wrong type is dropped (the rest of the event still
groups) and anything that is not a JSON object becomes an empty event, which
groups to the fallback hash: a worker never dies on one weird event. Structs
are `gc=False` (JSON cannot make reference cycles), so millions of decoded
frames never burden the garbage collector.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec


class FrameExtra(msgspec.Struct, frozen=True, gc=False):
    sourcemap: Any = None
    category: str | None = None


class Frame(msgspec.Struct, frozen=True, gc=False):
    """Frozen: equal frames hash alike, so whole stack traces can be memoized."""

    filename: str | None = None
    abs_path: str | None = None
    module: str | None = None
    function: str | None = None
    raw_function: str | None = None
    package: str | None = None
    platform: str | None = None
    in_app: bool | None = None
    context_line: str | None = None
    lineno: Any = None
    colno: Any = None
    data: FrameExtra | None = None


class Stacktrace(msgspec.Struct, gc=False):
    frames: list[Frame | None] | None = None


class NsError(msgspec.Struct, gc=False):
    domain: str | None = None
    code: int | str | None = None


class MechanismMeta(msgspec.Struct, gc=False):
    ns_error: NsError | None = None


class Mechanism(msgspec.Struct, gc=False):
    type: str | None = None
    synthetic: bool | None = None
    is_exception_group: bool | None = None
    exception_id: int | None = None
    parent_id: int | None = None
    meta: MechanismMeta | None = None


class SingleException(msgspec.Struct, gc=False):
    type: str | None = None
    value: str | None = None
    module: str | None = None
    stacktrace: Stacktrace | None = None
    mechanism: Mechanism | None = None


class ExceptionValues(SingleException, gc=False):
    """`{"values": [...]}`, or one bare exception when `values` is absent:
    both decode here, and a grouping version decides whether the second counts."""

    values: list[SingleException | None] | None = None

    def single(self) -> SingleException | None:
        """The bare exception this object is, if it is one (Relay's Values<T>)."""
        if self.values is not None:
            return None
        fields = (self.type, self.value, self.stacktrace, self.module, self.mechanism)
        if all(field is None for field in fields):
            return None
        return SingleException(self.type, self.value, self.module, self.stacktrace, self.mechanism)


class Thread(msgspec.Struct, gc=False):
    crashed: bool | None = None
    current: bool | None = None
    stacktrace: Stacktrace | None = None


class ThreadValues(Thread, gc=False):
    """`{"values": [...]}` or one bare thread (see ExceptionValues)."""

    values: list[Thread | None] | None = None
    id: Any = None
    name: str | None = None

    def single(self) -> Thread | None:
        if self.values is not None:
            return None
        fields = (self.crashed, self.current, self.stacktrace, self.id, self.name)
        if all(field is None for field in fields):
            return None
        return Thread(self.crashed, self.current, self.stacktrace)


class LogEntry(msgspec.Struct, gc=False):
    message: str | None = None
    formatted: str | None = None


class Template(msgspec.Struct, gc=False):
    filename: str | None = None
    context_line: str | None = None


class CspReport(msgspec.Struct, gc=False):
    """The `csp` interface the relay builds from a browser's CSP violation report."""

    effective_directive: str | None = None
    violated_directive: str | None = None
    blocked_uri: str | None = None


class HostnameReport(msgspec.Struct, gc=False):
    """The `hpkp`, `expectct` and `expectstaple` interfaces: grouping reads the host."""

    hostname: str | None = None


class Sdk(msgspec.Struct, gc=False):
    name: str | None = None


class Request(msgspec.Struct, gc=False):
    url: str | None = None


class Event(msgspec.Struct, gc=False):
    platform: str | None = None
    exception: ExceptionValues | list[SingleException | None] | None = None
    legacy_exception: ExceptionValues | list[SingleException | None] | None = msgspec.field(
        default=None, name="sentry.interfaces.Exception"
    )
    stacktrace: Stacktrace | None = None
    threads: ThreadValues | list[Thread | None] | None = None
    logentry: LogEntry | str | None = None
    message: LogEntry | str | None = None
    legacy_message: LogEntry | str | None = msgspec.field(
        default=None, name="sentry.interfaces.Message"
    )
    template: Template | None = None
    csp: CspReport | None = None
    hpkp: HostnameReport | None = None
    expectct: HostnameReport | None = None
    expectstaple: HostnameReport | None = None
    fingerprint: list[Any] | None = None
    checksum: str | None = None
    tags: dict[str, Any] | list[Any] | None = None
    level: str | None = None
    logger: str | None = None
    environment: str | None = None
    transaction: str | None = None
    culprit: str | None = None
    release: str | None = None
    sdk: Sdk | None = None
    request: Request | None = None


decode_event_bytes = msgspec.json.Decoder(Event).decode
_decode_any = msgspec.json.Decoder().decode
_PATH_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_MAX_REPAIRS = 200


def decode_event(payload: bytes | str | dict[str, Any] | Any) -> Event:
    """Decode an event, never raising: bad parts are dropped."""
    if isinstance(payload, (bytes, bytearray, memoryview, str)):
        try:
            return decode_event_bytes(payload)
        except msgspec.ValidationError:
            pass
        except msgspec.DecodeError:
            return Event()
        try:
            payload = _decode_any(payload)
        except msgspec.DecodeError:
            return Event()
    return _convert_repairing(payload)


def _convert_repairing(data: Any) -> Event:
    """Convert decoded JSON, deleting each field msgspec rejects, then retry."""
    if not isinstance(data, dict):
        return Event()
    data = _copy_json(data)
    for _ in range(_MAX_REPAIRS):
        try:
            return msgspec.convert(data, Event)
        except msgspec.ValidationError as error:
            if not _drop_invalid(data, str(error)):
                return Event()
    return Event()


def _copy_json(value: Any) -> Any:
    # A private copy, so repairs never touch the caller's dict.
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _drop_invalid(data: Any, error: str) -> bool:
    """Delete the value at the path named in a msgspec error (`... - at `$.a[0].b``)."""
    _, _, path = error.rpartition(" - at `")
    tokens = _PATH_TOKEN.findall(path.rstrip("`").removeprefix("$"))
    if not tokens:
        return False
    parent = data
    for key, index in tokens[:-1]:
        parent = _step(parent, key, index)
        if parent is None:
            return False
    key, index = tokens[-1]
    if key and isinstance(parent, dict) and key in parent:
        del parent[key]
        return True
    if index and isinstance(parent, list) and int(index) < len(parent):
        del parent[int(index)]
        return True
    return False


def _step(value: Any, key: str, index: str) -> Any:
    if key:
        return value.get(key) if isinstance(value, dict) else None
    if index and isinstance(value, list) and int(index) < len(value):
        return value[int(index)]
    return None
