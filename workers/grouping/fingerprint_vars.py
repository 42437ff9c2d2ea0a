"""What fingerprint rules see of an event, and `{{ variable }}` resolution.

Variables (Sentry's get_fingerprint_value): default, transaction, message,
type/error.type, value/error.value, function/stack.function,
path/stack.abs_path, stack.filename, module/stack.module,
package/stack.package (basename), level, logger, tags.<key>. A missing value
becomes a placeholder like `<no-type>` or `<no-value-for-tag-X>`. Frame
variables read the crash frame: the last in-app frame of the last exception
(else its last frame), or of the event's stack trace, or of its only thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from workers.grouping.event import Frame
from workers.grouping.normalize import PreparedEvent

VARIABLE = re.compile(r"\{\{\s*(\S+?)\s*\}\}")


def parse_variable(value: str) -> str | None:
    found = VARIABLE.fullmatch(value)
    return found.group(1) if found else None


def is_default(value: str) -> bool:
    return parse_variable(value) == "default"


def _all_frames(event: PreparedEvent) -> Iterator[Frame]:
    for stack in (*event.exception_stacks, event.stack, *event.thread_stacks):
        if stack is not None:
            yield from stack.frames


def normalized_sdk(name: str | None) -> str:
    """Sentry's normalize_sdk_tag: `sentry.python.django` -> `sentry.python`."""
    if not name or not name.startswith(("sentry.", "sentry-")):
        return "other"
    parts = name.split(".")
    if len(parts) > 1 and parts[1] not in ("javascript", "native"):
        return ".".join(parts[:2])
    return name


class EventAccess:
    """Per-group values for rule matching, built lazily and once per event."""

    def __init__(self, event: PreparedEvent) -> None:
        self.event = event
        self._cache: dict[str, list[dict]] = {}

    def __call__(self, group: str) -> list[dict]:
        values = self._cache.get(group)
        if values is None:
            values = self._cache[group] = getattr(self, "_" + group)()
        return values

    def _exceptions(self) -> list[dict]:
        return [{"type": e.type, "value": e.value} for e in self.event.exceptions]

    def _messages(self) -> list[dict]:
        message = self.event.formatted
        out = [{"message": message}] if message else []
        return out + [{"value": e.value} for e in self.event.exceptions if e.value]

    def _log_info(self) -> list[dict]:
        raw = self.event.event
        return [{"logger": raw.logger, "level": raw.level}]

    def _tags(self) -> list[dict]:
        return [{f"tags.{key}": value for key, value in self.event.tags}]

    def _frames(self) -> list[dict]:
        return [
            {
                "function": f.function,
                "module": f.module,
                "abs_path": f.abs_path,
                "filename": f.filename,
                "package": f.package,
                "app": f.in_app,
            }
            for f in _all_frames(self.event)
        ]

    def _sdk(self) -> list[dict]:
        sdk = self.event.event.sdk
        return [{"sdk": normalized_sdk(sdk.name if sdk is not None else None)}]

    def _release(self) -> list[dict]:
        return [{"release": self.event.event.release}]


def crash_frame(event: PreparedEvent) -> Frame | None:
    stack = event.exception_stacks[-1] if event.exception_stacks else None
    stack = stack or event.stack
    if stack is None and len(event.thread_stacks) == 1:
        stack = event.thread_stacks[0]
    if stack is None or not stack.frames:
        return None
    for frame in reversed(stack.frames):
        if frame.in_app:
            return frame
    return stack.frames[-1]


def _frame_value(var: str, event: PreparedEvent) -> str | None:
    frame = crash_frame(event)
    if frame is None:
        return None
    if var in ("function", "stack.function"):
        return frame.function
    if var in ("path", "stack.abs_path"):
        return frame.abs_path or frame.filename
    if var == "stack.filename":
        return frame.filename
    if var in ("module", "stack.module"):
        return frame.module
    package = frame.package
    return package.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] if package else None


_FRAME_PLACEHOLDERS = {
    "function": "<no-function>",
    "stack.function": "<no-function>",
    "path": "<no-abs-path>",
    "stack.abs_path": "<no-abs-path>",
    "stack.filename": "<no-filename>",
    "module": "<no-module>",
    "stack.module": "<no-module>",
    "package": "<no-package>",
    "stack.package": "<no-package>",
}


def variable_value(var: str, event: PreparedEvent) -> str | None:
    """The value of `{{ var }}`, a `<no-...>` placeholder, or None if unknown."""
    raw = event.event
    last = event.exceptions[-1] if event.exceptions else None
    if var == "transaction":
        return raw.transaction or "<no-transaction>"
    if var == "message":
        return event.formatted or event.message or (last and last.value) or "<no-message>"
    if var in ("type", "error.type"):
        return (last and last.type) or "<no-type>"
    if var in ("value", "error.value"):
        return (last and last.value) or "<no-value>"
    if var in _FRAME_PLACEHOLDERS:
        return _frame_value(var, event) or _FRAME_PLACEHOLDERS[var]
    if var == "level":
        return raw.level or "<no-level>"
    if var == "logger":
        return raw.logger or "<no-logger>"
    if var.startswith("tags."):
        tag = var[5:]
        for key, value in event.tags:
            if key == tag:
                return value
        return f"<no-value-for-tag-{tag}>"
    return None


def resolve_fingerprint(values: list[str], event: PreparedEvent) -> list[str]:
    """Replace `{{ variables }}` (keeping `{{ default }}` for the variants to fill)."""
    out = []
    for value in values:
        var = parse_variable(value)
        resolved = None if var is None or var == "default" else variable_value(var, event)
        out.append(value if resolved is None else resolved)
    return out


def expand_title(template: str, event: PreparedEvent) -> str:
    def substitute(found: re.Match[str]) -> str:
        value = variable_value(found.group(1), event)
        return found.group(0) if value is None else value

    return VARIABLE.sub(substitute, template)
