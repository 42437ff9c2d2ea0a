"""The services the seeder pretends to be: one project per service, each with its SDK.

Each project sends what its SDK would: the browser and Node SDKs put the key in
the query string, Python and Java in `X-Sentry-Auth`; Python compresses with
brotli, Java with gzip, Node only past 32 KiB, browsers not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.pg.projects import (
    Project,
    ProjectError,
    ProjectKey,
    add_key,
    create_project,
    get_project,
    list_keys,
    save_config,
)
from core.project_config import set_path
from core.storage.postgres import Pool


@dataclass(frozen=True)
class SeedProject:
    key: str
    slug: str
    name: str
    platform: str
    sdk_name: str
    sdk_version: str
    sdk_package: str
    integrations: tuple[str, ...]
    # "header" (X-Sentry-Auth) or "query" (sentry_key=...)
    auth: str
    # "br", "gzip", "gzip-large" (only above 32 KiB, like @sentry/node) or "none"
    compression: str
    key_labels: tuple[str, ...]
    # Share of all traffic, and of this project's traffic per family.
    share: float
    families: dict[str, float]
    servers: tuple[str, ...]
    # Days between deploys (min, max).
    deploy_every_days: tuple[float, float]
    # The business areas its code covers (empty: all of them).
    domains: tuple[str, ...] = ()

    @property
    def client(self) -> str:
        """The `sentry_client` the transport reports (sentry-python names no integration)."""
        name = {"python": "sentry.python", "java": "sentry.java"}.get(self.platform, self.sdk_name)
        return f"{name}/{self.sdk_version}"


SEED_PROJECTS: tuple[SeedProject, ...] = (
    SeedProject(
        key="web",
        slug="storefront-web",
        name="Storefront (browser)",
        platform="javascript",
        sdk_name="sentry.javascript.react",
        sdk_version="8.55.0",
        sdk_package="npm:@sentry/react",
        integrations=(
            "InboundFilters",
            "FunctionToString",
            "BrowserApiErrors",
            "Breadcrumbs",
            "GlobalHandlers",
            "LinkedErrors",
            "Dedupe",
            "HttpContext",
            "BrowserTracing",
        ),
        auth="query",
        compression="none",
        key_labels=("default", "checkout-embed"),
        share=0.36,
        families={"javascript": 0.45, "api": 0.25, "validation": 0.15, "performance": 0.15},
        servers=(),
        deploy_every_days=(1.0, 3.0),
    ),
    SeedProject(
        key="api",
        slug="storefront-api",
        name="Storefront API (Node)",
        platform="node",
        sdk_name="sentry.javascript.node",
        sdk_version="10.78.0",
        sdk_package="npm:@sentry/node",
        integrations=(
            "InboundFilters",
            "FunctionToString",
            "LinkedErrors",
            "RequestData",
            "Console",
            "OnUncaughtException",
            "OnUnhandledRejection",
            "ContextLines",
            "Context",
            "Modules",
            "Http",
            "Express",
            "Postgres",
            "Prisma",
        ),
        auth="query",
        compression="gzip-large",
        key_labels=("default",),
        share=0.26,
        families={
            "javascript": 0.25,
            "api": 0.30,
            "database": 0.20,
            "validation": 0.10,
            "performance": 0.15,
        },
        servers=tuple(f"api-{n}.storefront.internal" for n in range(1, 7)),
        deploy_every_days=(2.0, 4.0),
    ),
    SeedProject(
        key="backend",
        slug="orders-backend",
        name="Orders backend (Django)",
        platform="python",
        sdk_name="sentry.python.django",
        sdk_version="2.19.2",
        sdk_package="pypi:sentry-sdk",
        integrations=(
            "argv",
            "atexit",
            "celery",
            "dedupe",
            "django",
            "excepthook",
            "logging",
            "modules",
            "redis",
            "stdlib",
            "threading",
        ),
        auth="header",
        compression="br",
        key_labels=("default", "celery"),
        share=0.22,
        families={
            "python": 0.35,
            "api": 0.15,
            "database": 0.25,
            "validation": 0.12,
            "performance": 0.13,
        },
        servers=tuple(f"orders-{n}.prod.internal" for n in range(1, 5)),
        deploy_every_days=(2.0, 5.0),
    ),
    SeedProject(
        key="billing",
        slug="billing-service",
        name="Billing service (Spring Boot)",
        platform="java",
        sdk_name="sentry.java.spring-boot.jakarta",
        sdk_version="7.18.1",
        sdk_package="maven:io.sentry:sentry-spring-boot-starter-jakarta",
        integrations=("SpringBoot3", "Logback", "UncaughtExceptionHandler", "ShutdownHook"),
        auth="header",
        compression="gzip",
        key_labels=("default",),
        share=0.16,
        families={
            "java": 0.35,
            "api": 0.15,
            "database": 0.28,
            "validation": 0.10,
            "performance": 0.12,
        },
        servers=tuple(f"billing-{n}" for n in range(1, 4)),
        deploy_every_days=(4.0, 8.0),
        domains=(
            "payments",
            "invoices",
            "subscriptions",
            "pricing",
            "coupons",
            "loyalty",
            "reports",
            "returns",
            "accounts",
        ),
    ),
)
PROJECTS_BY_KEY = {p.key: p for p in SEED_PROJECTS}


def select_projects(keys: list[str] | None) -> tuple[SeedProject, ...]:
    if not keys:
        return SEED_PROJECTS
    unknown = [k for k in keys if k not in PROJECTS_BY_KEY]
    if unknown:
        known = ", ".join(PROJECTS_BY_KEY)
        raise ValueError(f"unknown seed project(s) {', '.join(unknown)} (known: {known})")
    return tuple(p for p in SEED_PROJECTS if p.key in keys)


@dataclass(frozen=True)
class ProvisionedProject:
    seed: SeedProject
    project: Project
    keys: tuple[ProjectKey, ...]


def ensure_seed_projects(
    pool: Pool, projects: tuple[SeedProject, ...]
) -> dict[str, ProvisionedProject]:
    """Create the projects and their keys if missing; reuse them otherwise."""
    provisioned = {}
    for seed in projects:
        try:
            project, _ = create_project(pool, seed.slug, seed.name)
        except ProjectError:
            project = get_project(pool, seed.slug)
        keys = [k for k in list_keys(pool, project.id) if k.is_active]
        for label in seed.key_labels[len(keys) :]:
            keys.append(add_key(pool, seed.slug, label))
        provisioned[seed.key] = ProvisionedProject(seed, project, tuple(keys))
    return provisioned


def configure_relay_limits(
    pool: Pool, provisioned: dict[str, ProvisionedProject], *, keep_all: bool
) -> bool:
    """Fit the relay's rate-based protections to a replay; True if a configuration changed.

    Seeding replays weeks of traffic in minutes: spike protection would hold every
    project to its floor (1,000 events a minute) for the whole run, so it is off for
    the seed projects. Dynamic sampling stays on (the events go through it, and most
    are sampled away at replay rates) unless `keep_all`. Quotas are left as configured.
    """
    changed = False
    for item in provisioned.values():
        config = item.project.config
        if config.spike_protection.enabled or config.sampling.enabled == keep_all:
            config = set_path(config, "spike_protection.enabled", False)
            config = set_path(config, "sampling.enabled", not keep_all)
            save_config(pool, item.seed.slug, config)
            changed = True
    return changed
