"""One root cause + a moment + a release -> the event its service's SDK would send.

Per-event values (ids, users, messages, URLs, timings) come from the unit's RNG
and the Faker pools; everything else from the cached shape (shapes.py). Events
are dicts whose fixed parts are msgspec.Raw, so encoding one is mostly copying.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from seed import payloads
from seed.model import ErrorSpec, RootCause, TransactionSpec
from seed.pools import BROWSER_ENGINE, Filler, Pools, between
from seed.projects import SeedProject
from seed.releases import Release
from seed.shapes import (
    ENGINES,
    PYTHON_VARIANTS,
    Shape,
    build_shape,
    is_clean,
    prescrubbed,
)
from seed.sourcemaps import JsBundles
from seed.spans import transaction_payload

_REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2")
_TIERS = ("free", "free", "silver", "gold", "enterprise")
_LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR")
_HOSTS = {
    "python": "https://orders.storefront.example.com",
    "node": "https://api.storefront.example.com",
    "java": "http://billing-service:8080",
    "javascript": payloads.WEB_ORIGIN,
}
USER_SHARE = 0.75
_DIGIT_RUN = re.compile(r"\d{13}")


@dataclass(slots=True)
class Rendered:
    event_id: str
    kind: str  # "event" or "transaction", the envelope item type
    payload: dict[str, Any]
    # Strings made for this event alone; every other part was checked for secrets once
    # (shapes, pools, project parts), and `clean` says whether those were all clean.
    probe: list[Any]
    clean: bool
    # About how many JSON objects the event holds, short of a few per-event ones.
    braces: int
    trace_id: str
    transaction: str
    browser: str | None = None
    # (name, version) of the SDK that sent it.
    sdk: tuple[str, str] = ("", "")


class _ProjectParts:
    """Per-service parts of every event: SDK info, runtime contexts, modules."""

    def __init__(self, project: SeedProject, pools: Pools) -> None:
        self.project = project
        # What each SDK reports about a user; built once per pool user (the pool is clean).
        self.users = [_user_fields(project.platform, user) for user in pools.users]
        self.sdk = msgspec.Raw(msgspec.json.encode(payloads.sdk_info(project)))
        self.contexts = {
            name: prescrubbed("contexts", name, value)
            for name, value in payloads.fixed_contexts(project).items()
        }
        modules = payloads.modules(project)
        self.modules = msgspec.Raw(msgspec.json.encode(modules)) if modules else None
        self.servers = project.servers
        self.sdk_id = (project.sdk_name, project.sdk_version)
        parts = [p for p in (self.sdk, *self.contexts.values(), self.modules) if p is not None]
        self.clean = all(is_clean(part) for part in parts)
        self.braces = sum(bytes(part).count(b"{") for part in parts)


def _user_fields(platform: str, user) -> dict[str, str]:
    if platform == "python":
        return {
            "id": user.id,
            "email": user.email,
            "username": user.username,
            "ip_address": user.ip_address,
        }
    if platform == "java":
        return {"id": user.id, "email": user.email, "ip_address": user.ip_address}
    return {"id": user.id, "email": user.email}


class Renderer:
    def __init__(
        self,
        projects: tuple[SeedProject, ...],
        pools: Pools,
        run: str,
        bundles: JsBundles | None = None,
    ) -> None:
        self.bundles = bundles
        self.parts = {p.key: _ProjectParts(p, pools) for p in projects}
        self.pools = pools
        self.run = run
        self._shapes: dict[tuple[str, int, int], Shape] = {}
        self._browser_cum = list(itertools.accumulate(pools.browser_weights))
        self._engine_variant = {b: ENGINES.index(e) for b, e in BROWSER_ENGINE.items()}

    def shape(self, rc: RootCause, release: Release, variant: int) -> Shape:
        key = (rc.id, release.index, variant)
        shape = self._shapes.get(key)
        if shape is None:
            platform = self.parts[rc.project].project.platform
            crumbs = payloads.breadcrumb_templates(platform, rc.domain, rc.entity)
            shape = build_shape(
                rc,
                release,
                variant,
                platform=platform,
                run=self.run,
                breadcrumbs=crumbs,
                bundles=self.bundles,
            )
            self._shapes[key] = shape
        return shape

    def render(
        self, rc: RootCause, moment: float, release: Release, regressed: bool, rng: random.Random
    ) -> Rendered:
        parts = self.parts[rc.project]
        platform = parts.project.platform
        browser = None
        variant = 0
        if platform == "javascript":
            browser = rng.choices(self.pools.browsers, cum_weights=self._browser_cum)[0]
            variant = self._engine_variant[browser]
        elif platform == "python":
            variant = int(rng.random() * PYTHON_VARIANTS)
        shape = self.shape(rc, release, variant)
        event = _Event(
            self,
            parts,
            rc,
            shape,
            moment=moment,
            release=release,
            regressed=regressed,
            rng=rng,
            browser=browser,
        )
        if isinstance(rc.spec, TransactionSpec):
            return event.transaction(rc.spec)
        return event.error(rc.spec)


class _Event:
    """Builds one event; a class only to share the many per-event values."""

    def __init__(self, renderer, parts, rc, shape, *, moment, release, regressed, rng, browser):
        self.pools: Pools = renderer.pools
        self.parts: _ProjectParts = parts
        self.platform = parts.project.platform
        self.rc = rc
        self.shape: Shape = shape
        self.moment = moment
        self.release = release
        self.rng: random.Random = rng
        self.browser = browser
        self.bundles: JsBundles | None = renderer.bundles
        self.filler = Filler(rng, renderer.pools)
        self.event_id = f"{rng.getrandbits(128):032x}"
        self.trace_id = f"{rng.getrandbits(128):032x}"
        self.span_id = f"{rng.getrandbits(64):016x}"
        self.seed = shape.seed_regressed if regressed else shape.seed
        self.clean = shape.clean and parts.clean
        if browser is not None:
            agents = self.pools.user_agents[browser]
        else:
            agents = self.pools.user_agents["chrome"]
        self.agent = agents[int(rng.random() * len(agents))]

    def _ids(self) -> list[str]:
        """The event's hex ids that the relay's card check would look at (13+ digits in a
        row, about 4% of ids); the others cannot trip it and are not probed."""
        return [i for i in (self.event_id, self.trace_id, self.span_id) if _DIGIT_RUN.search(i)]

    def _user(self) -> dict[str, str] | None:
        if self.rng.random() >= USER_SHARE:
            return None
        users = self.parts.users
        return users[int(self.rng.random() * len(users))]

    def _tags(self, spec_tags: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        tags = dict(spec_tags)
        if self.platform == "javascript":
            tags["locale"] = _LOCALES[int(rng.random() * len(_LOCALES))]
        else:
            tags["region"] = _REGIONS[int(rng.random() * len(_REGIONS))]
        tags["customer.tier"] = _TIERS[int(rng.random() * len(_TIERS))]
        return tags

    def _request(self, method: str, url_path: str) -> dict[str, Any] | None:
        if self.platform == "javascript":
            # The browser SDK always reports the page and the browser, whatever failed.
            page = f"/{self.rc.domain or 'home'}/{self.filler['id']}"
            return {"url": f"{payloads.WEB_ORIGIN}{page}", "headers": {"User-Agent": self.agent}}
        if not url_path:
            return None
        path = url_path.format_map(self.filler)
        host = _HOSTS[self.platform]
        headers = {
            "Host": host.split("//", 1)[1],
            "User-Agent": self.agent,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        return {"url": f"{host}{path}", "method": method, "headers": headers}

    def _breadcrumbs(self) -> Any:
        crumbs = self.shape.breadcrumbs
        count = between(self.rng, 1, len(crumbs))
        out = []
        moment = self.moment
        stamp = payloads.sdk_timestamp
        for crumb in reversed(crumbs[-count:]):
            moment -= 0.2 + 3.8 * self.rng.random()
            out.append({"timestamp": stamp(self.platform, moment), **crumb})
        out.reverse()
        return {"values": out} if self.platform == "python" else out

    def _contexts(self, trace: dict[str, Any]) -> dict[str, Any]:
        return {"trace": trace, **self.parts.contexts, "seed": self.seed}

    def _common(self, payload: dict[str, Any], user, tags, request, spec_transaction: str):
        """Fields every SDK sends, in roughly the order it sends them."""
        parts = self.parts
        payload["event_id"] = self.event_id
        payload["timestamp"] = payloads.sdk_timestamp(self.platform, self.moment)
        payload["platform"] = self.platform
        if parts.servers:
            payload["server_name"] = parts.servers[int(self.rng.random() * len(parts.servers))]
        payload["release"] = self.release.version
        payload["environment"] = "production"
        if spec_transaction:
            payload["transaction"] = spec_transaction
        payload["tags"] = tags
        if user is not None:
            payload["user"] = user
        if request is not None:
            payload["request"] = request
        payload["sdk"] = parts.sdk
        if parts.modules is not None:
            payload["modules"] = parts.modules

    def error(self, spec: ErrorSpec) -> Rendered:
        payload: dict[str, Any] = {"level": spec.level}
        # Hex ids can hold digit runs the card check looks at: they are per-event strings too.
        probe: list[Any] = self._ids()
        if self.shape.exceptions:
            values = [self._exception(shape) for shape in self.shape.exceptions]
            payload["exception"] = {"values": values}
            probe.extend(v.get("value") for v in values)
        if spec.log is not None:
            params = [self.filler[name] for name in spec.log.params]
            payload["logentry"] = {
                "message": spec.log.message,
                "params": params,
                "formatted": spec.log.message % tuple(params),
            }
            payload["logger"] = spec.logger
            probe.append(payload["logentry"])
        if spec.message is not None:
            payload["message"] = spec.message.format_map(self.filler)
            probe.append(payload["message"])
        if self.bundles is not None and self.platform == "javascript" and self.shape.exceptions:
            payload["debug_meta"] = self.bundles.debug_meta(self.release)
        trace = {"trace_id": self.trace_id, "span_id": self.span_id}
        payload["contexts"] = self._contexts(trace)
        payload["breadcrumbs"] = self._breadcrumbs()
        user, tags = self._user(), self._tags(spec.tags)
        request = self._request(spec.method, spec.url_path)
        if request is not None:
            probe.append(request["url"])
        self._common(payload, user, tags, request, spec.transaction)
        return Rendered(
            self.event_id,
            "event",
            payload,
            probe,
            self.clean,
            self.shape.braces + self.parts.braces,
            self.trace_id,
            spec.transaction,
            self.browser,
            self.parts.sdk_id,
        )

    def _exception(self, shape) -> dict[str, Any]:
        value: dict[str, Any] = {"type": shape.type}
        if shape.value:
            # A null message (Java's ConcurrentModificationException) is simply absent.
            value["value"] = shape.value.format_map(self.filler)
        if shape.module:
            value["module"] = shape.module
        if shape.stacktrace is not None:
            value["stacktrace"] = shape.stacktrace
        if shape.raw_stacktrace is not None:
            value["raw_stacktrace"] = shape.raw_stacktrace
        value["mechanism"] = shape.mechanism
        return value

    def transaction(self, spec: TransactionSpec) -> Rendered:
        payload, spans_probe = transaction_payload(self, spec)
        user, tags = self._user(), self._tags({})
        request = None
        if self.platform == "javascript":
            request = {
                "url": f"{payloads.WEB_ORIGIN}{spec.name}",
                "headers": {"User-Agent": self.agent},
            }
        self._common(payload, user, tags, request, spec.name)
        return Rendered(
            self.event_id,
            "transaction",
            payload,
            [*self._ids(), *spans_probe],
            self.clean,
            self.shape.braces + self.parts.braces + 2 * len(payload["spans"]),
            self.trace_id,
            spec.name,
            self.browser,
            self.parts.sdk_id,
        )
