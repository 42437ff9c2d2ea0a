"""The hand-written corpus: real SDK event shapes per platform family, labelled by root cause.

fixtures/grouping/corpus/<family>.jsonl holds lines {"id", "label", "reason",
"event"}: events with one label must share an issue under v2 (Sentry's
newstyle:2023-01-11 behaviour), events with different labels must not. Each
family is scored on its own with pairwise precision and recall.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.grouping.test_accuracy import pairwise_scores
from workers.grouping import get_config, group_events

CORPUS = Path(__file__).parents[2] / "fixtures" / "grouping" / "corpus"
FAMILIES = ("native", "apple", "jvm", "javascript", "python", "go", "ruby", "php", "dotnet", "dart")
VERSION = "v2"
MIN_PRECISION = 0.99
MIN_RECALL = 0.95
MIN_EVENTS = 30


def load_family(family: str) -> list[dict]:
    path = CORPUS / f"{family}.jsonl"
    if not path.exists():
        pytest.fail(f"{path} is missing: every family needs its corpus")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_is_grouped_as_its_labels_say(family):
    rows = load_family(family)
    labels = [row["label"] for row in rows]
    results = group_events([msgspec.json.encode(row["event"]) for row in rows], get_config(VERSION))
    precision, recall = pairwise_scores(labels, [result.hash for result in results])
    print(
        f"\n{family}: {len(rows)} events, {len(set(labels))} labels: "
        f"pairwise precision {precision:.4f}, recall {recall:.4f}"
    )
    assert len(rows) >= MIN_EVENTS
    assert len(set(labels)) >= 2
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL


@pytest.mark.parametrize("family", FAMILIES)
def test_every_corpus_line_says_why(family):
    rows = load_family(family)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "ids are unique"
    for row in rows:
        assert set(row) == {"id", "label", "reason", "event"}, row["id"]
        assert row["reason"].strip() and isinstance(row["event"], dict), row["id"]
