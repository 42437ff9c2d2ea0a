import pytest

from relay.auth import extract_credentials, parse_auth_header
from relay.errors import Forbidden, Unauthorized

KEY = "6f8e0e0c2b7a4b1f9f4c2a1d3e5b7c9d"
OTHER = "0123456789abcdef0123456789abcdef"


def test_x_sentry_auth_header_is_parsed_like_sentry():
    fields = parse_auth_header(
        f"Sentry sentry_version=7, sentry_client=sentry.python/2.1, sentry_key={KEY}"
    )
    assert fields == {
        "sentry_version": "7",
        "sentry_client": "sentry.python/2.1",
        "sentry_key": KEY,
    }


@pytest.mark.parametrize(
    ("headers", "query", "dsn"),
    [
        ({"x-sentry-auth": f"Sentry sentry_key={KEY}, sentry_version=7"}, {}, None),
        ({"authorization": f"Sentry sentry_key={KEY}"}, {}, None),
        ({"authorization": f"DSN http://{KEY}@relay:8000/1"}, {}, None),
        ({}, {"sentry_key": KEY, "sentry_version": "7"}, None),
        ({}, {}, f"https://{KEY}@o1.ingest.sentry.io/1"),
    ],
)
def test_every_accepted_form_yields_the_key(headers, query, dsn):
    assert extract_credentials(headers, query, dsn).public_key == KEY


def test_the_same_key_in_several_places_is_fine():
    credentials = extract_credentials(
        {"x-sentry-auth": f"Sentry sentry_key={KEY}"}, {"sentry_key": KEY}, f"http://{KEY}@h/1"
    )
    assert credentials.public_key == KEY


def test_disagreeing_credentials_are_refused():
    with pytest.raises(Forbidden, match="conflicting credentials"):
        extract_credentials({"x-sentry-auth": f"Sentry sentry_key={KEY}"}, {"sentry_key": OTHER})
    with pytest.raises(Forbidden):
        extract_credentials({}, {"sentry_key": KEY}, f"http://{OTHER}@h/1")


def test_no_credentials_is_unauthorized():
    with pytest.raises(Unauthorized, match="missing"):
        extract_credentials({}, {})


def test_a_malformed_key_is_unauthorized():
    with pytest.raises(Unauthorized, match="invalid public key"):
        extract_credentials({}, {"sentry_key": "not-a-key"})
