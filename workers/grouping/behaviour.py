"""What a grouping version does beyond its rule text: the switches code reads.

A grouping version (see `versions`) is one object naming its built-in rules
and one `Behaviour`. Every place where two versions differ reads a field of
the behaviour it was given, never a version name, so a new version is a new
object and an old one can never change by accident: v1's fields keep the
values that made its golden files.

Each field names the behaviour, not the version that introduced it; the
docstrings below say what each value means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Behaviour:
    # -- stack-trace rules ------------------------------------------------------
    # True: a rule is matched against every frame first, then its actions are
    # applied (Sentry). False: frames are changed while the rule is still being
    # matched, so a category or in-app flag set on one frame decides whether the
    # rule matches the next one.
    rule_matches_before_applying: bool
    # True: `package:` retries a relative value with a leading "/" as `path:`
    # does, so `**/libx.dylib` matches "libx.dylib" (Sentry's path-like matchers).
    package_retries_leading_slash: bool
    # True: a frame without a function is matched as "<unknown>" (Sentry).
    missing_function_is_unknown: bool
    # True: a frame the SDK did not mark is matched as not in app (`app:no`), as
    # Sentry's enhancer sees it. False: it matches neither `app:yes` nor `app:no`.
    unset_in_app_matches_no: bool

    # -- frames -----------------------------------------------------------------
    # True: a native frame's file basename contributes beside its function
    # (newstyle:2023-01-11). False: it is dropped when a function is known
    # (Sentry's mobile configuration).
    native_filename_with_function: bool
    # True: v1's minified-JavaScript rule (see `minified`): mangled function
    # names ignored, bundle names with hashes removed stand in for them, and a
    # stack of nothing else lets the exception value count.
    minified_javascript: bool
    # True: JavaScript frames also ignore "anonymous", "global code" and
    # "module code" functions and eval'd / `new Function` code in every
    # browser's form. Sentry ignores only its own short list.
    javascript_engine_names: bool

    # -- event shapes -------------------------------------------------------------
    # True: `exception` and `threads` may be one bare object, as Relay accepts
    # them (`{"type": ..., "value": ...}` is one exception).
    singular_interfaces: bool
    # True: Relay's exception normalization before grouping: a top-level
    # `stacktrace` beside exactly one exception becomes that exception's stack
    # trace, an exception with neither type nor value is dropped ("type or
    # value required") and a frame function "?" is no function.
    relay_exception_normalization: bool

    # True: the event's level, logger, environment and transaction are also
    # tags (replacing tags of those names) when fingerprint rules and
    # `{{ tags.X }}` read them, as Sentry sets them before grouping.
    tags_from_event_fields: bool

    # -- exceptions ---------------------------------------------------------------
    # True: an exception group reduced to one distinct top-level exception is
    # hashed from it down its first children (root to leaf), as Sentry does.
    # False: leaf to root.
    exception_group_root_first: bool

    # -- messages -----------------------------------------------------------------
    # Sentry's normalize_message_for_grouping as this version does it.
    normalize_message: Callable[[str], str]
