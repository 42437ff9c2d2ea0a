"""The explanation: which components made the hash, and why others did not.

Built only on request (`explain=True`); msgspec-encodable, so the CLI prints it
(as JSON, or as a tree with `render_text`) and the workbench shows it. Every
component says whether it contributed and, if not, why ("non in-app frame",
"ignored due to recursion", "ignored because exception takes precedence",
"ignored by stack trace rule (...)"). Frames also list, as non-contributing
children, their line number (which never counts), whether they are in app and
which rule decided it, and their category and the rule that set it.
"""

from __future__ import annotations

import msgspec

from workers.grouping.components import Component, FrameComponent
from workers.grouping.variants import Variant

LINE_NUMBER_HINT = "line number not used for grouping"


class ComponentInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    contributes: bool
    hint: str | None = None
    values: list[str] = []
    children: list[ComponentInfo] = []


class VariantInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: str
    kind: str
    hash: str | None
    contributes: bool
    hint: str | None = None
    values: list[str] | None = None  # fingerprint or checksum values
    component: ComponentInfo | None = None


class Explanation(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    hash: str
    variant: str
    hashes: list[str]
    fingerprint: list[str]
    fingerprint_rule: str | None
    variants: list[VariantInfo]


def _frame_facts(component: FrameComponent) -> list[ComponentInfo]:
    """Line number, in-app flag and category of a frame, with the rules that set them."""
    facts = []
    frame, match = component.frame, component.match
    if frame.lineno is not None:
        facts.append(
            ComponentInfo(
                id="lineno", contributes=False, hint=LINE_NUMBER_HINT, values=[str(frame.lineno)]
            )
        )
    in_app = bool(frame.in_app)
    rule = match.app_rule if match is not None else None
    if rule is not None:
        hint = f"marked {'in app' if in_app else 'out of app'} by stack trace rule ({rule})"
    else:
        hint = "as the SDK sent it" if in_app else "as the SDK sent it (or left unset)"
    facts.append(
        ComponentInfo(id="in-app", contributes=False, hint=hint, values=["yes" if in_app else "no"])
    )
    category = match.category if match is not None else None
    if category is None and frame.data is not None:
        category = frame.data.category
    if category:
        rule = match.category_rule if match is not None else None
        hint = f"set by stack trace rule ({rule})" if rule else "as the SDK sent it"
        facts.append(ComponentInfo(id="category", contributes=False, hint=hint, values=[category]))
    return facts


def describe_component(component: Component) -> ComponentInfo:
    values = [v for v in component.values if isinstance(v, str)]
    children = [describe_component(v) for v in component.values if isinstance(v, Component)]
    if isinstance(component, FrameComponent):
        children.extend(_frame_facts(component))
    hint = component.hint
    if not component.contributes and hint is None and component.values:
        hint = "no contributing values"
    return ComponentInfo(
        id=component.id,
        contributes=component.contributes,
        hint=hint,
        values=values,
        children=children,
    )


def describe_variant(variant: Variant) -> VariantInfo:
    component = variant.component
    hint = variant.hint
    if hint is None and component is not None and not component.contributes:
        hint = component.hint
    return VariantInfo(
        name=variant.name,
        kind=variant.kind,
        hash=variant.hash,
        contributes=variant.hash is not None,
        hint=hint,
        values=variant.values,
        component=describe_component(component) if component is not None else None,
    )


def render_text(explanation: Explanation) -> list[str]:
    """The explanation as an indented tree, one line per component (as `just
    issues show` draws it): a check mark for what contributes, a cross with the
    reason for what does not."""
    lines = [f"hash {explanation.hash} from the {explanation.variant!r} variant"]
    if explanation.fingerprint_rule:
        lines.append(f"  fingerprint rule: {explanation.fingerprint_rule}")
    for variant in explanation.variants:
        mark = "✓" if variant.contributes else "✗"
        line = f"  {mark} variant {variant.name} ({variant.hash or 'no hash'})"
        lines.append(line + (f" — {variant.hint}" if variant.hint else ""))
        if variant.values:
            lines.append(f"      values: {', '.join(variant.values)}")
        if variant.component is not None:
            _render_component(variant.component, "      ", lines)
    return lines


def _render_component(component: ComponentInfo, indent: str, lines: list[str]) -> None:
    mark = "✓" if component.contributes else "✗"
    text = f"{indent}{mark} {component.id}"
    if component.values:
        text += " " + " ".join(repr(value) for value in component.values)
    if component.hint:
        text += f" ({component.hint})"
    lines.append(text)
    for child in component.children:
        _render_component(child, indent + "  ", lines)
