"""Grouping strategies (Sentry's newstyle): each maps an event to components per variant.

Stack-trace strategies produce a mandatory "system" variant (all frames) and an
"app" variant where frames outside the app do not contribute. The app variant
is switched off when system does not contribute or when both hash the same;
chained exceptions and threads also drop a variant without a contributing
stack trace when the other has one. Other strategies produce "default".

An exception's value counts only when its stack trace does not, as in
Sentry, with one v1 exception: a stack trace whose frames name no code (only
minified bundle names, or anonymous frames) is "weak" and the value counts
next to it (see `minified`). Security reports are in `security`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from workers.grouping.behaviour import Behaviour
from workers.grouping.components import Component, FrameComponent, StacktraceComponent
from workers.grouping.enhancers import Enhancements, slice_range
from workers.grouping.event import SingleException
from workers.grouping.functions import family_for_platform
from workers.grouping.minified import WEAK_STACK_VALUE_HINT, weak_stack_value
from workers.grouping.normalize import PreparedEvent, PreparedFrame, PreparedStack
from workers.grouping.stacktrace_rules import FlagAction, VarAction

_URL_PREFIXES = ("file:", "http:", "https:", "applewebdata:", "blob:")


class Caches:
    """Exception-chain components by identity of what produced them, per config.

    Chains repeat across the events of an issue. Components are never changed
    after being built (later steps copy them instead), which makes sharing
    safe; keys hold the objects they name, so identities cannot be recycled.
    """

    MAX_ENTRIES = 8_192

    def __init__(self) -> None:
        self.chains: dict[tuple, dict[str, Component]] = {}

    def store(self, key: tuple, value: dict[str, Component]) -> None:
        if len(self.chains) >= self.MAX_ENTRIES:
            self.chains.clear()
        self.chains[key] = value


@dataclass(frozen=True, slots=True)
class Context:
    enhancements: Enhancements
    behaviour: Behaviour
    explain: bool = False
    # None disables memoizing exception chains (explanations parameterize
    # values the fast path skips).
    caches: Caches | None = None


def _frame_components(
    stack: PreparedStack, recursive: tuple[int, ...], share: bool
) -> tuple[list[FrameComponent], list[FrameComponent]]:
    """System and app frame components; in-app frames share one object when
    no rule will change them per variant (`share`), and then frames that the
    stack changes in no way (neither recursion nor an in-app rule) reuse the
    components of the same frame in other stacks."""
    system: list[FrameComponent] = []
    app: list[FrameComponent] = []
    for index, (frame, prepared) in enumerate(zip(stack.frames, stack.prepared, strict=True)):
        if share and frame is prepared.frame and index not in recursive:
            if prepared.app is None:
                # Benign race between threads: both build equal components.
                prepared.system, prepared.app = _shared_frame_components(prepared)
            system.append(prepared.system)  # type: ignore[arg-type]  # set with app
            app.append(prepared.app)
            continue
        facts = prepared.info.facts
        contributes, hint = facts.contributes, facts.hint
        if index in recursive:
            contributes, hint = False, "ignored due to recursion"
        identifies = facts.identifies
        component = FrameComponent(facts.children, facts.flat, contributes, hint, frame, identifies)
        system.append(component)
        if not frame.in_app:
            app.append(
                FrameComponent(
                    facts.children, facts.flat, False, "non in-app frame", frame, identifies
                )
            )
        elif share:
            app.append(component)
        else:
            app.append(
                FrameComponent(facts.children, facts.flat, contributes, hint, frame, identifies)
            )
    return system, app


def _shared_frame_components(prepared: PreparedFrame) -> tuple[FrameComponent, FrameComponent]:
    """(system, app) components of a frame no stack changes, as `_frame_components`
    builds them with `share`."""
    frame, facts = prepared.frame, prepared.info.facts
    children, flat, identifies = facts.children, facts.flat, facts.identifies
    system = FrameComponent(children, flat, facts.contributes, facts.hint, frame, identifies)
    if frame.in_app:
        return system, system
    app = FrameComponent(children, flat, False, "non in-app frame", frame, identifies)
    return system, app


def stacktrace_variants(
    stack: PreparedStack, platform: str, ctx: Context
) -> dict[str, StacktraceComponent]:
    """Components of a stack trace for both variants; callers must not change them."""
    if ctx.explain:
        # Explained frames carry what rules made of them: never shared or memoized.
        return _build_stacktrace_variants(stack, platform, ctx, stack.recursive)
    if stack.components is None:
        # Benign race between threads: both compute the same components.
        stack.components = _build_stacktrace_variants(stack, platform, ctx, stack.recursive)
    return stack.components


def _build_stacktrace_variants(
    stack: PreparedStack, platform: str, ctx: Context, recursive: tuple[int, ...]
) -> dict[str, StacktraceComponent]:
    matches = []
    if stack.match_frames is not None:  # else no rule matches any frame
        matches = ctx.enhancements.grouping_matches(
            stack.match_frames,
            [p.info.rule_ids | p.info.category_rule_ids for p in stack.prepared],
            stack.exception,
        )
    first = stack.frames[0]
    single_url_frame = (
        len(stack.frames) == 1
        and family_for_platform(first.platform or platform) == "javascript"
        and not first.function
        and (first.abs_path or "").startswith(_URL_PREFIXES)
    )
    share = not matches and not single_url_frame and not ctx.explain
    system, app = _frame_components(stack, recursive, share=share)
    if ctx.explain and stack.match_frames is not None:
        for components in (system, app):
            for component, match_frame in zip(components, stack.match_frames, strict=True):
                component.match = match_frame
    out = {}
    for name, frames in (("system", system), ("app", app)):
        if single_url_frame and frames[0].contributes:
            frames[0].update(contributes=False, hint="ignored single non-URL JavaScript frame")
        out[name] = _assemble(frames, matches)
    return out


def _assemble(frames: list[FrameComponent], matches) -> StacktraceComponent:
    """Apply +group/-group and max-frames/min-frames (Sentry's assemble_stacktrace_component)."""
    if not matches:
        return StacktraceComponent(frames)
    state: dict[str, int | bool | str] = {"max-frames": 0, "min-frames": 0}
    for rule, index in matches:
        for action in rule.actions:
            if isinstance(action, VarAction):
                state[action.name] = action.value
            elif isinstance(action, FlagAction) and action.key == "group":
                verb = "un-ignored" if action.flag else "ignored"
                for component in slice_range(frames, index, action.range):
                    if component.contributes != action.flag:
                        component.update(
                            contributes=action.flag,
                            hint=f"{verb} by stack trace rule ({rule.text})",
                        )
    max_frames = int(state["max-frames"])
    if max_frames > 0:
        kept = 0
        for component in reversed(frames):
            if component.contributes:
                kept += 1
                if kept > max_frames:
                    component.update(
                        contributes=False,
                        hint=f"ignored because only {max_frames} frames are considered "
                        "(max-frames rule)",
                    )
    min_frames = int(state["min-frames"])
    contributing = sum(1 for component in frames if component.contributes)
    if 0 < contributing < min_frames:
        hint = (
            f"discarded because stack trace only contains {contributing} "
            f"frame{'s' if contributing != 1 else ''} which is under the configured threshold"
        )
        return StacktraceComponent(frames, False, hint)
    return StacktraceComponent(frames)


def _ns_error(exception: SingleException) -> Component | None:
    mechanism = exception.mechanism
    if mechanism is None or mechanism.meta is None or mechanism.meta.ns_error is None:
        return None
    error = mechanism.meta.ns_error
    return Component("ns-error", (str(error.domain), str(error.code)))


def _value(
    raw: str | None, favors_other: Component | None, ctx: Context, weak_stack: bool = False
) -> Component:
    if raw is None:
        return Component("value")
    if weak_stack:
        return Component("value", (weak_stack_value(raw),), None, WEAK_STACK_VALUE_HINT)
    if favors_other is not None and not ctx.explain:
        # Not hashed: skip parameterizing it on the fast path.
        return Component("value", (raw,), False, "ignored because stack trace takes precedence")
    normalized = ctx.behaviour.normalize_message(raw)
    hint = "stripped event-specific values" if normalized != raw else None
    if favors_other is not None:
        reason = "ns-error info" if favors_other.id == "ns-error" else "stack trace"
        hint = f"ignored because {reason} takes precedence"
        return Component("value", (normalized,), False, hint)
    return Component("value", (normalized,), None, hint)


def exception_variants(
    exception: SingleException, stacks: Mapping[str, StacktraceComponent] | None, ctx: Context
) -> dict[str, Component]:
    """[stack trace, type, ns-error, value] per variant (Sentry's single-exception)."""
    type_part = Component("type", (exception.type,)) if exception.type else Component("type")
    mechanism = exception.mechanism
    if mechanism is not None and mechanism.synthetic:
        # Synthetic types come from signal information: never group on them.
        type_part.update(contributes=False, hint="ignored because exception is synthetic")
    ns_error = _ns_error(exception)
    parts: Mapping[str, StacktraceComponent | None] = stacks or {"system": None, "app": None}
    out = {}
    for name, stack_part in parts.items():
        favors: Component | None = None
        weak = False
        if stack_part is not None and stack_part.contributes:
            # Only minified bundle names (or nothing) in the stack: the value
            # must tell bugs in one bundle apart (see `minified`).
            weak = stack_part.weak and ctx.behaviour.minified_javascript
            if not weak:
                favors = stack_part
        if favors is None and ns_error is not None and ns_error.contributes:
            favors = ns_error
            weak = False
        values: list[Component] = [] if stack_part is None else [stack_part]
        values.append(type_part)
        if ns_error is not None:
            values.append(ns_error)
        values.append(_value(exception.value, favors, ctx, weak))
        out[name] = Component("exception", values)
    return out


def _stack_contributes(component: Component) -> bool:
    """Whether a stack trace below contributes (exception, chained-exception, threads)."""
    for value in component.values:
        if value.__class__ is str:
            continue
        if value.id == "stacktrace":
            if value.contributes:
                return True
        elif value.id in ("exception", "chained-exception", "threads") and _stack_contributes(
            value
        ):
            return True
    return False


def finish_stack_variants(
    variants: dict[str, Component], drop_stackless: bool
) -> dict[str, Component]:
    """The app variant yields to system; chained/threads drop stack-less variants."""
    system, app = variants.get("system"), variants.get("app")
    if app is not None and app.contributes:
        if system is None or not system.contributes:
            hint = "ignored because system variant is not used"
            variants["app"] = app.replaced(contributes=False, hint=hint)
        elif app.hash() == system.hash():
            hint = "ignored because hash matches system variant"
            variants["app"] = app.replaced(contributes=False, hint=hint)
    if drop_stackless:
        with_stack = {name for name, c in variants.items() if _stack_contributes(c)}
        if with_stack:
            return {name: c for name, c in variants.items() if name in with_stack}
    return variants


def template_variants(event: PreparedEvent, ctx: Context | None = None) -> dict[str, Component]:
    template = event.event.template
    if template is None:
        return {}
    filename = Component("filename")
    if template.filename is not None:
        filename = Component("filename", (os.path.basename(template.filename),))
    line = Component("context-line")
    if template.context_line is not None:
        line = Component("context-line", (template.context_line,))
    return {"default": Component("template", (filename, line))}


def message_variants(event: PreparedEvent, ctx: Context) -> dict[str, Component]:
    # Sentry groups on the template (logentry.message) when there is one.
    text = event.message or event.formatted
    if not text:
        return {}
    normalized = ctx.behaviour.normalize_message(text)
    hint = "stripped event-specific values" if normalized != text else None
    return {"default": Component("message", (normalized,), None, hint)}
