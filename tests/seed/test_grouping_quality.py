"""The grouping engine on seeded traffic, scored against the ground truth.

A good grouper puts each root cause in one issue (pairwise precision and
recall); a naive one (exception type + parameterized message, the plan's
fallback) is fooled by the catalogue's traps. The worst merges and splits are
printed so a regression points at the root causes involved.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import msgspec
import pytest

from relay.normalize import normalize_event
from tests.grouping.test_accuracy import MIN_PRECISION, MIN_RECALL, pairwise_scores
from workers.grouping import GroupingConfig, group_events
from workers.grouping.parameterize import normalize_message

RECEIVED_AT = 1_792_000_000.0


@pytest.fixture(scope="module")
def stored(default_events) -> list[tuple[object, bytes]]:
    """Error events as the relay stores them (grouping reads stored payloads)."""
    out = []
    for event in default_events:
        if event.rendered.kind != "event":
            continue
        body = msgspec.json.encode(event.rendered.payload)
        payload = normalize_event(msgspec.json.decode(body), received_at=RECEIVED_AT, raw=body)
        out.append((event, msgspec.json.encode(payload)))
    return out


def _worst(labels: list[str], groups: list[str], titles: dict[str, str]) -> list[str]:
    by_group, by_label = defaultdict(Counter), defaultdict(Counter)
    for label, group in zip(labels, groups, strict=True):
        by_group[group][label] += 1
        by_label[label][group] += 1
    merged = sorted((c for c in by_group.values() if len(c) > 1), key=lambda c: -sum(c.values()))
    split = sorted(
        ((label, c) for label, c in by_label.items() if len(c) > 1),
        key=lambda item: -sum(item[1].values()),
    )
    lines = [f"merged: {dict(c.most_common(3))}" for c in merged[:5]]
    lines += [
        f"split: {label} ({titles[label]}) into {sorted(c.values())}" for label, c in split[:5]
    ]
    return lines


def test_seeded_root_causes_become_one_issue_each(stored):
    config = GroupingConfig.build()
    started = time.perf_counter()
    results = group_events([payload for _, payload in stored], config)
    seconds = time.perf_counter() - started
    labels = [event.root_cause.id for event, _ in stored]
    # Issues are per project: the same hash in two projects is two issues.
    groups = [f"{event.project}/{r.hash}" for (event, _), r in zip(stored, results, strict=True)]
    precision, recall = pairwise_scores(labels, groups)
    titles = {event.root_cause.id: event.root_cause.title for event, _ in stored}
    print(
        f"\ngrouping {len(stored)} seeded error events ({len(set(labels))} root causes, "
        f"{len(set(groups))} issues) in {seconds:.1f} s: "
        f"pairwise precision {precision:.4f}, recall {recall:.4f}"
    )
    for line in _worst(labels, groups, titles):
        print("  " + line)
    assert len(set(labels)) >= 200
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL


def test_naive_type_and_message_grouping_falls_for_the_traps(stored):
    labels, naive = [], []
    for event, payload in stored:
        data = msgspec.json.decode(payload)
        values = data.get("exception", {}).get("values") or [{}]
        main = values[-1]
        text = main.get("value") or data.get("logentry", {}).get("message") or data.get("message")
        labels.append(event.root_cause.id)
        naive.append(f"{event.project}/{main.get('type')}/{normalize_message(str(text or ''))}")
    precision, recall = pairwise_scores(labels, naive)
    print(f"\nnaive grouping: pairwise precision {precision:.4f}, recall {recall:.4f}")
    assert precision < 0.9, "root causes sharing a type and message get merged"
    assert recall < 0.97, "browser wording and quoted input split root causes"
