"""The quick secret scan: Hyperscan and bytes.find agree, and no secret key slips past."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from relay.envelope import parse_envelope
from relay.literal_scan import LiteralScanner, PatternRuns, hyperscan
from relay.scrub import _CARD_RUN, _CARD_SHAPE, _KEYWORDS, _SCAN_LITERALS, _SHAPES, plan_scrub

FIXTURES = Path(__file__).parents[2] / "fixtures" / "envelopes"
FIND = LiteralScanner(_SCAN_LITERALS, engine="find")
KEYWORD_TEXT = [k.decode() for k in _KEYWORDS]

needs_hyperscan = pytest.mark.skipif(hyperscan is None, reason="hyperscan runs on x86-64 only")


def corpus_payloads() -> list[bytes]:
    payloads = []
    for path in sorted(FIXTURES.rglob("*.envelope")):
        try:
            envelope = parse_envelope(path.read_bytes())
        except Exception:  # the spec corpus holds malformed envelopes on purpose
            continue
        payloads += [item.payload for item in envelope.items if item.payload]
    return payloads


@needs_hyperscan
def test_the_default_scanner_is_hyperscan_here():
    assert LiteralScanner(_SCAN_LITERALS).engine == "hyperscan"


@needs_hyperscan
def test_both_engines_plan_the_recorded_sdk_payloads_alike():
    hyper = LiteralScanner(_SCAN_LITERALS, engine="hyperscan")
    payloads = corpus_payloads()
    assert len(payloads) > 50
    planned = 0
    for payload in payloads:
        expected = plan_scrub(payload, FIND)
        assert plan_scrub(payload, hyper) == expected, payload[:200]
        planned += expected is not None
    assert planned > 0  # the corpus has secrets to find, not only clean events


def _case(draw_word: str, style: int) -> str:
    return (draw_word, draw_word.upper(), draw_word.title())[style % 3]


words = st.one_of(
    st.sampled_from(["name", "user", "id", "url", "message", "author", "tok", "pass"]),
    st.builds(
        lambda keyword, style, prefix, suffix: f"{prefix}{_case(keyword, style)}{suffix}",
        st.sampled_from(KEYWORD_TEXT),
        st.integers(0, 2),
        st.sampled_from(["", "x-", "db_", "my"]),
        st.sampled_from(["", "_id", "s", "-header"]),
    ),
    st.text(max_size=12),
)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), words),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(words, words).map(list), max_size=3),  # [name, value] pairs
        st.dictionaries(words, inner, max_size=4),
    ),
    max_leaves=20,
)


def has_secret_key(node) -> bool:
    """What the scan must never miss: a keyword in a key, or in a pair's name."""
    if isinstance(node, dict):
        return any(
            any(k in str(key).lower() for k in KEYWORD_TEXT) or has_secret_key(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        named = (
            len(node) >= 2
            and isinstance(node[0], str)
            and any(k in node[0].lower() for k in KEYWORD_TEXT)
        )
        return named or any(has_secret_key(value) for value in node)
    return False


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(words, values, max_size=6), st.sampled_from([b"", b" ", b"\n  "]))
# Hyperscan reports a scan the handler stopped as an exception; this one stops it.
@example({"BEARER": None, "PRIVATE KEY": None}, b"")
def test_no_secret_key_is_missed_and_the_engines_agree(event, spacing):
    raw = msgspec.json.encode(event)
    if spacing:  # SDKs differ in the whitespace they put around separators
        raw = raw.replace(b'":', b'"' + spacing + b":").replace(b'",', b'"' + spacing + b",")
    plan = plan_scrub(raw)
    if has_secret_key(event):
        assert plan is not None and plan.keys
    assert plan == plan_scrub(raw, FIND)


# --- the card runs ---------------------------------------------------------------------

CARD_RUNS_RE = PatternRuns(_CARD_RUN, engine="re")


def the_full_scan_runs(data: bytes) -> list[tuple[int, int]]:
    """The runs as the scan over a translated copy of the event finds them (what
    `_may_hold_card` does for one string), which the raw scan must equal."""
    return [match.span() for match in _CARD_SHAPE.finditer(data.translate(_SHAPES))]


card_texts = st.lists(
    st.sampled_from(["4", "1", "0", "9", " ", "-", "  ", "--", "x", '"', ":", "\u0663", "\n"]),
    max_size=80,
).map(lambda parts: "".join(parts).encode())


@given(card_texts)
@settings(max_examples=600)
@example(b"4111 1111 1111 1111")
@example(b"411111111111")  # 12 digits: not a run
@example(b"1234-5678-9012-3")
@example(b"12 -34567890123")  # two separators in a row break the run
@example(b"1234567890123 1234567890123--1234567890123456 x 12 345678901234-5 -6")
def test_the_card_runs_are_those_of_the_full_scan(data):
    expected = the_full_scan_runs(data)
    assert CARD_RUNS_RE.runs(data) == expected
    if hyperscan is not None:
        assert PatternRuns(_CARD_RUN, engine="hyperscan").runs(data) == expected


def test_the_card_runs_are_those_of_the_full_scan_on_recorded_sdk_payloads():
    payloads = corpus_payloads()
    found = 0
    for payload in payloads:
        expected = the_full_scan_runs(payload)
        assert CARD_RUNS_RE.runs(payload) == expected
        assert PatternRuns(_CARD_RUN).runs(payload) == expected
        found += bool(expected)
    assert 0 < found < len(payloads)  # payloads with runs and without


@needs_hyperscan
def test_the_default_card_runs_engine_is_hyperscan_here():
    assert PatternRuns(_CARD_RUN).engine == "hyperscan"
