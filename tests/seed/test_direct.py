"""`seed --direct`: events written through the relay's write path, ground truth for
every event, named batches the workers group, and a re-run that stores nothing twice."""

from __future__ import annotations

import time

import msgspec

from relay import write
from seed.deliver_direct import add_event, load_direct, secrets_checked
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan, today_utc
from seed.projects import SEED_PROJECTS, ensure_seed_projects
from stackwise.serve import running_workers, stack_broker
from tests.seed.conftest import FIXED_END

_encode = msgspec.json.encode


def _plain_rows(rendered, raw: bytes, received_at: float, events, transactions) -> None:
    """The relay's own path: no hint, every field read by the function that needs it."""
    record = write.event_record(raw, kind=rendered.kind, project_id=1, received_at=received_at)
    if record.kind == "transaction":
        transactions.add(
            1,
            record.event_id,
            received_at,
            record.payload,
            timestamp=record.timestamp,
            start_timestamp=record.start_timestamp,
        )
    else:
        events.add(
            1,
            record.event_id,
            received_at,
            record.payload,
            timestamp=record.timestamp,
            event_type=record.event_type,
        )


def test_direct_rows_are_the_rows_the_relays_own_path_writes(pools):
    """Direct mode writes through the relay's write path, vouching for the secret scan
    (parts checked once) and handing over the event as built when it is to be rewritten:
    where it vouches, the relay's scan of the whole event finds nothing, and every row
    equals the one the plain path writes, on (nearly) every root cause of the default
    catalogue."""
    plan = SeedPlan(SeedOptions(events=6_000, seed=1, end=FIXED_END))
    received_at = plan.end + 3600
    direct = (write.EventRows(), write.TransactionRows())
    plain = (write.EventRows(), write.TransactionRows())
    seen, vouched, total = set(), 0, 0
    for seed_event in Generator(plan, pools).events():
        rendered = seed_event.rendered
        raw = _encode(rendered.payload)
        if secrets_checked(rendered):
            assert write.is_clean(raw), rendered.payload
            vouched += 1
        _plain_rows(rendered, raw, received_at, *plain)
        assert add_event(*direct, rendered, 1, received_at)
        total += 1
        seen.add(seed_event.root_cause.id)
    assert len(seen) >= 0.85 * len(plan.catalogue), "nearly every root cause was compared"
    assert vouched >= 0.9 * total, "the shortcut covers most events"
    for ours, theirs in zip(direct, plain, strict=True):
        assert len(ours) > 0
        assert ours.table().equals(theirs.table())


def _count(client, sql: str, **parameters) -> int:
    return client.query(sql, parameters=parameters).result_rows[0][0]


def _wait_until_processed(broker, queue: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while broker.do_qsize(queue):
        assert time.monotonic() < deadline, "workers did not drain the queue"
        time.sleep(0.1)


def test_direct_load_stores_ground_truth_feeds_the_workers_and_reruns_idempotently(stack):
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    project_ids = {key: p.project.id for key, p in provisioned.items()}
    options = SeedOptions(events=2_000, days=7, root_causes=60, seed=3, end=today_utc())
    broker = stack_broker(stack)
    results = []
    messages = load_direct(stack, broker, options, project_ids, workers=0, on_unit=results.append)
    assert messages >= 1
    assert sum(sum(r.counts.values()) for r in results) == options.events
    client = stack.clickhouse()
    errors = _assert_ground_truth(client, options)

    with running_workers(stack, broker):
        _wait_until_processed(broker, stack.settings.queue_name)
    with stack.pool.connection() as conn:
        occurrences = conn.execute("SELECT count(*) AS n FROM error_occurrences").fetchone()["n"]
    assert occurrences == errors
    root_causes = _count(
        client, "SELECT uniqExact(root_cause) FROM seed_ground_truth WHERE type != 'transaction'"
    )
    assert _count(client, "SELECT uniqExact(group_id) FROM event_groups") == root_causes

    # The same run again: the insert tokens make every insert a no-op.
    load_direct(stack, broker, options, project_ids, workers=0, on_unit=lambda r: None)
    assert _count(client, "SELECT count() FROM events") == errors
    assert _count(client, "SELECT count() FROM seed_ground_truth") == options.events


def _assert_ground_truth(client, options: SeedOptions) -> int:
    events = _count(client, "SELECT count() FROM events")
    transactions = _count(client, "SELECT count() FROM transactions")
    assert events + transactions == options.events
    assert _count(client, "SELECT count() FROM seed_ground_truth FINAL") == options.events
    joined = _count(
        client,
        "SELECT count() FROM seed_ground_truth AS t INNER JOIN events AS e "
        "ON t.project_id = e.project_id AND t.event_id = e.event_id",
    )
    assert joined == events
    plan = SeedPlan(options)
    catalogue = {rc.id: rc for rc in plan.catalogue}
    rows = client.query(
        "SELECT root_cause, any(family), any(category), any(severity), any(run) "
        "FROM seed_ground_truth GROUP BY root_cause"
    ).result_rows
    for root_cause, family, category, severity, run in rows:
        rc = catalogue[root_cause]
        assert (family, category, severity, run) == (
            rc.family,
            rc.category,
            rc.severity,
            plan.run_id,
        )
    return events


def test_the_same_options_for_other_projects_are_stored_not_taken_for_a_rerun(stack):
    """A unit's insert token names its rows: the same run options loaded for other project
    ids (a new database, other projects) are other events and must all be stored."""
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    first = {key: p.project.id for key, p in provisioned.items()}
    # The same projects under new ids, as after PostgreSQL was recreated.
    second = {key: project_id + 1000 for key, project_id in first.items()}
    options = SeedOptions(events=600, days=2, root_causes=20, seed=5, end=today_utc())
    broker = stack_broker(stack)
    for project_ids in (first, second):
        load_direct(stack, broker, options, project_ids, workers=0, on_unit=lambda r: None)
    client = stack.clickhouse()
    stored = _count(client, "SELECT count() FROM events") + _count(
        client, "SELECT count() FROM transactions"
    )
    assert stored == 2 * options.events
    for project_ids in (first, second):
        ids = sorted(project_ids.values())
        in_projects = _count(
            client, f"SELECT count() FROM seed_ground_truth WHERE project_id IN {tuple(ids)}"
        )
        assert in_projects == options.events
