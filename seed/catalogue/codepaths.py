"""In-app code paths: where in each service a root cause happens.

A path is a business operation reached from an entry point (an HTTP handler, a
background job, a scheduled command): the outer in-app frames (handler ->
service) come from here, the innermost frame and the crash line from the
family that uses the path. Paths are handed out without repeats per project,
so two root causes of the same family differ in their in-app frames even when
their exception type and message are the same (the trap for naive grouping).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from seed.catalogue import frames as f
from seed.model import Frame

# domain, entity, operations (snake_case verbs).
DOMAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("orders", "order", ("place", "cancel", "refund", "split", "confirm", "archive")),
    ("payments", "payment", ("capture", "authorize", "refund", "void", "reconcile", "retry")),
    ("cart", "cart", ("add_item", "remove_item", "merge", "apply_coupon", "recalculate", "save")),
    ("inventory", "stock", ("reserve", "release", "adjust", "sync", "count", "transfer")),
    ("catalog", "product", ("publish", "import", "reindex", "reprice", "archive", "update")),
    ("shipping", "shipment", ("create_label", "track", "quote", "dispatch", "cancel", "rate")),
    ("accounts", "account", ("register", "verify_email", "update_profile", "merge", "close")),
    ("invoices", "invoice", ("issue", "finalize", "send", "void", "render", "export")),
    ("subscriptions", "subscription", ("renew", "upgrade", "pause", "cancel", "prorate")),
    ("notifications", "notification", ("send", "render", "schedule", "dispatch", "digest")),
    ("search", "query", ("index", "suggest", "rank", "filter", "rebuild", "execute")),
    ("reviews", "review", ("submit", "moderate", "publish", "aggregate", "flag")),
    ("coupons", "coupon", ("redeem", "validate", "issue", "expire", "apply")),
    ("reports", "report", ("generate", "export", "schedule", "aggregate", "email")),
    ("loyalty", "points", ("earn", "redeem", "expire", "transfer", "recalculate")),
    ("pricing", "price", ("quote", "convert", "apply_discount", "compute_tax", "refresh")),
    ("returns", "return_request", ("open", "approve", "receive", "inspect", "close")),
    ("warehouse", "pick_list", ("allocate", "pick", "pack", "replenish", "cycle_count")),
)
ENTRIES = ("web", "worker", "cron")
# Extra qualifiers once every domain x operation x entry is taken (thousands of root causes).
_SUFFIXES = ("", "_batch", "_async", "_legacy", "_v2")
JAVA_PACKAGE = "com.acme.billing"


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)


def pascal(snake: str) -> str:
    return "".join(word.title() for word in snake.split("_"))


@dataclass(frozen=True)
class Leaf:
    """The innermost in-app frame, supplied by the family: layer, function, crash line."""

    layer: str
    function: str
    line: str


@dataclass(frozen=True)
class CodePath:
    domain: str
    entity: str
    op: str
    entry: str
    # Line numbers of the outer frames (fixed per path; releases shift them).
    linenos: tuple[int, int, int]

    @property
    def route(self) -> str:
        return f"/api/{self.domain}/{{id}}/{self.op.replace('_', '-')}"

    @property
    def task(self) -> str:
        return f"{self.domain}.tasks.{self.op}_{self.entity}"

    @property
    def method(self) -> str:
        return "GET" if self.op in ("track", "suggest", "filter", "execute", "export") else "POST"

    def transaction(self, platform: str) -> str:
        if self.entry == "web":
            return f"{self.method} {self.route}" if platform != "python" else self.route
        return self.task

    def frames(self, platform: str, leaf: Leaf) -> tuple[Frame, ...]:
        return _BUILDERS[platform](self, leaf)


def _python(p: CodePath, leaf: Leaf) -> tuple[Frame, ...]:
    service = f"{p.op}_{p.entity}"
    l1, l2, l3 = p.linenos
    if p.entry == "web":
        outer = f.py_app(
            f"{p.domain}.api.views",
            p.op,
            l1,
            f"        result = services.{service}(request.user, serializer.validated_data)",
        )
    elif p.entry == "worker":
        outer = f.py_app(
            f"{p.domain}.tasks", f"{service}_task", l1, f"    return services.{service}(payload)"
        )
    else:
        outer = f.py_app(
            f"{p.domain}.management.commands.{service}s",
            "handle",
            l1,
            f"            services.{service}(batch, dry_run=options['dry_run'])",
        )
    middle = f.py_app(
        f"{p.domain}.services", service, l2, f"    {leaf.layer}.{leaf.function}({p.entity})"
    )
    inner = f.py_app(f"{p.domain}.{leaf.layer}", leaf.function, l3, leaf.line)
    return outer, middle, inner


def _node(p: CodePath, leaf: Leaf) -> tuple[Frame, ...]:
    service = f"{pascal(p.domain)}Service.{camel(p.op)}{pascal(p.entity)}"
    l1, l2, l3 = p.linenos
    if p.entry == "web":
        path, func = f"dist/routes/{p.domain}.js", f"{camel(p.op)}Handler"
        line = f"    const result = await {service}(req.params.id, req.body);"
    elif p.entry == "worker":
        path, func = f"dist/jobs/{camel(p.domain)}Jobs.js", f"process{pascal(p.op)}"
        line = f"  return {service}(job.data.id, job.data);"
    else:
        path, func = f"dist/cron/{camel(p.domain)}.js", f"run{pascal(p.op)}"
        line = f"    await {service}(batch.id, {{ dryRun: false }});"
    outer = f.node_app(path, func, l1, 30, line)
    middle = f.node_app(
        f"dist/services/{camel(p.domain)}Service.js",
        service,
        l2,
        22,
        f"    const {camel(p.entity)} = await this.{leaf.layer}.{leaf.function}(id, input);",
    )
    inner = f.node_app(
        f"dist/{leaf.layer}/{camel(p.domain)}{pascal(leaf.layer)}.js",
        f"{pascal(p.domain)}{pascal(leaf.layer)}.{leaf.function}",
        l3,
        14,
        leaf.line,
    )
    return outer, middle, inner


def _java(p: CodePath, leaf: Leaf) -> tuple[Frame, ...]:
    base = f"{JAVA_PACKAGE}.{p.domain}"
    entity = pascal(p.entity)
    l1, l2, l3 = p.linenos
    if p.entry == "web":
        outer = f.java(f"{base}.web.{entity}Controller", camel(p.op), l1, in_app=True)
    elif p.entry == "worker":
        outer = f.java(f"{base}.jobs.{entity}EventListener", f"on{pascal(p.op)}", l1, in_app=True)
    else:
        outer = f.java(f"{base}.jobs.{entity}Scheduler", f"run{pascal(p.op)}", l1, in_app=True)
    service = f"{base}.{entity}Service"
    method = f"{camel(p.op)}{entity}"
    # Spring's proxy class name carries a hash that changes when the service restarts.
    proxy = f.java(f"{service}$$EnhancerBySpringCGLIB$${{cglib}}", method, 0, in_app=True)
    middle = f.java(service, method, l2, in_app=True)
    inner = f.java(
        f"{base}.{leaf.layer}.{entity}{pascal(leaf.layer)}", leaf.function, l3, in_app=True
    )
    return outer, proxy, middle, inner


def _browser(p: CodePath, leaf: Leaf) -> tuple[Frame, ...]:
    action = f"{camel(p.op)}{pascal(p.entity)}"
    l1, l2, l3 = p.linenos
    if p.entry == "web":
        outer = f.web(
            f"src/pages/{pascal(p.domain)}Page.tsx",
            f"handle{pascal(p.op)}",
            l1,
            11,
            f"      await {action}(form.values);",
        )
    elif p.entry == "worker":
        outer = f.web(
            f"src/components/{pascal(p.entity)}Panel.tsx",
            "useEffect$argument_0",
            l1,
            7,
            f"    {action}(params.id).then(setState);",
        )
    else:
        outer = f.web(
            f"src/routes/{p.domain}.loader.ts",
            f"{camel(p.domain)}Loader",
            l1,
            9,
            f"  const data = await {action}(params.id);",
        )
    middle = f.web(
        f"src/hooks/use{pascal(p.domain)}.ts",
        action,
        l2,
        19,
        f"    const response = await {leaf.layer}.{leaf.function}(id, payload);",
    )
    inner = f.web(f"src/{leaf.layer}/{camel(p.domain)}.ts", leaf.function, l3, 24, leaf.line)
    return outer, middle, inner


_BUILDERS = {"python": _python, "node": _node, "java": _java, "javascript": _browser}


def path_allocator(rng: random.Random, domains: tuple[str, ...] = ()) -> Iterator[CodePath]:
    """Distinct paths in random order (in `domains`, or all), then again with qualifiers
    when all are used."""
    areas = [d for d in DOMAINS if not domains or d[0] in domains]
    more = (f"_v{n}" for n in itertools.count(3))
    for suffix in itertools.chain(_SUFFIXES, more):
        combos = [
            (domain, entity, op + suffix, entry)
            for domain, entity, ops in areas
            for op in ops
            for entry in ENTRIES
        ]
        rng.shuffle(combos)
        for domain, entity, op, entry in combos:
            linenos = (rng.randint(20, 180), rng.randint(30, 260), rng.randint(15, 320))
            yield CodePath(domain, entity, op, entry, linenos)
