"""Frame normalization on realistic events from each platform's SDK."""

from __future__ import annotations

from tests.grouping.factories import (
    contributing,
    exception_event,
    expected_hash,
    group,
    hint_of,
    js_frame,
    native_frame,
    py_frame,
)
from workers.grouping.minified import WEAK_STACK_VALUE_HINT


def test_python_module_wins_over_filename_and_short_context_lines_count():
    frame = py_frame("shop.cart", "total", context_line="    return sum(i.price for i in items)")
    result = group(exception_event("TypeError", "x", [frame]), explain=True)
    assert ("filename", "cart.py") not in contributing(result)
    assert hint_of(result, "filename")[0] == (False, "module takes precedence")
    assert ("context-line", "return sum(i.price for i in items)") in contributing(result)


def test_context_lines_longer_than_120_characters_are_ignored():
    frame = py_frame(context_line="x = " + "a" * 130)
    result = group(exception_event(frames=[frame]), explain=True)
    assert hint_of(result, "context-line")[0] == (False, "discarded because line too long")


def test_context_lines_are_not_used_for_java():
    frame = {"module": "com.shop.A", "function": "run", "context_line": "a.run();", "in_app": True}
    result = group(exception_event("IllegalStateException", "x", [frame], platform="java"))
    assert result.hash == expected_hash("com.shop.A", "run", "IllegalStateException")


def test_filename_basename_is_lowercased_without_a_module():
    frame = {
        "filename": "app/Http/Controllers/OrderController.php",
        "function": "show",
        "in_app": True,
    }
    result = group(exception_event("ErrorException", "x", [frame], platform="php"))
    assert result.hash == expected_hash("ordercontroller.php", "show", "ErrorException")


def test_windows_paths_use_the_basename_too():
    frame = {"filename": "C:\\src\\Shop\\Orders.cs", "function": "Run", "in_app": True}
    result = group(exception_event("Exception", "x", [frame], platform="csharp"))
    assert result.hash == expected_hash("orders.cs", "Run", "Exception")


def test_browser_frames_from_urls_group_on_functions_across_deploys():
    def event(bundle_hash, qualifier):
        url = f"https://cdn.example.com/static/js/main.{bundle_hash}.js"
        frames = [js_frame(f"{qualifier}onClick", url=url), js_frame("render", url=url, colno=99)]
        return exception_event("TypeError", "e is undefined", frames, platform="javascript")

    chrome = group(event("3f9a2c", "HTMLButtonElement."), explain=True)
    firefox = group(event("b81d07", ""))
    assert chrome.hash == firefox.hash == expected_hash("onClick", "render", "TypeError")
    assert hint_of(chrome, "filename")[0] == (False, "ignored because frame points to a URL")


def test_javascript_unknown_functions_and_native_code_frames_are_ignored():
    frames = [
        js_frame("?"),
        {"filename": "[native code]", "function": "forEach", "in_app": True},
        js_frame("apply/<"),
        js_frame("render"),
    ]
    result = group(exception_event("Error", "x", frames, platform="javascript"), explain=True)
    assert result.hash == expected_hash("render", "Error")
    assert (False, "ignored low quality javascript frame") in hint_of(result, "frame")


def test_a_stack_of_only_unknown_javascript_functions_lets_the_value_count():
    # Sentry flags such frames as contributing with nothing to hash, which
    # would hide the value and merge every error of one type; v1 treats the
    # stack as too weak (see workers/grouping/minified.py).
    frames = [js_frame("?"), js_frame("<anonymous>")]
    first = group(exception_event("Error", "one", frames, platform="javascript"), explain=True)
    second = group(exception_event("Error", "two", frames, platform="javascript"))
    assert first.hash == expected_hash("Error", "one")
    assert second.hash == expected_hash("Error", "two")
    assert hint_of(first, "value") == [(True, WEAK_STACK_VALUE_HINT)]


def test_a_single_url_frame_without_function_is_ignored():
    frames = [{"filename": "https://example.com/app.js", "lineno": 1, "colno": 5, "in_app": True}]
    result = group(exception_event("Error", "Script error.", frames, platform="javascript"))
    assert result.hash == expected_hash("Error", "Script error.")


def test_eval_frames_are_ignored():
    frames = [js_frame("eval"), js_frame("run")]
    result = group(exception_event("SyntaxError", "x", frames, platform="javascript"))
    assert result.hash == expected_hash("run", "SyntaxError")


def test_node_modules_are_not_in_app_by_built_in_rule():
    frames = [
        {
            "filename": "/srv/node_modules/express/lib/router/layer.js",
            "module": "express.lib.router:layer",
            "function": "handle",
            "in_app": True,
        },
        {
            "filename": "/srv/routes/orders.js",
            "module": "routes:orders",
            "function": "getOrder",
            "in_app": True,
        },
    ]
    result = group(exception_event("TypeError", "x", frames, platform="node"))
    assert result.variant == "app"
    assert result.hash == expected_hash("routes:orders", "getOrder", "TypeError")


def test_sourcemapped_function_names_yield_to_context_lines():
    frame = js_frame(
        "renderCart",
        url="./src/Cart.jsx",
        abs_path="webpack:///src/Cart.jsx",
        context_line="const total = cart.items.length;",
        data={"sourcemap": "https://cdn.example.com/static/js/main.js.map"},
    )
    result = group(exception_event("TypeError", "x", [frame], platform="javascript"))
    assert result.hash == expected_hash("cart.jsx", "const total = cart.items.length;", "TypeError")


def test_java_codegen_and_reflection_markers_are_normalized():
    def event(accessor, proxy_hash):
        frames = [
            {
                "module": f"jdk.internal.reflect.GeneratedMethodAccessor{accessor}",
                "function": "invoke",
            },
            {
                "module": f"com.shop.Api$$EnhancerBySpringCGLIB$${proxy_hash}",
                "function": "get",
                "in_app": True,
            },
            {"module": "com.shop.Service", "function": "lambda$load$3", "in_app": True},
        ]
        return exception_event("NullPointerException", None, frames, platform="java")

    first, second = group(event(17, "1a2b3c4d")), group(event(382, "9f8e7d6c"))
    assert first.hashes == second.hashes
    assert first.hash == expected_hash(
        "com.shop.Api$$EnhancerBySpringCGLIB$$<auto>",
        "get",
        "com.shop.Service",
        "NullPointerException",
    )


def test_java_platform_modules_are_not_in_app_by_built_in_rule():
    frames = [
        {"module": "android.app.Activity", "function": "performCreate"},
        {"module": "com.shop.MainActivity", "function": "onCreate", "in_app": True},
    ]
    result = group(exception_event("IllegalStateException", "x", frames, platform="java"))
    assert result.hash == expected_hash(
        "com.shop.MainActivity", "onCreate", "IllegalStateException"
    )


def test_native_frames_group_on_trimmed_functions_not_files_or_addresses():
    def event(address, signature):
        frames = [
            native_frame("main", filename="main.cpp"),
            native_frame(signature, instruction_addr=address, filename="scene.cpp"),
        ]
        return exception_event("SIGSEGV", "Segfault", frames, platform="native")

    first = group(event("0x1000", "Scene::draw(Frame const&) const"), explain=True)
    second = group(event("0x2000", "Scene::draw(Frame const&)"))
    assert first.hash == second.hash == expected_hash("main", "Scene::draw", "SIGSEGV")
    assert hint_of(first, "filename")[0] == (
        False,
        "discarded native filename for grouping stability",
    )


def test_unsymbolicated_native_frames_fall_back_to_nothing():
    frames = [native_frame(None), native_frame("<unknown>")]
    result = group(exception_event("EXC_BAD_ACCESS", "crash", frames, platform="native"))
    assert result.hash == expected_hash("EXC_BAD_ACCESS", "crash")


def test_rust_panic_machinery_and_build_hashes_do_not_count():
    def event(build):
        frames = [
            native_frame(f"svc::main::h{build}"),
            native_frame(f"svc::config::load::h{build}"),
            native_frame(f"core::panicking::panic_fmt::h{build}"),
            native_frame("rust_begin_unwind"),
            native_frame(f"std::panicking::begin_panic_handler::h{build}"),
        ]
        return exception_event(
            "panic", "called `Option::unwrap()` on a `None` value", frames, platform="native"
        )

    first = group(event("0123456789abcdef"))
    second = group(event("fedcba9876543210"))
    assert first.hash == second.hash == expected_hash("svc::main", "svc::config::load", "panic")


def test_c_abort_frames_from_different_glibc_versions_group_together():
    def event(tail):
        frames = [
            native_frame("main"),
            native_frame("parse_config"),
            native_frame("abort", package="/lib/libc.so.6"),
        ]
        frames += [native_frame(name, package="/lib/libc.so.6") for name in tail]
        return exception_event("SIGABRT", "Abort", frames, platform="native")

    assert (
        group(event(["raise"])).hash
        == group(event(["__pthread_kill_implementation", "raise"])).hash
    )


def test_objective_c_selectors_are_kept_whole_and_throw_frames_dropped():
    frames = [
        native_frame("-[CartViewController checkout:]", in_app=True),
        native_frame("objc_exception_throw", package="/usr/lib/libobjc.A.dylib"),
    ]
    result = group(
        exception_event("NSRangeException", "index 5 beyond bounds", frames, platform="cocoa")
    )
    assert result.hash == expected_hash("-[CartViewController checkout:]", "NSRangeException")


def test_swift_closures_collapse_to_their_function():
    def event(closure):
        frames = [native_frame(f"closure #{closure} in ProfileViewModel.load()", in_app=True)]
        return exception_event("EXC_BREAKPOINT", "x", frames, platform="cocoa")

    assert group(event(1)).hash == group(event(3)).hash


def test_ruby_blocks_and_erb_suffixes_are_normalized():
    def event(block, erb):
        frames = [
            {
                "filename": "app/views/show.html.erb",
                "function": f"_app_views_show_html_erb__{erb}",
                "in_app": True,
            },
            {"filename": "app/models/user.rb", "function": block, "in_app": True},
        ]
        return exception_event("NoMethodError", "undefined method", frames, platform="ruby")

    first = group(event("block in full_name", "1234_5678"))
    second = group(event("block (2 levels) in full_name", "99999_11111"))
    assert first.hash == second.hash
    assert first.hash == expected_hash(
        "show.html.erb", "_app_views_show_html_erb", "user.rb", "block", "NoMethodError"
    )


def test_php_anonymous_classes():
    frames = [
        {"filename": "a.php", "function": "class@anonymous/in/a.php:3$0::handle", "in_app": True},
        {"filename": "b.php", "function": "[Anonymous function]", "in_app": True},
    ]
    result = group(exception_event("Error", "x", frames, platform="php"))
    assert result.hash == expected_hash("a.php", "handle", "b.php", "Error")


def test_csharp_prefers_the_raw_function_name():
    frames = [
        {
            "module": "Shop.Orders",
            "function": "Process",
            "raw_function": "Process(Int32 id)",
            "in_app": True,
        }
    ]
    result = group(exception_event("System.Exception", "x", frames, platform="csharp"))
    assert result.hash == expected_hash("Shop.Orders", "Process(Int32 id)", "System.Exception")


def test_culprit_and_title_follow_sentry():
    frames = [py_frame("app.views", "handle")]
    result = group(exception_event("KeyError", "'id'\nmore", frames))
    assert (result.title, result.culprit) == ("KeyError: 'id'", "app.views in handle")
    js = group(exception_event("TypeError", "x", [js_frame("onClick")], platform="javascript"))
    assert js.culprit == "onClick(/static/js/main.abc123.js)"
    tx = group(exception_event(frames=frames, transaction="/api/orders/{id}"))
    assert tx.culprit == "/api/orders/{id}"
