"""Grouping accuracy on the seeded dataset: today's issues, and a naive replay whose worst
merges come back named, with events that really are examples of them."""

from __future__ import annotations

import polars as pl

from analysis import accuracy
from analysis.replay import ReplayIndex, RuleSet

TYPE_ONLY = RuleSet('error.type:"*" -> {{ type }}')


def test_todays_issues_are_scored_on_every_grouped_error_event(parquet):
    truth = accuracy.error_truth(parquet)
    result = accuracy.evaluate(truth, accuracy.predicted_from_issues(parquet))
    assert result.scores.events == parquet.read("event_groups").height
    assert result.scores.true_clusters == truth["root_cause"].n_unique()
    # The v1 engine separates the seeder's root causes (its own test pins how well).
    assert result.scores.pairwise_f1 > 0.9
    assert result.by_project["events"].sum() == result.scores.events


def test_a_naive_grouping_shows_its_worst_merges_with_names_and_examples(parquet):
    truth = accuracy.error_truth(parquet)
    with ReplayIndex.build(parquet, rules=TYPE_ONLY, workers=0) as index:
        replay = index.replay(TYPE_ONLY)
    predicted = accuracy.predicted_from_replay(replay)
    naive = accuracy.evaluate(truth, predicted, titles=accuracy.replay_titles(replay), limit=3)
    today = accuracy.evaluate(truth, accuracy.predicted_from_issues(parquet))
    assert naive.scores.pairwise_precision < today.scores.pairwise_precision
    merged = naive.over_merged
    assert merged["rank"].unique().sort().to_list() == [1, 2, 3]
    assert merged["root_cause_title"].null_count() == 0
    assert merged["issue_title"].null_count() == 0
    # Each example event is of that root cause and in that issue.
    examples = merged.select("truth", "predicted", pl.col("example_event").alias("event_id")).join(
        truth.select("event_id", pl.col("truth").alias("true_cause")), on="event_id"
    )
    examples = examples.join(
        predicted.select("event_id", pl.col("predicted").alias("issue")), on="event_id"
    )
    assert examples.height == merged.height
    assert (examples["truth"] == examples["true_cause"]).all()
    assert (examples["predicted"] == examples["issue"]).all()
