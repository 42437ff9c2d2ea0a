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

MODULES = ["vendor.http", "vendor", "app.api", "app", "exact.module", "react-dom/client", None]
FUNCTIONS = ["handle_get", "do_request", "std::panic", "literal.name", "main", "", None]
PATHS = [
    "/srv/app/node_modules/lodash/index.js",
    "src/app/main.js",
    "/home/u/src/app/a.js",
    "/venv/lib/python3.11/site-packages/requests/api.py",
    "app/views.py",
    None,
]
PACKAGES = ["/usr/lib/libc.so", "/opt/myapp/bin/myapp", "/usr/lib64/x.so", None]


@pytest.mark.parametrize("seed", range(3))
def test_index_matches_every_rule_tried_one_by_one(seed):
    version_rules = get_version("v1").enhancements
    enhancements = Enhancements(
        parse_stacktrace_rules(version_rules) + parse_stacktrace_rules(PROJECT_RULES)
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
