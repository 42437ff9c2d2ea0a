"""Random and mutated input, at the parser and at the HTTP endpoint: a client-error status
or success, never a 500, never a hang; decompression memory bounded by the limit."""

from __future__ import annotations

import contextlib
import gzip
import tracemalloc
import zlib

import brotli
import msgspec
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.decompress import decompress
from relay.envelope import parse_envelope, serialize_envelope
from relay.errors import BadRequest, PayloadTooLarge
from tests.relay.conftest import CORPUS, PROJECT_ID, PUBLIC_KEY

SEEDS = [p.read_bytes() for p in sorted(CORPUS.glob("spec/*.envelope"))]
ITEM_TYPES = [
    "event",
    "transaction",
    "attachment",
    "session",
    "sessions",
    "client_report",
    "span",
    "log",
    "profile",
    "replay_event",
    "check_in",
    "statsd",
    "weird",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw, seeds=SEEDS):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[position : position + draw(st.integers(1, 40))]
        elif action == "insert":
            data[position:position] = draw(st.binary(max_size=20))
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 60))]
    return bytes(data)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=600), mutated()))
def test_the_parser_accepts_or_rejects_cleanly(data):
    try:
        envelope = parse_envelope(data)
    except BadRequest:
        return
    for item in envelope.items:
        assert isinstance(item.payload, bytes)


@settings(max_examples=200, deadline=None)
@given(
    headers=st.dictionaries(st.sampled_from(["event_id", "sent_at", "x"]), st.text(max_size=8)),
    items=st.lists(
        st.tuples(
            st.sampled_from(ITEM_TYPES),
            st.dictionaries(
                st.sampled_from(["filename", "content_type", "x_y"]), st.text(max_size=10)
            ),
            st.binary(max_size=200),
        ),
        max_size=5,
    ),
)
def test_serialize_then_parse_is_the_identity(headers, items):
    data = serialize_envelope(headers, [({"type": t, **extra}, p) for t, extra, p in items])
    envelope = parse_envelope(data)
    assert [(i.type, i.payload) for i in envelope.items] == [(t, p) for t, _, p in items]
    assert msgspec.json.decode(envelope.raw_headers) == headers


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), encoding=st.sampled_from(["gzip", "deflate", "br", "zstd"]))
def test_garbage_in_any_encoding_is_a_client_error(data, encoding):
    with contextlib.suppress(BadRequest, PayloadTooLarge):
        decompress(data, encoding, limit=10_000, what="envelope")


def test_a_bomb_never_costs_more_memory_than_its_limit():
    limit = 1_000_000
    bombs = {
        "gzip": gzip.compress(b"\0" * 100_000_000),
        "br": brotli.compress(b"\0" * 100_000_000),
        "zstd": zstandard.ZstdCompressor().compress(b"\0" * 100_000_000),
        "deflate": zlib.compress(b"\0" * 100_000_000),
    }
    for encoding, bomb in bombs.items():
        tracemalloc.start()
        with contextlib.suppress(PayloadTooLarge):
            decompress(bomb, encoding, limit=limit, what="envelope")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 4 * limit, f"{encoding}: peak {peak} bytes for a {limit}-byte limit"


auth_headers = st.one_of(
    st.just({"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}, sentry_version=7"}),
    st.just({"Authorization": f"Sentry sentry_key={PUBLIC_KEY}"}),
    st.dictionaries(
        st.sampled_from(["X-Sentry-Auth", "Authorization"]),
        # What an HTTP client can send: printable ASCII, no surrounding white space (RFC 9110
        # strips it; httpx refuses to send it).
        st.text(max_size=60).filter(lambda t: t.isascii() and t.isprintable() and t == t.strip()),
    ),
)
encodings = st.sampled_from(
    [None, "gzip", "br", "zstd", "deflate", "identity", "UTF-8", "lzma", "gzip, br"]
)
_COMPRESS = {
    "gzip": gzip.compress,
    "br": brotli.compress,
    "deflate": zlib.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


# The relay runs in this process: its background threads (Dramatiq's maintenance sampling,
# the connection pool's jitter) use the global `random`, which Hypothesis reports as if a
# strategy did. Our strategies do not; the warning is about the neighbours.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        mutated(),
        st.binary(max_size=300),
        json_values.map(lambda v: b"{}\n" + b'{"type":"event"}\n' + msgspec.json.encode(v)),
    ),
    headers=auth_headers,
    encoding=encodings,
    compress_body=st.booleans(),
    endpoint=st.sampled_from(["envelope", "store", "security", "csp-report"]),
)
def test_the_endpoint_never_answers_500(relay, body, headers, encoding, compress_body, endpoint):  # noqa: PLR0917 - one argument per strategy
    request_headers = dict(headers)
    if encoding:
        request_headers["Content-Encoding"] = encoding
        if compress_body and encoding in _COMPRESS:
            body = _COMPRESS[encoding](body)
    if endpoint in ("security", "csp-report"):
        request_headers["Content-Type"] = "application/csp-report"
    response = relay.http.post(
        f"/api/{PROJECT_ID}/{endpoint}/?sentry_key={PUBLIC_KEY}"
        if endpoint != "envelope"
        else f"/api/{PROJECT_ID}/envelope/",
        content=body,
        headers=request_headers,
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "detail" in response.json()


def test_the_relay_is_still_healthy_after_the_fuzzing(relay):
    assert relay.http.get("/healthz").status_code == 200
    metrics = relay.http.get("/metrics").text
    assert 'status="500"' not in metrics
