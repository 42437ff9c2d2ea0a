"""`seed --sourcemaps`: browser errors arrive minified, as the SDK sends them, the seeder
uploads every release's maps, and the workers resolve them to the frames the seeder
otherwise sends pre-resolved: the same root causes make the same issues."""

from __future__ import annotations

import time

import msgspec

from seed.deliver_direct import load_direct
from seed.plan import SeedOptions, SeedPlan, today_utc
from seed.projects import SEED_PROJECTS, ensure_seed_projects
from seed.run import upload_maps
from stackwise.serve import running_workers, stack_broker
from tests.seed.conftest import FIXED_END


def test_browser_frames_are_sent_minified_with_debug_ids(pools):
    from seed.generate import Generator

    plan = SeedPlan(SeedOptions(events=400, seed=2, end=FIXED_END, sourcemaps=True))
    browser = [
        msgspec.json.decode(msgspec.json.encode(e.rendered.payload))
        for e in Generator(plan, pools).events()
        if e.rendered.kind == "event"
        and e.root_cause.family == "javascript"
        and "exception" in e.rendered.payload
        and e.root_cause.project == "web"
    ]
    with_frames = [p for p in browser if "stacktrace" in p["exception"]["values"][-1]]
    assert len(with_frames) > 20
    for payload in with_frames:
        frames = payload["exception"]["values"][-1]["stacktrace"]["frames"]
        assert all("data" not in f and f["lineno"] == 1 for f in frames), frames
        assert all(f["filename"].startswith("https://shop.example.com/static/js/") for f in frames)
        assert "raw_stacktrace" not in payload["exception"]["values"][-1]
        assert [i["type"] for i in payload["debug_meta"]["images"]] == ["sourcemap"] * 2


class _Quiet:
    def print(self, *args, **kwargs) -> None:
        pass


def _issues(stack, project_id: int) -> set[frozenset[str]]:
    """The project's issues, each as the set of root causes its events came from."""
    rows = (
        stack.clickhouse()
        .query(
            "SELECT groupUniqArray(t.root_cause) FROM seed_ground_truth AS t "
            "JOIN event_groups AS g USING (project_id, event_id) "
            "WHERE t.project_id = {p:UInt64} GROUP BY g.group_id",
            parameters={"p": project_id},
        )
        .result_rows
    )
    return {frozenset(row[0]) for row in rows}


def test_resolved_seed_events_group_as_the_pre_resolved_ones(stack):
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    web = provisioned["web"].project.id
    broker = stack_broker(stack)
    for sourcemaps, offset in ((False, 0), (True, 1000)):
        options = SeedOptions(
            events=1_500,
            days=5,
            root_causes=60,
            seed=4,
            end=today_utc(),
            projects=("web",),
            sourcemaps=sourcemaps,
        )
        # The second run into a project of its own, so the issues do not mix.
        project_ids = {"web": web + offset}
        if sourcemaps:
            with stack.pool.connection() as conn:
                conn.execute(
                    "INSERT INTO projects (id, slug, name) VALUES (%s, 'web-maps', 'web-maps')",
                    (web + offset,),
                )
            upload_maps(stack, SeedPlan(options), project_ids, _Quiet())
        load_direct(stack, broker, options, project_ids, workers=0, on_unit=lambda r: None)
    with running_workers(stack, broker):
        deadline = time.monotonic() + 180
        while broker.do_qsize(stack.settings.queue_name):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.0)
    issues = [_issues(stack, web + offset) for offset in (0, 1000)]
    pre_resolved, resolved = issues
    assert len(pre_resolved) > 10
    assert resolved == pre_resolved
    processed = (
        stack.clickhouse()
        .query(
            "SELECT count(), countIf(payload LIKE '%js_no_source%' OR payload LIKE "
            "'%js_invalid%' OR payload LIKE '%js_missing%') FROM processed_events "
            "WHERE project_id = {p:UInt64}",
            parameters={"p": web + 1000},
        )
        .result_rows[0]
    )
    assert processed[0] > 0 and processed[1] == 0, processed
