"""The issue list's filters and sorts (`core.pg.issues.reads.search_issues`), on issues
the real batch path made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.pg.issues import reads
from core.pg.issues.reads import IssueSearch
from core.pg.projects import create_project
from tests.workers.factories import batch_of, error_event
from workers.context import WorkerContext
from workers.lifecycle import resolve
from workers.process_events import process_event_batch


@pytest.fixture
def seeded(stack) -> dict[str, int]:
    ctx = WorkerContext(stack)
    shop, _ = create_project(stack.pool, "shop")
    other, _ = create_project(stack.pool, "other")
    week_ago = (datetime.now(UTC) - timedelta(days=7)).timestamp()
    payments = [error_event(user=f"u-{i}") for i in range(3)]
    keys = [error_event(exception_type="KeyError", value="'sku'", release="shop@2.0.0")]
    keys[0] |= {"environment": "staging", "level": "warning"}
    old = [error_event(exception_type="OldError", value="100%_done", timestamp=week_ago)]
    process_event_batch(ctx, batch_of(payments + keys + old, shop.id))
    process_event_batch(ctx, batch_of([error_event(exception_type="OtherError")], other.id))
    with stack.pool.connection() as conn:
        rows = reads.search_issues(conn, IssueSearch(limit=10))
    return {row["title"].split(":")[0]: row["id"] for row in rows} | {
        "shop": shop.id,
        "other": other.id,
    }


def _titles(stack, **filters) -> list[str]:
    with stack.pool.connection() as conn:
        rows = reads.search_issues(conn, IssueSearch(**filters))
    return [row["title"].split(":")[0] for row in rows]


def test_each_filter_keeps_only_the_matching_issues(stack, seeded):
    assert sorted(_titles(stack)) == ["KeyError", "OldError", "OtherError", "PaymentError"]
    assert sorted(_titles(stack, project_id=seeded["other"])) == ["OtherError"]
    assert _titles(stack, release="shop@2.0.0") == ["KeyError"]
    assert _titles(stack, environment="staging") == ["KeyError"]
    assert _titles(stack, release="shop@1.0.0", environment="staging") == []
    assert _titles(stack, level="warning") == ["KeyError"]
    assert _titles(stack, text="keyERROR") == ["KeyError"]
    assert len(_titles(stack, text="shop.payments")) == 4  # every culprit
    recent = datetime.now(UTC) - timedelta(days=1)
    assert "OldError" not in _titles(stack, first_seen_from=recent)
    assert "OldError" not in _titles(stack, last_seen_from=recent)
    assert len(_titles(stack, first_seen_from=recent)) == 3


def test_search_text_is_literal_not_a_pattern(stack, seeded):
    assert _titles(stack, text="100%_d") == ["OldError"]
    assert _titles(stack, text="%") == ["OldError"]
    assert _titles(stack, text="_") == ["OldError"]


def test_status_filter_follows_a_resolve(stack, seeded):
    with stack.pool.connection() as conn, conn.transaction():
        resolve(conn, seeded["KeyError"])
    assert _titles(stack, status="resolved") == ["KeyError"]
    assert "KeyError" not in _titles(stack, status="unresolved")


def test_sorts_by_events_users_and_recency(stack, seeded):
    assert _titles(stack, sort="events")[0] == "PaymentError"
    assert _titles(stack, sort="users")[0] == "PaymentError"
    assert _titles(stack, sort="recent")[-1] == "OldError"
    assert _titles(stack, sort="new")[-1] == "OldError"
    with pytest.raises(ValueError, match="unknown sort"):
        _titles(stack, sort="random")


def test_facets_and_releases_list_what_issues_were_seen_in(stack, seeded):
    with stack.pool.connection() as conn:
        facets = reads.issue_facets(conn)
        releases = reads.issue_releases(conn, seeded["PaymentError"])
    assert facets["release"] == ["shop@1.0.0", "shop@2.0.0"]
    assert facets["environment"] == ["production", "staging"]
    assert facets["level"] == ["error", "warning"]
    assert [(r["release"], r["environment"], r["events"]) for r in releases] == [
        ("shop@1.0.0", "production", 3)
    ]
