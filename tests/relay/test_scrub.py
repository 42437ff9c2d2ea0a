"""Secret scrubbing: card numbers only where a card could be, each rule switchable per
project, checked on the rules and on real events through the relay."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import msgspec
import pytest

from core.project_config import ScrubbingSettings, parse_config, set_path
from relay.scrub import FILTERED, _luhn_valid, is_card_number, plan_scrub, scrub_event
from tests.relay.conftest import PROJECT_ID, PUBLIC_KEY, RunningRelay, wait_for_rows

NODE_DIR = Path(__file__).parents[1] / "sdk" / "node"
# A millisecond time as Node's Date.now() gives it (2025-12-05), and one that passes the
# Luhn check: a bare run that only the issuer prefix tells from a card.
DATE_NOW_MS = "1764950400127"

# Test numbers the networks publish, one per issuer prefix rule.
CARDS = {
    "visa": "4111111111111111",
    "visa 13": "4222222222222",
    "mastercard": "5555555555554444",
    "mastercard 2-series": "2223003122003222",
    "amex": "378282246310005",
    "amex 34": "340000000000009",
    "discover": "6011111111111117",
    "discover 65": "6500000000000002",
    "jcb": "3530111333300000",
    "diners": "30569309025904",
    "diners 36": "36227206271667",
    "unionpay": "6200000000000005",
    "maestro": "6759649826438453",
}


def test_the_node_time_and_the_cards_pass_the_luhn_check():
    # Otherwise the tests below would prove nothing about the issuer prefixes.
    assert _luhn_valid(DATE_NOW_MS)
    assert all(_luhn_valid(number) for number in CARDS.values())


@pytest.mark.parametrize("number", CARDS.values(), ids=CARDS.keys())
def test_card_numbers_of_every_network_are_masked_bare_and_separated(number):
    assert is_card_number(number)
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    event = {"message": f"paid with {number}", "extra": {"card": f"card {spaced} ok"}}
    raw = msgspec.json.encode(event)
    plan = plan_scrub(raw)
    assert plan is not None and plan.cards
    scrub_event(event, raw)
    assert event == {"message": f"paid with {FILTERED}", "extra": {"card": f"card {FILTERED} ok"}}


@pytest.mark.parametrize(
    "number",
    [
        DATE_NOW_MS,  # no network issues numbers starting with 1
        "1764950400127000",  # a microsecond time, 16 digits
        "4111111111111",  # Visa's prefix but Luhn-invalid
        "37828224631000",  # Amex's prefix at 14 digits: Amex issues 15
        "55555555555544440",  # Mastercard's prefix at 17 digits: it issues 16
        "9999999999999995",  # Luhn-valid, no network
    ],
)
def test_bare_digit_runs_without_a_network_prefix_and_length_are_kept(number):
    assert not is_card_number(number)
    event = {"message": f"request {number} timed out"}
    raw = msgspec.json.encode(event)
    assert plan_scrub(raw) is None
    scrub_event(event)  # the walk without the quick scan decides the same
    assert event == {"message": f"request {number} timed out"}


def test_separated_digits_keep_the_luhn_test_alone():
    # Grouped as a card is written: the grouping says enough, whatever the prefix.
    assert is_card_number("1234 5678 9012 3452")
    assert is_card_number("1764-9504-0012-7")
    assert not is_card_number("1234 5678 9012 3456")  # Luhn-invalid


def test_a_long_card_is_found_by_the_quick_scan_whole_not_by_its_first_13_digits():
    # The quick scan used to test the first 13 digits only and missed this test Visa.
    assert not _luhn_valid("4111111111111")
    plan = plan_scrub(b'{"message": "card 4111111111111111"}')
    assert plan is not None and plan.cards


def test_a_card_inside_a_longer_separated_run_is_found_where_the_walk_finds_it():
    event = {"message": "ref x4111 4111 1111 1111 1111 end"}
    raw = msgspec.json.encode(event)
    scrub_event(event, raw)
    assert event == {"message": f"ref x4111 {FILTERED} end"}


SECRETS = {
    "sensitive_keys": ({"extra": {"password": "hunter2"}}, {"extra": {"password": FILTERED}}),
    "credit_cards": ({"message": "card 4111111111111111"}, {"message": f"card {FILTERED}"}),
    "bearer_tokens": (
        {"message": "sent Bearer abcdef123456"},
        {"message": f"sent Bearer {FILTERED}"},
    ),
    "private_keys": (
        {"message": "-----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY-----"},
        {"message": FILTERED},
    ),
    "url_passwords": (
        {"message": "dial https://bob:s3cret@db.example.com/x"},
        {"message": f"dial https://bob:{FILTERED}@db.example.com/x"},
    ),
}


@pytest.mark.parametrize("rule", SECRETS)
def test_each_rule_scrubs_by_default_and_can_be_turned_off_alone(rule):
    sent, scrubbed = SECRETS[rule]
    raw = msgspec.json.encode(sent)
    event = json.loads(raw)
    scrub_event(event, raw)
    assert event == scrubbed
    rules = msgspec.structs.replace(ScrubbingSettings(), **{rule: False})
    assert plan_scrub(raw, rules=rules) is None
    for with_raw in (raw, None):
        event = json.loads(raw)
        scrub_event(event, with_raw, rules)
        assert event == sent


def test_a_rule_is_turned_off_through_the_project_configuration():
    config = set_path(parse_config({}), "scrubbing.credit_cards", False)
    assert config.scrubbing == ScrubbingSettings(credit_cards=False)
    assert parse_config({}).scrubbing == ScrubbingSettings()


def stored_payload(relay: RunningRelay, event_id: str) -> dict:
    sql = f"SELECT count() FROM events WHERE event_id = '{uuid.UUID(event_id)}'"
    assert wait_for_rows(relay, sql, 1) == 1
    (payload,) = (
        relay.stack.clickhouse()
        .query(
            "SELECT payload FROM events WHERE event_id = {e:UUID}",
            parameters={"e": str(uuid.UUID(event_id))},
        )
        .result_rows[0]
    )
    return json.loads(payload)


def capture_node_error(dsn: str, message: str) -> str:
    completed = subprocess.run(
        ["node", "capture_error.cjs", dsn, message],
        cwd=NODE_DIR,
        env={"PATH": "/usr/bin:/usr/local/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = json.loads(completed.stdout)
    assert output["flushed"] is True
    return output["id"]


def relay_dsn(relay: RunningRelay, public_key: str, project_id: int) -> str:
    return relay.base_url.replace("://", f"://{public_key}@") + f"/{project_id}"


def test_a_node_date_now_in_an_error_message_reaches_storage_unfiltered(relay):
    message = f"session 7 expired at {DATE_NOW_MS}; card 4111 1111 1111 1111 declined"
    event_id = capture_node_error(relay_dsn(relay, PUBLIC_KEY, PROJECT_ID), message)
    stored = stored_payload(relay, event_id)
    assert stored["sdk"]["name"] == "sentry.javascript.node"
    (exception,) = stored["exception"]["values"]
    assert exception["value"] == f"session 7 expired at {DATE_NOW_MS}; card {FILTERED} declined"


def test_a_project_with_card_scrubbing_off_keeps_card_numbers(relay):
    project_id, public_key = PROJECT_ID + 1, uuid.uuid4().hex
    with relay.stack.pool.connection() as conn:
        conn.execute(
            "INSERT INTO projects (id, slug, name, config) VALUES (%s, 'cards', 'c', %s)",
            (project_id, json.dumps({"scrubbing": {"credit_cards": False}})),
        )
        conn.execute(
            "INSERT INTO project_keys (public_key, project_id) VALUES (%s, %s)",
            (public_key, project_id),
        )
    message = "card 4111111111111111 declined, token abcdefgh12345678"
    event_id = capture_node_error(relay_dsn(relay, public_key, project_id), message)
    (exception,) = stored_payload(relay, event_id)["exception"]["values"]
    # Only the card rule is off: the bearer-token rule still masks.
    assert exception["value"] == f"card 4111111111111111 declined, token {FILTERED}"
