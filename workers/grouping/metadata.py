"""Issue title and culprit, as Sentry shows them.

Error events: "Type: first line of value" (value cut at 100 characters), the
type alone without a value, and for a synthetic exception (a signal turned
into an exception) the crash function; a synthetic exception that carries a
message (JavaScript SDKs' captureMessage with a stack trace) shows the
message instead. Security reports: Relay's message ("Blocked 'script' from
'evil.example'"). Message events: the first line of the message. Culprit:
the transaction, else the crash frame ("app.views in handle",
"handleClick(app.js)" for JavaScript, the function for native), else the
event's own culprit or the request URL.
"""

from __future__ import annotations

from workers.grouping.event import Frame
from workers.grouping.fingerprint_vars import crash_frame
from workers.grouping.normalize import PreparedEvent
from workers.grouping.security import security_title

MAX_TITLE_VALUE = 100
MAX_CULPRIT = 200
_NATIVE_CULPRIT_PLATFORMS = frozenset({"objc", "cocoa", "native"})


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0] if lines else ""


def compute_title(event: PreparedEvent) -> str:
    if event.exceptions:
        main = event.exceptions[-1]
        mechanism = main.mechanism
        if mechanism is not None and mechanism.synthetic:
            message = (event.formatted or event.message or "").strip()
            if message:
                # captureMessage with a stack trace (JavaScript SDKs send the
                # message as a synthetic exception): the message is the title.
                return truncate(_first_line(message), MAX_TITLE_VALUE)
            frame = crash_frame(event)
            return (frame.function if frame is not None else None) or "<unknown>"
        kind = main.type or "Error"
        if not main.value:
            return kind
        return f"{kind}: {truncate(_first_line(main.value), MAX_TITLE_VALUE)}"
    security = security_title(event)
    if security is not None:
        return security
    message = (event.formatted or event.message or "").strip()
    if message:
        return truncate(_first_line(message), MAX_TITLE_VALUE)
    return "<unlabeled event>"


def frame_culprit(frame: Frame, platform: str) -> str:
    platform = frame.platform or platform
    if platform in _NATIVE_CULPRIT_PLATFORMS:
        return frame.function or "?"
    location = frame.module or frame.filename
    if not location:
        return ""
    if platform in ("javascript", "node"):
        return f"{frame.function or '?'}({location})"
    return f"{location} in {frame.function or '?'}"


def _stack_culprit(frames: list[Frame], platform: str) -> str:
    fallback = None
    for frame in reversed(frames):
        if frame.in_app:
            culprit = frame_culprit(frame, platform)
            if culprit:
                return culprit
        elif fallback is None:
            fallback = frame_culprit(frame, platform)
    return fallback or ""


def compute_culprit(event: PreparedEvent) -> str:
    raw = event.event
    if raw.transaction:
        return truncate(raw.transaction, MAX_CULPRIT)
    culprit = ""
    if event.exceptions:
        mechanism = event.exceptions[-1].mechanism
        if mechanism is not None and mechanism.synthetic:
            return ""
        stacks = [s for s in event.exception_stacks if s is not None]
        if stacks:
            culprit = _stack_culprit(stacks[-1].frames, event.platform)
    elif event.stack is not None:
        culprit = _stack_culprit(event.stack.frames, event.platform)
    if not culprit:
        culprit = raw.culprit or (raw.request.url if raw.request is not None else None) or ""
    return truncate(culprit, MAX_CULPRIT)
