"""Hypothesis properties: what must never, and what must always, change a fingerprint."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.grouping.factories import exception_event, group, message_event, native_frame, py_frame
from workers.grouping import get_config

VERSIONS = ["v1", "v2"]

identifiers = st.text(string.ascii_lowercase, min_size=3, max_size=12)
numbers = st.integers(min_value=-(10**12), max_value=10**12)
hex_ids = st.integers(min_value=0, max_value=2**64 - 1).map(lambda n: f"0x{n:x}")
uuids = st.uuids().map(str)
ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda p: ".".join(map(str, p)))
emails = st.tuples(identifiers, identifiers).map(lambda p: f"{p[0]}@{p[1]}.com")
KINDS = {
    "number": numbers.map(str),
    "hex": hex_ids,
    "hex-id": st.integers(16**7, 16**16 - 1)
    .map(lambda n: f"{n:x}")
    .filter(lambda s: not s.isdigit()),
    "uuid": uuids,
    "ip": ips,
    "email": emails,
}
kinds = st.sampled_from(sorted(KINDS))
variable_values = st.one_of(*KINDS.values())
TEMPLATES = [
    "Order {} could not be found",
    "User {} hit the rate limit",
    "Connection from {} dropped",
    "Job {} failed after retries",
]


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=300)
@given(st.sampled_from(TEMPLATES), kinds, st.data())
def test_ids_numbers_and_addresses_in_messages_never_change_the_fingerprint(
    version, template, kind, data
):
    a, b = data.draw(KINDS[kind]), data.draw(KINDS[kind])
    assert (
        group(message_event(template.format(a)), get_config(version)).hash
        == group(message_event(template.format(b)), get_config(version)).hash
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100)
@given(st.sampled_from(TEMPLATES), kinds, st.data())
def test_values_in_exceptions_without_stack_never_change_the_fingerprint(
    version, template, kind, data
):
    a, b = data.draw(KINDS[kind]), data.draw(KINDS[kind])
    first = exception_event("LookupError", template.format(a), None)
    second = exception_event("LookupError", template.format(b), None)
    assert group(first, get_config(version)).hash == group(second, get_config(version)).hash


def _stack(linenos, names):
    return [
        py_frame(f"app.m{i}", name, lineno=lineno)
        for i, (lineno, name) in enumerate(zip(linenos, names, strict=True))
    ]


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100)
@given(
    st.lists(identifiers, min_size=1, max_size=8, unique=True).flatmap(
        lambda names: st.tuples(
            st.just(names),
            st.lists(st.integers(1, 5000), min_size=len(names), max_size=len(names)),
            st.lists(st.integers(1, 5000), min_size=len(names), max_size=len(names)),
        )
    ),
    variable_values,
    variable_values,
)
def test_line_numbers_and_values_never_change_a_stack_fingerprint(version, data, value_a, value_b):
    names, lines_a, lines_b = data
    first = group(exception_event("KeyError", value_a, _stack(lines_a, names)), get_config(version))
    second = group(
        exception_event("KeyError", value_b, _stack(lines_b, names)), get_config(version)
    )
    assert first.hashes == second.hashes


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100)
@given(
    st.lists(st.integers(0, 2**48), min_size=3, max_size=3),
    st.lists(st.integers(0, 2**48), min_size=3, max_size=3),
)
def test_native_addresses_never_change_the_fingerprint(version, addresses_a, addresses_b):
    def event(addresses):
        names = ["main", "app::run", "app::crash"]
        frames = [
            native_frame(n, instruction_addr=hex(a)) for n, a in zip(names, addresses, strict=True)
        ]
        return exception_event("SIGSEGV", "Segfault", frames, platform="native")

    assert (
        group(event(addresses_a), get_config(version)).hash
        == group(event(addresses_b), get_config(version)).hash
    )


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=150)
@given(st.lists(identifiers, min_size=2, max_size=6, unique=True), st.data())
def test_changing_an_in_app_function_always_changes_the_fingerprint(version, names, data):
    index = data.draw(st.integers(0, len(names) - 1))
    replacement = data.draw(identifiers.filter(lambda n: n != names[index]))
    changed = [*names]
    changed[index] = replacement
    lines = [10] * len(names)
    first = group(exception_event("KeyError", "k", _stack(lines, names)), get_config(version))
    second = group(exception_event("KeyError", "k", _stack(lines, changed)), get_config(version))
    assert first.hash != second.hash


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=150)
@given(
    st.sampled_from(["python", "javascript", "java", "native", "ruby", "php", "cocoa", "csharp"]),
    st.text(string.ascii_letters, min_size=1, max_size=20),
    st.text(string.ascii_letters, min_size=1, max_size=20),
    st.booleans(),
)
def test_changing_the_exception_type_always_changes_the_fingerprint(
    version, platform, type_a, type_b, with_stack
):
    if type_a == type_b:
        type_b += "X"
    frames = [py_frame("app.views", "handle")] if with_stack else None
    first = group(
        exception_event(type_a, "same value", frames, platform=platform), get_config(version)
    )
    second = group(
        exception_event(type_b, "same value", frames, platform=platform), get_config(version)
    )
    assert first.hash != second.hash


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "value",
                        "frames",
                        "stacktrace",
                        "values",
                        "function",
                        "exception",
                        "message",
                        "threads",
                        "in_app",
                    ]
                ),
                c,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_raises(version, payload):
    event = payload if isinstance(payload, dict) else {"exception": payload}
    assert len(group(event, get_config(version), explain=True).hash) == 32


mangled_names = st.text(string.ascii_letters + "$_", min_size=1, max_size=1) | st.tuples(
    st.sampled_from(string.ascii_letters + "$_"),
    st.sampled_from(string.ascii_letters + "0123456789"),
).map("".join)
content_hashes = (
    st.integers(16**7, 16**8 - 1)
    .map(lambda n: f"{n:08x}")
    .filter(lambda h: any(c.isdigit() for c in h) and any(c.isalpha() for c in h))
)
qualifiers = st.sampled_from(["", "Object.", "HTMLButtonElement.", "n.", "new "])


@settings(max_examples=200)
@given(st.lists(st.tuples(qualifiers, mangled_names), min_size=6, max_size=6), content_hashes)
def test_a_minified_deploy_never_changes_the_fingerprint(names, content_hash):
    def event(frame_names, bundle_hash):
        url = f"https://cdn.shop.example/static/js/main.{bundle_hash}.js"
        frames = [
            {"filename": url, "function": q + n, "lineno": 1, "colno": 10 * i, "in_app": True}
            for i, (q, n) in enumerate(frame_names)
        ]
        value = "Cannot read properties of undefined (reading 'total')"
        return exception_event("TypeError", value, frames, platform="javascript")

    first_deploy = [("Object.", name) for name in "etnrio"]
    assert group(event(names, content_hash)).hash == group(event(first_deploy, "3f2a1b9c")).hash
