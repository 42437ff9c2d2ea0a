"""Golden files pin each grouping version: the same event must keep its hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.grouping import VERSIONS, GroupingConfig, group_event

GOLDEN = Path(__file__).parents[2] / "fixtures" / "grouping" / "golden"
FILES = sorted(GOLDEN.glob("*/*.json"))


def test_every_version_has_golden_files():
    assert {path.parent.name for path in FILES} == set(VERSIONS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_event_keeps_its_hashes(path):
    golden = json.loads(path.read_text())
    result = group_event(golden["event"], GroupingConfig.build(path.parent.name))
    assert (result.hash, result.hashes, result.variant) == (
        golden["hash"],
        golden["hashes"],
        golden["variant"],
    )
