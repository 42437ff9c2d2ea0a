"""Chained exceptions, exception groups and threads (Sentry's newstyle strategies).

Every exception in `exception.values` contributes, in order (the cause first,
as SDKs send them). Exception groups (mechanism.is_exception_group with
exception_id/parent_id) are reduced first: with one distinct top-level
exception, only its first-path chain counts (from it down its first children,
root to leaf, as Sentry hashes it; v1 hashes it leaf to root); otherwise one
of each distinct top-level exception plus the root group. Threads count only when no exception
contributes: the one crashed thread, else the one current thread, else the
only thread.
"""

from __future__ import annotations

import itertools

from workers.grouping.components import Component, StacktraceComponent
from workers.grouping.event import SingleException
from workers.grouping.normalize import PreparedEvent
from workers.grouping.strategies import (
    Context,
    exception_variants,
    finish_stack_variants,
    stacktrace_variants,
)

VARIANTS = ("system", "app")


def _exception_key(
    exception: SingleException, stacks: dict[str, StacktraceComponent] | None
) -> tuple:
    """Everything of one exception that its components depend on."""
    mechanism = exception.mechanism
    ns_error = mechanism and mechanism.meta and mechanism.meta.ns_error
    # Stack components are StacktraceComponents: `weak` ones let the value count.
    value_ignored = stacks is not None and all(
        c.contributes and not c.weak for c in stacks.values()
    )
    return (
        stacks and stacks["system"],
        stacks and stacks["app"],
        exception.type,
        None if value_ignored else exception.value,
        mechanism
        and (
            mechanism.synthetic,
            mechanism.exception_id,
            mechanism.parent_id,
            mechanism.is_exception_group,
        ),
        ns_error and (ns_error.domain, ns_error.code),
    )


def chained_exception_variants(event: PreparedEvent, ctx: Context) -> dict[str, Component]:
    """Components of the exception chain; shared when memoized: copy, never change."""
    exceptions = event.exceptions
    if not exceptions:
        return {}
    all_stacks = [
        stacktrace_variants(stack, event.platform, ctx) if stack is not None else None
        for stack in event.exception_stacks
    ]
    caches = ctx.caches
    if caches is not None and not all(s is None or s.memoized for s in event.exception_stacks):
        # A stack built for this event alone: its components, part of the
        # key, are new objects, so the key can never be met again.
        caches = None
    if caches is not None:
        key = tuple(map(_exception_key, exceptions, all_stacks))
        hit = caches.chains.get(key)
        if hit is not None:
            return hit
    out = _chain_components(exceptions, all_stacks, ctx)
    if caches is not None:
        caches.store(key, out)
    return out


def _chain_components(exceptions, all_stacks, ctx: Context) -> dict[str, Component]:
    per_exception = [
        exception_variants(exception, stacks, ctx)
        for exception, stacks in zip(exceptions, all_stacks, strict=True)
    ]
    out: dict[str, Component] = {}
    for name in VARIANTS:
        components = [variants[name] for variants in per_exception]
        selected = filter_exception_groups(
            exceptions, components, root_first=ctx.behaviour.exception_group_root_first
        )
        if len(selected) == 1:
            out[name] = components[selected[0]]
        else:
            out[name] = Component("chained-exception", [components[i] for i in selected])
    return finish_stack_variants(out, drop_stackless=True)


def filter_exception_groups(
    exceptions: list[SingleException], components: list[Component], *, root_first: bool
) -> list[int]:
    """Indices of the exceptions that count, per Sentry's exception-group rules."""
    everything = list(range(len(exceptions)))
    if len(exceptions) <= 1:
        return everything
    children: dict[int, list[int]] = {}
    by_id: dict[int, int] = {}
    ids: dict[int, int] = {}  # index -> exception_id
    groups: set[int] = set()  # indices of exception groups
    for index in reversed(everything):
        mechanism = exceptions[index].mechanism
        if mechanism is None or mechanism.exception_id is None:
            return everything  # not an exception group: every exception counts
        by_id[mechanism.exception_id] = index
        ids[index] = mechanism.exception_id
        if mechanism.is_exception_group:
            groups.add(index)
        if mechanism.parent_id is not None:
            children.setdefault(mechanism.parent_id, []).append(index)
    if 0 not in by_id:
        return everything

    def kids(index: int) -> list[int]:
        return children.get(ids[index], [])

    def top_level(index: int):
        if index in groups:
            for child in kids(index):
                yield from top_level(child)
        else:
            yield index

    def first_path(index: int):
        yield index
        if kids(index):
            yield from first_path(kids(index)[0])

    tops = sorted(top_level(by_id[0]), key=lambda i: str(exceptions[i].type), reverse=True)
    distinct = [
        next(group)
        for _, group in itertools.groupby(tops, key=lambda i: components[i].hash() or "")
    ]
    if len(distinct) == 1:
        path = list(first_path(distinct[0]))
        return path if root_first else path[::-1]
    return [*distinct, by_id[0]]


def threads_variants(event: PreparedEvent, ctx: Context) -> dict[str, Component]:
    threads = event.threads
    if not threads:
        return {}
    for wanted in ("crashed", "current", None):
        chosen = [i for i, t in enumerate(threads) if wanted is None or getattr(t, wanted)]
        if len(chosen) != 1:
            continue
        stack = event.thread_stacks[chosen[0]]
        if stack is None:
            return {
                name: Component("threads", (), False, "thread has no stack trace")
                for name in VARIANTS
            }
        stacks = stacktrace_variants(stack, event.platform, ctx)
        out = {name: Component("threads", [stacks[name]]) for name in VARIANTS}
        return finish_stack_variants(out, drop_stackless=True)
    hint = "ignored because does not contain exactly one thread"
    return {name: Component("threads", (), False, hint) for name in VARIANTS}


def bare_stacktrace_variants(event: PreparedEvent, ctx: Context) -> dict[str, Component]:
    if event.stack is None:
        return {}
    out = stacktrace_variants(event.stack, event.platform, ctx)
    return finish_stack_variants(dict(out), drop_stackless=False)
