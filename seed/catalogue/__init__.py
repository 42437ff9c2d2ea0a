"""The catalogue of root causes: how many per project and family, which template,
which code path, how frequent, and when each appears, is fixed and regresses.

Frequencies are heavy-tailed (a few root causes make most of the events, as in
production). Lifecycles tie root causes to releases: most are already live when
the period starts, some arrive with a deploy, some are fixed by a later one and
a few come back after that (regressions).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from seed.catalogue import (
    ai_written,
    api,
    database,
    java_errors,
    javascript,
    performance,
    python_errors,
    validation,
)
from seed.catalogue.codepaths import CodePath, path_allocator
from seed.catalogue.common import AIMessage, Ctx, Template
from seed.model import SEVERITIES, ErrorSpec, Lifecycle, RootCause, TransactionSpec
from seed.projects import SeedProject
from seed.timeline import allocate

TEMPLATES: tuple[Template, ...] = (
    *javascript.TEMPLATES,
    *api.TEMPLATES,
    *database.TEMPLATES,
    *validation.TEMPLATES,
    *performance.TEMPLATES,
    *python_errors.TEMPLATES,
    *java_errors.TEMPLATES,
)
# Share of a family's root causes that take an AI-written message when `--ai` is on.
AI_SHARE = 0.5
_ZIPF_EXPONENT = 0.9
_NUMBERS = re.compile(r"\d+")

AIMessages = dict[tuple[str, str], list[AIMessage]]


def lifecycle(rng: random.Random, releases: int) -> Lifecycle:
    """Release indices (0 = live before the period) where a root cause starts/stops/returns."""
    last = releases - 1
    introduced = rng.randint(1, last) if last >= 1 and rng.random() < 0.35 else 0
    fixed = regressed = None
    if introduced + 1 <= last and rng.random() < 0.3:
        fixed = rng.randint(introduced + 1, last)
        if fixed + 1 <= last and rng.random() < 0.45:
            regressed = rng.randint(fixed + 1, last)
    return Lifecycle(introduced, fixed, regressed)


def _severity(rng: random.Random, default: str) -> str:
    index = SEVERITIES.index(default)
    roll = rng.random()
    if roll < 0.1:
        index = max(0, index - 1)
    elif roll < 0.2:
        index = min(len(SEVERITIES) - 1, index + 1)
    return SEVERITIES[index]


def _message_key(spec) -> str | None:
    """For events grouped on their message alone: the message with every number blanked."""
    if not isinstance(spec, ErrorSpec):
        return None
    if spec.log is not None:
        text = spec.log.message
    elif spec.message is not None:
        text = spec.message
    elif spec.exceptions and not any(exc.frames for exc in spec.exceptions):
        exc = spec.exceptions[-1]
        text = f"{exc.type}: {exc.value}"
    else:
        return None
    return _NUMBERS.sub("N", str(text))


@dataclass(frozen=True)
class _Built:
    spec: ErrorSpec | TransactionSpec
    title: str
    category: str
    severity: str
    path: CodePath
    ai_written: bool


class _CellBuilder:
    """Root causes of one project and family."""

    def __init__(self, rng: random.Random, project: SeedProject, paths: Iterator[CodePath]):
        self.rng = rng
        self.project = project
        self.paths = paths
        self.used_unique: set[int] = set()
        self.message_keys: set[str] = set()

    def templates(self, family: str) -> list[Template]:
        return [
            t
            for t in TEMPLATES
            if t.family == family
            and self.project.platform in t.platforms
            and id(t) not in self.used_unique
        ]

    def _build(self, template: Template, ai: list[AIMessage]) -> _Built:
        ctx = Ctx(self.rng, self.project, next(self.paths))
        if ai and template.family != "performance" and self.rng.random() < AI_SHARE:
            message = self.rng.choice(ai)
            written, title = ai_written.build(ctx, message)
            return _Built(written, title, message.category, message.severity, ctx.path, True)
        spec, title = template.build(ctx)
        severity = _severity(self.rng, template.severity)
        return _Built(spec, title, template.category, severity, ctx.path, False)

    def one(self, family: str, ai: list[AIMessage]) -> _Built | None:
        """A new root cause; message-only ones must not read like an existing one."""
        for _ in range(20):
            choices = self.templates(family)
            if not choices:
                return None
            template = self.rng.choices(choices, [t.weight for t in choices])[0]
            built = self._build(template, ai)
            key = _message_key(built.spec)
            if key is not None and key in self.message_keys:
                continue
            if key is not None:
                self.message_keys.add(key)
            if template.unique and not built.ai_written:
                self.used_unique.add(id(template))
            return built
        return None


def _weights(rng: random.Random, count: int, share: float) -> list[float]:
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    raw = [1.0 / rank**_ZIPF_EXPONENT for rank in ranks]
    scale = share / sum(raw)
    return [w * scale for w in raw]


def build_catalogue(
    rng: random.Random,
    projects: tuple[SeedProject, ...],
    release_counts: dict[str, int],
    count: int,
    ai: AIMessages | None = None,
) -> list[RootCause]:
    cells = [(p, family, p.share * share) for p in projects for family, share in p.families.items()]
    # Every project and family gets at least one root cause; the rest by share.
    extra = allocate(max(count - len(cells), 0), [share for _, _, share in cells])
    counts = [n + 1 for n in extra]
    builders = {p.key: _CellBuilder(rng, p, path_allocator(rng, p.domains)) for p in projects}
    catalogue: list[RootCause] = []
    for (project, family, share), n in zip(cells, counts, strict=True):
        builder = builders[project.key]
        messages = (ai or {}).get((family, project.platform), [])
        built = [b for b in (builder.one(family, messages) for _ in range(n)) if b is not None]
        if not built:
            continue
        weights = _weights(rng, len(built), share)
        for index, (item, weight) in enumerate(zip(built, weights, strict=True)):
            catalogue.append(
                RootCause(
                    id=f"{project.key}-{family}-{item.category}-{index:03d}",
                    project=project.key,
                    family=family,
                    category=item.category,
                    severity=item.severity,
                    weight=weight,
                    spec=item.spec,
                    lifecycle=lifecycle(rng, release_counts[project.key]),
                    title=item.title,
                    ai_written=item.ai_written,
                    domain=item.path.domain,
                    entity=item.path.entity,
                )
            )
    return catalogue
