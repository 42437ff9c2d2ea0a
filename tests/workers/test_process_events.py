"""process_events on real PostgreSQL, Redis and ClickHouse: correct, and idempotent."""

from __future__ import annotations

import threading
import time
import uuid

import msgspec

from core.wire import EventBatch, StoredEvents
from relay.write import EventRows
from tests.workers.conftest import assigned_count, group_counts, occurrence_count
from tests.workers.factories import batch_of, error_event
from workers.context import WorkerContext
from workers.process_events import process_event_batch


def mixed_events() -> list[dict]:
    payments = [error_event(value=f"card {4000 + i} declined", user=f"u-{i % 3}") for i in range(6)]
    keys = [
        error_event(exception_type="KeyError", value=f"'sku-{i}'", function="reserve", user="u-9")
        for i in range(4)
    ]
    return payments + keys


def test_a_batch_becomes_issues_with_counts_users_and_assignments(ctx, project_id):
    batch = batch_of(mixed_events(), project_id)
    outcome = process_event_batch(ctx, batch)
    assert outcome.assignment.new_occurrences == 10
    assert len(outcome.assignment.new_group_ids) == 2
    assert group_counts(ctx, project_id) == {"PaymentError": (6, 3), "KeyError": (4, 1)}
    assert assigned_count(ctx, project_id) == 10
    with ctx.stack.pool.connection() as conn:
        releases = conn.execute(
            "SELECT release, sum(times_seen) AS n FROM group_releases GROUP BY release"
        ).fetchall()
        outbox = conn.execute(
            "SELECT count(*) AS n FROM notifications WHERE kind = 'new_issue'"
        ).fetchone()
    assert [(r["release"], r["n"]) for r in releases] == [("shop@1.0.0", 10)]
    assert outbox["n"] == 2
    # Both issues reached the default AI threshold of 3 events within this batch.
    assert sorted(reason for _, reason in outcome.assignment.analyses) == ["new_issue"] * 2


def test_redelivering_a_batch_changes_nothing(ctx, project_id):
    batch = batch_of(mixed_events(), project_id)
    process_event_batch(ctx, batch)
    before = group_counts(ctx, project_id)
    again = process_event_batch(ctx, batch)
    assert again.assignment.new_occurrences == 0
    assert again.assignment.new_group_ids == []
    assert again.assignment.notification_ids == []
    assert group_counts(ctx, project_id) == before
    assert occurrence_count(ctx, project_id) == 10
    assert assigned_count(ctx, project_id) == 10


def test_the_same_batch_in_two_workers_at_once_counts_once(stack, project_id):
    batch = batch_of(mixed_events() * 1, project_id)
    contexts = [WorkerContext(stack), WorkerContext(stack)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(ctx: WorkerContext) -> None:
        try:
            start.wait()
            process_event_batch(ctx, batch)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert group_counts(contexts[0], project_id) == {"PaymentError": (6, 3), "KeyError": (4, 1)}
    assert occurrence_count(contexts[0], project_id) == 10
    with stack.pool.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM error_groups").fetchone()["n"] == 2
        assert conn.execute("SELECT count(*) AS n FROM notifications").fetchone()["n"] == 2


def test_events_named_by_a_bulk_load_are_read_back_in_one_query(ctx, project_id):
    events = mixed_events()
    now = time.time()
    rows = EventRows()
    for e in events:
        rows.add(
            project_id,
            e["event_id"],
            now,
            msgspec.json.encode(e),
            timestamp=e["timestamp"],
            event_type="error",
        )
    ctx.clickhouse().insert_arrow("events", rows.table())
    stamps = [e["timestamp"] for e in events]
    batch = EventBatch(
        batch_id=uuid.uuid4().hex,
        created_at=now,
        stored=[
            StoredEvents(
                project_id=project_id,
                start=min(stamps) - 1,
                end=max(stamps) + 1,
                event_ids=[e["event_id"] for e in events],
            )
        ],
    )
    outcome = process_event_batch(ctx, batch)
    assert outcome.events == 10
    assert group_counts(ctx, project_id) == {"PaymentError": (6, 3), "KeyError": (4, 1)}


def test_project_fingerprint_rules_apply_to_live_events(ctx, project_id):
    from core.pg import projects
    from core.project_config import set_path

    project = projects.get_project(ctx.stack.pool, project_id)
    config = set_path(
        project.config,
        "grouping.fingerprint_rules",
        "error.type:PaymentError -> payments\nerror.type:KeyError -> payments\n",
    )
    projects.save_config(ctx.stack.pool, "shop", config)
    process_event_batch(ctx, batch_of(mixed_events(), project_id))
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT times_seen FROM error_groups WHERE project_id = %s", (project_id,)
        ).fetchall()
    assert [r["times_seen"] for r in rows] == [10]
