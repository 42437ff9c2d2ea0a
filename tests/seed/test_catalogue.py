"""The catalogue: hundreds of root causes, every family, traps for naive grouping,
releases that introduce, fix and regress root causes."""

from __future__ import annotations

import random
import string
from collections import Counter, defaultdict

import msgspec

from seed.catalogue import TEMPLATES, build_catalogue
from seed.catalogue.codepaths import path_allocator
from seed.catalogue.common import Ctx
from seed.model import FAMILIES, ErrorSpec
from seed.pools import FILLERS, SAFE_FILLERS, Filler
from seed.projects import SEED_PROJECTS
from seed.shapes import ENGINES, FrameRenderer
from tests.seed.conftest import FIXED_END


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _values(spec: ErrorSpec) -> list[str]:
    out = []
    for exc in spec.exceptions:
        out.extend(exc.value.values() if isinstance(exc.value, dict) else [exc.value])
    return out


def test_the_default_catalogue_has_hundreds_of_root_causes_in_every_family(default_plan):
    catalogue = default_plan.catalogue
    assert len(catalogue) == 300
    assert {rc.family for rc in catalogue} == set(FAMILIES)
    for project in SEED_PROJECTS:
        families = Counter(rc.family for rc in catalogue if rc.project == project.key)
        assert set(families) == set(project.families)
    assert len({rc.category for rc in catalogue}) >= 40
    assert len({rc.id for rc in catalogue}) == len(catalogue)


def test_every_template_builds_on_every_platform_and_formats(pools):
    rng = random.Random(5)
    paths = path_allocator(rng)
    for template in TEMPLATES:
        for project in SEED_PROJECTS:
            if project.platform not in template.platforms:
                continue
            spec, title = template.build(Ctx(rng, project, next(paths)))
            assert title
            if isinstance(spec, ErrorSpec):
                for text in _values(spec):
                    assert _placeholders(text) <= set(FILLERS), (template.category, text)
                    text.format_map(Filler(rng, pools))
            else:
                for span in spec.spans:
                    span.description.format_map(Filler(rng, pools))


def test_messages_that_grouping_hashes_only_vary_in_parameterizable_ways(default_plan):
    """Without an in-app frame under it, a message is part of the issue's hash (Sentry's
    rule): its variable parts must be ones parameterization replaces, or the root
    cause would split into many issues."""
    checked = 0
    for rc in build_catalogue(
        random.Random(4), SEED_PROJECTS, {"web": 9, "api": 7, "backend": 6, "billing": 4}, 1500
    ):
        spec = rc.spec
        if not isinstance(spec, ErrorSpec):
            continue
        texts = [spec.message or ""]
        for exc in spec.exceptions:
            if not any(frame.in_app for frame in exc.frames):
                values = exc.value.values() if isinstance(exc.value, dict) else [exc.value]
                texts.extend(values)
        if spec.log is not None:
            assert set(spec.log.params) <= set(SAFE_FILLERS)
        for text in texts:
            assert _placeholders(text) <= set(SAFE_FILLERS), (rc.id, text)
            checked += bool(text)
    assert checked > 100
    assert default_plan.catalogue


def _in_app_signature(spec: ErrorSpec) -> tuple:
    frames = spec.exceptions[-1].frames
    return tuple((f.module, f.function, f.context_line) for f in frames if f.in_app)


def test_some_root_causes_share_a_type_and_message_but_not_their_code(default_plan):
    by_message = defaultdict(list)
    for rc in default_plan.catalogue:
        if isinstance(rc.spec, ErrorSpec) and rc.spec.exceptions:
            main = rc.spec.exceptions[-1]
            by_message[(rc.project, main.type, str(main.value))].append(rc)
    shared = [rcs for rcs in by_message.values() if len(rcs) > 1]
    assert len(shared) >= 10, "naive type + message grouping must merge root causes"
    for rcs in shared:
        signatures = {_in_app_signature(rc.spec) for rc in rcs}
        assert len(signatures) == len(rcs), "...that their in-app frames tell apart"


def test_browser_messages_differ_by_engine_while_source_mapped_frames_do_not(default_plan):
    rc = next(
        rc
        for rc in default_plan.catalogue
        if rc.project == "web"
        and isinstance(rc.spec, ErrorSpec)
        and rc.spec.exceptions
        and isinstance(rc.spec.exceptions[-1].value, dict)
    )
    exc = rc.spec.exceptions[-1]
    assert len(set(exc.value.values())) > 1
    release_a, release_b = default_plan.releases["web"][:2]
    mapped, minified = set(), set()
    for release in (release_a, release_b):
        for variant in range(len(ENGINES)):
            renderer = FrameRenderer("javascript", release, variant, "web")
            frames = [renderer.frame(f) for f in exc.frames]
            # Line numbers move with deploys; what grouping reads does not.
            mapped.add(msgspec.json.encode([(f["module"], f["context_line"]) for f in frames]))
            minified.add(msgspec.json.encode(renderer.minified(exc.frames)))
    assert len(mapped) == 1
    assert len(minified) == 2 * len(ENGINES)


def test_releases_introduce_fix_and_regress_root_causes(default_plan, default_events):
    lifecycles = [rc.lifecycle for rc in default_plan.catalogue]
    assert sum(lc.introduced > 0 for lc in lifecycles) >= 30
    assert sum(lc.fixed is not None for lc in lifecycles) >= 20
    assert sum(lc.regressed is not None for lc in lifecycles) >= 5
    for event in default_events:
        lifecycle = event.root_cause.lifecycle
        release = default_plan.release_at(event.project, event.timestamp)
        assert lifecycle.state(release.index) != "off", "no event from a fixed root cause"
        assert event.regression == (lifecycle.state(release.index) == "regressed")
    assert any(e.regression for e in default_events)


def test_a_larger_catalogue_keeps_root_causes_distinct():
    catalogue = build_catalogue(
        random.Random(9), SEED_PROJECTS, {"web": 9, "api": 7, "backend": 6, "billing": 4}, 1500
    )
    assert len(catalogue) >= 1450
    signatures = Counter(
        (rc.project, _in_app_signature(rc.spec), rc.spec.exceptions[-1].type)
        for rc in catalogue
        if isinstance(rc.spec, ErrorSpec) and rc.spec.exceptions and rc.spec.exceptions[-1].frames
    )
    assert max(signatures.values()) == 1
    assert FIXED_END.tzinfo is not None
