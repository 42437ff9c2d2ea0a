"""Decoding a model's answer: lax about form, strict about content."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.ai.errors import MalformedAnswer
from workers.ai.schema import CATEGORIES, SEVERITIES, IssueAnalysis, decode_analysis

ANSWER = {
    "summary": "KeyError in shop.cart in load_cart: carts without items break checkout.",
    "likely_cause": "Carts saved before 1.4.0 have no 'items' key.",
    "suggested_fix": "Use row.get('items', []) in load_cart and backfill old carts.",
    "severity": "high",
    "severity_reason": "Checkout fails for the affected users.",
    "category": "code",
}


def test_a_plain_json_answer_decodes():
    assert decode_analysis(json.dumps(ANSWER)) == IssueAnalysis(**ANSWER)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda body: f"```json\n{body}\n```",
        lambda body: f"Here is my analysis:\n```\n{body}\n```\nHope it helps!",
        lambda body: f"<think>The stack shows a dict lookup {{maybe}}.</think>\n{body}",
        lambda body: json.dumps({"analysis": json.loads(body)}),
    ],
    ids=["fenced", "fenced-with-prose", "reasoning-first", "nested-under-one-key"],
)
def test_common_wrappings_around_the_object_are_tolerated(wrap):
    assert decode_analysis(wrap(json.dumps(ANSWER))) == IssueAnalysis(**ANSWER)


def test_code_fences_inside_a_field_do_not_confuse_the_decoder():
    fix = "Guard the lookup:\n```python\nitems = row.get('items', [])\n```"
    answer = json.dumps({**ANSWER, "suggested_fix": fix})
    assert decode_analysis(answer).suggested_fix == fix
    assert decode_analysis(f"```json\n{answer}\n```").suggested_fix == fix


def test_near_synonym_keys_and_capitalized_labels_are_normalized():
    answer = {
        "summary": "s",
        "cause": "c",
        "fix": ["step one", "step two"],
        "severity": "Major",
        "reason": "r",
        "category": "DB",
    }
    decoded = decode_analysis(json.dumps(answer))
    assert decoded.likely_cause == "c"
    assert decoded.suggested_fix == "step one step two"
    assert decoded.severity == "high"
    assert decoded.severity_reason == "r"
    assert decoded.category == "database"


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("deadlock", "database"),
        ("Null pointer", "code"),
        ("http-5xx", "external_api"),
        ("slow_page_load", "performance"),
        ("ai_written", "other"),
    ],
)
def test_fine_grained_categories_map_to_the_prompt_vocabulary(answer, category):
    assert decode_analysis(json.dumps({**ANSWER, "category": answer})).category == category


def test_an_unknown_category_becomes_other_but_an_unknown_severity_is_malformed():
    assert decode_analysis(json.dumps({**ANSWER, "category": "gremlins"})).category == "other"
    with pytest.raises(MalformedAnswer, match="unknown severity 'urgent-ish'"):
        decode_analysis(json.dumps({**ANSWER, "severity": "urgent-ish"}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I think this is a KeyError caused by stale carts.", "no JSON object"),
        ('{"summary": "cut off by max_tokens', "not a valid JSON object"),
        ('{"summary": "a", "severity": }', "not a valid JSON object"),
        ('["summary", "severity"]', "no JSON object"),
        (json.dumps({"summary": "only a summary", "severity": "low"}), "lacks likely_cause"),
        (json.dumps({**ANSWER, "summary": "   "}), "lacks summary"),
    ],
)
def test_answers_without_the_required_content_are_malformed(text, message):
    with pytest.raises(MalformedAnswer, match=message):
        decode_analysis(text)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80
).filter(lambda s: s.strip() == s and s)


@given(
    st.builds(
        IssueAnalysis,
        summary=_text,
        likely_cause=_text,
        suggested_fix=_text,
        severity=st.sampled_from(SEVERITIES),
        severity_reason=_text,
        category=st.sampled_from(CATEGORIES),
    )
)
def test_any_valid_analysis_survives_encoding_and_decoding(analysis):
    assert decode_analysis(msgspec.json.encode(analysis).decode()) == analysis
