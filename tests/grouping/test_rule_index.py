"""The rule index finds exactly the rules the straightforward evaluation finds."""

from __future__ import annotations

import random

import pytest

from workers.grouping.enhancers import Enhancements
from workers.grouping.stacktrace_rules import MatchFrame, parse_stacktrace_rules
from workers.grouping.versions import get_version

PROJECT_RULES = """
stack.module:vendor.* -app
stack.module:!app.* -group
function:handle_* +group
function:*_request family:other -group
path:**/node_modules/** -app
path:*/src/app/*.js +app
stack.abs_path:**/site-packages/** -app
package:/usr/lib/** -app
package:!**/myapp* -group
family:native function:std::* -group
family:javascript,native module:react-dom* -app
function:literal.name -group
module:exact.module ^-group
"""

MODULES = [
    *("vendor.http", "vendor", "app.api", "app", "exact.module", "react-dom/client", None),
    *("java.lang.Thread", "android.os.Looper", "kotlinx.coroutines.DispatchedTask"),
]
FUNCTIONS = [
    *("handle_get", "do_request", "std::panic", "literal.name", "main", "", None),
    *("abort", "std::__1::__function::__func<T>::operator()", "art_quick_invoke_stub"),
    *("sentry_capture_event", "sentry_core::api::capture_error", "Foo.cold.1", "run", "<unknown>"),
    *("__58-[NSURLSession dataTaskWithRequest:]_block_invoke", "operator new", "std::"),
]
PATHS = [
    "org-dartlang-sdk:///dart-sdk/lib/async/zone.dart",
    "dart:async/zone.dart",
    "/srv/app/node_modules/lodash/index.js",
    "src/app/main.js",
    "/home/u/src/app/a.js",
    "/venv/lib/python3.11/site-packages/requests/api.py",
    "app/views.py",
    None,
]
PACKAGES = [
    *("/usr/lib/libc.so", "/opt/myapp/bin/myapp", "/usr/lib64/x.so", None, "libvendor.so"),
    *("/vendor/lib64/egl/libGLESv2_adreno.so", "libGLESv2.so", "c:\\windows\\system32\\ntdll.dll"),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_index_matches_every_rule_tried_one_by_one(seed, version):
    retry = get_version(version).behaviour.package_retries_leading_slash
    rules = get_version(version).enhancements + PROJECT_RULES
    enhancements = Enhancements(
        parse_stacktrace_rules(rules, package_retries_leading_slash=retry), package_retry=retry
    )
    rng = random.Random(seed)
    matched_any = 0
    for _ in range(3_000):
        frame = MatchFrame(
            rng.choice(["native", "javascript", "other"]),
            rng.choice(FUNCTIONS),
            rng.choice(MODULES),
            rng.choice(PACKAGES),
            rng.choice(PATHS),
            rng.choice([True, False, None]),
            None,
        )
        indexed = enhancements.identity_matches(frame)
        one_by_one = frozenset(
            i
            for i, rule in enumerate(enhancements.rules)
            if all(matcher(frame) for matcher in rule.frame_matchers)
        )
        assert indexed == one_by_one, vars(frame)
        matched_any += bool(indexed)
    # The frames exercise the rules, not only the prefilter's "no match" path.
    assert matched_any > 500
