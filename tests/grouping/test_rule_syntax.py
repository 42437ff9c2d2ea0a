"""Rule texts are parsed once and invalid ones are rejected with line and column."""

from __future__ import annotations

import pytest

from workers.grouping import (
    GroupingConfig,
    RuleSyntaxError,
    validate_fingerprint_rules,
    validate_stacktrace_rules,
)

VALID_FINGERPRINT_RULES = """
# comments and blank lines are fine

error.type:DatabaseUnavailable -> system-down
error.type:"Http Error" error.value:"*503*" -> http, {{ transaction }} title="Upstream {{ value }}"
!tags.region:eu-* stack.function:save -> saves
"tags.a:b":x -> tagged
"""

VALID_STACKTRACE_RULES = """
stack.module:vendor.* -app
family:native,javascript function:*::panic* ^-group -group
[ function:a ] | function:b | [ function:c ] +group
error.type:KeyError app:yes max-frames=3 min-frames=2
path:**/node_modules/** -app category=deps
"""


def test_valid_rules_parse():
    validate_fingerprint_rules(VALID_FINGERPRINT_RULES)
    validate_stacktrace_rules(VALID_STACKTRACE_RULES)
    GroupingConfig.build(
        fingerprint_rules=VALID_FINGERPRINT_RULES, stacktrace_rules=VALID_STACKTRACE_RULES
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("error.type:A -> a\n\nerror.type:Database system-down", 3, 21, "expected '->'"),
        ("error.type:A ->", 1, 16, "expected a fingerprint value after '->'"),
        ("-> x", 1, 1, "expected a matcher"),
        ("colour:red -> x", 1, 1, "unknown matcher 'colour'"),
        ('error.value:"unterminated -> x', 1, 13, "unterminated quoted string"),
        (
            'error.type:A -> a colour="x"',
            1,
            19,
            "unknown fingerprint attribute 'colour' (only title)",
        ),
    ],
)
def test_fingerprint_rule_errors_name_line_and_column(text, line, column, message):
    with pytest.raises(RuleSyntaxError) as caught:
        validate_fingerprint_rules(text)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)
    assert str(caught.value) == f"line {line}, column {column}: {message}"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("stack.module:vendor.*", 1, 22, "expected an action (like +app, -group or max-frames=3)"),
        ("-app", 1, 1, "expected a matcher"),
        ("colour:red -app", 1, 1, "unknown matcher 'colour'"),
        ("family:browser -app", 1, 8, "unknown family 'browser' (native, javascript, other, all)"),
        ("app:maybe -group", 1, 5, "expected yes or no for app, got 'maybe'"),
        (
            "# ok\nfunction:f max-frames=lots",
            2,
            12,
            "invalid value for max-frames: expected a number, got 'lots'",
        ),
        (
            "function:f -app function:g",
            1,
            17,
            "expected an action (like +app, -group or max-frames=3)",
        ),
        ("[ function:a | function:b -group", 1, 14, "expected ']'"),
    ],
)
def test_stacktrace_rule_errors_name_line_and_column(text, line, column, message):
    with pytest.raises(RuleSyntaxError) as caught:
        validate_stacktrace_rules(text)
    assert (caught.value.line, caught.value.column, caught.value.message) == (line, column, message)


def test_building_a_config_rejects_invalid_rules():
    with pytest.raises(RuleSyntaxError):
        GroupingConfig.build(stacktrace_rules="function:f +frobnicate")


def test_unknown_versions_are_rejected():
    with pytest.raises(ValueError, match="unknown grouping version 'v0'"):
        GroupingConfig.build("v0")
