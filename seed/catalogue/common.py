"""What family modules share: the template type, the build context, spec helpers."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from seed.catalogue.codepaths import CodePath, Leaf, pascal
from seed.catalogue.entries import entry_frames
from seed.model import ErrorSpec, ExceptionSpec, Frame, LogMessage, TransactionSpec
from seed.projects import SeedProject

Spec = ErrorSpec | TransactionSpec


@dataclass(frozen=True)
class AIMessage:
    """An error message written by a model (or the hand-written starter set)."""

    type: str
    message: str
    category: str
    severity: str
    title: str = ""


@dataclass
class Ctx:
    """Everything a template needs to build one root cause."""

    rng: random.Random
    project: SeedProject
    path: CodePath
    ai_message: AIMessage | None = None

    @property
    def platform(self) -> str:
        return self.project.platform

    @property
    def entity(self) -> str:
        return self.path.entity

    @property
    def model(self) -> str:
        return pascal(self.path.entity)

    @property
    def table(self) -> str:
        return f"{self.path.domain}_{self.path.entity}"

    def pick(self, options: Sequence):
        return options[self.rng.randrange(len(options))]


@dataclass(frozen=True)
class Template:
    family: str
    category: str
    severity: str
    platforms: tuple[str, ...]
    build: Callable[[Ctx], tuple[Spec, str]]
    weight: float = 1.0
    # At most one root cause per project: its events cannot differ from another's
    # (no in-app frames, or a built-in fingerprint rule puts them all in one issue).
    unique: bool = False


def stack(ctx: Ctx, leaf: Leaf, raised_in: Sequence[Frame] = ()) -> tuple[Frame, ...]:
    """Entry frames, the path's in-app frames down to the leaf, library frames that raised."""
    return (
        *entry_frames(ctx.platform, ctx.path.entry),
        *ctx.path.frames(ctx.platform, leaf),
        *raised_in,
    )


def error(
    ctx: Ctx,
    exceptions: Sequence[ExceptionSpec],
    *,
    level: str = "error",
    log: LogMessage | None = None,
    message: str | None = None,
    logger: str | None = None,
    tags: dict[str, str] | None = None,
) -> ErrorSpec:
    path = ctx.path
    web = path.entry == "web"
    return ErrorSpec(
        exceptions=tuple(exceptions),
        log=log,
        message=message,
        level=level,
        logger=logger,
        transaction=path.transaction(ctx.platform),
        method=path.method if web else "",
        url_path=path.route if web else "",
        tags={"entry": path.entry, **(tags or {})},
    )


def handled(kind: str = "generic") -> dict:
    return {"type": kind, "handled": True}


def unhandled(kind: str) -> dict:
    return {"type": kind, "handled": False}


# The mechanism each SDK reports for errors its framework integration caught.
FRAMEWORK_MECHANISM = {
    "python": unhandled("django"),
    "node": unhandled("auto.middleware.express"),
    "java": unhandled("SentrySpringFilter"),
    "javascript": unhandled("auto.browser.global_handlers.onerror"),
}


def where(ctx: Ctx) -> str:
    path = ctx.path
    return f"{path.domain}.{path.op} ({path.entry})"


def literal(text: str) -> str:
    """Escape braces so `text` survives `str.format_map` as written (JSON in messages)."""
    return text.replace("{", "{{").replace("}", "}}")
