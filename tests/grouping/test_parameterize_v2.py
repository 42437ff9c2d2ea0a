"""Grouping v2's message parameterization: v1's cases, and what v2 adds or fixes."""

from __future__ import annotations

import pytest

from tests.grouping import test_parameterize
from workers.grouping.parameterize import normalize_message as normalize_v1
from workers.grouping.parameterize_v2 import is_unique_id, normalize_message

V1_CASES = test_parameterize.test_values_become_placeholders.pytestmark[0].args[1]


@pytest.mark.parametrize(("message", "expected"), V1_CASES)
def test_what_v1_replaces_v2_replaces_alike(message, expected):
    assert normalize_message(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # ISO 8601 / RFC 3339: T or space, seconds, fractions, Z or offsets
        ("at 2024-02-20T22:16:36Z x", "at <date> x"),
        ("at 2024-02-20T22:16:36 x", "at <date> x"),
        ("at 2024-02-20T22:16 x", "at <date> x"),
        ("at 2024-02-20T22:16:36.123456+02:00 x", "at <date> x"),
        ("at 2024-02-20 22:16:36,5-0700 x", "at <date> x"),
        ("at 2024-02-23 02:13:29.576438 x", "at <date> x"),
        # the compact (basic) form
        ("file 20060102T150405 x", "file <date> x"),
        ("file 20060102T150405Z x", "file <date> x"),
        # RFC 850 with a long or an abbreviated weekday
        ("Monday, 02-Jan-06 15:04:05 MST", "<date>"),
        ("Mon, 02-Jan-06 15:04:05 MST", "<date>"),
        # clock times: 24-hour with a leading zero, fractions, kitchen
        ("at 09:05 x", "at <date> x"),
        ("at 23:59:07.123 x", "at <date> x"),
        ("at 3:04PM x", "at <date> x"),
        ("at 11:30 pm x", "at <date> x"),
        # IPv6 whole, compressed, with zone or prefix, v4-mapped; IPv4 prefixes
        ("bind 2001:db8::1 failed", "bind <ip> failed"),
        ("route 2001:db8::/32 missing", "route <ip> missing"),
        ("peer ::ffff:192.0.2.1 gone", "peer <ip> gone"),
        ("link fe80::1%eth0 down", "link <ip> down"),
        ("net 10.0.0.0/8 unreachable", "net <ip> unreachable"),
        # ...and what only looks like it
        ("Type::method failed", "Type::method failed"),
        ("Cafe::bad failed", "Cafe::bad failed"),
        ("std::vector<int>::at out of range", "std::vector<int>::at out of range"),
        # hex without 0x
        ("id 9AF8 x", "id <hex> x"),
        ("id 9af8c3 x", "id <hex> x"),
        ("word face stays", "word face stays"),
        # Python's booleans
        ("ok=True flag=False", "ok=<bool> flag=<bool>"),
        # a dash after a word is a separator, not a minus sign
        ("worker name-908 died", "worker name-<int> died"),
        ("balance -42 below zero", "balance <int> below zero"),
        ("delta=-3.5 too low", "delta=<float> too low"),
        # unique ids
        ("payment pi_3MtwBwLkdIwHu7ix28a3tqPa failed", "payment pi_<uniq_id> failed"),
        ("token 4fJ8kQ2xZ7pL9mN3 expired", "token <uniq_id> expired"),
        (
            "Base64EncodedString user12345678 x86_64 stay",
            "Base64EncodedString user12345678 x86_64 stay",
        ),
    ],
)
def test_v2_replaces_more(message, expected):
    assert normalize_message(message) == expected


def test_v1_keeps_its_own_output():
    # v1's parameterizer is frozen: what v2 fixed stays as v1 made it.
    assert normalize_v1("bind 2001:db8::1 failed") == "bind <ip><int> failed"
    assert normalize_v1("worker name-908 died") == "worker name<int> died"


@pytest.mark.parametrize(
    ("token", "random"),
    [
        ("3MtwBwLkdIwHu7ix28a3tqPa", True),
        ("a1b2c3d4e5f6", True),
        ("Base64EncodedString", False),
        ("user12345678", False),
        ("ABC123DEF456", False),
    ],
)
def test_unique_ids_switch_case_and_digits_often(token, random):
    assert is_unique_id(token) is random
