"""The Redis cache of hash -> issue never outvotes PostgreSQL."""

from __future__ import annotations

from tests.workers.factories import batch_of, error_event
from workers.process_events import process_event_batch


def test_a_cached_issue_that_no_longer_exists_is_looked_up_again(ctx, project_id):
    process_event_batch(ctx, batch_of([error_event()], project_id))
    with ctx.stack.pool.connection() as conn:
        # What a restore or the retention clean-up can do behind the cache's back.
        conn.execute("DELETE FROM error_groups")
    outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
    assert len(outcome.assignment.new_group_ids) == 1
    with ctx.stack.pool.connection() as conn:
        row = conn.execute("SELECT times_seen FROM error_groups").fetchone()
    assert row["times_seen"] == 1
