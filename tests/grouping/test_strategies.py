"""Strategies and variants: what contributes, in which variant, and the exact hash."""

from __future__ import annotations

from tests.grouping.factories import (
    contributing,
    exception_event,
    expected_hash,
    group,
    hint_of,
    message_event,
    py_frame,
)
from workers.grouping import FALLBACK_HASH


def test_python_exception_hashes_frames_then_type_as_sentry_does():
    frames = [
        py_frame("app.main", "run", context_line="  handle(req)"),
        py_frame("django.core", "inner", in_app=False),
        py_frame("app.views", "handle", context_line="    raise ValueError(x)"),
    ]
    result = group(exception_event("ValueError", "bad id 42", frames))
    app = expected_hash(
        "app.main", "run", "handle(req)", "app.views", "handle", "raise ValueError(x)", "ValueError"
    )
    system = expected_hash(
        "app.main",
        "run",
        "handle(req)",
        "django.core",
        "inner",
        "app.views",
        "handle",
        "raise ValueError(x)",
        "ValueError",
    )
    assert (result.hash, result.variant) == (app, "app")
    assert result.hashes == [app, system]


def test_exception_value_is_ignored_when_the_stack_trace_contributes():
    frames = [py_frame("app.views", "handle")]
    first = group(exception_event("KeyError", "'user:1'", frames), explain=True)
    second = group(exception_event("KeyError", "'completely different'", frames))
    assert first.hash == second.hash
    assert hint_of(first, "value") == [(False, "ignored because stack trace takes precedence")]


def test_exception_without_stack_trace_groups_on_type_and_parameterized_value():
    result = group(exception_event("TimeoutError", "timed out after 30 seconds", None))
    assert result.hash == expected_hash("TimeoutError", "timed out after <int> seconds")
    assert result.variant == "system"  # app equals system, so only system remains


def test_without_in_app_frames_the_system_variant_is_primary():
    frames = [
        py_frame("requests.api", "get", in_app=False),
        py_frame("urllib3.pool", "urlopen", in_app=False),
    ]
    result = group(exception_event("ConnectionError", "refused", frames), explain=True)
    assert result.variant == "system"
    assert result.hashes == [
        expected_hash("requests.api", "get", "urllib3.pool", "urlopen", "ConnectionError")
    ]
    assert "app" not in {v.name for v in result.explanation.variants}  # no contributing stack


def test_app_variant_marks_non_in_app_frames():
    frames = [py_frame("django.core", "inner", in_app=False), py_frame("app.views", "handle")]
    result = group(exception_event(frames=frames), explain=True)
    frames_in_app = hint_of(result, "frame", "app")
    assert frames_in_app[0] == (False, "non in-app frame")
    assert frames_in_app[1] == (True, None)


def test_unknown_in_app_counts_as_not_in_app():
    frames = [py_frame("app.views", "handle", in_app=None)]
    assert group(exception_event(frames=frames)).variant == "system"


def test_chained_exceptions_all_contribute_in_order():
    cause = {"type": "OSError", "value": "x", "stacktrace": {"frames": [py_frame("db", "connect")]}}
    outer = {"type": "DbError", "value": "y", "stacktrace": {"frames": [py_frame("app", "save")]}}
    event = {"platform": "python", "exception": {"values": [cause, outer]}}
    result = group(event)
    assert result.hash == expected_hash("db", "connect", "OSError", "app", "save", "DbError")
    assert result.title == "DbError: y"


def test_exception_group_with_one_distinct_top_level_exception_uses_its_chain():
    def item(type_, eid, parent=None, group_=False):
        mechanism = {"type": "chained", "exception_id": eid, "is_exception_group": group_}
        if parent is not None:
            mechanism["parent_id"] = parent
        return {"type": type_, "value": "v", "mechanism": mechanism}

    event = {
        "exception": {
            "values": [
                item("ValueError", 2, parent=0),
                item("ValueError", 1, parent=0),
                item("ExceptionGroup", 0, group_=True),
            ]
        }
    }
    # One distinct top-level exception: the group itself is thrown out.
    assert group(event).hash == expected_hash("ValueError", "v")


def test_exception_group_with_different_children_keeps_one_of_each_and_the_root():
    def item(type_, eid, parent=None, group_=False):
        mechanism = {"type": "chained", "exception_id": eid, "is_exception_group": group_}
        if parent is not None:
            mechanism["parent_id"] = parent
        return {"type": type_, "value": "v", "mechanism": mechanism}

    event = {
        "exception": {
            "values": [
                item("KeyError", 2, parent=0),
                item("ValueError", 1, parent=0),
                item("ExceptionGroup", 0, group_=True),
            ]
        }
    }
    expected = expected_hash("ValueError", "v", "KeyError", "v", "ExceptionGroup", "v")
    assert group(event).hash == expected


def test_synthetic_exception_type_does_not_contribute():
    event = exception_event("SIGSEGV", "Segfault", None, platform="native")
    event["exception"]["values"][0]["mechanism"] = {"type": "signalhandler", "synthetic": True}
    result = group(event, explain=True)
    assert result.hash == expected_hash("Segfault")
    assert (False, "ignored because exception is synthetic") in hint_of(result, "type")


def test_ns_error_domain_and_code_replace_the_value():
    event = exception_event(
        "NSError", "The operation couldn't be completed. (42)", None, platform="cocoa"
    )
    event["exception"]["values"][0]["mechanism"] = {
        "type": "nserror",
        "meta": {"ns_error": {"domain": "NSURLErrorDomain", "code": -1001}},
    }
    assert group(event).hash == expected_hash("NSError", "NSURLErrorDomain", "-1001")


def test_threads_use_the_single_crashed_thread_when_there_is_no_exception():
    event = {
        "platform": "java",
        "threads": {
            "values": [
                {"id": 1, "crashed": False, "stacktrace": {"frames": [py_frame("a", "idle")]}},
                {"id": 2, "crashed": True, "stacktrace": {"frames": [py_frame("b", "work")]}},
            ]
        },
    }
    assert group(event).hash == expected_hash("b", "work")


def test_threads_without_exactly_one_candidate_do_not_contribute():
    frames = {"frames": [py_frame("a", "x")]}
    event = {"threads": [{"stacktrace": frames}, {"stacktrace": frames}], "message": "hello"}
    result = group(event, explain=True)
    assert result.variant == "default"
    assert result.hash == expected_hash("hello")


def test_bare_stack_trace_wins_over_the_message():
    event = message_event(
        "query took 5000ms", stacktrace={"frames": [py_frame("app.jobs", "sync")]}
    )
    result = group(event, explain=True)
    assert result.hash == expected_hash("app.jobs", "sync")
    assert hint_of(result, "message", "default") == [
        (False, "ignored because stack trace takes precedence")
    ]


def test_message_template_is_preferred_over_the_formatted_message():
    first = {"logentry": {"message": "User %s logged in", "formatted": "User alice logged in"}}
    second = {"logentry": {"message": "User %s logged in", "formatted": "User bob logged in"}}
    assert group(first).hash == group(second).hash == expected_hash("User %s logged in")
    assert group(first).title == "User alice logged in"


def test_template_strategy_uses_template_basename_and_line():
    event = {
        "template": {"filename": "/app/templates/cart.html", "context_line": "{{ cart.total }}"}
    }
    assert group(event).hash == expected_hash("cart.html", "{{ cart.total }}")


def test_an_event_with_nothing_to_group_on_gets_the_fallback_hash():
    result = group({"platform": "python"}, explain=True)
    assert (result.hash, result.variant) == (FALLBACK_HASH, "fallback")
    assert result.title == "<unlabeled event>"


def test_recursion_is_collapsed_whatever_the_depth():
    def event(depth):
        frames = [py_frame("app.tree", "build")] + [py_frame("app.tree", "walk", lineno=31)] * depth
        return exception_event("RecursionError", "maximum recursion depth exceeded", frames)

    shallow, deep = group(event(3), explain=True), group(event(40))
    assert (
        shallow.hash
        == deep.hash
        == expected_hash("app.tree", "build", "app.tree", "walk", "RecursionError")
    )
    assert (False, "ignored due to recursion") in hint_of(shallow, "frame")


def test_recursion_needs_the_same_line():
    frames = [py_frame("app.tree", "walk", lineno=31), py_frame("app.tree", "walk", lineno=35)]
    assert group(exception_event(frames=frames)).hash == expected_hash(
        "app.tree", "walk", "app.tree", "walk", "ValueError"
    )


def test_explanation_lists_line_numbers_as_not_used():
    result = group(exception_event(frames=[py_frame(lineno=77)]), explain=True)
    assert hint_of(result, "lineno")[0] == (False, "line number not used for grouping")


def test_explanation_names_the_contributing_components():
    frames = [py_frame("app.views", "handle", context_line="x = 1")]
    result = group(exception_event("KeyError", "k", frames), explain=True)
    assert contributing(result) == [
        ("module", "app.views"),
        ("function", "handle"),
        ("context-line", "x = 1"),
        ("type", "KeyError"),
    ]
