"""The relay's counters: children kept per label values count exactly as `labels()` does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from relay.metrics import _MAX_CHILDREN, RelayMetrics


def samples(metrics: RelayMetrics, name: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_requests_are_counted_by_endpoint_and_status_whichever_way_the_status_comes():
    metrics = RelayMetrics()
    for _ in range(3):
        metrics.count_request("envelope", 200)
    metrics.count_request("envelope", "200")
    metrics.count_request("store", 429)
    assert samples(metrics, "relay_requests_total") == {
        (("endpoint", "envelope"), ("status", "200")): 4.0,
        (("endpoint", "store"), ("status", "429")): 1.0,
    }


def test_encodings_beyond_the_remembered_number_are_still_counted():
    metrics = RelayMetrics()
    encodings = [f"x-{n}" for n in range(_MAX_CHILDREN + 10)]
    for encoding in encodings + encodings:
        metrics.count_encoding(encoding)
    counted = samples(metrics, "relay_request_encodings_total")
    assert len(counted) == len(encodings)
    assert set(counted.values()) == {2.0}
