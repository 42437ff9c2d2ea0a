"""`just issues ...` through the real command line entry point."""

from __future__ import annotations

import time

import pytest

from stackwise.cli import main
from tests.workers.factories import batch_of, error_event
from workers.process_events import process_event_batch


@pytest.fixture
def cli(monkeypatch, settings, capsys):
    monkeypatch.setenv("STACKWISE_POSTGRES_URL", settings.postgres_url)
    monkeypatch.setenv("STACKWISE_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("STACKWISE_REDIS_NAMESPACE", settings.redis_namespace)
    monkeypatch.setenv("STACKWISE_DATA_DIR", str(settings.data_dir))

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().out

    return run


def issue_ids(ctx) -> dict[str, int]:
    with ctx.stack.pool.connection() as conn:
        return {
            r["exception_type"]: r["id"]
            for r in conn.execute("SELECT id, exception_type FROM error_groups")
        }


def test_list_show_resolve_ignore_and_merge(cli, ctx, project_id):
    process_event_batch(ctx, batch_of([error_event(), error_event()], project_id))
    process_event_batch(ctx, batch_of([error_event(exception_type="KeyError")], project_id))
    ids = issue_ids(ctx)

    code, out = cli("issues", "list", "--project", "shop")
    assert code == 0 and "PaymentError: card 4000 declined" in out and "KeyError" in out

    code, out = cli("issues", "show", str(ids["PaymentError"]))
    assert code == 0
    assert "2 events" in out and "grouping of its first event" in out
    assert "hash" in out and "stacktrace" in out

    assert cli("issues", "resolve", str(ids["PaymentError"]), "--next-release")[0] == 0
    code, out = cli("issues", "list", "--status", "resolved")
    assert "PaymentError" in out and "KeyError" not in out

    assert cli("issues", "ignore", str(ids["KeyError"]), "--count", "5")[0] == 0
    code, out = cli("issues", "list", "--status", "ignored")
    assert "KeyError" in out

    code, out = cli("issues", "merge", str(ids["PaymentError"]), str(ids["KeyError"]))
    assert code == 0 and "1 hashes moved" in out
    code, out = cli("issues", "show", str(ids["KeyError"]))
    assert f"merged into #{ids['PaymentError']}" in out


def test_unknown_issues_and_bad_durations_fail_clearly(cli):
    assert cli("issues", "resolve", "999999")[0] == 2
    with pytest.raises(SystemExit, match="--for takes"):
        cli("issues", "ignore", "1", "--for", "soon")


@pytest.mark.parametrize("first_arrives_first", [True, False])
def test_show_explains_the_grouping_of_the_issue_first_event_and_names_it(
    cli, ctx, project_id, first_arrives_first
):
    now = time.time()
    later = error_event(value="card 5000 declined", timestamp=now)
    first = error_event(value="card 4000 declined", timestamp=now - 60)
    # One batch creates the issue, whatever order its events arrived in.
    batch = [first, later] if first_arrives_first else [later, first]
    process_event_batch(ctx, batch_of(batch, project_id))
    (group_id,) = issue_ids(ctx).values()

    code, out = cli("issues", "show", str(group_id))
    assert code == 0
    assert f"grouping of its first event (event {first['event_id']} at " in out
    assert later["event_id"] not in out
    with ctx.stack.pool.connection() as conn:
        row = conn.execute(
            "SELECT title, metadata FROM error_groups WHERE id = %s", (group_id,)
        ).fetchone()
    assert row["title"] == "PaymentError: card 4000 declined"
    assert row["metadata"]["value"] == "card 4000 declined"


def test_titles_too_long_for_the_width_end_with_an_ellipsis(cli, ctx, project_id):
    # Under the stored title's own limit (100 characters of value), over the table's room.
    value = "declined because " + "the upstream said no " * 3 + "THE-END"
    process_event_batch(ctx, batch_of([error_event(value=value)], project_id))
    code, out = cli("issues", "list")
    assert code == 0
    (row,) = [line for line in out.splitlines() if "declined because" in line]
    assert "…" in row and "THE-END" not in row
    assert len(row) <= 130 and "unresolved/new" in row
