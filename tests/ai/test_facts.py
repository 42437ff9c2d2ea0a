"""What analyses read of an issue: its own newest events, merged issues' included."""

from __future__ import annotations

import time

from core.pg.issues.lifecycle import merge_groups
from tests.ai.factories import ingest, make_project, python_error
from workers.ai.facts import load_facts


def test_the_facts_hold_the_issues_newest_events_newest_first_with_payloads_for_a_few(
    local_ctx,
):
    project = make_project(local_ctx.stack)
    now = time.time()
    # Two issues whose events interleave in time: each must get only its own.
    ours = [python_error(timestamp=now - 100 + i, release=f"ours@{i}") for i in range(0, 40, 2)]
    theirs = [
        python_error(exc_type="ValueError", timestamp=now - 100 + i, release=f"theirs@{i}")
        for i in range(1, 40, 2)
    ]
    group = ingest(local_ctx, project, ours)[0]
    other = ingest(local_ctx, project, theirs)[0]
    assert group != other

    facts = load_facts(local_ctx, group)

    assert facts is not None
    assert [e.release for e in facts.events] == [f"ours@{i}" for i in range(38, -1, -2)]
    assert [e.timestamp for e in facts.events] == sorted(
        (e.timestamp for e in facts.events), reverse=True
    )
    assert [e.view is not None for e in facts.events] == [True] * 5 + [False] * 15


def test_the_facts_of_an_issue_take_in_the_events_of_issues_merged_into_it(local_ctx):
    project = make_project(local_ctx.stack)
    now = time.time()
    target = ingest(local_ctx, project, [python_error(timestamp=now - 50, release="kept@1")])[0]
    source = ingest(
        local_ctx,
        project,
        [python_error(exc_type="ValueError", timestamp=now - 10, release="merged@1")],
    )[0]
    with local_ctx.stack.pool.connection() as conn:
        merge_groups(conn, target, [source])

    facts = load_facts(local_ctx, target)

    assert facts is not None
    assert [e.release for e in facts.events] == ["merged@1", "kept@1"]
