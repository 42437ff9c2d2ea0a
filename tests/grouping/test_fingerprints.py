"""Client fingerprints, checksums and server-side fingerprint rules."""

from __future__ import annotations

import pytest

from tests.grouping.factories import (
    exception_event,
    expected_hash,
    group,
    js_frame,
    message_event,
    py_frame,
)
from workers.grouping import GroupingConfig


def rules(text: str) -> GroupingConfig:
    return GroupingConfig.build("v1", fingerprint_rules=text)


def test_a_client_fingerprint_replaces_grouping():
    first = group(
        exception_event("TimeoutError", "a", [py_frame("a", "f")], fingerprint=["psp-down"])
    )
    second = group(exception_event("SSLError", "b", [py_frame("b", "g")], fingerprint=["psp-down"]))
    assert first.hash == second.hash == expected_hash("psp-down")
    assert first.variant == "custom-fingerprint"


def test_default_plus_values_salts_each_variant():
    frames = [py_frame("lib.http", "send", in_app=False), py_frame("app.views", "handle")]
    event = exception_event("KeyError", "k", frames, fingerprint=["{{ default }}", "tenant-7"])
    result = group(event)
    assert result.hashes == [
        expected_hash("app.views", "handle", "KeyError", "tenant-7"),
        expected_hash("lib.http", "send", "app.views", "handle", "KeyError", "tenant-7"),
    ]
    assert result.variant == "app"


def test_only_default_changes_nothing():
    frames = [py_frame("app.views", "handle")]
    plain = group(exception_event(frames=frames))
    assert group(exception_event(frames=frames, fingerprint=["{{default}}"])).hash == plain.hash


def test_fingerprint_variables_are_resolved():
    frames = [
        py_frame("app.views", "handle", in_app=True),
        py_frame("lib.x", "inner", in_app=False),
    ]
    event = exception_event(
        "KeyError",
        "k",
        frames,
        transaction="/orders",
        tags={"tenant": "acme"},
        fingerprint=[
            "{{ type }}",
            "{{ function }}",
            "{{ transaction }}",
            "{{ tags.tenant }}",
            "{{ tags.nope }}",
        ],
    )
    assert group(event).hash == expected_hash(
        "KeyError", "handle", "/orders", "acme", "<no-value-for-tag-nope>"
    )


def test_a_fingerprint_equal_to_the_message_is_parameterized():
    first = group(message_event("order 17 failed", fingerprint=["order 17 failed"]))
    second = group(message_event("order 99 failed", fingerprint=["order 99 failed"]))
    assert first.hash == second.hash == expected_hash("order <int> failed")


def test_a_32_hex_checksum_is_the_hash():
    checksum = "a" * 32
    result = group(exception_event(checksum=checksum))
    assert (result.hash, result.variant) == (checksum, "checksum")


def test_other_checksums_are_hashed():
    result = group(exception_event(checksum="my-grouping-key"))
    assert (result.hash, result.variant) == (expected_hash("my-grouping-key"), "hashed-checksum")


def test_rule_on_error_type_sets_the_fingerprint_and_records_the_rule():
    config = rules("error.type:DatabaseUnavailable -> system-down")
    result = group(exception_event("DatabaseUnavailable", "db1 down", [py_frame()]), config)
    assert result.hash == expected_hash("system-down")
    assert result.fingerprint_rule == "error.type:DatabaseUnavailable -> system-down"
    assert group(exception_event("OtherError"), config).fingerprint_rule is None


def test_rule_title_is_expanded():
    config = rules('error.value:"*timeout*" -> db-timeout title="DB timeout in {{ function }}"')
    result = group(
        exception_event("OperationalError", "read timeout", [py_frame(function="save")]), config
    )
    assert result.title == "DB timeout in save"


def test_value_and_message_matchers_are_case_insensitive_and_message_sees_exception_values():
    config = rules('message:"*CONNECTION RESET*" -> reset')
    assert group(
        exception_event("OSError", "connection reset by peer"), config
    ).hash == expected_hash("reset")
    assert group(message_event("Connection reset while syncing"), config).hash == expected_hash(
        "reset"
    )


@pytest.mark.parametrize(
    ("rule", "event", "matches"),
    [
        ("logger:shop.* -> x", message_event("m", logger="shop.payments"), True),
        ("logger:shop.* -> x", message_event("m", logger="other"), False),
        ("level:ERROR -> x", message_event("m", level="error"), True),
        ("tags.region:eu-* -> x", message_event("m", tags=[["region", "eu-west-1"]]), True),
        ("tags.region:eu-* -> x", message_event("m", tags={"region": "us-east-1"}), False),
        ("sdk:sentry.python -> x", message_event("m", sdk={"name": "sentry.python.django"}), True),
        ("family:javascript -> x", message_event("m", platform="node"), True),
        ("family:native -> x", message_event("m"), False),
        ("release:shop@2.* -> x", message_event("m", release="shop@2.1.0"), True),
        ("!level:error -> x", message_event("m", level="warning"), True),
        ("stack.function:handle -> x", exception_event(frames=[py_frame(function="handle")]), True),
        ("stack.module:app.* -> x", exception_event(frames=[py_frame("app.views")]), True),
        ("stack.abs_path:**/views.py -> x", exception_event(frames=[py_frame("app.views")]), True),
        (
            "stack.package:**/libfoo.so -> x",
            exception_event(frames=[{"function": "f", "package": "/usr/lib/libfoo.so"}]),
            True,
        ),
        ("app:no -> x", exception_event(frames=[py_frame(in_app=False)]), True),
        ("app:yes -> x", exception_event(frames=[py_frame(in_app=False)]), False),
    ],
)
def test_matchers(rule, event, matches):
    assert (group(event, rules(rule)).fingerprint_rule is not None) is matches


def test_frame_matchers_must_match_the_same_frame():
    config = rules("stack.function:save stack.module:app.db -> db-save")
    same = [py_frame("app.db", "save")]
    split = [py_frame("app.db", "load"), py_frame("app.views", "save")]
    assert group(exception_event(frames=same), config).fingerprint_rule is not None
    assert group(exception_event(frames=split), config).fingerprint_rule is None


def test_the_first_matching_rule_wins():
    config = rules("error.type:KeyError -> first\nerror.type:* -> second")
    assert group(exception_event("KeyError"), config).hash == expected_hash("first")


def test_rule_fingerprints_can_use_default():
    config = rules("error.type:KeyError -> {{ default }}, {{ tags.tenant }}")
    event = exception_event("KeyError", "k", [py_frame()], tags={"tenant": "acme"})
    assert group(event, config).hash == expected_hash("app.views", "handle", "KeyError", "acme")


def test_built_in_rule_groups_chunk_load_errors():
    def event(chunk):
        frames = [js_frame(f"load{chunk}")]
        return exception_event(
            "ChunkLoadError", f"Loading chunk {chunk} failed.", frames, platform="javascript"
        )

    first, second = group(event(12)), group(event(345))
    assert first.hash == second.hash == expected_hash("chunkloaderror")
    assert first.variant == "built-in-fingerprint"


def test_built_in_rule_groups_react_hydration_errors_per_transaction():
    message = (
        "Minified React error #418; visit https://react.dev/errors/418?args[]= for the message"
    )
    event = exception_event(
        "Error",
        message,
        [js_frame("hydrate")],
        platform="javascript",
        tags={"transaction": "/cart"},
    )
    assert group(event).hash == expected_hash("hydrationerror", "/cart")


def test_project_rules_come_before_built_in_rules():
    config = rules("error.type:ChunkLoadError -> mine")
    event = exception_event("ChunkLoadError", "x", platform="javascript")
    assert group(event, config).hash == expected_hash("mine")
