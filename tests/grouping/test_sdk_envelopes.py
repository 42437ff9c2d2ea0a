"""Events as real SDKs recorded them (fixtures/envelopes/) group as Sentry groups them."""

from __future__ import annotations

import copy

import pytest

from tests.grouping.factories import contributing, expected_hash, group, hint_of, recorded_event


def with_message(event: dict, text: str) -> dict:
    """The same captureMessage call with another text, as @sentry/node 11 sends it."""
    event = copy.deepcopy(event)
    event["message"] = text
    event["exception"]["values"][0]["value"] = text
    return event


def test_node_11_capture_message_groups_on_the_call_site_like_sentry():
    event = recorded_event("node/message_info")
    exception = event["exception"]["values"][0]
    assert exception["mechanism"]["synthetic"] and "type" not in exception
    result = group(event, explain=True)
    ids = [component for component, _ in contributing(result)]
    # The stack trace wins: neither the (absent) type nor the value count.
    assert "type" not in ids
    assert "value" not in ids
    assert hint_of(result, "value") == [(False, "ignored because stack trace takes precedence")]
    assert result.title == "Nightly price import finished: 1204 products updated"


def test_repeated_capture_message_calls_with_other_numbers_are_one_issue():
    event = recorded_event("node/message_info")
    runs = [
        with_message(event, f"Nightly price import finished: {n} products updated")
        for n in (1204, 17, 99_812)
    ]
    assert len({group(run).hash for run in runs}) == 1


def test_capture_message_from_another_call_site_is_another_issue():
    event = recorded_event("node/message_info")
    elsewhere = copy.deepcopy(event)
    frame = elsewhere["exception"]["values"][0]["stacktrace"]["frames"][-1]
    frame["context_line"] = "  Sentry.captureMessage(`Import of ${file} finished`, 'info');"
    assert group(event).hash != group(elsewhere).hash


def test_node_10_messages_group_on_the_parameterized_message():
    event = recorded_event("node-v10/message_info")
    other = copy.deepcopy(event)
    other["message"] = "Nightly price import finished: 88 products updated"
    expected = expected_hash("Nightly price import finished: <int> products updated")
    assert group(event).hash == group(other).hash == expected


def test_python_logging_groups_on_the_template_not_the_formatted_message():
    event = recorded_event("python/logging_error")
    other = copy.deepcopy(event)
    other["logentry"]["params"] = ["ord_11aa", 5, "adyen"]
    other["logentry"]["formatted"] = (
        "Payment for order ord_11aa failed after 5 attempts (gateway=adyen)"
    )
    template = "Payment for order %s failed after %d attempts (gateway=%s)"
    assert group(event).hash == group(other).hash == expected_hash(template)
    assert group(event).title.startswith("Payment for order ord_7f3a failed")


@pytest.mark.parametrize(
    "names",
    [
        ("node/exception", "node-v10/exception"),
        ("node/unhandled_rejection.event", "node-v10/unhandled_rejection.event"),
        ("node/uncaught.event", "node-v10/uncaught.event"),
        ("python/exception", "python/exception_gzip", "python/exception_uncompressed"),
    ],
)
def test_the_same_error_from_other_sdk_versions_and_encodings_is_one_issue(names):
    assert len({group(recorded_event(name)).hash for name in names}) == 1


def test_python_exception_groups_keep_each_distinct_failure_and_the_root():
    result = group(recorded_event("python/exception_group"), explain=True)
    types = [value for component, value in contributing(result) if component == "type"]
    assert types == [
        "PaymentDeclined",
        "OutOfStock",
        "KeyError",
        "InventoryError",
        "ExceptionGroup",
    ]


def test_client_fingerprint_with_default_salts_the_grouping_hash():
    event = recorded_event("python/fingerprint")
    assert event["fingerprint"] == ["{{ default }}", "payment-gateway"]
    plain = copy.deepcopy(event)
    del plain["fingerprint"]
    salted, unsalted = group(event, explain=True), group(plain)
    assert salted.hash != unsalted.hash
    variant = next(v for v in salted.explanation.variants if v.name == salted.variant)
    assert variant.kind == "salted-component"
    leaves = [value for _, value in contributing(salted)]
    assert salted.hash == expected_hash(*leaves, "payment-gateway")
