"""What the catalogue is made of: frames, exceptions, transactions, root causes.

Everything here is frozen and independent of time and release: rendering an
event (render.py) combines a root cause with a moment, a release and random
per-event values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("javascript", "api", "database", "validation", "performance", "python", "java")
SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Frame:
    """One stack frame as the SDK reports it (before any release shifts its line)."""

    function: str
    filename: str
    abs_path: str
    lineno: int
    in_app: bool
    module: str | None = None
    context_line: str | None = None
    pre_context: tuple[str, ...] = ()
    post_context: tuple[str, ...] = ()
    colno: int | None = None
    # Python's local variables (values already repr()-ed, as sentry-python sends them).
    vars: dict[str, Any] | None = None
    # JavaScript: the frame as it looks in the minified bundle of a release.
    minified: bool = False


# A message: one template, or one per browser (browsers word the same error differently).
Text = str | dict[str, str]


@dataclass(frozen=True)
class ExceptionSpec:
    type: str
    value: Text
    frames: tuple[Frame, ...] = ()
    module: str | None = None
    mechanism: dict[str, Any] = field(default_factory=lambda: {"type": "generic", "handled": True})


@dataclass(frozen=True)
class LogMessage:
    """A logging call: `message % params`; params are placeholder names."""

    message: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class ErrorSpec:
    # Chained exceptions: the cause first, the exception that was caught last.
    exceptions: tuple[ExceptionSpec, ...] = ()
    log: LogMessage | None = None
    # A captureMessage() text without an exception (JavaScript SDKs).
    message: str | None = None
    level: str = "error"
    logger: str | None = None
    transaction: str = ""
    method: str = "GET"
    # The request path, with placeholders for ids.
    url_path: str = "/"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SpanSpec:
    op: str
    description: str
    # Typical duration, and how many times the span repeats (N+1 queries repeat).
    duration_ms: float
    repeat: int = 1
    # Children of the previous span (a client call's serialization, ...).
    nested: bool = False


@dataclass(frozen=True)
class TransactionSpec:
    name: str
    op: str
    spans: tuple[SpanSpec, ...]
    # The slow part: the transaction lasts about this long in total.
    duration_ms: float
    source: str = "route"
    method: str = "GET"
    status: str = "ok"
    # Browser web vitals: name -> (typical value, unit).
    measurements: dict[str, tuple[float, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Lifecycle:
    """Release indices (per project) where a root cause starts, stops and comes back."""

    introduced: int = 0
    fixed: int | None = None
    regressed: int | None = None

    def state(self, release_index: int) -> str:
        """ "off", "live" or "regressed" at the given release."""
        if release_index < self.introduced:
            return "off"
        if self.regressed is not None and release_index >= self.regressed:
            return "regressed"
        if self.fixed is not None and release_index >= self.fixed:
            return "off"
        return "live"


@dataclass(frozen=True)
class RootCause:
    id: str
    project: str
    family: str
    category: str
    severity: str
    # Relative frequency among the root causes live at the same time.
    weight: float
    spec: ErrorSpec | TransactionSpec
    lifecycle: Lifecycle = Lifecycle()
    # What a human would call it; kept in the catalogue, not in events.
    title: str = ""
    # Message from the AI-written set (`--ai`), for provenance in the catalogue.
    ai_written: bool = False
    # The business area of its code path (breadcrumbs mention it).
    domain: str = ""
    entity: str = ""

    @property
    def kind(self) -> str:
        return "transaction" if isinstance(self.spec, TransactionSpec) else "error"
