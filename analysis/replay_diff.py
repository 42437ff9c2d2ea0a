"""What a replay would change in today's issues: which merge, which split, which events move.

Today's issues are the workers' stored assignments (`event_groups`), with issues merged
by people followed to the issue they were merged into. An old issue and a new one
*continue* each other when each is the other's largest share of events; every event
outside such a pair moves. A new issue holding several old ones is a merge; an old issue
spread over several new ones is a split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from analysis.replay import Replay
from analysis.source_base import Source

NEW = ["project_id", "hash"]


@dataclass
class ReplayDiff:
    summary: dict[str, float]
    merges: pl.DataFrame  # new issue, events, old issues inside it
    splits: pl.DataFrame  # old issue, events, the new issues it breaks into
    pairs: pl.DataFrame  # group_id, project_id, hash, events, continues

    def summary_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"measure": list(self.summary), "value": [float(v) for v in self.summary.values()]}
        )


def resolve_merges(assignments: pl.DataFrame, issues: pl.DataFrame | None) -> pl.DataFrame:
    """`group_id` replaced by the issue it was merged into (following chains)."""
    if issues is None or issues.is_empty() or issues["merged_into"].null_count() == issues.height:
        return assignments
    target = dict(
        zip(
            issues.filter(pl.col("merged_into").is_not_null())["id"].to_list(),
            issues.filter(pl.col("merged_into").is_not_null())["merged_into"].to_list(),
            strict=True,
        )
    )
    final = {}
    for start in target:
        current, seen = start, {start}
        while current in target and target[current] not in seen:
            current = target[current]
            seen.add(current)
        final[start] = current
    mapping = pl.DataFrame(
        {"group_id": list(final), "final": list(final.values())},
        schema={"group_id": pl.UInt64, "final": pl.UInt64},
    )
    return (
        assignments.join(mapping, on="group_id", how="left")
        .with_columns(pl.coalesce("final", "group_id").alias("group_id"))
        .drop("final")
    )


def current_assignments(source: Source, projects: Sequence[int] | None = None) -> pl.DataFrame:
    """Today's issue of every grouped event: project_id, event_id, group_id."""
    assignments = source.read(
        "event_groups", columns=["project_id", "event_id", "group_id"], projects=projects
    )
    return resolve_merges(assignments, source.issues(projects))


def _old_titles(issues: pl.DataFrame | None) -> pl.DataFrame:
    if issues is None or issues.is_empty():
        return pl.DataFrame(schema={"group_id": pl.UInt64, "old_title": pl.String})
    return issues.select(
        pl.col("id").cast(pl.UInt64).alias("group_id"), pl.col("title").alias("old_title")
    )


def diff(
    current: pl.DataFrame, replay: Replay, *, issues: pl.DataFrame | None = None
) -> ReplayDiff:
    """Compare today's assignment (`current_assignments`) with a replay."""
    keys = ["project_id", "event_id"]
    joined = current.join(replay.events, on=keys, how="inner")
    pairs = joined.group_by("group_id", *NEW).agg(pl.len().alias("events"))
    best_new = pairs.sort("events", "hash", descending=[True, False]).group_by("group_id").first()
    best_old = pairs.sort("events", "group_id", descending=[True, False]).group_by(NEW).first()
    continuing = best_new.join(best_old, on=["group_id", *NEW], how="inner").select(
        "group_id", *NEW, pl.lit(True).alias("continues")
    )
    pairs = pairs.join(continuing, on=["group_id", *NEW], how="left").with_columns(
        pl.col("continues").fill_null(False)
    )
    new_titles = replay.issues.select(*NEW, pl.col("title").alias("new_title"))
    pairs = pairs.join(_old_titles(issues), on="group_id", how="left").join(
        new_titles, on=NEW, how="left"
    )
    merges = _merges(pairs)
    splits = _splits(pairs)
    total = int(pairs["events"].sum())
    stayed = int(pairs.filter("continues")["events"].sum())
    summary = {
        "events": total,
        "events_moved": total - stayed,
        "moved_share": (total - stayed) / total if total else 0.0,
        "issues_before": pairs["group_id"].n_unique(),
        "issues_after": pairs.select(NEW).n_unique(),
        "merged_issues": merges.height,
        "split_issues": splits.height,
        "unchanged_issues": _unchanged(pairs),
        "events_not_grouped_yet": replay.events.height - joined.height,
    }
    return ReplayDiff(summary, merges, splits, pairs.sort("events", descending=True))


def _merges(pairs: pl.DataFrame) -> pl.DataFrame:
    return (
        pairs.sort("events", descending=True)
        .group_by(NEW)
        .agg(
            pl.col("new_title").first().alias("title"),
            pl.col("events").sum(),
            pl.len().alias("old_issues"),
            pl.struct("group_id", pl.col("old_title").alias("title"), "events").alias("from"),
        )
        .filter(pl.col("old_issues") > 1)
        .sort("events", "hash", descending=[True, False])
    )


def _splits(pairs: pl.DataFrame) -> pl.DataFrame:
    return (
        pairs.sort("events", descending=True)
        .group_by("group_id")
        .agg(
            pl.col("old_title").first().alias("title"),
            pl.col("events").sum(),
            (pl.col("events").sum() - pl.col("events").max()).alias("events_moved"),
            pl.len().alias("new_issues"),
            pl.struct("hash", pl.col("new_title").alias("title"), "events").alias("into"),
        )
        .filter(pl.col("new_issues") > 1)
        .sort("events_moved", "events", "group_id", descending=[True, True, False])
    )


def _unchanged(pairs: pl.DataFrame) -> int:
    """Old issues whose events all form one new issue holding nothing else."""
    pieces = pairs.group_by("group_id").agg(pl.len().alias("n"))
    olds = pairs.group_by(NEW).agg(pl.len().alias("m"))
    one_to_one = (
        pairs.join(pieces, on="group_id")
        .join(olds, on=NEW)
        .filter((pl.col("n") == 1) & (pl.col("m") == 1))
    )
    return one_to_one.height
