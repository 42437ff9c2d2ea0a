"""Labelled accuracy: events with known root causes, pairwise precision and recall.

The corpus (fixtures/grouping/labelled/, from make_labelled.py) holds realistic
events of many platforms; events of one root cause vary as production varies
them, and some root causes share a type or a message shape with another.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import msgspec

from workers.grouping import GroupingConfig, group_events

CORPUS = Path(__file__).parents[2] / "fixtures" / "grouping" / "labelled" / "events.jsonl"
MIN_PRECISION = 0.99
MIN_RECALL = 0.97


def pairwise_scores(labels: list[str], groups: list[str]) -> tuple[float, float]:
    """Precision and recall over all pairs of events (same issue vs same root cause)."""
    pair_count = lambda counts: sum(n * (n - 1) // 2 for n in counts.values())  # noqa: E731
    both = pair_count(Counter(zip(labels, groups, strict=True)))
    same_group = pair_count(Counter(groups))
    same_label = pair_count(Counter(labels))
    return both / same_group, both / same_label


def test_pairwise_scores_count_pairs():
    precision, recall = pairwise_scores(["a", "a", "a", "b"], ["x", "x", "y", "x"])
    assert (precision, recall) == (1 / 3, 1 / 3)


def test_labelled_corpus_is_grouped_accurately():
    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    labels = [row["label"] for row in rows]
    results = group_events(
        [msgspec.json.encode(row["event"]) for row in rows], GroupingConfig.build("v1")
    )
    precision, recall = pairwise_scores(labels, [r.hash for r in results])
    print(
        f"\ngrouping accuracy on {len(rows)} events, {len(set(labels))} root causes: "
        f"pairwise precision {precision:.4f}, recall {recall:.4f}"
    )
    assert len(set(labels)) >= 30
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL
