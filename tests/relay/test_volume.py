"""The measured rate dynamic sampling reads (a sliding sixty-second window), and its tiers."""

from __future__ import annotations

import pytest

from core.project_config import parse_config
from relay.sampling import sample_rate
from relay.volume import ProjectVolume, VolumeTracker

MINUTE_START = 1_800_000_000 - 1_800_000_000 % 60


def tracker_with(current: int, previous: int) -> VolumeTracker:
    tracker = VolumeTracker(redis=None, namespace="test")  # type: ignore[arg-type]
    tracker._volumes[7] = ProjectVolume(current=current, previous=previous)
    return tracker


def test_a_burst_early_in_a_minute_is_not_read_as_thousands_a_minute():
    # 300 events in the first 3 seconds: 300 in the last minute, not 6,000 a minute.
    assert tracker_with(300, 0).per_minute(7, now=MINUTE_START + 3) == 300


@pytest.mark.parametrize(("second", "expected"), [(0, 1_200), (15, 900), (30, 600), (59, 20)])
def test_the_previous_minute_fades_out_of_the_window(second, expected):
    assert tracker_with(0, 1_200).per_minute(7, now=MINUTE_START + second) == expected


def test_a_steady_rate_reads_the_same_all_minute_long():
    # 1,200 a minute, steadily: at second s this minute holds 20*s events.
    for second in (1, 20, 45, 59):
        rate = tracker_with(20 * second, 1_200).per_minute(7, now=MINUTE_START + second)
        assert rate == pytest.approx(1_200)


def test_an_unknown_project_has_no_volume():
    assert tracker_with(5, 5).per_minute(8, now=MINUTE_START) == 0.0


def test_the_highest_tier_the_rate_exceeds_applies_in_any_written_order():
    config = parse_config(
        {
            "sampling": {
                "tiers": [
                    {"above_per_minute": 1_000, "sample_rate": 0.1},
                    {"above_per_minute": 10_000, "sample_rate": 0.01},
                    {"above_per_minute": 100, "sample_rate": 0.5},
                ]
            }
        }
    )
    rates = [sample_rate(config.sampling, rate) for rate in (50, 500, 5_000, 50_000)]
    assert rates == [1.0, 0.5, 0.1, 0.01]
