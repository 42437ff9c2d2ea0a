"""Stack-trace rules: in-app marking, grouping flags, ranges, frame limits."""

from __future__ import annotations

from tests.grouping.factories import exception_event, expected_hash, group, hint_of, py_frame
from workers.grouping import GroupingConfig


def rules(text: str) -> GroupingConfig:
    return GroupingConfig.build("v1", stacktrace_rules=text)


def frames():
    return [
        py_frame("vendor.http", "request", in_app=True),
        py_frame("app.api", "fetch"),
        py_frame("app.retry", "with_retry"),
    ]


def test_minus_app_takes_frames_out_of_the_app_variant():
    result = group(exception_event(frames=frames()), rules("stack.module:vendor.* -app"))
    assert result.hash == expected_hash("app.api", "fetch", "app.retry", "with_retry", "ValueError")


def test_plus_app_marks_frames_in_app():
    event = exception_event(
        frames=[py_frame("lib.x", "f", in_app=False), py_frame("lib.y", "g", in_app=False)]
    )
    result = group(event, rules("module:lib.y +app"))
    assert (result.variant, result.hash) == ("app", expected_hash("lib.y", "g", "ValueError"))


def test_minus_group_removes_frames_from_every_variant_with_an_explanation():
    result = group(
        exception_event(frames=frames()), rules("function:with_retry -group"), explain=True
    )
    assert result.hashes[-1] == expected_hash(
        "vendor.http", "request", "app.api", "fetch", "ValueError"
    )
    assert (False, "ignored by stack trace rule (function:with_retry -group)") in hint_of(
        result, "frame", "system"
    )


def test_caret_range_covers_frames_towards_the_crash():
    result = group(exception_event(frames=frames()), rules("function:request ^-group"))
    assert result.hash == expected_hash("vendor.http", "request", "ValueError")


def test_v_range_covers_frames_away_from_the_crash():
    result = group(exception_event(frames=frames()), rules("function:with_retry v-group"))
    assert result.hash == expected_hash("app.retry", "with_retry", "ValueError")


def test_max_frames_keeps_the_frames_closest_to_the_crash():
    result = group(exception_event(frames=frames()), rules("app:yes max-frames=1"))
    assert result.hash == expected_hash("app.retry", "with_retry", "ValueError")


def test_min_frames_discards_short_stacks_so_the_value_counts():
    config = rules("app:yes min-frames=5")
    result = group(exception_event("KeyError", "missing 42", frames()), config, explain=True)
    assert result.hash == expected_hash("KeyError", "missing <int>")
    assert any(
        "under the configured threshold" in (hint or "")
        for _, hint in hint_of(result, "stacktrace")
    )


def test_negated_matchers():
    result = group(exception_event(frames=frames()), rules("!module:app.* -app"))
    assert result.hash == expected_hash("app.api", "fetch", "app.retry", "with_retry", "ValueError")


def test_caller_and_callee_context():
    config = rules("[ function:fetch ] | function:with_retry -group")
    assert group(exception_event(frames=frames()), config).hash == expected_hash(
        "vendor.http", "request", "app.api", "fetch", "ValueError"
    )
    callee = rules("function:request | [ function:fetch ] -group")
    assert group(exception_event(frames=frames()), callee).hash == expected_hash(
        "app.api", "fetch", "app.retry", "with_retry", "ValueError"
    )


def test_exception_matchers_limit_a_rule_to_some_errors():
    config = rules("error.type:KeyError function:with_retry -group")
    assert group(exception_event("KeyError", frames=frames()), config).hash == expected_hash(
        "vendor.http", "request", "app.api", "fetch", "KeyError"
    )
    assert group(exception_event("OSError", frames=frames()), config).hash == expected_hash(
        "vendor.http", "request", "app.api", "fetch", "app.retry", "with_retry", "OSError"
    )


def test_category_set_by_one_rule_is_seen_by_a_later_rule():
    config = rules("function:with_retry category=retry\ncategory:retry -group")
    assert group(exception_event(frames=frames()), config).hash == expected_hash(
        "vendor.http", "request", "app.api", "fetch", "ValueError"
    )


def test_path_matching_is_case_insensitive_with_globstar():
    config = rules("path:**/VENDOR/** -app")
    event = exception_event(
        frames=[{"filename": "/srv/vendor/lib.py", "function": "f", "in_app": True}, py_frame()]
    )
    assert group(event, config).hash == expected_hash("app.views", "handle", "ValueError")


def test_project_rules_override_built_in_ones():
    frames_ = [
        {"function": "myapp::run", "package": "/srv/bin"},
        {"function": "std::panicking::begin_panic", "package": "/srv/bin"},
        {"function": "std::panicking::rust_panic_with_hook", "package": "/srv/bin"},
    ]
    event = exception_event("panic", "boom", frames_, platform="native")
    default = group(event)
    overridden = group(event, rules("function:std::panicking::begin_panic ^+group +group"))
    assert default.hash == expected_hash("myapp::run", "panic")
    system = overridden.hashes[-1]
    assert system == expected_hash(
        "myapp::run", "std::panicking::begin_panic", "std::panicking::rust_panic_with_hook", "panic"
    )
