"""v2 on JVM, JavaScript, Dart and Python events, and on the event shapes Relay accepts."""

from __future__ import annotations

import copy

from tests.grouping.factories import contributing, expected_hash, group, hint_of, recorded_event
from tests.grouping.test_v2_native import functions
from workers.grouping import FALLBACK_HASH, get_config

V2 = get_config("v2")


def java_frame(module, function, *, in_app, filename=None, lineno=10) -> dict:
    return {
        "module": module,
        "function": function,
        "filename": filename or module.rsplit(".", 1)[-1].split("$")[0] + ".java",
        "lineno": lineno,
        "native": False,
        "in_app": in_app,
    }


def java_event(frames, type_="IllegalStateException", value="cart is empty", **extra) -> dict:
    return {
        "platform": "java",
        "sdk": {"name": "sentry.java.spring-boot.jakarta", "version": "7.8.0"},
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "module": "java.lang",
                    "mechanism": {"type": "UncaughtExceptionHandler", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        **extra,
    }


def test_server_frameworks_are_out_of_app_even_when_an_old_sdk_said_in_app():
    # raven-java marked every frame outside a short exclude list in app.
    frames = [
        java_frame("org.apache.catalina.core.StandardWrapperValve", "invoke", in_app=True),
        java_frame("org.springframework.web.servlet.DispatcherServlet", "doDispatch", in_app=True),
        java_frame("com.shop.orders.OrderController", "place", in_app=True),
        java_frame("com.shop.orders.Cart", "checkout", in_app=True),
    ]
    result = group(java_event(frames), V2, explain=True)
    assert result.variant == "app"
    assert functions(result, "app") == ["place", "checkout"]


def test_reflection_frames_never_count():
    def event(accessor):
        frames = [
            java_frame("java.lang.Thread", "run", in_app=False),
            java_frame("com.shop.jobs.Scheduler", "tick", in_app=False),
            *accessor,
            java_frame("java.lang.reflect.Method", "invoke", in_app=False),
            java_frame("com.shop.jobs.Reindex", "run", in_app=False),
        ]
        return java_event(frames)

    jdk_8 = [
        java_frame("sun.reflect.NativeMethodAccessorImpl", "invoke0", in_app=False),
        java_frame("sun.reflect.NativeMethodAccessorImpl", "invoke", in_app=False),
        java_frame("sun.reflect.DelegatingMethodAccessorImpl", "invoke", in_app=False),
    ]
    jdk_17 = [
        java_frame("jdk.internal.reflect.NativeMethodAccessorImpl", "invoke0", in_app=False),
        java_frame("jdk.internal.reflect.NativeMethodAccessorImpl", "invoke", in_app=False),
        java_frame("jdk.internal.reflect.DelegatingMethodAccessorImpl", "invoke", in_app=False),
    ]
    result = group(event(jdk_8), V2, explain=True)
    assert functions(result) == ["tick", "run"]
    assert result.hash == group(event(jdk_17), V2).hash


def test_android_main_thread_groups_from_the_looper_on():
    frames = [
        java_frame("com.android.internal.os.ZygoteInit", "main", in_app=False),
        java_frame("com.android.internal.os.RuntimeInit$MethodAndArgsCaller", "run", in_app=False),
        java_frame("java.lang.reflect.Method", "invoke", in_app=False),
        java_frame("android.app.ActivityThread", "main", in_app=False),
        java_frame("android.os.Looper", "loop", in_app=False),
        java_frame("android.os.Handler", "dispatchMessage", in_app=False),
        java_frame("android.view.View", "performClick", in_app=False),
    ]
    event = java_event(frames, "NullPointerException", "Attempt to invoke virtual method")
    event["platform"] = "java"
    event["sdk"] = {"name": "sentry.java.android", "version": "7.8.0"}
    assert functions(group(event, V2, explain=True)) == ["dispatchMessage", "performClick"]


def js_frame(url, function, *, in_app=True, lineno=1, colno=1234, **extra) -> dict:
    return {
        "filename": url,
        "abs_path": url,
        "function": function,
        "lineno": lineno,
        "colno": colno,
        "in_app": in_app,
        **extra,
    }


def browser_error(frames, type_="TypeError", value="e is undefined") -> dict:
    return {
        "platform": "javascript",
        "sdk": {"name": "sentry.javascript.browser", "version": "8.40.0"},
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "mechanism": {"type": "onerror", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
    }


def test_minified_javascript_keeps_its_function_names_and_ignores_url_file_names():
    def deploy(bundle_hash, value):
        url = f"https://cdn.shop.example/assets/main.{bundle_hash}.js"
        return browser_error(
            [js_frame(url, "HTMLButtonElement.t"), js_frame(url, "n", colno=99)], value=value
        )

    result = group(deploy("3f2a1b9c", "e is undefined"), V2, explain=True)
    assert contributing(result) == [
        ("function", "t"),
        ("function", "n"),
        ("type", "TypeError"),
    ]
    assert hint_of(result, "filename")[0] == (False, "ignored because frame points to a URL")
    assert result.hash == group(deploy("77d0e1aa", "t is undefined"), V2).hash


def test_sentry_sdk_frames_are_out_of_app_but_count():
    frames = [
        js_frame("https://shop.example/app.js", "checkout"),
        js_frame(
            "https://shop.example/node_modules/@sentry/browser/build/npm/esm/helpers.js",
            "sentryWrapped",
            in_app=False,
        ),
    ]
    result = group(browser_error(frames), V2, explain=True)
    assert functions(result, "system") == ["checkout", "sentryWrapped"]
    assert functions(result, "app") == ["checkout"]
    assert "sentryWrapped" not in functions(group(browser_error(frames), explain=True), "system")


def node_frame(filename, function, *, in_app, module=None) -> dict:
    return {
        "filename": filename,
        "module": module,
        "function": function,
        "lineno": 12,
        "colno": 5,
        "in_app": in_app,
    }


def test_node_task_queues_and_transpiler_helpers_never_count():
    frames = [
        node_frame(
            "node:internal/process/task_queues",
            "process.processTicksAndRejections",
            in_app=False,
            module="task_queues",
        ),
        node_frame(
            "/app/node_modules/regenerator-runtime/runtime.js",
            "Generator.next",
            in_app=False,
            module="regenerator-runtime:runtime",
        ),
        node_frame(
            "/app/node_modules/@babel/runtime/helpers/asyncToGenerator.js",
            "asyncGeneratorStep",
            in_app=False,
            module="@babel.runtime.helpers:asyncToGenerator",
        ),
        node_frame(
            "/app/node_modules/tslib/tslib.js", "fulfilled", in_app=False, module="tslib:tslib"
        ),
        node_frame("/app/dist/orders.js", "placeOrder", in_app=True, module="orders"),
    ]
    event = {
        "platform": "node",
        "sdk": {"name": "sentry.javascript.node", "version": "8.40.0"},
        "exception": {
            "values": [{"type": "Error", "value": "boom", "stacktrace": {"frames": frames}}]
        },
    }
    assert functions(group(event, V2, explain=True)) == ["placeOrder"]


def dart_frame(abs_path, function, *, in_app) -> dict:
    return {
        "abs_path": abs_path,
        "filename": abs_path.rsplit("/", 1)[-1],
        "function": function,
        "lineno": 42,
        "colno": 7,
        "in_app": in_app,
    }


def test_the_dart_sdk_frames_never_count():
    def event(sdk_frames):
        frames = [
            *sdk_frames,
            dart_frame("package:shop/cart.dart", "Cart.total", in_app=True),
        ]
        return {
            "platform": "dart",
            "sdk": {"name": "sentry.dart.flutter", "version": "8.1.0"},
            "exception": {
                "values": [
                    {
                        "type": "StateError",
                        "value": "Bad state: No element",
                        "stacktrace": {"frames": frames},
                    }
                ]
            },
        }

    native = group(
        event([dart_frame("dart:async/zone.dart", "_rootRun", in_app=False)]), V2, explain=True
    )
    web = group(
        event(
            [
                dart_frame(
                    "org-dartlang-sdk:///dart-sdk/lib/async/zone.dart", "_rootRun", in_app=True
                )
            ]
        ),
        V2,
    )
    assert functions(native) == ["Cart.total"]
    assert native.hash == web.hash == expected_hash("cart.dart", "Cart.total", "StateError")


def test_python_events_group_as_in_v1():
    event = recorded_event("python/exception")
    assert group(event, V2).hash == group(event).hash


# ---- event shapes ---------------------------------------------------------------------------


def raven_go_error() -> dict:
    """raven-go's CaptureError: one exception object, not a list."""
    return {
        "platform": "go",
        "sdk": {"name": "raven-go", "version": "0.2.0"},
        "message": "dial tcp 10.0.3.7:5432: connect: connection refused",
        "culprit": "shop/db.Connect",
        "exception": {
            "type": "*net.OpError",
            "value": "dial tcp 10.0.3.7:5432: connect: connection refused",
            "module": "net",
            "stacktrace": {
                "frames": [
                    {
                        "filename": "main.go",
                        "function": "main",
                        "module": "main",
                        "abs_path": "/src/shop/main.go",
                        "lineno": 30,
                        "in_app": True,
                    },
                    {
                        "filename": "db.go",
                        "function": "Connect",
                        "module": "shop/db",
                        "abs_path": "/src/shop/db/db.go",
                        "lineno": 18,
                        "in_app": True,
                    },
                ]
            },
        },
    }


def test_a_single_exception_object_is_an_exception():
    result = group(raven_go_error(), V2)
    assert result.hash == expected_hash("main", "main", "shop/db", "Connect", "*net.OpError")
    other_address = raven_go_error()
    other_address["message"] = other_address["exception"]["value"] = (
        "dial tcp 10.0.3.9:5432: connect: connection refused"
    )
    assert group(other_address, V2).hash == result.hash
    # v1 ignores the object and groups on the message alone.
    assert group(raven_go_error()).hash == expected_hash(
        "dial tcp <ip>:<int>: connect: connection refused"
    )


def test_a_single_thread_object_is_a_thread():
    event = {
        "platform": "cocoa",
        "threads": {
            "id": 0,
            "crashed": True,
            "stacktrace": {"frames": [{"function": "-[A b]", "in_app": True}]},
        },
    }
    assert group(event, V2).hash == expected_hash("-[A b]")
    assert group(event).hash == FALLBACK_HASH


def test_a_top_level_stack_trace_beside_one_exception_is_its_stack_trace():
    event = {
        "platform": "python",
        "exception": {"values": [{"type": "KeyError", "value": "'sku'"}]},
        "stacktrace": {"frames": [{"module": "shop.cart", "function": "add", "in_app": True}]},
    }
    assert group(event, V2).hash == expected_hash("shop.cart", "add", "KeyError")


def test_an_exception_with_neither_type_nor_value_is_dropped():
    event = {
        "platform": "python",
        "exception": {
            "values": [{"stacktrace": {"frames": [{"module": "shop.cart", "function": "add"}]}}]
        },
        "message": "cart add failed",
    }
    assert group(event, V2).hash == expected_hash("cart add failed")


def test_an_exception_group_with_one_top_level_exception_hashes_root_to_leaf():
    recorded = recorded_event("python/exception_group")
    by_type = {e["type"]: e for e in recorded["exception"]["values"]}

    def entry(type_, exception_id, parent_id=None, *, is_group=False):
        exception = copy.deepcopy(by_type[type_])
        mechanism = {"type": "chained", "handled": True, "exception_id": exception_id}
        if parent_id is not None:
            mechanism["parent_id"] = parent_id
        if is_group:
            mechanism["is_exception_group"] = True
        exception["mechanism"] = mechanism
        return exception

    event = copy.deepcopy(recorded)
    event["exception"]["values"] = [
        entry("KeyError", 2, 1),
        entry("InventoryError", 1, 0),
        entry("ExceptionGroup", 0, is_group=True),
    ]
    result = group(event, V2, explain=True)
    types = [value for kind, value in contributing(result) if kind == "type"]
    assert types == ["InventoryError", "KeyError"]
    v1 = group(event, explain=True)
    assert [value for kind, value in contributing(v1) if kind == "type"] == [
        "KeyError",
        "InventoryError",
    ]
