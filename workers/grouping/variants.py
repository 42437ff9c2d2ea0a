"""From strategies to variants and hashes (Sentry's get_grouping_variants_for_event).

1. A `checksum` wins outright: 32 lowercase hex is the hash, anything else is md5'd.
2. Strategies run highest score first (chained exception 2000, threads 1900,
   stack trace 1800, template 1100, csp 1003, hpkp 1002, expect-staple 1001,
   expect-ct 1000, message 0); the first that contributes wins and later ones
   are forced not to contribute.
3. The fingerprint: without `{{ default }}` it replaces grouping
   ("custom-fingerprint"); exactly `["{{ default }}"]` changes nothing; with
   `{{ default }}` plus other values each variant is salted with them.
4. Nothing contributes: the "fallback" variant, md5 of nothing.
Hashes are listed in variant order with "system" moved last, Nones and
duplicates dropped; the first is the primary hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.grouping.chained import (
    bare_stacktrace_variants,
    chained_exception_variants,
    threads_variants,
)
from workers.grouping.components import Component, hash_values
from workers.grouping.fingerprint_vars import is_default, parse_variable, resolve_fingerprint
from workers.grouping.normalize import PreparedEvent
from workers.grouping.security import security_variants
from workers.grouping.strategies import Context, message_variants, template_variants

HASH_RE = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_FINGERPRINT = ("{{ default }}",)
_DEFAULT_LIST = list(DEFAULT_FINGERPRINT)
FALLBACK_HASH = hash_values([])
STRATEGIES = (
    ("chained-exception", "exception", chained_exception_variants),
    ("threads", "thread", threads_variants),
    ("stacktrace", "stack trace", bare_stacktrace_variants),
    ("template", "template", template_variants),
    # csp, hpkp, expect-staple, expect-ct (1003..1000)
    ("security", "security report", security_variants),
    ("message", "message", message_variants),
)


@dataclass(slots=True)
class Variant:
    name: str
    # component, salted-component, custom-fingerprint, built-in-fingerprint, checksum, fallback
    kind: str
    hash: str | None
    component: Component | None = None
    values: list[str] | None = None
    hint: str | None = None


def checksum_variants(checksum: str) -> list[Variant]:
    if HASH_RE.match(checksum):
        return [Variant("checksum", "checksum", checksum, values=[checksum])]
    # Sentry also keeps a raw checksum of <= 32 characters as a second hash;
    # it is not hex, so it is left out of our 32-hex hash list.
    hashed = hash_values([checksum])
    return [Variant("hashed-checksum", "checksum", hashed, values=[checksum])]


def component_trees(event: PreparedEvent, ctx: Context) -> dict[str, Component]:
    winner: str | None = None
    precedence_hint = None
    per_variant: dict[str, list[Component]] = {}
    forced: set[str] = set()
    for name, description, strategy in STRATEGIES:
        if winner is not None and not ctx.explain:
            break  # later strategies cannot contribute; only explanations show them
        for variant, produced in strategy(event, ctx).items():
            component = produced
            if winner is None:
                if component.contributes:
                    winner = name
                    precedence_hint = f"ignored because {description} takes precedence"
            elif component.contributes and winner != name:
                component = produced.replaced(contributes=False, hint=precedence_hint)
                forced.add(variant)
            per_variant.setdefault(variant, []).append(component)
    trees = {}
    for variant, components in per_variant.items():
        tree = Component(variant, components)
        if not tree.contributes:
            # Why the variant is unused: forced aside, or its own reason
            # ("hash matches system variant").
            hints = [c.hint for c in components if c.hint]
            tree.hint = precedence_hint if variant in forced else (hints[0] if hints else None)
        trees[variant] = tree
    return trees


def clean_fingerprint(raw: list | None) -> list[str]:
    """Relay's fingerprint normalization: strings kept, numbers stringified."""
    out = []
    for value in raw or ():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, bool):
            out.append("True" if value else "False")
        elif isinstance(value, int):
            out.append(str(value))
        elif isinstance(value, float):
            out.append(str(int(value)) if value.is_integer() else str(value))
    return out or list(DEFAULT_FINGERPRINT)


def _parameterize_constants(values: list[str], event: PreparedEvent, ctx: Context) -> list[str]:
    # A fingerprint constant that is the message or an exception value (e.g.
    # `scope.fingerprint = [str(error)]`) is parameterized like the message.
    texts = {event.formatted, event.message, *(e.value for e in event.exceptions)}
    texts.discard(None)
    normalize = ctx.behaviour.normalize_message
    return [normalize(v) if v in texts and parse_variable(v) is None else v for v in values]


def compute_variants(
    event: PreparedEvent, ctx: Context, fingerprint: list[str], builtin_rule: bool
) -> list[Variant]:
    if fingerprint == _DEFAULT_LIST:
        trees = component_trees(event, ctx)
        return _with_fallback([Variant(n, "component", t.hash(), t) for n, t in trees.items()])
    defaults = sum(1 for value in fingerprint if is_default(value))
    if defaults == 0:
        variants = []
        if ctx.explain:
            for name, tree in component_trees(event, ctx).items():
                tree.update(contributes=False, hint="custom fingerprint takes precedence")
                variants.append(Variant(name, "component", None, tree))
        values = _parameterize_constants(resolve_fingerprint(fingerprint, event), event, ctx)
        kind = "built-in-fingerprint" if builtin_rule else "custom-fingerprint"
        variants.append(Variant(kind, kind, hash_values(values), values=values))
        return variants
    trees = component_trees(event, ctx)
    if defaults == 1 and len(fingerprint) == 1:
        variants = [Variant(name, "component", tree.hash(), tree) for name, tree in trees.items()]
    else:
        values = _parameterize_constants(resolve_fingerprint(fingerprint, event), event, ctx)
        variants = [_salted(name, tree, values) for name, tree in trees.items()]
    return _with_fallback(variants)


def _with_fallback(variants: list[Variant]) -> list[Variant]:
    if not any(variant.hash for variant in variants):
        variants.append(Variant("fallback", "fallback", FALLBACK_HASH, hint="nothing contributes"))
    return variants


def _salted(name: str, tree: Component, values: list[str]) -> Variant:
    if not tree.contributes:
        return Variant(name, "salted-component", None, tree, values)
    final: list[str] = []
    for value in values:
        if is_default(value):
            final.extend(tree.leaf_values())
        else:
            final.append(value)
    return Variant(name, "salted-component", hash_values(final), tree, values)


def ordered_hashes(variants: list[Variant]) -> tuple[list[str], str]:
    """(hashes, primary variant name): system last, Nones and duplicates dropped."""
    ordered = sorted(variants, key=lambda v: v.name == "system")
    hashes: list[str] = []
    primary = ordered[0].name if ordered else "fallback"
    for variant in ordered:
        if variant.hash and variant.hash not in hashes:
            if not hashes:
                primary = variant.name
            hashes.append(variant.hash)
    return hashes, primary
