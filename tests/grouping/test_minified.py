"""Minified JavaScript (a v1 rule): deploys do not split issues, bugs in one bundle stay apart."""

from __future__ import annotations

import pytest

from tests.grouping.factories import (
    contributing,
    exception_event,
    expected_hash,
    group,
    hint_of,
    js_frame,
)
from workers.grouping.minified import (
    HASH_REMOVED_HINT,
    MINIFIED_FUNCTION_HINT,
    WEAK_STACK_VALUE_HINT,
    mangled_function,
    strip_build_noise,
    weak_stack_value,
)


@pytest.mark.parametrize(
    ("basename", "stable"),
    [
        ("main.3f2a1b9c.js", "main.js"),
        ("main.3f2a1b9c.chunk.js", "main.chunk.js"),
        ("2.a1b2c3d4.chunk.js", "chunk.js"),
        ("chunk-vendors.a1b2c3d4.js", "chunk-vendors.js"),
        ("app-8f7e6d5c.min.js", "app.min.js"),
        ("index-2b7c8e.js", "index.js"),
        ("framework-2c79e2a64abdb08b.js", "framework.js"),
        ("1234-5678abcd9ef01234.js", "<chunk>.js"),
        ("index-BDe3wh_K.js", "index.js"),  # Vite (base64url)
        ("chunk-ZG5PAEVJ.js", "chunk.js"),  # esbuild (base32)
        ("runtime.8f7e6d5c4b3a2190.js", "runtime.js"),  # Angular
        ("main.js?v=123", "main.js"),
        ("jquery-3.6.0.min.js", "jquery.min.js"),
        # Words, not hashes: left alone.
        ("checkout.js", "checkout.js"),
        ("polyfills-legacy.js", "polyfills-legacy.js"),
        ("facade.js", "facade.js"),
        ("component---src-pages-index-js.js", "component-src-pages-index-js.js"),
        ("index-MyWidget.js", "index-MyWidget.js"),
    ],
)
def test_build_noise_is_stripped_from_bundle_names(basename, stable):
    assert strip_build_noise(basename) == stable


@pytest.mark.parametrize(
    ("function", "mangled"),
    [
        ("t", True),
        ("Object.t", True),
        ("HTMLButtonElement.e", True),
        ("e.r", True),
        ("$e", True),
        ("new t", True),
        ("async Yt", True),
        ("Object.t [as onClick]", True),  # Firefox and Safari only print `t`
        ("Ye/t<", True),
        ("renderCart", False),
        ("Object.renderCart", False),
        ("n.handleSubmit", False),
        ("get", False),
    ],
)
def test_mangled_function_names_are_recognized(function, mangled):
    assert mangled_function(function) is mangled


DEPLOYS = [
    # (content hash, mangled names of the four frames, browser)
    ("3f2a1b9c", ["Object.e", "t", "n.r", "HTMLButtonElement.o"], "chrome"),
    ("9c81d7e0", ["Yt", "e", "Ke", "a"], "firefox"),
    ("07bb41fa", ["n", "r", "t", "s"], "safari"),
]
READ_TOTAL = {
    "chrome": "Cannot read properties of undefined (reading 'total')",
    "firefox": 'can\'t access property "total", {0} is undefined',
    "safari": "undefined is not an object (evaluating '{0}.total')",
}


def bundle_event(content_hash, names, browser, value):
    vendor = f"https://cdn.shop.example/static/js/2.{content_hash[::-1]}.chunk.js"
    main = f"https://cdn.shop.example/static/js/main.{content_hash}.js?v={content_hash[:3]}"
    frames = [
        js_frame(names[0], url=vendor, colno=41_002),
        js_frame(names[1], url=vendor, colno=7_310),
        js_frame(names[2], url=main, colno=99),
        js_frame(names[3], url=main, colno=12_345),
    ]
    if browser == "chrome":
        frames.insert(2, {"filename": "<anonymous>", "function": "Array.forEach", "in_app": True})
    elif browser == "safari":
        frames.insert(2, {"filename": "[native code]", "function": "forEach", "in_app": True})
    return exception_event("TypeError", value, frames, platform="javascript")


def test_one_bug_across_three_deploys_and_browsers_is_one_issue():
    results = [
        group(bundle_event(h, names, browser, READ_TOTAL[browser].format(names[3])), explain=True)
        for h, names, browser in DEPLOYS
    ]
    assert len({r.hash for r in results}) == 1
    assert contributing(results[0]) == [
        ("filename", "chunk.js"),
        ("filename", "chunk.js"),
        ("filename", "main.js"),
        ("filename", "main.js"),
        ("type", "TypeError"),
        ("value", "Cannot read properties of undefined (reading 'total')"),
    ]


def test_the_explanation_says_what_the_minified_rule_did():
    result = group(bundle_event(*DEPLOYS[0], "x"), explain=True)
    assert (False, MINIFIED_FUNCTION_HINT) in hint_of(result, "function")
    assert any(
        contributes and HASH_REMOVED_HINT in hint
        for contributes, hint in hint_of(result, "filename")
        if hint
    )
    assert hint_of(result, "value") == [(True, WEAK_STACK_VALUE_HINT)]


def test_two_bugs_in_the_same_bundle_and_stack_shape_stay_apart():
    h, names, browser = DEPLOYS[0]
    total = group(bundle_event(h, names, browser, READ_TOTAL["chrome"]))
    coupon = group(bundle_event(h, names, browser, "t.applyCoupon is not a function"))
    items = group(
        bundle_event(h, names, browser, "Cannot read properties of undefined (reading 'items')")
    )
    assert len({total.hash, coupon.hash, items.hash}) == 3


def test_numbers_and_mangled_names_in_the_value_do_not_split_a_weak_stack():
    def event(content_hash, names, value):
        return bundle_event(content_hash, names, "chrome", value)

    first = group(event(*DEPLOYS[0][:2], "e.applyCoupon is not a function (order 1182)"))
    second = group(event(*DEPLOYS[1][:2], "Yt.applyCoupon is not a function (order 77)"))
    assert first.hash == second.hash


@pytest.mark.parametrize(
    ("value", "unified"),
    [
        (
            'can\'t access property "total", e is undefined',
            "Cannot read properties of undefined (reading 'total')",
        ),
        (
            "null is not an object (evaluating 'n.props.total')",
            "Cannot read properties of null (reading 'total')",
        ),
        (
            "Cannot read property 'total' of undefined",
            "Cannot read properties of undefined (reading 'total')",
        ),
        (
            "t.map is not a function. (In 't.map(e)', 't.map' is undefined)",
            "<mangled>.map is not a function",
        ),
        ("e is not a function", "<mangled> is not a function"),
        ("Ke is not iterable", "<mangled> is not iterable"),
        (
            "Cannot destructure property 'id' of 'e' as it is undefined.",
            "Cannot destructure property 'id' of '<mangled>' as it is undefined.",
        ),
        # Globals keep their names: a missing jQuery is not a missing analytics tag.
        ("$ is not defined", "$ is not defined"),
        ("ga is not defined", "ga is not defined"),
    ],
)
def test_weak_stack_values_unify_browser_wording_and_mangled_names(value, unified):
    assert weak_stack_value(value) == unified


def test_source_mapped_frames_keep_sentry_behaviour():
    frame = js_frame(
        "t",
        url="./src/Cart.jsx",
        abs_path="webpack:///src/Cart.jsx",
        context_line="const total = cart.items.length;",
        data={"sourcemap": "https://cdn.example.com/static/js/main.3f2a1b9c.js.map"},
    )
    result = group(exception_event("TypeError", "x", [frame], platform="javascript"))
    assert result.hash == expected_hash("cart.jsx", "const total = cart.items.length;", "TypeError")


def test_readable_names_from_hashed_bundles_keep_sentry_behaviour():
    frames = [
        js_frame("Object.loadOrders", url="https://cdn.example.com/js/main.3f2a1b9c.js"),
        js_frame("HTMLButtonElement.onClick", url="https://cdn.example.com/js/main.3f2a1b9c.js"),
    ]
    result = group(exception_event("Error", "Request failed", frames, platform="javascript"))
    assert result.hash == expected_hash("loadOrders", "onClick", "Error")


def test_bundles_outside_urls_lose_their_hash_but_keep_readable_names():
    def event(content_hash):
        frame = js_frame("renderCart", url=f"app:///main.{content_hash}.js")
        return exception_event("TypeError", "x", [frame], platform="javascript")

    first, second = group(event("3f2a1b9c"), explain=True), group(event("77aa0e12"))
    assert first.hash == second.hash == expected_hash("main.js", "renderCart", "TypeError")
    assert hint_of(first, "filename") == [(True, HASH_REMOVED_HINT)]


def test_frames_with_source_lines_are_not_minified():
    frame = {
        "filename": "/srv/api/lib/go.js",
        "module": "lib:go",
        "function": "go",
        "context_line": "return step(next);",
        "in_app": True,
    }
    result = group(exception_event("Error", "x", [frame], platform="node"))
    assert result.hash == expected_hash("lib:go", "go", "return step(next);", "Error")


def test_a_minified_server_bundle_with_a_module_still_names_its_code():
    frame = {
        "filename": "/var/task/.next/server/chunks/5123.js",
        "module": "chunks:5123",
        "function": "Object.t",
        "context_line": "{snip} " + "a" * 140,
        "in_app": True,
    }
    first = group(exception_event("Error", "one", [frame], platform="node"))
    second = group(exception_event("Error", "two", [frame], platform="node"))
    assert first.hash == second.hash == expected_hash("chunks:5123", "Error")


def test_vite_hashes_are_recognized_before_the_filename_is_lowercased():
    def event(content_hash):
        frame = js_frame("t", url=f"https://app.example/assets/index-{content_hash}.js")
        return exception_event("TypeError", "x", [frame], platform="javascript")

    assert group(event("lEeKwKAa")).hash == group(event("7bBwge5C")).hash
