"""The prompt: the facts a model needs, compact, with no secrets and no seed labels."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from core.project_config import ProjectConfig
from tests.ai.factories import SECRETS, SEED_LABELS, frame, python_error
from workers.ai.event_view import decode_view
from workers.ai.facts import GroupFacts, GroupRow, SampleEvent
from workers.ai.prompt import PROMPT_VERSION, build_prompt
from workers.ai.redact import FILTERED, redact_code_line, redact_text


def group_row(**overrides) -> GroupRow:
    values = {
        "id": 7,
        "project_id": 1,
        "title": "KeyError: 'items' missing for cart 42 (bob.jones@example.com)",
        "culprit": "shop.cart in load_cart",
        "level": "error",
        "exception_type": "KeyError",
        "status": "unresolved",
        "first_seen": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        "last_seen": datetime(2025, 3, 2, 17, 5, tzinfo=UTC),
        "times_seen": 1234,
        "merged_into": None,
        "ai_summary": None,
        "config": ProjectConfig(),
        "member_ids": (7,),
    }
    return GroupRow(**(values | overrides))


def sample(event: dict, *, with_payload: bool = True) -> SampleEvent:
    main = event["exception"]["values"][-1]
    return SampleEvent(
        timestamp=event["timestamp"],
        release=event["release"],
        environment=event["environment"],
        platform="python",
        tags=event["tags"],
        exception_type=main["type"],
        exception_value=main["value"],
        message="",
        user_key=event["user"]["id"],
        view=decode_view(msgspec.json.encode(event)) if with_payload else None,
    )


def facts_for(events: list[dict], **group) -> GroupFacts:
    return GroupFacts(
        group=group_row(**group),
        events=[sample(e, with_payload=i < 2) for i, e in enumerate(events)],
    )


@pytest.fixture
def facts() -> GroupFacts:
    events = [
        python_error(value=f"'items' missing for cart {n} (bob.jones@example.com)", user_id=f"u{n}")
        for n in (42, 43, 44)
    ]
    events.append(python_error(release="shop@1.3.9", environment="staging"))
    return facts_for(events)


def test_the_prompt_names_the_issue_its_code_and_its_distribution(facts):
    prompt = build_prompt(facts)
    user = prompt.user
    assert prompt.version == PROMPT_VERSION
    assert "Issue: KeyError: 'items' missing for cart <int> (<email>)" in user
    assert "Culprit: shop.cart in load_cart" in user
    assert "Events: 1234; users in the latest 4 events: 4" in user
    assert "First seen: 2025-03-01 09:30 UTC; last seen: 2025-03-02 17:05 UTC" in user
    # The chain in Sentry's order, with the mechanism of the raised exception.
    assert user.index("1. OperationalError") < user.index("2. KeyError")
    assert "[unhandled, django]" in user
    # Innermost application frame first, with its source lines; the framework frame left out.
    assert user.index("at load_cart (shop.cart:88)") < user.index("at checkout (shop.views:40)")
    assert "    >     return row['items']" in user
    assert "dispatch" not in user
    assert "Releases: shop@1.4.0 x3, shop@1.3.9 x1" in user
    assert "Environments: production x3, staging x1" in user
    assert "browser: Chrome 120 x4" in user
    # Four raw messages, one parameterized message.
    assert "- 'items' missing for cart <int> (<email>) (x4)" in user
    assert len(prompt.system) + len(user) < 4000


def test_no_secret_and_no_seed_label_reaches_the_prompt(facts):
    prompt = build_prompt(facts)
    text = prompt.system + prompt.user
    for secret in SECRETS:
        assert secret not in text
    for label in SEED_LABELS:
        assert label not in text
    assert "seed" not in text.lower()
    assert "api_key" not in text
    assert f"db_password = {FILTERED}" in text
    assert f"postgres://{FILTERED}@db.internal/shop" in text


def test_without_payloads_the_chain_comes_from_the_promoted_columns():
    event = python_error()
    facts = GroupFacts(group=group_row(), events=[sample(event, with_payload=False)])
    user = build_prompt(facts).user
    assert "1. KeyError: 'items' missing for cart <int> (<email>)" in user
    assert "Top application frames" not in user


def test_the_input_key_ignores_new_events_but_not_a_new_release_or_code_path(facts):
    key = build_prompt(facts).input_key
    more = facts_for([python_error() for _ in range(5)] + [python_error(release="shop@1.3.9")])
    assert build_prompt(more).input_key == key
    newer = facts_for([python_error(release="shop@1.5.0"), *[python_error()] * 2])
    assert build_prompt(newer).input_key != key
    other_path = [frame("load_cart", "shop.legacy_cart", 12)]
    moved = facts_for([python_error(frames=other_path), python_error(release="shop@1.3.9")])
    assert build_prompt(moved).input_key != key


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        ('    password = "hunter2"', "password = ", "hunter2"),
        ("    settings.SECRET_KEY='abc123xyz'", "settings.SECRET_KEY=", "abc123xyz"),
        ('    headers = {"Authorization": "Bearer abcdefgh12345"}', "headers", "abcdefgh12345"),
        ("    conn = connect('mysql://root:toor@db/app')", "mysql://", "toor"),
        ("    key = 'AKIAIOSFODNN7EXAMPLE'", "key = ", "AKIAIOSFODNN7EXAMPLE"),
        ("    send(to='ann@example.org')", "send(to=", "ann@example.org"),
        ("    total = price * quantity", "total = price * quantity", "[Filtered]"),
    ],
)
def test_source_lines_lose_assigned_secrets_and_tokens(line, kept, gone):
    redacted = redact_code_line(line)
    assert kept in redacted
    assert gone not in redacted


def test_shaped_tokens_are_masked_in_free_text():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQ"
    text = f"auth failed for token {jwt} with key sk-proj-abcdefghijklmnop1234 and id 42"
    redacted = redact_text(text)
    assert jwt not in redacted
    assert "sk-proj-abcdefghijklmnop1234" not in redacted
    assert redacted.endswith("and id 42")
