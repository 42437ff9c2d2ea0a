"""Grouping metrics against partitions small enough to score by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis import metrics


def table(truth: list, predicted: list) -> pl.DataFrame:
    ids = [str(i) for i in range(len(truth))]
    return metrics.contingency(
        pl.DataFrame({"event_id": ids, "truth": truth}),
        pl.DataFrame({"event_id": ids, "predicted": predicted}),
        on=["event_id"],
    )


def approx(value: float):
    return pytest.approx(value, abs=1e-12)


def test_identical_partitions_score_one_everywhere():
    scores = metrics.scores(table(list("aaabbc"), [1, 1, 1, 2, 2, 3]))
    for name, value in vars(scores).items():
        if name not in {"events", "true_clusters", "predicted_clusters"}:
            assert value == approx(1.0), name


def test_a_hand_scored_partition():
    """truth a a a b b c / predicted 1 1 2 2 2 3.

    Pairs: together in truth aa, aa, aa, bb = 4; in prediction 11, 22, 22, 22 = 4; in
    both (a,1) and (b,2) = 2. B-cubed precision per event: 1, 1 | 1/3, 2/3, 2/3 | 1
    = 14/3 over 6 events; recall per event: 2/3, 2/3, 1/3 | 1, 1 | 1 = 14/3 over 6."""
    scores = metrics.scores(table(list("aaabbc"), [1, 1, 2, 2, 2, 3]))
    assert (scores.events, scores.true_clusters, scores.predicted_clusters) == (6, 3, 3)
    assert scores.pairwise_precision == approx(2 / 4)
    assert scores.pairwise_recall == approx(2 / 4)
    assert scores.pairwise_f1 == approx(0.5)
    assert scores.bcubed_precision == approx(7 / 9)
    assert scores.bcubed_recall == approx(7 / 9)
    # ARI: (2 - 4*4/15) / ((4+4)/2 - 4*4/15) = (14/15) / (44/15).
    assert scores.adjusted_rand == approx(7 / 22)
    h_truth = -(3 / 6 * math.log(3 / 6) + 2 / 6 * math.log(2 / 6) + 1 / 6 * math.log(1 / 6))
    h_truth_given_predicted = -(1 / 6 * math.log(1 / 3) + 2 / 6 * math.log(2 / 3))
    assert scores.homogeneity == approx(1 - h_truth_given_predicted / h_truth)
    # By symmetry of this example, completeness equals homogeneity.
    assert scores.completeness == approx(scores.homogeneity)
    assert scores.v_measure == approx(scores.homogeneity)


def test_all_singletons_on_both_sides_is_perfect():
    scores = metrics.scores(table(list("abcde"), [1, 2, 3, 4, 5]))
    assert scores.pairwise_precision == scores.pairwise_recall == 1.0
    assert scores.bcubed_f1 == approx(1.0)
    assert scores.adjusted_rand == 1.0
    assert scores.homogeneity == scores.completeness == 1.0


def test_one_big_issue_over_distinct_root_causes_has_no_precision():
    n = 5
    scores = metrics.scores(table(list("abcde"), [7] * n))
    assert scores.pairwise_precision == 0.0
    assert scores.pairwise_recall == 1.0  # no true pair was separated
    assert scores.bcubed_precision == approx(1 / n)
    assert scores.bcubed_recall == approx(1.0)
    assert scores.adjusted_rand == approx(0.0)
    assert scores.homogeneity == approx(0.0)
    assert scores.completeness == 1.0


def test_one_root_cause_split_into_singletons_has_no_recall():
    n = 4
    scores = metrics.scores(table(["a"] * n, [1, 2, 3, 4]))
    assert scores.pairwise_precision == 1.0
    assert scores.pairwise_recall == 0.0
    assert scores.pairwise_f1 == 0.0
    assert scores.bcubed_recall == approx(1 / n)
    assert scores.homogeneity == 1.0
    assert scores.completeness == approx(0.0)


def test_one_big_group_on_both_sides_is_perfect():
    scores = metrics.scores(table(["a"] * 3, [1] * 3))
    assert scores.pairwise_f1 == 1.0
    assert scores.adjusted_rand == 1.0
    assert scores.v_measure == 1.0


def test_a_single_event_scores_one():
    scores = metrics.scores(table(["a"], [1]))
    assert scores.adjusted_rand == 1.0
    assert scores.bcubed_f1 == 1.0


def test_events_missing_on_one_side_are_left_out():
    truth = pl.DataFrame({"event_id": ["1", "2", "3"], "truth": ["a", "a", "b"]})
    predicted = pl.DataFrame({"event_id": ["2", "3", "4"], "predicted": [1, 2, 2]})
    assert metrics.contingency(truth, predicted, on=["event_id"])["n"].sum() == 2


def test_no_common_events_is_an_error():
    with pytest.raises(ValueError, match="no events in common"):
        metrics.scores(table([], []))


def test_worst_over_merged_issue_comes_first_with_its_causes():
    # Issue 1 mixes a (3) and b (2); issue 2 mixes c (4) and d (1); issue 3 is pure.
    counts = table(list("aaabbccccde"), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3])
    worst = metrics.over_merged(counts)
    assert worst["issue"].to_list() == [1, 2]
    assert worst["wrong"].to_list() == [2, 1]
    assert worst["clusters"][0].to_list() == [{"id": "a", "n": 3}, {"id": "b", "n": 2}]


def test_worst_over_split_cause_lists_its_pieces():
    counts = table(list("aaaaabbc"), [1, 1, 1, 2, 3, 4, 5, 6])
    worst = metrics.over_split(counts)
    assert worst["cluster"].to_list() == ["a", "b"]
    assert worst["wrong"].to_list() == [2, 1]
    assert worst["pieces"].to_list() == [3, 2]
    assert worst["clusters"][0].to_list()[0] == {"id": 1, "n": 3}


def test_scores_frame_lists_every_metric():
    frame = metrics.scores(table(list("ab"), [1, 1])).frame()
    assert "adjusted_rand" in frame["metric"].to_list()
    assert frame.schema["value"] == pl.Float64
