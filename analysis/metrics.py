"""How well events are grouped, against ground truth: every score from one contingency table.

The table counts events per (true cluster, predicted cluster) pair — a few thousand rows
even for millions of events — so pairwise precision/recall/F1, B-cubed, the adjusted Rand
index and homogeneity/completeness are sums over it, and the worst over-merged and
over-split issues are rankings of it.

Conventions for degenerate partitions (sklearn's, where it has one): a partition without
any pair (all singletons) has pairwise precision or recall 1.0 (no wrong pair was made);
the adjusted Rand index is 1.0 when its denominator vanishes (both partitions trivial in
the same way); homogeneity is 1.0 when the truth has one class, completeness 1.0 when
the prediction has one cluster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import polars as pl

KEYS = ("project_id", "event_id")


@dataclass(frozen=True)
class GroupingScores:
    events: int
    true_clusters: int
    predicted_clusters: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    adjusted_rand: float
    homogeneity: float
    completeness: float
    v_measure: float

    def frame(self) -> pl.DataFrame:
        """Long form (metric, value) for tables and charts."""
        return pl.DataFrame(
            {"metric": list(asdict(self)), "value": [float(v) for v in asdict(self).values()]}
        )


def contingency(
    truth: pl.DataFrame | pl.LazyFrame,
    predicted: pl.DataFrame | pl.LazyFrame,
    *,
    on: Sequence[str] = KEYS,
    truth_col: str = "truth",
    predicted_col: str = "predicted",
) -> pl.DataFrame:
    """Events per (truth, predicted) pair, over the events present in both frames."""
    truth_lazy = truth.lazy().select(*on, pl.col(truth_col).alias("truth"))
    predicted_lazy = predicted.lazy().select(*on, pl.col(predicted_col).alias("predicted"))
    return (
        truth_lazy.join(predicted_lazy, on=list(on), how="inner")
        .group_by("truth", "predicted")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .sort("n", "truth", "predicted", descending=[True, False, False])
        .collect()
    )


def _pairs(column: pl.Series) -> float:
    values = column.cast(pl.Float64)
    return float((values * (values - 1) / 2).sum())


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _entropy(sizes: pl.Series, total: int) -> float:
    p = sizes.cast(pl.Float64) / total
    return float(-(p * p.log()).sum())


def _conditional_entropy(table: pl.DataFrame, given: str, total: int) -> float:
    """H(other | given) = -sum n_ij/N log(n_ij / n_given)."""
    sizes = table.group_by(given).agg(pl.col("n").sum().alias("size"))
    joined = table.join(sizes, on=given).select(
        pl.col("n").cast(pl.Float64), pl.col("size").cast(pl.Float64)
    )
    return float(-(joined["n"] / total * (joined["n"] / joined["size"]).log()).sum())


def _adjusted_rand(both: float, truth_pairs: float, predicted_pairs: float, total: int) -> float:
    all_pairs = total * (total - 1) / 2
    if all_pairs == 0:
        return 1.0
    expected = truth_pairs * predicted_pairs / all_pairs
    maximum = (truth_pairs + predicted_pairs) / 2
    return 1.0 if maximum == expected else (both - expected) / (maximum - expected)


def scores(table: pl.DataFrame) -> GroupingScores:
    """Every score of a contingency table (`contingency()`); raises on an empty table."""
    total = int(table["n"].sum())
    if total == 0:
        raise ValueError("no events in common between truth and prediction")
    true_sizes = table.group_by("truth").agg(pl.col("n").sum())["n"]
    predicted_sizes = table.group_by("predicted").agg(pl.col("n").sum())["n"]
    both, truth_pairs, predicted_pairs = (
        _pairs(table["n"]),
        _pairs(true_sizes),
        _pairs(predicted_sizes),
    )
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / truth_pairs if truth_pairs else 1.0
    sq = table.join(table.group_by("predicted").agg(pl.col("n").sum().alias("b")), on="predicted")
    sq = sq.join(table.group_by("truth").agg(pl.col("n").sum().alias("a")), on="truth")
    n2 = sq["n"].cast(pl.Float64) ** 2
    b3_precision = float((n2 / sq["b"]).sum()) / total
    b3_recall = float((n2 / sq["a"]).sum()) / total
    h_truth, h_predicted = _entropy(true_sizes, total), _entropy(predicted_sizes, total)
    homogeneity = (
        1.0 if h_truth == 0 else 1 - _conditional_entropy(table, "predicted", total) / h_truth
    )
    completeness = (
        1.0 if h_predicted == 0 else 1 - _conditional_entropy(table, "truth", total) / h_predicted
    )
    return GroupingScores(
        events=total,
        true_clusters=len(true_sizes),
        predicted_clusters=len(predicted_sizes),
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b3_precision,
        bcubed_recall=b3_recall,
        bcubed_f1=_f1(b3_precision, b3_recall),
        adjusted_rand=_adjusted_rand(both, truth_pairs, predicted_pairs, total),
        homogeneity=_clean(homogeneity),
        completeness=_clean(completeness),
        v_measure=_f1(_clean(homogeneity), _clean(completeness)),
    )


def _clean(value: float) -> float:
    # Entropies of equal partitions differ by rounding only: 0.9999999999999998 -> 1.0.
    return 1.0 if math.isclose(value, 1.0, abs_tol=1e-12) else max(0.0, value)


def over_merged(table: pl.DataFrame, *, limit: int = 10) -> pl.DataFrame:
    """Predicted issues holding several true clusters, worst first.

    `wrong` counts the events outside the issue's dominant cluster; `clusters` lists the
    clusters inside it with their event counts, largest first."""
    return _worst(table, group="predicted", member="truth", limit=limit)


def over_split(table: pl.DataFrame, *, limit: int = 10) -> pl.DataFrame:
    """True clusters spread over several predicted issues, worst first.

    `wrong` counts the cluster's events outside its largest issue; `clusters` lists the
    issues it landed in with their event counts."""
    return _worst(table, group="truth", member="predicted", limit=limit)


def _worst(table: pl.DataFrame, *, group: str, member: str, limit: int) -> pl.DataFrame:
    return (
        table.sort("n", member, descending=[True, False])
        .group_by(group)
        .agg(
            pl.col("n").sum().alias("events"),
            (pl.col("n").sum() - pl.col("n").max()).alias("wrong"),
            pl.len().alias("pieces"),
            pl.struct(pl.col(member).alias("id"), "n").alias("clusters"),
        )
        .filter(pl.col("pieces") > 1)
        .sort(["wrong", "events", group], descending=[True, True, False])
        .head(limit)
        .rename({group: "issue" if group == "predicted" else "cluster"})
    )
