"""The workers' source-map step on batches: what it resolves, what it records when it
cannot, and that nothing an upload or an event holds makes it fail a batch."""

from __future__ import annotations

import os
import time
import uuid

import msgspec
import pytest

from core.artifacts.bundle import Bundle, BundleFile
from core.artifacts.store import ArtifactStore
from core.pg import artifacts
from core.pg.projects import create_project
from tests.sourcemaps.bundles import MINIFIED, SOURCE_MAP
from tests.workers.factories import batch_of
from workers.context import WorkerContext
from workers.process_events import process_event_batch

THROW_COLUMN = MINIFIED.index(b"throw") + 1


@pytest.fixture
def ctx(stack) -> WorkerContext:
    return WorkerContext(stack)


@pytest.fixture
def project_id(stack) -> int:
    return create_project(stack.pool, "web")[0].id


def upload(
    ctx: WorkerContext,
    project_id: int,
    *,
    debug_id: str | None = None,
    release: str = "",
    source_map: bytes = SOURCE_MAP,
    url: str = "~/app.min.js",
) -> list[str]:
    """Index a bundle as the relay does after its checks (which a corrupt map with
    valid JSON passes), returning its files' SHA-1s."""
    files = [
        BundleFile("a", url, "minified_source", debug_id, "app.min.js.map", MINIFIED),
        BundleFile("b", f"{url}.map", "source_map", debug_id, "", source_map),
    ]
    bundle = Bundle(bundle_id="", release=release, dist="", files=files)
    store = ArtifactStore(ctx.settings.artifacts_path)
    sha1s = [store.put_file(f.content) for f in files]
    with ctx.stack.pool.connection() as conn, conn.transaction():
        artifacts.index_bundle(conn, project_id, uuid.uuid4().hex[:40], bundle, sha1s)
    return sha1s


def browser_path() -> str:
    return "https://shop.example/static/app.min.js"


def browser_event(*, debug_id: str | None = None, release: str | None = None, **frame) -> dict:
    path = browser_path()
    event = {
        "event_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "platform": "javascript",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "Error",
                    "value": "x1",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": path,
                                "function": "t",
                                "lineno": 1,
                                "colno": THROW_COLUMN,
                                "in_app": True,
                                **frame,
                            }
                        ]
                    },
                }
            ]
        },
    }
    if release:
        event["release"] = release
    if debug_id:
        event["debug_meta"] = {
            "images": [{"type": "sourcemap", "code_file": path, "debug_id": debug_id}]
        }
    return event


def processed(ctx: WorkerContext, event: dict) -> dict:
    rows = (
        ctx.clickhouse()
        .query(
            "SELECT payload FROM processed_events FINAL WHERE event_id = {e:UUID}",
            parameters={"e": event["event_id"]},
        )
        .result_rows
    )
    assert len(rows) == 1
    return msgspec.json.decode(rows[0][0])


def frame_of(event: dict) -> dict:
    return event["exception"]["values"][0]["stacktrace"]["frames"][0]


def test_a_frame_is_resolved_by_debug_id_and_its_raw_form_kept(ctx, project_id):
    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id)
    event = browser_event(debug_id=debug_id)
    outcome = process_event_batch(ctx, batch_of([event], project_id))
    assert (outcome.frames_resolved, outcome.frames_unresolved) == (1, 0)
    stored = processed(ctx, event)
    frame = frame_of(stored)
    assert (frame["function"], frame["lineno"], frame["filename"]) == ("explode", 2, "/src/app.js")
    assert frame["abs_path"] == "https://shop.example/src/app.js"
    assert frame["context_line"] == "  throw new Error('x' + n);"
    assert frame["pre_context"] == ["function explode(n) {"]
    assert frame["data"]["sourcemap"] == "https://shop.example/static/app.min.js.map"
    raw = stored["exception"]["values"][0]["raw_stacktrace"]["frames"][0]
    assert (raw["function"], raw["colno"]) == ("t", THROW_COLUMN)


def test_a_frame_is_resolved_by_release_and_url(ctx, project_id):
    upload(ctx, project_id, release="web@1", url="~/static/app.min.js")
    event = browser_event(release="web@1")
    process_event_batch(ctx, batch_of([event], project_id))
    frame = frame_of(processed(ctx, event))
    assert (frame["function"], frame["data"]["resolved_with"]) == ("explode", "release")


@pytest.mark.parametrize(
    ("source_map", "kind"),
    [
        # Valid JSON, so the upload's check lets it through; symbolic cannot read it.
        (b'{"version": 3, "sources": [], "names": [], "mappings": "!!!"}', "js_invalid_source"),
        (
            b'{"version": 3, "sources": ["a.js"], "names": [], "mappings": ""}',
            "js_invalid_sourcemap_location",
        ),
    ],
)
def test_a_bad_map_is_recorded_and_the_event_still_grouped(ctx, project_id, source_map, kind):
    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id, source_map=source_map)
    events = [browser_event(debug_id=debug_id) for _ in range(3)]
    outcome = process_event_batch(ctx, batch_of(events, project_id))
    assert outcome.assignment.groups, "the batch was grouped"
    stored = processed(ctx, events[0])
    assert frame_of(stored)["function"] == "t"  # kept as sent
    assert [e["type"] for e in stored["errors"]] == [kind]
    assert ctx.sourcemaps().maps.parsed == 1, "a bad map is parsed once, not per event"


def test_a_map_missing_from_the_folder_is_recorded(ctx, project_id):
    debug_id = str(uuid.uuid4())
    sha1s = upload(ctx, project_id, debug_id=debug_id)
    path = ArtifactStore(ctx.settings.artifacts_path)._path("files", sha1s[1])
    path.unlink()
    event = browser_event(debug_id=debug_id)
    process_event_batch(ctx, batch_of([event], project_id))
    error = processed(ctx, event)["errors"][0]
    assert error["type"] == "js_invalid_source"
    assert "missing from the artifact folder" in error["reason"]


def test_frames_without_a_map_say_why(ctx, project_id):
    upload(ctx, project_id, debug_id=str(uuid.uuid4()))  # the project uses source maps
    no_release = browser_event()
    unknown_debug_id = browser_event(debug_id=str(uuid.uuid4()))
    no_file = browser_event(release="web@9")
    process_event_batch(ctx, batch_of([no_release, unknown_debug_id, no_file], project_id))
    kinds = [
        processed(ctx, e)["errors"][0]["type"] for e in (no_release, unknown_debug_id, no_file)
    ]
    assert kinds == ["js_missing_debug_id", "js_no_source", "js_no_source"]


@pytest.mark.parametrize(
    "frame",
    [
        {"lineno": "1", "colno": None},
        {"lineno": 10**9, "colno": 10**9},
        {"lineno": 1, "colno": -5},
        {"function": {"not": "text"}},
        {"data": "nope"},
    ],
)
def test_odd_frames_never_fail_a_batch(ctx, project_id, frame):
    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id)
    event = browser_event(debug_id=debug_id, **frame)
    outcome = process_event_batch(ctx, batch_of([event, browser_event()], project_id))
    assert len(outcome.assignment.groups) >= 1


def test_a_project_without_uploads_costs_one_cached_lookup(ctx, stack):
    project = create_project(stack.pool, "plain")[0].id
    resolver = ctx.sourcemaps()
    for _ in range(3):
        process_event_batch(ctx, batch_of([browser_event() for _ in range(10)], project))
    assert resolver.index.queries == 1
    assert ctx.clickhouse().query("SELECT count() FROM processed_events").result_rows[0][0] == 0


def test_retention_deletes_unused_bundles_and_files_no_other_bundle_names(ctx, project_id):
    from workers.sourcemaps.retention import sweep_artifacts

    kept = upload(ctx, project_id, debug_id=str(uuid.uuid4()))
    gone = upload(ctx, project_id, debug_id=str(uuid.uuid4()), source_map=SOURCE_MAP + b" ")
    store = ArtifactStore(ctx.settings.artifacts_path)
    with ctx.stack.pool.connection() as conn:
        conn.execute(
            "UPDATE artifact_bundles SET last_used_at = now() - interval '100 days' "
            "WHERE id = (SELECT max(id) FROM artifact_bundles)"
        )
    for sha1 in gone:  # written long ago, so the sweep may take them
        path = store._path("files", sha1)
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    bundles, files = sweep_artifacts(ctx.stack.pool, store, retention_days=90)
    # The minified file is shared with the kept bundle: only the old map goes.
    assert (bundles, files) == (1, 1)
    assert all(store.read_file(s) is not None for s in kept)
    assert store.read_file(gone[1]) is None


def test_the_workbench_shows_an_issues_resolved_stack_trace(ctx, project_id, stack):
    from analysis.clickhouse_source import ClickHouseSource
    from analysis.stacktraces import issue_stacktraces

    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id)
    outcome = process_event_batch(ctx, batch_of([browser_event(debug_id=debug_id)], project_id))
    (group_id,) = set(outcome.assignment.groups.values())
    source = ClickHouseSource.from_stack(stack)
    frames = issue_stacktraces(source, [group_id], projects=[project_id])
    assert frames.select("function", "location", "resolved_with", "minified").rows() == [
        ("explode", "/src/app.js:2:3", "debug-id", f"t at {browser_path()}:1:{THROW_COLUMN}")
    ]
    assert frames["context_line"][0] == "throw new Error('x' + n);"


def test_the_ai_features_read_the_resolved_event(ctx, project_id):
    from tests.ai.factories import ingest
    from workers.ai.facts import load_facts

    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id)
    (group_id,) = ingest(ctx, project_id, [browser_event(debug_id=debug_id)])
    facts = load_facts(ctx, group_id)
    assert facts is not None
    view = facts.events[0].view
    assert view is not None
    assert [f.function for f in view.frames] == ["explode"]


def test_a_replay_over_the_live_store_groups_the_resolved_events(ctx, project_id, stack, tmp_path):
    import polars as pl

    from analysis.clickhouse_source import ClickHouseSource
    from tests.ai.factories import ingest

    debug_id = str(uuid.uuid4())
    upload(ctx, project_id, debug_id=debug_id)
    event = browser_event(debug_id=debug_id)
    ingest(ctx, project_id, [event])
    ((_, path),) = ClickHouseSource.from_stack(stack).event_files(tmp_path, projects=[project_id])
    (payload,) = pl.read_parquet(path)["payload"].to_list()
    assert frame_of(msgspec.json.decode(payload))["function"] == "explode"
