"""JavaScript errors in the browser and in Node: TypeErrors, ReferenceErrors, bad JSON,
invalid dates, full storage, chunk loading, and the classic message-only noise.

Browsers word the same error differently (Chrome, Firefox and Safari messages are
kept per browser); the source-mapped frames are the same in all of them, and
only those should decide the issue.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import Leaf, camel, pascal
from seed.catalogue.common import Ctx, Template, error, stack, unhandled, where
from seed.model import ExceptionSpec, Frame, Text

_SUBJECTS = ("customer", "shippingAddress", "payment", "summary", "currentPlan", "lines[0]")
_PROPS = ("id", "length", "price", "name", "status", "currency", "total")
_GLOBALS = ("gtag", "dataLayer", "Intercom", "__APP_CONFIG__", "hj", "Stripe", "google")
_STORAGE_KEYS = ("cart", "recentlyViewed", "checkoutDraft", "filters", "wishlist")
_ONERROR = unhandled("auto.browser.global_handlers.onerror")
_REJECTION = unhandled("auto.browser.global_handlers.onunhandledrejection")
_BOUNDARY = {"type": "auto.function.react.error_boundary", "handled": True}
_NODE_MECHANISMS = (
    unhandled("auto.middleware.express"),
    unhandled("auto.node.onunhandledrejection"),
    {"type": "generic", "handled": True},
)


def _mechanism(ctx: Ctx) -> dict:
    if ctx.platform == "node":
        return ctx.pick(_NODE_MECHANISMS)
    return ctx.pick((_ONERROR, _REJECTION, _BOUNDARY))


def _by_browser(chrome: str, firefox: str, safari: str) -> dict[str, str]:
    return {"chrome": chrome, "firefox": firefox, "safari": safari}


def _raise(ctx: Ctx, kind: str, message, leaf: Leaf, raised: tuple[Frame, ...] = ()):
    exc = ExceptionSpec(kind, message, stack(ctx, leaf, raised), None, _mechanism(ctx))
    level = "fatal" if exc.mechanism.get("type") == "auto.node.onunhandledrejection" else "error"
    return error(ctx, (exc,), level=level)


def type_error(ctx: Ctx):
    obj, subject, prop = camel(ctx.entity), ctx.pick(_SUBJECTS), ctx.pick(_PROPS)
    expr = f"{obj}.{subject}"
    leaf = Leaf("selectors", f"select{pascal(prop)}", f"  const {prop} = {expr}.{prop};")
    chrome = f"Cannot read properties of undefined (reading '{prop}')"
    message = (
        _by_browser(
            chrome,
            f'can\'t access property "{prop}", {expr} is undefined',
            f"undefined is not an object (evaluating '{expr}.{prop}')",
        )
        if ctx.platform == "javascript"
        else chrome
    )
    return _raise(
        ctx, "TypeError", message, leaf
    ), f"{expr}.{prop} read on undefined in {where(ctx)}"


def not_a_function(ctx: Ctx):
    expr = f"{camel(ctx.entity)}.{ctx.pick(('items', 'lines', 'tags', 'addresses', 'rates'))}"
    leaf = Leaf("formatters", f"render{ctx.model}Lines", f"  return {expr}.map(renderLine);")
    chrome = f"{expr}.map is not a function"
    message = (
        _by_browser(
            chrome, chrome, f"{chrome}. (In '{expr}.map(renderLine)', '{expr}.map' is undefined)"
        )
        if ctx.platform == "javascript"
        else chrome
    )
    return _raise(ctx, "TypeError", message, leaf), f"{expr} is not an array in {where(ctx)}"


def reference_error(ctx: Ctx):
    name = ctx.pick(_GLOBALS)
    leaf = Leaf("analytics", f"track{pascal(ctx.path.op)}", f"  {name}('event', '{ctx.path.op}');")
    chrome = f"{name} is not defined"
    message = (
        _by_browser(chrome, chrome, f"Can't find variable: {name}")
        if ctx.platform == "javascript"
        else chrome
    )
    return _raise(ctx, "ReferenceError", message, leaf), f"{name} missing in {where(ctx)}"


def invalid_date(ctx: Ctx):
    leaf = Leaf("utils", f"format{ctx.model}Date", "  return new Date(value).toISOString();")
    message = (
        _by_browser("Invalid time value", "invalid date", "Invalid Date")
        if ctx.platform == "javascript"
        else "Invalid time value"
    )
    return _raise(ctx, "RangeError", message, leaf), f"Invalid date formatted in {where(ctx)}"


def bad_json(ctx: Ctx):
    leaf = Leaf("utils", f"parse{ctx.model}Response", "  const data = JSON.parse(raw);")
    message: Text
    if ctx.platform == "javascript":
        message = _by_browser(
            "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
            "JSON.parse: unexpected character at line 1 column 1 of the JSON data",
            "JSON Parse error: Unrecognized token '<'",
        )
    else:
        message = "Unexpected token 'u', \"undefined\" is not valid JSON"
    return _raise(ctx, "SyntaxError", message, leaf), f"HTML parsed as JSON in {where(ctx)}"


def quota_exceeded(ctx: Ctx):
    key = ctx.pick(_STORAGE_KEYS)
    leaf = Leaf(
        "store", f"persist{pascal(key)}", f"  localStorage.setItem('{key}', JSON.stringify(state));"
    )
    message = _by_browser(
        "Failed to execute 'setItem' on 'Storage': "
        f"Setting the value of '{key}' exceeded the quota.",
        "The quota has been exceeded.",
        "The quota has been exceeded.",
    )
    return _raise(ctx, "QuotaExceededError", message, leaf), f"localStorage full saving {key}"


def file_not_found(ctx: Ctx):
    leaf = Leaf(
        "templates",
        f"render{ctx.model}Email",
        "  const source = await fs.readFile(templatePath, 'utf8');",
    )
    raised = (f.node_lib("node:internal/fs/promises", "async open", 639, 25),)
    message = "ENOENT: no such file or directory, open '/app/templates/{word}/{n}.hbs'"
    return _raise(ctx, "Error", message, leaf, raised), f"Missing template in {where(ctx)}"


def chunk_load(ctx: Ctx):
    page = f"{pascal(ctx.path.domain)}Page"
    frames = (
        f.web(
            "src/routes/index.tsx",
            "lazy$argument_0",
            41,
            36,
            f"const {page} = lazy(() => import('../pages/{page}'));",
        ),
        f.web("node_modules/webpack/runtime/ensure chunk.js", "__webpack_require__.e", 6, 20, None),
        f.web(
            "node_modules/webpack/runtime/jsonp chunk loading.js",
            "__webpack_require__.f.j",
            27,
            12,
            None,
        ),
    )
    message = (
        "Loading chunk {n} failed.\n(error: https://shop.example.com/static/js/{n}.{hex}.chunk.js)"
    )
    exc = ExceptionSpec("ChunkLoadError", message, frames, None, _REJECTION)
    return error(ctx, (exc,)), "Lazy-loaded chunk missing after a deploy"


def _stackless(ctx: Ctx, kind: str, message: str, title: str, mechanism: dict = _ONERROR):
    return error(ctx, (ExceptionSpec(kind, message, (), None, mechanism),)), title


def resize_observer(ctx: Ctx):
    message = "ResizeObserver loop completed with undelivered notifications."
    return _stackless(ctx, "Error", message, "ResizeObserver loop warning (browser noise)")


def script_error(ctx: Ctx):
    return _stackless(ctx, "Error", "Script error.", "Cross-origin script error without details")


def non_error_rejection(ctx: Ctx):
    message = "Non-Error promise rejection captured with keys: code, message"
    return _stackless(
        ctx, "UnhandledRejection", message, "Promise rejected with a plain object", _REJECTION
    )


_BOTH = ("javascript", "node")
TEMPLATES = (
    Template("javascript", "type_error", "high", _BOTH, type_error, weight=2.5),
    Template("javascript", "type_error", "high", _BOTH, not_a_function, weight=1.4),
    Template("javascript", "reference_error", "medium", _BOTH, reference_error, weight=0.8),
    Template("javascript", "range_error", "medium", _BOTH, invalid_date, weight=0.8),
    Template("javascript", "syntax_error", "medium", _BOTH, bad_json, weight=0.9),
    Template("javascript", "quota_exceeded", "low", ("javascript",), quota_exceeded, weight=0.5),
    Template("javascript", "file_not_found", "medium", ("node",), file_not_found, weight=0.6),
    Template("javascript", "chunk_load", "high", ("javascript",), chunk_load, 0.8, unique=True),
    Template(
        "javascript", "browser_noise", "low", ("javascript",), resize_observer, 1.0, unique=True
    ),
    Template("javascript", "browser_noise", "low", ("javascript",), script_error, 0.6, unique=True),
    Template(
        "javascript",
        "unhandled_rejection",
        "medium",
        ("javascript",),
        non_error_rejection,
        0.4,
        unique=True,
    ),
)
