import time
import uuid

import msgspec
import pytest

from relay.errors import BadRequest
from relay.normalize import EventTooOld, clock_drift_s, normalize_event, normalize_payload
from relay.scrub import FILTERED, scrub_event

NOW = 1_760_000_000.0


def test_missing_fields_are_filled_like_relay_does():
    event = normalize_event({}, received_at=NOW)
    assert len(event["event_id"]) == 32
    uuid.UUID(event["event_id"])
    assert event["timestamp"] == NOW
    assert event["platform"] == "other"
    assert event["level"] == "error"
    assert event["type"] == "default"


def test_dashed_event_ids_become_hex_and_garbage_is_rejected():
    event = normalize_event({"event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC"}, received_at=NOW)
    assert event["event_id"] == "9ec79c33ec9942ab8353589fcb2e04dc"
    with pytest.raises(BadRequest, match="invalid event_id"):
        normalize_event({"event_id": "nope"}, received_at=NOW)


def test_iso_and_numeric_timestamps_are_read():
    # NOW is 2025-10-09T08:53:20Z; ten minutes earlier:
    event = normalize_event({"timestamp": "2025-10-09T08:43:20Z"}, received_at=NOW)
    assert event["timestamp"] == NOW - 600
    event = normalize_event({"timestamp": "2025-10-09T08:43:20.250+00:00"}, received_at=NOW)
    assert event["timestamp"] == NOW - 599.75
    event = normalize_event({"timestamp": NOW - 5.5}, received_at=NOW)
    assert event["timestamp"] == NOW - 5.5


def test_clock_drift_beyond_55_minutes_is_corrected_from_sent_at():
    # The client's clock is two hours behind: sent_at and timestamps are both early.
    sent_at = NOW - 7200
    drift = clock_drift_s(sent_at, NOW)
    assert drift == 7200
    event = normalize_event({"timestamp": sent_at - 10}, received_at=NOW, drift_s=drift)
    assert event["timestamp"] == NOW - 10


def test_small_drift_is_left_alone():
    assert clock_drift_s(NOW - 120, NOW) == 0.0
    assert clock_drift_s(None, NOW) == 0.0


def test_future_timestamps_are_clamped_and_ancient_ones_rejected():
    assert normalize_event({"timestamp": NOW + 3600}, received_at=NOW)["timestamp"] == NOW
    with pytest.raises(EventTooOld):
        normalize_event({"timestamp": NOW - 400 * 86400}, received_at=NOW)


def test_a_transaction_older_than_its_30_day_table_is_rejected_an_event_is_not():
    # The transactions table keeps 30 days: a row older than that would expire at once.
    forty_days_ago = NOW - 40 * 86400
    event = normalize_event({"timestamp": forty_days_ago}, received_at=NOW)
    assert event["timestamp"] == forty_days_ago
    transaction = {"timestamp": NOW - 29 * 86400, "start_timestamp": NOW - 29 * 86400 - 1}
    kept = normalize_event(transaction, received_at=NOW, item_type="transaction")
    assert kept["timestamp"] == NOW - 29 * 86400
    with pytest.raises(EventTooOld):
        normalize_event(
            {"timestamp": forty_days_ago, "start_timestamp": forty_days_ago - 1},
            received_at=NOW,
            item_type="transaction",
        )


def test_level_aliases_and_unknown_platforms():
    assert normalize_event({"level": "WARN"}, received_at=NOW)["level"] == "warning"
    assert normalize_event({"level": "critical"}, received_at=NOW)["level"] == "fatal"
    assert normalize_event({"level": "loud"}, received_at=NOW)["level"] == "error"
    assert normalize_event({"platform": "cobol"}, received_at=NOW)["platform"] == "other"
    assert normalize_event({"platform": "node"}, received_at=NOW)["platform"] == "node"


def test_type_is_inferred():
    error = normalize_event({"exception": {"values": [{"type": "E"}]}}, received_at=NOW)
    assert error["type"] == "error"
    legacy = normalize_event({"exception": [{"type": "E"}]}, received_at=NOW)
    assert legacy["type"] == "error"
    transaction = normalize_event({}, received_at=NOW, item_type="transaction")
    assert transaction["type"] == "transaction"


def test_stack_traces_are_capped_keeping_both_ends():
    frames = [{"function": f"f{i}"} for i in range(400)]
    event = normalize_event(
        {"exception": {"values": [{"type": "RecursionError", "stacktrace": {"frames": frames}}]}},
        received_at=NOW,
    )
    kept = event["exception"]["values"][0]["stacktrace"]
    assert len(kept["frames"]) == 250
    assert kept["frames"][0]["function"] == "f0"
    assert kept["frames"][-1]["function"] == "f399"
    assert kept["frames_omitted"] == [125, 275]


def test_secrets_are_scrubbed_by_default():
    event = {
        "request": {
            "headers": [["Authorization", "Bearer abc.def.ghi"], ["Accept", "text/html"]],
            "data": {"password": "hunter2", "card": "4111 1111 1111 1111", "name": "Ann"},
            "url": "https://bob:s3cret@api.example.com/x",
        },
        "extra": {"api_key": "k-123", "note": "paid with 4242-4242-4242-4242 ok"},
        "user": {"id": "42"},
    }
    scrub_event(event)
    assert event["request"]["headers"][0] == ["Authorization", FILTERED]
    assert event["request"]["headers"][1] == ["Accept", "text/html"]
    assert event["request"]["data"] == {"password": FILTERED, "card": FILTERED, "name": "Ann"}
    assert event["request"]["url"] == f"https://bob:{FILTERED}@api.example.com/x"
    assert event["extra"] == {"api_key": FILTERED, "note": f"paid with {FILTERED} ok"}
    assert event["user"] == {"id": "42"}


def test_numbers_that_are_not_card_numbers_survive_scrubbing():
    event = {"message": "order 1234567890123 failed", "event_id": "1234567890123456" * 2}
    scrub_event(event)
    # 1234567890123 fails the Luhn check; ids are never touched.
    assert event["message"] == "order 1234567890123 failed"
    assert event["event_id"] == "1234567890123456" * 2


def test_received_time_is_recorded():
    before = time.time()
    event = normalize_event({}, received_at=before)
    assert event["received"] == before


RAVEN_GO_ERROR = {
    "platform": "go",
    "sdk": {"name": "raven-go", "version": "0.2.0"},
    "message": "dial tcp 10.0.3.7:5432: connect: connection refused",
    "exception": {
        "type": "*net.OpError",
        "value": "dial tcp 10.0.3.7:5432: connect: connection refused",
        "module": "net",
        "stacktrace": {"frames": [{"filename": "db.go", "function": "Connect", "lineno": 18}]},
    },
}


def test_one_bare_exception_object_is_stored_as_a_list_of_one_as_relay_does():
    normalized = normalize_payload(msgspec.json.encode(RAVEN_GO_ERROR), received_at=NOW)
    stored = msgspec.json.decode(normalized.payload)
    assert normalized.type == "error"
    assert stored["exception"] == {"values": [RAVEN_GO_ERROR["exception"]]}


def test_bare_threads_and_breadcrumbs_are_wrapped_and_lists_left_alone():
    event = {
        "threads": {"id": 1, "crashed": True, "stacktrace": {"frames": []}},
        "breadcrumbs": {"timestamp": NOW, "message": "clicked pay"},
        "exception": {"values": [{"type": "E", "value": "v"}]},
    }
    normalized = normalize_payload(msgspec.json.encode(event), received_at=NOW)
    stored = msgspec.json.decode(normalized.payload)
    assert stored["threads"] == {"values": [event["threads"]]}
    assert stored["breadcrumbs"] == {"values": [event["breadcrumbs"]]}
    assert stored["exception"] == event["exception"]
    listed = msgspec.json.encode({"exception": {"values": [{"type": "E"}]}, "threads": []})
    assert normalize_payload(listed, received_at=NOW).payload == listed  # stored as sent


def test_an_empty_exception_object_is_no_exception():
    normalized = normalize_payload(b'{"exception": {}}', received_at=NOW)
    assert normalized.type == "default"
