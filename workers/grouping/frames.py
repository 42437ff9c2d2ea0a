"""The frame component (Sentry's newstyle `frame:v1` strategy), per platform.

A frame contributes its module (which wins over the filename), the filename's
lowercased basename (not for URLs, "<anonymous>" or "[native code]"), the
normalized function and, for javascript/node/python/php/ruby, the source line
when it is at most 120 characters. Line and column numbers never count.
JavaScript frames trim `Object.foo` to `foo`, ignore unknown function names and
drop eval and native-code frames entirely so different browsers group
together. Generated code loses its per-run names (`generated`).

Per version (see Behaviour): native frames keep the file's basename beside the
function (v2, newstyle:2023-01-11) or drop it when a function is known (v1, as
Sentry's mobile config does); v1 also ignores more engines' names for
anonymous and eval'd code and drops minified frames' per-build names
(`minified`), rules beyond Sentry's.
"""

from __future__ import annotations

import re

import msgspec

from workers.grouping import minified
from workers.grouping.behaviour import Behaviour
from workers.grouping.components import Component
from workers.grouping.functions import family_for_platform, trim_function_name
from workers.grouping.generated import RUBY_ERB, generated_filename, java_module, php_closure

CONTEXT_LINE_PLATFORMS = frozenset({"javascript", "node", "python", "php", "ruby"})
MAX_CONTEXT_LINE = 120
_BASENAME = re.compile(r"[/\\]")
# Sentry's unknown JavaScript function names.
_JS_SENTRY_UNKNOWN_FUNCTIONS = frozenset(
    {"?", "<anonymous function>", "<anonymous>", "Anonymous function"}
)
_JS_UNKNOWN_FUNCTIONS = _JS_SENTRY_UNKNOWN_FUNCTIONS | {
    # What every engine calls `new Function` code.
    "anonymous",
    # Safari's names for top-level code, which Chrome and Firefox leave unnamed.
    *("global code", "module code"),
}
_JS_LOW_QUALITY_PATHS = frozenset({"[native code]", "native code", "eval code", "<anonymous>"})
# Firefox names eval'd code "page.js line 2 > eval", `new Function` code
# "page.js line 2 > Function"; V8 "eval at f (page.js:1:2)".
_JS_DYNAMIC_PATH = re.compile(r" > (?:eval|Function)(?::\d+)*$|^eval at ")
_URL_PREFIXES = ("http:", "https:", "applewebdata:", "blob:")


class FrameFacts(msgspec.Struct, frozen=True, gc=False):
    """Everything about a frame's component that does not depend on its neighbours.

    Cached per frame identity, so there are many: `gc=False` (they reference
    no cycle) keeps them out of the garbage collector's walks.
    """

    children: tuple[Component, ...]
    flat: tuple[str, ...]  # contributing leaf values, precomputed for hashing
    contributes: bool
    hint: str | None
    # Whether the frame names code: a module, function or source line, or a
    # file that is not a minified bundle (see `minified`).
    identifies: bool = True


def has_url_origin(path: str | None, allow_file_origin: bool = False) -> bool:
    if not path:
        return False
    if path.startswith(_URL_PREFIXES):
        return True
    return path.startswith("file:") and not allow_file_origin


def filename_component(abs_path: str | None, filename: str | None, platform: str) -> Component:
    if filename is None:
        return Component("filename")
    name = _BASENAME.split(filename)[-1].lower()
    if has_url_origin(abs_path, allow_file_origin=True):
        return Component("filename", (name,), False, "ignored because frame points to a URL")
    if name == "<anonymous>":
        return Component("filename", (name,), False, "anonymous filename discarded")
    if name == "[native code]":
        return Component("filename", (name,), False, "native code indicated by filename")
    cleaned = generated_filename(filename, name, platform)
    if cleaned is not None:
        return Component("filename", (cleaned,), None, "cleaned generated file name")
    return Component("filename", (name,))


def module_component(abs_path: str | None, module: str | None, platform: str) -> Component:
    if module is None:
        return Component("module")
    if platform == "javascript" and "/" in module and abs_path and abs_path.endswith(module):
        return Component("module", (module,), False, "ignored bad javascript module")
    if platform != "java":
        return Component("module", (module,))
    value, contributes, hint = java_module(module)
    return Component("module", (value,), contributes, hint)


def context_line_component(context_line: str | None, abs_path, function, platform) -> Component:
    if not context_line:
        return Component("context-line")
    line = " ".join(context_line.expandtabs(2).split())
    if not line:
        return Component("context-line")
    if len(context_line) > MAX_CONTEXT_LINE:
        return Component("context-line", (line,), False, "discarded because line too long")
    if family_for_platform(platform) == "javascript" and not function and has_url_origin(abs_path):
        return Component("context-line", (line,), False, "discarded because from URL origin")
    return Component("context-line", (line,))


def function_component(
    function: str | None,
    raw_function: str | None,
    platform: str,
    sourcemap_used: bool,
    context_line_available: bool,
) -> Component:
    if platform == "csharp":
        # "We started trimming function names in csharp late": prefer the raw name.
        func = raw_function or function
    else:
        func = function or raw_function
        if func and not raw_function:
            func = trim_function_name(func, platform)
    if not func:
        return Component("function")
    family = family_for_platform(platform)
    if platform == "ruby":
        if func.startswith("block "):
            return Component("function", ("block",), None, "ruby block")
        cleaned = RUBY_ERB.sub("", func)
        if cleaned != func:
            return Component("function", (cleaned,), None, "removed generated erb template suffix")
    elif platform == "php":
        func = php_closure(func)
        if func.startswith(("[Anonymous", "class@anonymous\x00")):
            return Component("function", (func,), False, "ignored anonymous function")
        if func.startswith("class@anonymous") and "::" in func:
            return Component(
                "function", (func.rsplit("::", 1)[-1],), None, "anonymous class method"
            )
    elif platform == "java":
        if func.startswith("lambda$"):
            return Component("function", (func,), False, "ignored lambda function")
    elif family == "native":
        if func in ("<redacted>", "<unknown>"):
            return Component("function", (func,), False, "ignored unknown function")
        trimmed = trim_function_name(func, platform)
        if trimmed != func:
            return Component("function", (trimmed,), None, "isolated function")
    elif family == "javascript":
        trimmed = func.rsplit(".", 1)[-1]
        hint = "trimmed javascript function" if trimmed != func else None
        if sourcemap_used and context_line_available:
            return Component(
                "function",
                (trimmed,),
                False,
                "ignored because sourcemap used and context line available",
            )
        return Component("function", (trimmed,), None, hint)
    return Component("function", (func,))


def build_frame_facts(
    *,
    platform: str,
    module: str | None,
    filename: str | None,
    abs_path: str | None,
    function: str | None,
    raw_function: str | None,
    context_line: str | None,
    sourcemap_used: bool,
    behaviour: Behaviour,
) -> FrameFacts:
    """The frame component's children and base contribution (frame:v1)."""
    file_part = filename_component(abs_path, filename, platform)
    module_part = module_component(abs_path, module, platform)
    if module_part.contributes and file_part.contributes:
        file_part.update(contributes=False, hint="module takes precedence")
    context_part = None
    if platform in CONTEXT_LINE_PLATFORMS:
        context_part = context_line_component(context_line, abs_path, function, platform)
    function_part = function_component(
        function,
        raw_function,
        platform,
        sourcemap_used,
        context_part is not None and context_part.contributes,
    )
    family = family_for_platform(platform)
    is_minified = (
        behaviour.minified_javascript
        and family == "javascript"
        and not sourcemap_used
        and not (context_part is not None and context_part.contributes)
        and minified.is_bundle(abs_path, filename)
    )
    if is_minified:
        function_part, file_part = _minified_parts(
            function_part,
            file_part,
            module_part=module_part,
            func=raw_function or function,
            abs_path=abs_path,
            filename=filename,
        )
    children = [module_part, file_part, function_part]
    if context_part is not None:
        children.append(context_part)
    if (
        family == "native"
        and not behaviour.native_filename_with_function
        and function_part.contributes
        and file_part.contributes
    ):
        file_part.update(contributes=False, hint="discarded native filename for grouping stability")
    contributes = any(child.contributes for child in children)
    hint = None
    identifies = True
    if family == "javascript":
        contributes, hint = _javascript_fuzzing(
            function_part,
            function,
            raw_function,
            abs_path,
            contributes,
            behaviour.javascript_engine_names,
        )
        # A minified bundle's name alone does not say which code ran.
        named = (module_part, function_part) if is_minified else children
        identifies = any(child.contributes for child in named)
    flat = tuple(child.values[0] for child in children if child.contributes)
    return FrameFacts(tuple(children), flat, contributes, hint, identifies)


def _minified_parts(
    function_part: Component,
    file_part: Component,
    *,
    module_part: Component,
    func: str | None,
    abs_path: str | None,
    filename: str | None,
) -> tuple[Component, Component]:
    """Function and filename of a minified frame (the v1 rule in `minified`)."""
    dropped = False
    if func and function_part.contributes and minified.mangled_function(func):
        hint = minified.MINIFIED_FUNCTION_HINT
        function_part = Component("function", function_part.values, False, hint)
        dropped = True
    if not file_part.values or not filename:
        return function_part, file_part
    name = file_part.values[0]
    # Before lowercasing: case tells a Vite hash ("lEeKwKAa") from a word.
    cleaned = minified.strip_build_noise(_BASENAME.split(filename)[-1]).lower()
    if dropped and not module_part.contributes and has_url_origin(abs_path, True):
        hint = minified.STANDS_IN_HINT
        if cleaned != name:
            hint = f"{minified.HASH_REMOVED_HINT}; {hint.removeprefix('filename: ')}"
        return function_part, Component("filename", (cleaned,), None, hint)
    if file_part.contributes and cleaned != name:
        file_part = Component("filename", (cleaned,), None, minified.HASH_REMOVED_HINT)
    return function_part, file_part


def _javascript_fuzzing(  # noqa: PLR0917
    function_part, function, raw_function, abs_path, contributes, engine_names
):
    """Disregard low-quality JavaScript frames consistently across browsers.

    Runs after the frame's `contributes` was computed, as in Sentry: ignoring the
    function here leaves the frame flagged as contributing even with no values.
    `engine_names`: also the names and eval paths v1 adds to Sentry's.
    """
    unknown = _JS_UNKNOWN_FUNCTIONS if engine_names else _JS_SENTRY_UNKNOWN_FUNCTIONS
    func = raw_function or function
    if func:
        func = func.rsplit(".", 1)[-1]
    if not func:
        function_part.update(contributes=False)
    elif func in unknown or func.endswith("/<"):
        function_part.update(contributes=False, hint="ignored unknown function name")
    if func == "eval" or abs_path in _JS_LOW_QUALITY_PATHS:
        return False, "ignored low quality javascript frame"
    if engine_names and abs_path and _JS_DYNAMIC_PATH.search(abs_path):
        return False, "ignored javascript frame of eval'd code"
    return contributes, None
