"""Message parameterization: Sentry's patterns, order and two-line trimming."""

from __future__ import annotations

import pytest

from workers.grouping.parameterize import normalize_message


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("User 12345 not found", "User <int> not found"),
        ("balance -42 below zero", "balance <int> below zero"),
        ("ratio 0.75 exceeded", "ratio <float> exceeded"),
        ("mail to jane.doe+x@example.co.uk bounced", "mail to <email> bounced"),
        ("GET https://api.example.com/v1/users/5?x=1 failed", "GET <url> failed"),
        ("cannot resolve db-3.internal.example.com", "cannot resolve <hostname>"),
        ("connect to 10.0.12.7 refused", "connect to <ip> refused"),
        ("bind to 2001:0db8:85a3:0000:0000:8a2e:0370:7334 failed", "bind to <ip> failed"),
        ("listen on ::1 failed", "listen on <ip> failed"),
        ("job 550e8400-e29b-41d4-a716-446655440000 died", "job <uuid> died"),
        ("commit da39a3ee5e6b4b0d3255bfef95601890afd80709 bad", "commit <sha1> bad"),
        ("etag d41d8cd98f00b204e9800998ecf8427e stale", "etag <md5> stale"),
        ("at 2024-05-29T10:11:12.123Z", "at <date>"),
        ("on 2024-05-29 10:11:12", "on <date>"),
        ("since Wed, 29 May 2024 10:11:12 GMT", "since <date>"),
        ("at 10:11:12", "at <date>"),
        ("took 250ms", "took <duration>"),
        ("took 1.5s", "took <duration>"),
        ("pointer 0x7fff5fbff8c8 freed", "pointer <hex> freed"),
        ("token deadbeefcafe1234 rejected", "token <hex> rejected"),
        ("order 123456789 missing", "order <int> missing"),
        ("request A1B2C3D4E5 failed", "request <hex> failed"),
        ("word deadbeefs stays", "word deadbeefs stays"),
        ("built from a1b2c3d", "built from <git_sha>"),
        ("key='abc' missing", "key=<quoted_str> missing"),
        ('name="x y" taken', "name=<quoted_str> taken"),
        ("enabled=true but off", "enabled=<bool> but off"),
        ("nothing variable here", "nothing variable here"),
        ("a 'quoted' word stays", "a 'quoted' word stays"),
        ("true outside an assignment stays", "true outside an assignment stays"),
    ],
)
def test_values_become_placeholders(message, expected):
    assert normalize_message(message) == expected


def test_only_the_first_two_non_empty_lines_are_kept():
    assert normalize_message("first\n\n  \nsecond\nthird") == "first\nsecond..."


def test_a_two_line_message_is_not_marked_as_cut():
    assert normalize_message("first\nsecond") == "first\nsecond"


def test_the_leftmost_match_wins_email_over_hostname():
    assert normalize_message("from ops@db.example.com") == "from <email>"
