"""Minified JavaScript: one root cause stays one issue across deploys (a v1 rule).

Without source maps, a bundle's mangled function names (`t`, `n`, `e.r`) and
content-hashed file names (`main.3f2a1b9c.js`) change with every build, so
Sentry's frame rules open a new issue per deploy for the same bug. The rule:

A JavaScript frame is *minified* when no source map was applied
(`data.sourcemap` unset), it has no usable source line (none, or one over the
120-character limit, as minified lines are) and it comes from a URL or a
JavaScript bundle file. For such a frame:

1. A mangled function name is ignored ("function ignored: minified name"):
   after Sentry's trim to the text after the last "." it is one or two
   identifier characters (`t`, `Object.t`, `HTMLButtonElement.e`, `new t`,
   `async t`, Chrome's `Object.t [as onClick]`, Firefox's inferred `Ye/t<`).
2. The filename loses what the build adds ("filename: content hash
   removed"): content hashes (hex with letters and digits, 5+ characters;
   the base64/base32 hashes of Vite, Rollup and esbuild), numeric webpack
   chunk ids and version numbers, and the query string: `main.3f2a1b9c.js`,
   `main.js?v=123` -> `main.js`; `2.a1b2c3d4.chunk.js` -> `chunk.js`;
   `index-BDe3wh_K.js` -> `index.js`; `framework-2c79e2a64abdb08b.js` ->
   `framework.js`.
3. A frame whose function was ignored contributes that cleaned filename
   instead, even from a URL: the stack's shape (which bundles, in which order)
   still counts, the per-build noise does not.

Frames with readable names (`Object.renderCart` -> `renderCart`), source
lines or source maps keep Sentry's behaviour unchanged.

A JavaScript stack trace whose frames contribute nothing but such bundle names
(or nothing at all) cannot tell two bugs in one bundle apart, so the exception
value then contributes next to the type (see `weak_stack_value`): browser
wordings of the same error are unified first and mangled identifiers replaced
(`t is not a function` -> `<mangled> is not a function`), before the usual
parameterization.
"""

from __future__ import annotations

import itertools
import re

from workers.grouping.parameterize import normalize_message

MINIFIED_FUNCTION_HINT = "function ignored: minified name"
HASH_REMOVED_HINT = "filename: content hash removed"
STANDS_IN_HINT = "filename: stands in for the minified function name"
WEAK_STACK_VALUE_HINT = "used because no frame names its code (minified or anonymous)"

_BUNDLE_SUFFIXES = (".js", ".mjs", ".cjs", ".jsbundle", ".bundle")
# One or two identifier characters, also Firefox's inferred names of nested
# anonymous functions built from them ("Ye/t<").
_MANGLED = re.compile(r"[A-Za-z_$][\w$]?(?:/[A-Za-z_$][\w$]?)*<*")
_ALIAS = re.compile(r"(.*) \[as ([\w$]+)\]")
_CALL_PREFIXES = ("new ", "async ", "async*")
_SEPARATED = re.compile(r"([.\-_~])")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
# Vite/Rollup (base64url) and esbuild (base32) append "-" + 8 hash characters.
_SHORT_HASH_TAIL = re.compile(r"^(.+?)[-.]([A-Za-z0-9_-]{8})$")


def is_bundle(abs_path: str | None, filename: str | None) -> bool:
    """A URL (the browser loaded it) or a JavaScript bundle file."""
    path = abs_path or filename or ""
    if path.startswith(("http:", "https:", "file:", "blob:", "applewebdata:", "app:")):
        return True
    return strip_query(path).lower().endswith(_BUNDLE_SUFFIXES)


def strip_query(path: str) -> str:
    return path.split("?", 1)[0].split("#", 1)[0]


def is_mangled(name: str) -> bool:
    return _MANGLED.fullmatch(name) is not None


def mangled_function(func: str) -> bool:
    """Whether a raw JavaScript function name is a minifier's.

    Chrome's `Object.t [as onClick]` counts as mangled too: other browsers
    print only `t`, and the frame must hash alike in all of them.
    """
    found = _ALIAS.fullmatch(func)
    if found:
        func = found.group(1)
    for prefix in _CALL_PREFIXES:
        func = func.removeprefix(prefix)
    return is_mangled(func.rsplit(".", 1)[-1])


def _is_build_token(token: str) -> bool:
    if token.isdigit():  # webpack chunk ids, version numbers
        return True
    if len(token) < 5 or not _HEX.fullmatch(token):
        return False
    # Long hex runs are hashes; shorter ones need digits and letters ("facade" is a word).
    return len(token) >= 16 or any(c.isdigit() for c in token)


def _is_short_hash(tail: str) -> bool:
    """Whether 8 base64url/base32 characters are a hash rather than a word."""
    if any(c.isdigit() for c in tail):
        return True
    upper = [c.isupper() for c in tail]
    if any(upper) and ("-" in tail or "_" in tail):
        return True
    return any(a and b for a, b in itertools.pairwise(upper))


def strip_build_noise(basename: str) -> str:
    """`main.3f2a1b9c.js` -> `main.js`: hashes, chunk ids and query removed."""
    name = strip_query(basename)
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    found = _SHORT_HASH_TAIL.match(stem)
    if found and _is_short_hash(found.group(2)):
        stem = found.group(1)
    parts = _SEPARATED.split(stem)
    kept: list[str] = []
    # parts alternate token, separator, token...: keep a token with the
    # separator that preceded it.
    for index in range(0, len(parts), 2):
        token = parts[index]
        if not token or _is_build_token(token):
            continue
        if kept:
            kept.append(parts[index - 1])
        kept.append(token)
    stem = "".join(kept) or "<chunk>"
    return f"{stem}.{extension}" if extension else stem


# --- the exception value of a stack made only of minified frames -------------

# The same error as each browser words it -> Chrome's current wording.
_BROWSER_WORDINGS = (
    # Firefox: can't access property "total", e is undefined
    (
        re.compile(r"""^can't access property "([^"]+)",? .+ is (undefined|null)$"""),
        r"Cannot read properties of \2 (reading '\1')",
    ),
    # Safari: undefined is not an object (evaluating 'e.total')
    (
        re.compile(r"^(undefined|null) is not an object \(evaluating '[^']*?\.([\w$]+)'\)$"),
        r"Cannot read properties of \1 (reading '\2')",
    ),
    # Chrome before 91: Cannot read property 'total' of undefined
    (
        re.compile(r"^Cannot read property '([^']+)' of (undefined|null)$"),
        r"Cannot read properties of \2 (reading '\1')",
    ),
    # Safari: t is not a function. (In 't(e)', 't' is undefined)
    (re.compile(r"^(.+ is not a function)\. \(In '.*\)$", re.DOTALL), r"\1"),
)
_STOPWORDS = r"(?!(?:it|It|is|an|as|at|by|if|in|of|on|or|to)\b)"
# A mangled variable where engines print one: "e.map is not a function",
# "t is not a function", "e is undefined", "of 'e' as it is undefined".
# Not "x is not defined": globals ($, ga, _) keep their names.
_MANGLED_REFERENCE = re.compile(
    rf"(?<![\w$.'\"<]){_STOPWORDS}[A-Za-z_$][\w$]?"
    r"(?=\.[A-Za-z_$]| is (?:not (?:a function|iterable|a constructor)|undefined|null)\b)"
    r"|(?:(?<=of ')|(?<=destructure ')|(?<=access ')|(?<=declaration '))[A-Za-z_$][\w$]?(?=')"
)
_VALUE_CACHE: dict[str, str] = {}
_VALUE_CACHE_MAX = 16_384


def weak_stack_value(value: str) -> str:
    """The value as it counts next to a stack of only minified frames."""
    cached = _VALUE_CACHE.get(value)
    if cached is None:
        text = value.strip()
        for pattern, replacement in _BROWSER_WORDINGS:
            text = pattern.sub(replacement, text)
        text = _MANGLED_REFERENCE.sub("<mangled>", text)
        cached = normalize_message(text)
        if len(_VALUE_CACHE) >= _VALUE_CACHE_MAX:
            _VALUE_CACHE.clear()
        _VALUE_CACHE[value] = cached
    return cached
