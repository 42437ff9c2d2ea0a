"""Odd inputs degrade, never crash; the batch, fast and explained paths agree."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import msgspec
import pytest

from tests.grouping.factories import exception_event, expected_hash, group, py_frame
from workers.grouping import FALLBACK_HASH, GroupingConfig, get_config, group_event, group_events

FIXTURES = Path(__file__).parents[2] / "fixtures" / "grouping"
CORPUS = FIXTURES / "labelled" / "events.jsonl"
VERSIONS = ["v1", "v2"]


def corpus_events() -> list[dict]:
    """The seeder-shaped labelled set and the hand-written per-platform corpus."""
    lines = CORPUS.read_text().splitlines()
    for path in sorted((FIXTURES / "corpus").glob("*.jsonl")):
        lines.extend(line for line in path.read_text().splitlines() if line.strip())
    return [json.loads(line)["event"] for line in lines]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b"null",
        b'"a string"',
        b'{"exception": 5}',
        b'{"exception": {"values": "nope"}}',
        b'{"exception": {"values": [null, 3, {"type": 7}]}}',
        b'{"exception": [{"stacktrace": {"frames": [null, "x", {"lineno": [1]}]}}]}',
        b'{"threads": {"values": [{"stacktrace": 3}]}, "tags": "x", "fingerprint": {"a": 1}}',
        b'{"logentry": 12, "message": ["x"], "checksum": 5, "platform": 3}',
        b'{"exception": [{"type": "E", "stacktrace": {"frames": [{"function": {"a": 1}}]}}]}',
        b'{"exception": {"type": 5, "stacktrace": "x", "mechanism": []}}',
        b'{"exception": {"value": "v", "stacktrace": {"frames": [{"function": "?"}]}}}',
        b'{"threads": {"crashed": "yes", "stacktrace": {"frames": 4}}}',
        b'{"stacktrace": {"frames": [{}]}, "exception": {"values": [{}]}}',
        b'{"tags": [["transaction", 5]], "transaction": ["x"], "environment": 3}',
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_malformed_events_degrade_without_raising(payload, version):
    result = group_event(payload, get_config(version), explain=True)
    assert len(result.hash) == 32
    assert result.hash == result.hashes[0]


def test_a_field_of_the_wrong_type_is_dropped_and_the_rest_still_groups():
    event = exception_event("KeyError", "k", [py_frame("app.views", "handle", lineno="12")])
    event["exception"]["values"][0]["stacktrace"]["frames"].append(
        {"function": 42, "module": "app.x", "in_app": True}
    )
    assert group(event).hash == expected_hash("app.views", "handle", "app.x", "KeyError")


def test_a_bare_exception_list_and_string_message_are_understood():
    event = {
        "exception": [{"type": "E", "value": "v"}],
        "message": "ignored because exception wins",
    }
    assert group(event).hash == expected_hash("E", "v")
    assert group({"message": "plain text 42"}).hash == expected_hash("plain text <int>")
    assert group({"message": {"formatted": "object form 7"}}).hash == expected_hash(
        "object form <int>"
    )


def test_a_type_inside_the_value_is_split_out_as_relay_does():
    assert group({"exception": [{"value": "TypeError: x is undefined"}]}).hash == expected_hash(
        "TypeError", "x is undefined"
    )


def test_the_caller_dict_is_not_modified():
    event = exception_event("KeyError", "k", [py_frame(lineno="bad")])
    before = json.dumps(event, sort_keys=True)
    group(event)
    assert json.dumps(event, sort_keys=True) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_nothing_usable_gives_the_fallback(version):
    assert group_event(b"{}", get_config(version)).hash == FALLBACK_HASH


@pytest.mark.parametrize("version", VERSIONS)
def test_batch_bytes_and_dicts_agree_with_the_explained_path(version):
    config = GroupingConfig.build(version)
    events = corpus_events()
    payloads = [msgspec.json.encode(event) for event in events]
    batch = group_events(payloads, config)
    explaining = GroupingConfig.build(version)
    for event, fast in zip(events, batch, strict=True):
        explained = group_event(event, explaining, explain=True)
        assert (fast.hashes, fast.variant, fast.title) == (
            explained.hashes,
            explained.variant,
            explained.title,
        )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_config_is_shared_safely_between_threads(version):
    config = GroupingConfig.build(version)
    payloads = [msgspec.json.encode(event) for event in corpus_events()]
    expected = [r.hashes for r in group_events(payloads, GroupingConfig.build(version))]
    results: dict[int, list] = {}

    def work(index: int) -> None:
        results[index] = [r.hashes for r in group_events(payloads, config)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(hashes == expected for hashes in results.values())


def test_the_config_is_immutable():
    config = GroupingConfig.build()
    with pytest.raises(AttributeError):
        config.version = "v2"  # type: ignore[misc]


def test_results_and_explanations_encode_to_json():
    result = group(exception_event(frames=[py_frame()]), explain=True)
    decoded = json.loads(msgspec.json.encode(result))
    assert decoded["hash"] == result.hash
    assert decoded["explanation"]["variants"][0]["component"]["id"] in ("system", "app")
