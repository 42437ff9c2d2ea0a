"""Replay: the same hashes the engine gives event by event, today's issues reproduced under
today's rules, and a diff whose merges, splits and moved events are checked by hand."""

from __future__ import annotations

import polars as pl
import psycopg
import pytest
from psycopg.types.json import Jsonb

from analysis import rules as project_rules
from analysis.replay import IndexTooNarrowError, Replay, ReplayIndex, RuleSet, index_for
from analysis.replay_diff import current_assignments, diff, resolve_merges
from analysis.replay_keys import FamilySpec, KeySpec, Reducer
from workers.grouping import GroupingConfig, group_event

# Rules reading every kind of rule-only input: a tag, the level, the transaction.
READING_RULES = RuleSet(
    fingerprint_rules="\n".join(
        [
            "tags.customer.tier:gold -> gold-customers, {{ type }}",
            "level:warning -> warnings, {{ logger }}",
            'error.type:"*Timeout*" -> timeouts, {{ transaction }}',
            'message:"*not found*" -> not-found, {{ tags.locale }}',
        ]
    )
)


def _direct(parquet, rules: RuleSet) -> pl.DataFrame:
    """Every stored event grouped on its own, the slow way."""
    config = rules.config()
    events = parquet.read("events", columns=["project_id", "event_id", "payload"])
    hashes = [group_event(p.encode(), config).hash for p in events["payload"]]
    return events.select("project_id", "event_id").with_columns(pl.Series("direct", hashes))


@pytest.mark.parametrize("rules", [RuleSet(), READING_RULES], ids=["v1", "reading-rules"])
def test_replay_gives_each_event_the_hash_the_engine_gives_it(parquet, rules):
    with ReplayIndex.build(parquet, rules=rules, workers=0) as index:
        replay = index.replay(rules)
        assert index.classes() < index.events  # events really share classes
    joined = replay.events.join(_direct(parquet, rules), on=["project_id", "event_id"])
    assert joined.height == replay.events.height == parquet.read("events").height
    assert joined.filter(pl.col("hash") != pl.col("direct")).is_empty()


def test_replay_under_todays_rules_reproduces_todays_issues(parquet):
    with ReplayIndex.build(parquet, workers=0) as index:
        replay = index.replay(RuleSet())
    stored = parquet.read("event_groups", columns=["project_id", "event_id", "primary_hash"])
    joined = replay.events.join(stored, on=["project_id", "event_id"])
    assert joined.height == stored.height
    assert (joined["hash"] == joined["primary_hash"]).all()
    changes = diff(current_assignments(parquet), replay, issues=parquet.issues())
    assert changes.summary["events_moved"] == 0
    assert changes.merges.is_empty() and changes.splits.is_empty()
    assert changes.summary["unchanged_issues"] == changes.summary["issues_before"]


def test_a_clickhouse_source_is_snapshotted_and_replayed_alike(live, parquet):
    keys = ["project_id", "event_id"]
    with ReplayIndex.build(live, projects=[1, 3], workers=0) as index:
        assert index.scratch is not None and list(index.scratch.glob("*.parquet"))
        from_clickhouse = index.replay(RuleSet()).events.sort(keys)
        scratch = index.scratch
    assert not scratch.exists()  # the snapshot goes with the index
    with ReplayIndex.build(parquet, projects=[1, 3], workers=0) as index:
        from_parquet = index.replay(RuleSet()).events.sort(keys)
    assert from_clickhouse["project_id"].unique().sort().to_list() == [1, 3]
    assert from_clickhouse.equals(from_parquet)


def test_spawned_workers_and_the_local_worker_agree(parquet):
    rules = RuleSet('error.type:"*Error" -> errors, {{ type }}')
    with ReplayIndex.build(parquet, rules=rules, workers=2) as spawned:
        assert len(spawned.workers) == 2
        first = spawned.replay(rules).events
        second = spawned.replay(RuleSet()).events  # warm: the same processes regroup
    with ReplayIndex.build(parquet, rules=rules, workers=0) as local:
        expected_first = local.replay(rules).events
        expected_second = local.replay(RuleSet()).events
    keys = ["project_id", "event_id"]
    assert first.sort(keys).equals(expected_first.sort(keys))
    assert second.sort(keys).equals(expected_second.sort(keys))


def test_rules_reading_a_field_the_index_left_out_need_a_wider_index(parquet):
    narrow = ReplayIndex.build(parquet, workers=0)
    try:
        with pytest.raises(IndexTooNarrowError):
            narrow.replay(READING_RULES)
        assert index_for(parquet, RuleSet(), previous=narrow) is narrow  # still fits
        wide = index_for(parquet, READING_RULES, previous=narrow)
        assert wide is not narrow and not narrow.workers  # the narrow one was closed
        assert wide.spec.covers(KeySpec.for_config(READING_RULES.config()))
        wide.replay(READING_RULES)
        wide.close()
    finally:
        narrow.close()


def test_key_spec_reads_what_rules_read():
    builtin = KeySpec.for_config(GroupingConfig.build())
    assert builtin.javascript == FamilySpec(frozenset(), frozenset({"transaction"}))
    assert builtin.other == FamilySpec()
    spec = KeySpec.for_config(READING_RULES.config())
    assert spec.other.fields == {"level", "logger", "transaction"}
    assert spec.other.tags == {"customer.tier", "locale"}
    assert spec.covers(builtin) and not builtin.covers(spec)


def test_reduced_input_keeps_only_named_tags_in_the_events_own_shape():
    reducer = Reducer(KeySpec(javascript=FamilySpec(tags=frozenset({"transaction"}))))
    as_object = b'{"platform":"javascript","tags":{"transaction":"/a","user":"u1"},"level":"x"}'
    as_pairs = b'{"platform":"javascript","tags":[["user","u1"],["transaction","/a"]]}'
    assert reducer.reduce(as_object) == b'{"platform":"javascript","tags":{"transaction":"/a"}}'
    assert reducer.reduce(as_pairs) == b'{"platform":"javascript","tags":[["transaction","/a"]]}'
    python = b'{"platform":"python","tags":{"transaction":"/a"},"release":"1.0"}'
    assert reducer.reduce(python) == b'{"platform":"python"}'
    assert reducer.reduce(b"[1, 2]") == b"[1, 2]"  # not an event: grouped as it is


def _replay(rows: list[tuple[str, str]]) -> Replay:
    events = pl.DataFrame(
        {
            "project_id": [1] * len(rows),
            "event_id": [e for e, _ in rows],
            "hash": [h for _, h in rows],
        },
        schema={"project_id": pl.UInt64, "event_id": pl.String, "hash": pl.String},
    )
    issues = events.group_by("project_id", "hash").agg(pl.len().alias("events"))
    return Replay(RuleSet(), events, issues.with_columns(pl.col("hash").alias("title")), 0.0)


def test_diff_finds_merges_splits_and_moved_events_by_hand():
    """Today: A = {e1, e2}, B = {e3}, C = {e4}. Replayed: x = {e1, e3}, y = {e2}, z = {e4}.

    A splits into x and y; x merges A and B. A continues as x (ties go to the first
    name), C as z; e2 (now y) and e3 (now with A's events) move."""
    current = pl.DataFrame(
        {"project_id": [1] * 4, "event_id": ["e1", "e2", "e3", "e4"], "group_id": [10, 10, 20, 30]},
        schema={"project_id": pl.UInt64, "event_id": pl.String, "group_id": pl.UInt64},
    )
    replay = _replay([("e1", "x"), ("e2", "y"), ("e3", "x"), ("e4", "z"), ("e5", "z")])
    changes = diff(current, replay)
    assert changes.summary["events"] == 4
    assert changes.summary["events_moved"] == 2
    assert changes.summary["issues_before"] == 3 and changes.summary["issues_after"] == 3
    assert changes.summary["events_not_grouped_yet"] == 1  # e5 has no issue today
    assert changes.summary["unchanged_issues"] == 1  # C -> z
    assert changes.merges["hash"].to_list() == ["x"]
    assert sorted(m["group_id"] for m in changes.merges["from"][0]) == [10, 20]
    assert changes.splits["group_id"].to_list() == [10]
    assert changes.splits["events_moved"].to_list() == [1]


def test_issues_merged_by_people_count_as_one_issue_today():
    assignments = pl.DataFrame(
        {"event_id": ["a", "b", "c"], "group_id": [1, 2, 3]},
        schema={"event_id": pl.String, "group_id": pl.UInt64},
    )
    issues = pl.DataFrame(
        {"id": [1, 2, 3], "merged_into": [None, 1, 2]},
        schema={"id": pl.Int64, "merged_into": pl.Int64},
    )
    resolved = resolve_merges(assignments, issues)
    assert resolved["group_id"].to_list() == [1, 1, 1]


@pytest.fixture
def project_config_restored(live):
    """Project 4's configuration document put back as it was (other tests compare it)."""
    with psycopg.connect(live.postgres_url) as conn:
        before = conn.execute("SELECT config FROM projects WHERE id = 4").fetchone()[0]
    yield
    with psycopg.connect(live.postgres_url) as conn:
        conn.execute("UPDATE projects SET config = %s WHERE id = 4", (Jsonb(before),))


@pytest.mark.usefixtures("project_config_restored")
def test_rules_are_saved_to_the_project_on_live_data_only(live, parquet):
    rules = RuleSet('error.type:"*Timeout*" -> timeouts')
    slug = live.projects().filter(pl.col("id") == 4)["slug"][0]
    assert project_rules.save_rules(live, 4, rules) == slug
    assert project_rules.project_rules(live.projects(), 4) == rules
    with pytest.raises(project_rules.RulesNotSavedError, match="read-only"):
        project_rules.save_rules(parquet, 4, rules)
    with pytest.raises(project_rules.RulesNotSavedError, match="not saved"):
        project_rules.save_rules(live, 4, RuleSet("error.type:Foo"))
    assert project_rules.project_rules(live.projects(), 4) == rules


def test_balancing_moves_classes_and_their_events_together():
    from analysis.replay import balance
    from analysis.replay_worker import LocalWorker

    workers = [LocalWorker(), LocalWorker()]
    inputs = [[f"a{i}".encode() for i in range(10)], [b"b0", b"b1"]]
    for worker, classes in zip(workers, inputs, strict=True):
        worker.call("add", classes)
        worker.result()
    # Events e<cls> on worker 0 (one per class), and two on worker 1.
    parts = [
        pl.DataFrame({"event_id": [f"a{i}" for i in range(10)], "cls": list(range(10))}),
        pl.DataFrame({"event_id": ["b0", "b1"], "cls": [0, 1]}),
    ]
    parts = [p.with_columns(pl.col("cls").cast(pl.UInt32)) for p in parts]
    parts = balance(workers, parts)
    for worker in workers:
        worker.call("classes")
    assert [worker.result() for worker in workers] == [6, 6]
    # Every event still points at its own input, wherever it now lives.
    for worker, part in zip(workers, parts, strict=True):
        held = worker._state.inputs
        for event_id, cls in part.iter_rows():
            assert held[cls] == event_id.encode()
    assert sum(part.height for part in parts) == 12
