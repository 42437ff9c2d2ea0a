"""Resolve, regress, ignore, escalate, merge: the issue lifecycle against real services."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.workers.factories import batch_of, error_event
from workers import lifecycle
from workers.actors import WorkerActors
from workers.process_events import process_event_batch


def only_group(ctx, project_id) -> dict:
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT * FROM error_groups WHERE project_id = %s AND merged_into IS NULL",
            (project_id,),
        ).fetchall()
    assert len(rows) == 1
    return rows[0]


def act(ctx, action, *args, **kwargs) -> None:
    with ctx.stack.pool.connection() as conn, conn.transaction():
        action(conn, *args, **kwargs)


def kinds(ctx, group_id: int) -> list[str]:
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT kind FROM group_activity WHERE group_id = %s ORDER BY id", (group_id,)
        ).fetchall()
    return [r["kind"] for r in rows]


def test_a_new_event_on_a_resolved_issue_regresses_it(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event()], project_id))
    group = only_group(ctx, project_id)
    act(ctx, lifecycle.resolve, group["id"])
    assert only_group(ctx, project_id)["status"] == "resolved"
    # An event that reached the relay before the resolution does not regress it.
    late = batch_of([error_event()], project_id, received_at=time.time() - 3600)
    process_event_batch(ctx, late)
    assert only_group(ctx, project_id)["status"] == "resolved"
    outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
    regressed = only_group(ctx, project_id)
    assert (regressed["status"], regressed["substatus"]) == ("unresolved", "regressed")
    assert regressed["times_regressed"] == 1
    assert kinds(ctx, group["id"]) == ["resolved", "regression"]
    assert (group["id"], "regression") in outcome.assignment.analyses
    with ctx.stack.pool.connection() as conn:
        notice = conn.execute("SELECT kind FROM notifications ORDER BY id DESC").fetchone()
    assert notice["kind"] == "regression"


def test_resolved_in_next_release_regresses_only_on_a_newer_release(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event(release="shop@1.0.0")], project_id))
    group = only_group(ctx, project_id)
    act(ctx, lifecycle.resolve, group["id"], in_next_release=True)
    process_event_batch(ctx, batch_of([error_event(release="shop@1.0.0")], project_id))
    assert only_group(ctx, project_id)["status"] == "resolved"
    process_event_batch(ctx, batch_of([error_event(release="shop@1.1.0")], project_id))
    assert only_group(ctx, project_id)["substatus"] == "regressed"


def test_ignored_until_n_more_events_comes_back_at_the_nth(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event()], project_id))
    group_id = only_group(ctx, project_id)["id"]
    act(ctx, lifecycle.ignore, group_id, more_events=3)
    process_event_batch(ctx, batch_of([error_event(), error_event()], project_id))
    assert only_group(ctx, project_id)["status"] == "ignored"
    process_event_batch(ctx, batch_of([error_event()], project_id))
    group = only_group(ctx, project_id)
    assert (group["status"], group["substatus"]) == ("unresolved", "escalating")
    assert group["times_seen"] == 4


def test_ignored_until_a_time_comes_back_when_the_sweep_runs(ctx, project_id):
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    process_event_batch(ctx, batch_of([error_event()], project_id))
    group_id = only_group(ctx, project_id)["id"]
    act(ctx, lifecycle.ignore, group_id, until=datetime.now(UTC) + timedelta(hours=1))
    actors = WorkerActors(StubBroker(), ctx)
    actors.declare()
    actors.sweep()
    assert only_group(ctx, project_id)["status"] == "ignored"
    with ctx.stack.pool.connection() as conn:
        conn.execute("UPDATE error_groups SET ignore_until = now() - interval '1 second'")
    actors.sweep()
    assert only_group(ctx, project_id)["substatus"] == "escalating"
    assert kinds(ctx, group_id)[-1] == "unignored"
    assert isinstance(actors.actors["deliver_notifications"], dramatiq.Actor)


def test_merged_issues_add_up_and_later_events_follow_the_merge(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event(), error_event()], project_id))
    process_event_batch(ctx, batch_of([error_event(exception_type="KeyError")] * 1, project_id))
    with ctx.stack.pool.connection() as conn:
        ids = {
            r["exception_type"]: r["id"]
            for r in conn.execute("SELECT id, exception_type FROM error_groups")
        }
    with ctx.stack.pool.connection() as conn, conn.transaction():
        moved = lifecycle.merge(conn, ids["PaymentError"], [ids["KeyError"]])
    ctx.stack.redis.delete(*(f"{ctx.settings.redis_namespace}:grouphash:{k}" for k in moved))
    target = only_group(ctx, project_id)
    assert target["id"] == ids["PaymentError"]
    assert target["times_seen"] == 3
    process_event_batch(ctx, batch_of([error_event(exception_type="KeyError")], project_id))
    assert only_group(ctx, project_id)["times_seen"] == 4
    with ctx.stack.pool.connection() as conn:
        occurrences = conn.execute(
            "SELECT count(*) AS n FROM error_occurrences WHERE group_id = %s",
            (ids["PaymentError"],),
        ).fetchone()
    assert occurrences["n"] == 4


def test_merging_into_itself_or_across_projects_is_refused(ctx, project_id):
    import pytest

    from core.pg.projects import create_project

    process_event_batch(ctx, batch_of([error_event()], project_id))
    other, _ = create_project(ctx.stack.pool, "other")
    process_event_batch(ctx, batch_of([error_event()], other.id))
    with ctx.stack.pool.connection() as conn:
        ids = [r["id"] for r in conn.execute("SELECT id FROM error_groups ORDER BY id")]
    with pytest.raises(lifecycle.LifecycleError, match="itself"):
        act(ctx, lifecycle.merge, ids[0], [ids[0]])
    with pytest.raises(lifecycle.LifecycleError, match="another project"):
        act(ctx, lifecycle.merge, ids[0], [ids[1]])
