"""A project moved to another grouping version keeps its issues, through the real workers path.

While the move's transition lasts, each event is fingerprinted under both
versions; a new-version hash that finds no issue looks up the old-version hash,
joins that issue and is attached to it, as Sentry's secondary grouping config
does. Once the transition expires only the new version counts.
"""

from __future__ import annotations

import time
import uuid

from core.pg.projects import get_project, save_config
from core.project_config import (
    GROUPING_TRANSITION_S,
    NEW_PROJECT_GROUPING_VERSION,
    parse_config,
    set_path,
)
from tests.workers.factories import batch_of
from workers.context import WorkerContext
from workers.grouping import GROUPING_VERSION, GroupingConfig, group_event
from workers.process_events import process_event_batch


def native_crash(function: str = "Renderer::DrawMesh(Mesh const&)") -> dict:
    """A sentry-native crash: v2 counts the file beside the function, v1 does not."""
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": time.time(),
        "platform": "native",
        "level": "fatal",
        "sdk": {"name": "sentry.native", "version": "0.7.5"},
        "exception": {
            "values": [
                {
                    "type": "SIGSEGV",
                    "value": "Segfault",
                    "mechanism": {"type": "signalhandler", "synthetic": True, "handled": False},
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "main",
                                "filename": "main.cpp",
                                "package": "/opt/game/bin/game",
                                "instruction_addr": "0x55d1c2b6bae1",
                            },
                            {
                                "function": function,
                                "filename": "renderer.cpp",
                                "package": "/opt/game/bin/game",
                                "instruction_addr": "0x55d1c2b6c0f4",
                            },
                        ]
                    },
                }
            ]
        },
    }


def use_version(ctx: WorkerContext, project_id: int, version: str, *, now_s: float) -> None:
    project = get_project(ctx.stack.pool, project_id)
    save_config(
        ctx.stack.pool,
        project.slug,
        set_path(project.config, "grouping.version", version, now_s=now_s),
    )


def issues(ctx: WorkerContext, project_id: int) -> list[dict]:
    with ctx.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT id, grouping_version, times_seen FROM error_groups "
            "WHERE project_id = %s ORDER BY id",
            (project_id,),
        ).fetchall()


def hashes_of(ctx: WorkerContext, group_id: int) -> set[tuple[str, str]]:
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT grouping_version, hash FROM group_hashes WHERE group_id = %s", (group_id,)
        ).fetchall()
    return {(row["grouping_version"], row["hash"].strip()) for row in rows}


def process(stack, project_id: int, events: list[dict]):
    # A fresh context reads the project's configuration now, as a worker does
    # within seconds of a change.
    return process_event_batch(WorkerContext(stack), batch_of(events, project_id))


def test_new_projects_start_on_the_current_version_and_old_configs_mean_v1(ctx, project_id):
    assert NEW_PROJECT_GROUPING_VERSION == GROUPING_VERSION == "v2"
    assert get_project(ctx.stack.pool, project_id).config.grouping.version == "v2"
    assert parse_config({}).grouping.version == "v1"


def test_moving_the_version_makes_the_old_one_secondary_for_the_transition():
    moved = set_path(parse_config({}), "grouping.version", "v2", now_s=1_000)
    assert (moved.grouping.version, moved.grouping.secondary_version) == ("v2", "v1")
    assert moved.grouping.secondary_expires_unix_s == 1_000 + GROUPING_TRANSITION_S
    assert moved.grouping.secondary_active(1_000 + GROUPING_TRANSITION_S - 1)
    assert not moved.grouping.secondary_active(1_000 + GROUPING_TRANSITION_S)
    unchanged = set_path(moved, "grouping.version", "v2", now_s=5_000)
    assert unchanged.grouping.secondary_expires_unix_s == moved.grouping.secondary_expires_unix_s


def test_a_project_moved_from_v1_to_v2_keeps_its_issues(stack, ctx, project_id):
    crash = native_crash()
    v1_hash = group_event(crash, GroupingConfig.build("v1")).hash
    v2_hash = group_event(crash, GroupingConfig.build("v2")).hash
    assert v1_hash != v2_hash
    now = time.time()
    use_version(ctx, project_id, "v1", now_s=now - GROUPING_TRANSITION_S - 10)  # long ago
    first = process(stack, project_id, [native_crash()])
    (issue,) = first.assignment.new_group_ids

    use_version(ctx, project_id, "v2", now_s=now)
    moved = process(stack, project_id, [native_crash(), native_crash()])
    assert moved.assignment.new_group_ids == []
    assert [(row["id"], row["times_seen"]) for row in issues(ctx, project_id)] == [(issue, 3)]
    assert hashes_of(ctx, issue) == {("v1", v1_hash), ("v2", v2_hash)}

    # Another root cause during the transition is a new issue, under v2.
    other = process(stack, project_id, [native_crash("Physics::Step(float)")])
    (new_issue,) = other.assignment.new_group_ids
    assert issues(ctx, project_id)[-1]["grouping_version"] == "v2"

    # After the transition the attached v2 hash still finds the old issue.
    project = get_project(ctx.stack.pool, project_id)
    expired = set_path(project.config, "grouping.secondary_expires_unix_s", int(now) - 1)
    save_config(ctx.stack.pool, project.slug, expired)
    after = process(stack, project_id, [native_crash(), native_crash("Physics::Step(float)")])
    assert after.assignment.new_group_ids == []
    counts = {row["id"]: row["times_seen"] for row in issues(ctx, project_id)}
    assert counts == {issue: 4, new_issue: 2}


def test_without_a_transition_a_version_change_splits_issues(stack, ctx, project_id):
    now = time.time()
    use_version(ctx, project_id, "v1", now_s=now - GROUPING_TRANSITION_S - 10)
    process(stack, project_id, [native_crash()])
    project = get_project(ctx.stack.pool, project_id)
    config = set_path(project.config, "grouping.version", "v2", now_s=now)
    config = set_path(config, "grouping.secondary_version", "")
    save_config(ctx.stack.pool, project.slug, config)
    split = process(stack, project_id, [native_crash()])
    assert len(split.assignment.new_group_ids) == 1
    assert [row["grouping_version"] for row in issues(ctx, project_id)] == ["v1", "v2"]
