"""Grouping accuracy on stored data: today's issues (or a replay) against the seeder's truth.

The truth of an error event is its root cause; a root cause belongs to one project, so
clusters are per project on both sides. Scores come from `analysis.metrics`; this module
loads, labels and explains: the worst over-merged issues name the root causes they mix,
the worst over-split root causes name the issues they landed in, each with an example
event to look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from analysis import metrics
from analysis.replay import Replay
from analysis.replay_diff import current_assignments
from analysis.source_base import Source

KEYS = ["project_id", "event_id"]


@dataclass
class Accuracy:
    scores: metrics.GroupingScores
    table: pl.DataFrame  # truth, predicted, n
    over_merged: pl.DataFrame
    over_split: pl.DataFrame
    by_project: pl.DataFrame


def error_truth(source: Source, projects: Sequence[int] | None = None) -> pl.DataFrame:
    """Ground truth of error events: project_id, event_id, truth (root cause), title, ..."""
    truth = source.read("seed_ground_truth", projects=projects)
    return truth.filter(pl.col("type") != "transaction").with_columns(
        pl.col("root_cause").alias("truth")
    )


def predicted_from_issues(source: Source, projects: Sequence[int] | None = None) -> pl.DataFrame:
    """Today's issue of each event as the prediction (`predicted` = issue id as text)."""
    return current_assignments(source, projects).with_columns(
        pl.col("group_id").cast(pl.String).alias("predicted")
    )


def predicted_from_replay(replay: Replay) -> pl.DataFrame:
    """A replay's issues as the prediction (`predicted` = project:hash)."""
    return replay.events.with_columns(pl.format("{}:{}", "project_id", "hash").alias("predicted"))


def replay_titles(replay: Replay) -> pl.DataFrame:
    """(predicted, title) of a replay's issues, for `evaluate`."""
    return replay.issues.select(
        pl.format("{}:{}", "project_id", "hash").alias("predicted"), "title"
    )


def evaluate(
    truth: pl.DataFrame,
    predicted: pl.DataFrame,
    *,
    titles: pl.DataFrame | None = None,
    limit: int = 10,
) -> Accuracy:
    """Scores and the worst clusters; `titles` (predicted, title) names predicted issues."""
    table = metrics.contingency(truth, predicted, on=KEYS)
    if table.is_empty():
        raise ValueError("no event has both a ground truth and an issue: nothing to score")
    truth_titles = truth.group_by("truth").agg(pl.col("title").first())
    examples = (
        truth.join(predicted.select(*KEYS, "predicted"), on=KEYS)
        .group_by("truth", "predicted")
        .agg(pl.col("event_id").first().alias("example_event"))
    )
    return Accuracy(
        scores=metrics.scores(table),
        table=table,
        # An over-merged issue and the root causes inside it; an over-split root cause
        # and the issues it landed in.
        over_merged=_label(
            metrics.over_merged(table, limit=limit),
            truth_titles,
            titles,
            examples,
            columns={"issue": "predicted", "id": "truth", "n": "cluster_events"},
        ),
        over_split=_label(
            metrics.over_split(table, limit=limit),
            truth_titles,
            titles,
            examples,
            columns={"cluster": "truth", "id": "predicted", "n": "issue_events"},
        ),
        by_project=_by_project(truth, predicted),
    )


def issue_titles(source: Source, projects: Sequence[int] | None = None) -> pl.DataFrame:
    issues = source.issues(projects)
    return issues.select(pl.col("id").cast(pl.String).alias("predicted"), "title")


def _label(worst, truth_titles, titles, examples, *, columns: dict[str, str]) -> pl.DataFrame:
    """One row per (worst cluster, member inside it), with names and an example event;
    `columns` names the cluster, member and count columns of `metrics`' output."""
    count = columns["n"]
    rows = (
        worst.with_row_index("rank", offset=1)
        .explode("clusters")
        .unnest("clusters")
        .rename(columns)
        .join(truth_titles.rename({"title": "root_cause_title"}), on="truth", how="left")
        .join(examples, on=["truth", "predicted"], how="left")
    )
    if titles is not None:
        rows = rows.join(titles.rename({"title": "issue_title"}), on="predicted", how="left")
    return rows.sort("rank", count, descending=[False, True])


def _by_project(truth: pl.DataFrame, predicted: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for (project,), part in truth.group_by("project_id"):
        table = metrics.contingency(part, predicted, on=KEYS)
        if table.is_empty():
            continue
        score = metrics.scores(table)
        rows.append(
            {
                "project_id": project,
                "events": score.events,
                "root_causes": score.true_clusters,
                "issues": score.predicted_clusters,
                "pairwise_f1": score.pairwise_f1,
                "bcubed_f1": score.bcubed_f1,
                "adjusted_rand": score.adjusted_rand,
            }
        )
    return pl.DataFrame(rows).sort("project_id") if rows else pl.DataFrame()
