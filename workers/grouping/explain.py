"""The explanation: which components made the hash, and why others did not.

Built only on request (`explain=True`); msgspec-encodable, so the CLI prints it
and the workbench shows it. Every component says whether it contributed and,
if not, why ("non in-app frame", "ignored due to recursion", "ignored because
exception takes precedence", "ignored by stack trace rule (...)"). Frames also
list their line number, which never counts.
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


def describe_component(component: Component) -> ComponentInfo:
    values = [v for v in component.values if isinstance(v, str)]
    children = [describe_component(v) for v in component.values if isinstance(v, Component)]
    if isinstance(component, FrameComponent):
        lineno = component.frame.lineno
        if lineno is not None:
            children.append(
                ComponentInfo(
                    id="lineno", contributes=False, hint=LINE_NUMBER_HINT, values=[str(lineno)]
                )
            )
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
