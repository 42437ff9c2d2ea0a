"""Dynamic and generated code never splits an issue: eval, proxies, generated files."""

from __future__ import annotations

import pytest

from tests.grouping.factories import exception_event, expected_hash, group, js_frame, py_frame

URL = "https://shop.example/static/app.js"


def js_event(*extra_frames):
    frames = [js_frame("submitOrder", url=URL), *extra_frames, js_frame("validate", url=URL)]
    return exception_event("TypeError", "x is undefined", frames, platform="javascript")


@pytest.mark.parametrize(
    "dynamic_frame",
    [
        # Chrome: a function called in eval'd code; V8's own location form.
        {"function": "eval", "filename": URL, "in_app": True},
        {"function": "compute", "filename": "eval at run (https://shop.example/static/app.js:1:9)"},
        # Chrome: new Function code is "anonymous" at "<anonymous>".
        {"function": "anonymous", "filename": "<anonymous>", "in_app": True},
        # Firefox: eval and new Function code.
        {"function": "compute", "filename": f"{URL} line 2 > eval", "in_app": True},
        {"function": "anonymous", "filename": f"{URL} line 2 > Function", "in_app": True},
        # Safari: eval code, built-ins, top-level code.
        {"function": "compute", "filename": "eval code", "in_app": True},
        {"function": "forEach", "filename": "[native code]", "in_app": True},
        {"function": "global code", "filename": URL, "in_app": True},
    ],
)
def test_javascript_dynamic_code_frames_do_not_count(dynamic_frame):
    plain = group(js_event())
    assert group(js_event(dynamic_frame)).hash == plain.hash
    assert plain.hash == expected_hash("submitOrder", "validate", "TypeError")


def java_event(module):
    frames = [
        {"module": module, "function": "invoke", "in_app": False},
        {"module": "com.shop.OrderService", "function": "place", "in_app": True},
    ]
    return exception_event("IllegalStateException", "x", frames, platform="java")


@pytest.mark.parametrize(
    ("first", "second", "stable"),
    [
        ("com.sun.proxy.$Proxy123", "com.sun.proxy.$Proxy87", "com.sun.proxy.$Proxy<auto>"),
        ("jdk.proxy2.$Proxy45", "jdk.proxy3.$Proxy12", "jdk.proxy<auto>.$Proxy<auto>"),
        (
            "com.shop.Order$HibernateProxy$x7YkP2aB",
            "com.shop.Order$HibernateProxy$Qm81ZzTe",
            "com.shop.Order$HibernateProxy$<auto>",
        ),
        (
            "com.shop.Api$ByteBuddy$a1b2c3",
            "com.shop.Api$ByteBuddy$ffe01a",
            "com.shop.Api$ByteBuddy$<auto>",
        ),
        (
            "com.shop.Repo$MockitoMock$1183",
            "com.shop.Repo$MockitoMock$90",
            "com.shop.Repo$MockitoMock$<auto>",
        ),
        (
            "java.lang.invoke.LambdaForm$MH/0x000000080012d840",
            "java.lang.invoke.LambdaForm$MH/0x00000008000a1c00",
            "java.lang.invoke.LambdaForm$MH",
        ),
    ],
)
def test_java_runtime_generated_classes_lose_their_counters(first, second, stable):
    assert group(java_event(first)).hashes == group(java_event(second)).hashes
    assert group(java_event(first)).hashes[-1] == expected_hash(
        stable, "invoke", "com.shop.OrderService", "place", "IllegalStateException"
    )


def test_jdk_21_lambda_classes_are_ignored_like_older_ones():
    modern = group(java_event("com.shop.OrderService$$Lambda/0x000001f8b8f0a6c8"))
    older = group(java_event("com.shop.OrderService$$Lambda$14/0x0000000800066840"))
    assert modern.hashes == older.hashes
    assert modern.hashes[-1] == expected_hash(
        "invoke", "com.shop.OrderService", "place", "IllegalStateException"
    )


def test_a_user_class_named_like_a_proxy_is_left_alone():
    result = group(java_event("com.shop.ProxyConfig$ProxyHandler"))
    assert result.hashes[-1] == expected_hash(
        "com.shop.ProxyConfig$ProxyHandler",
        "invoke",
        "com.shop.OrderService",
        "place",
        "IllegalStateException",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("<decorator-gen-12>", "<decorator-gen-310>"),
        ("<ipython-input-3-5e1c9b0a2f>", "<ipython-input-17-0a77e1d3c4>"),
    ],
)
def test_python_generated_file_names_lose_their_counters(first, second):
    def event(filename):
        frame = {"filename": filename, "function": "wrapper", "in_app": True}
        return exception_event("ValueError", "x", [frame, py_frame()])

    assert group(event(first)).hash == group(event(second)).hash


def test_python_exec_and_frozen_frames_group_on_their_module():
    frames = [
        {
            "module": "importlib._bootstrap",
            "filename": "<frozen importlib._bootstrap>",
            "function": "_call_with_frames_removed",
            "in_app": False,
        },
        {"module": "shop.models", "filename": "<string>", "function": "__init__", "in_app": True},
    ]
    result = group(exception_event("TypeError", "x", frames))
    assert result.hash == expected_hash("shop.models", "__init__", "TypeError")


def test_php_84_closure_names_and_evald_code_lose_line_numbers():
    def event(line):
        frames = [
            {
                "filename": f"/var/www/app/Rules.php({line}) : eval()'d code",
                "function": f"{{closure:App\\Rules::apply():{line}}}",
                "in_app": True,
            }
        ]
        return exception_event("Error", "x", frames, platform="php")

    first, second = group(event(12)), group(event(40))
    assert first.hash == second.hash
    assert first.hash == expected_hash("rules.php : eval()'d code", "{closure}", "Error")


def test_ruby_eval_and_negative_erb_hashes_do_not_split():
    def event(caller_line, erb):
        frames = [
            {"filename": f"(eval at /app/lib/dsl.rb:{caller_line})", "function": "rule"},
            {
                "filename": "app/views/orders/show.html.erb",
                "function": f"_app_views_orders_show_html_erb__{erb}",
                "in_app": True,
            },
        ]
        return exception_event("NoMethodError", "x", frames, platform="ruby")

    first = group(event(12, "-2815437208227836089_70248"))
    second = group(event(30, "4426089785478545227_70287"))
    assert first.hashes == second.hashes
