"""Browser security reports: Sentry's csp, hpkp, expect-staple and expect-ct strategies.

They rank between the template (1100) and the message (0): csp 1003, hpkp
1002, expect-staple 1001, expect-ct 1000, each producing the "default"
variant (sentry/grouping/strategies/security.py):

    csp:           [salt: effective directive, violation, uri]
    hpkp etc.:     [salt: "hpkp" / "expect-staple" / "expect-ct", hostname]

A CSP report groups by its directive and the blocked URI's normalized form
(Sentry's Csp interface): "", "self" and "'self'" are `'self'`; a bare scheme
("data", "blob", Chrome's "inline" and "eval") becomes `data:`, `inline:`...;
an http(s) URL becomes its host (with port); another URL its scheme and host
(`chrome-extension://abc`). A local script-src violation whose violated
directive allows neither inline nor eval groups by `'unsafe-inline'` /
`'unsafe-eval'` instead of the URI. So one directive and host is one issue,
whatever page reported it. Titles are the messages Relay writes.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from workers.grouping.components import Component
from workers.grouping.event import CspReport, HostnameReport
from workers.grouping.normalize import PreparedEvent

LOCAL = "'self'"
_CSP_KINDS = {
    "child-src": "child",
    "connect-src": "connect",
    "font-src": "font",
    "frame-src": "frame",
    "img-src": "image",
    "manifest-src": "manifest",
    "media-src": "media",
    "object-src": "object",
    "script-src": "script",
    "script-src-elem": "script",
    "style-src": "style",
    "style-src-elem": "style",
    "worker-src": "worker",
}
_HOST_REPORTS = {
    # interface: (salt, title prefix), in Sentry's strategy order
    "hpkp": ("hpkp", "Public key pinning validation failed for"),
    "expectstaple": ("expect-staple", "Expect-Staple failed for"),
    "expectct": ("expect-ct", "Expect-CT failed for"),
}


def effective_directive(csp: CspReport) -> str:
    """The effective directive; Firefox sends only the violated one."""
    directive = csp.effective_directive or csp.violated_directive or ""
    return directive.split(" ", 1)[0]


def normalized_blocked_uri(value: str | None) -> str:
    """Sentry's Csp._normalize_uri."""
    value = value or ""
    if value in ("", LOCAL, LOCAL.strip("'")):
        return LOCAL
    if ":" not in value:
        # Browsers report some sources as a bare scheme ("data", "blob").
        scheme, hostname = value, ""
    else:
        try:
            scheme, hostname = urlsplit(value)[:2]
        except ValueError:
            scheme, _, rest = value.partition("://")
            hostname = rest.split("/", 1)[0]
        if scheme in ("http", "https"):
            return hostname
    return urlunsplit((scheme, hostname, "", "", ""))


def local_script_violation(csp: CspReport) -> str | None:
    """'unsafe-inline' or 'unsafe-eval' for a local script-src violation."""
    violated = csp.violated_directive or ""
    if (
        violated
        and effective_directive(csp) == "script-src"
        and normalized_blocked_uri(csp.blocked_uri) == LOCAL
    ):
        if "'unsafe-inline'" in violated:
            return "unsafe-inline"
        if "'unsafe-eval'" in violated:
            return "unsafe-eval"
    return None


def csp_variants(event: PreparedEvent) -> dict[str, Component]:
    csp = event.event.csp
    if csp is None:
        return {}
    uri = normalized_blocked_uri(csp.blocked_uri)
    violation = local_script_violation(csp)
    if violation is not None:
        violation_part = Component("violation", (f"'{violation}'",))
        uri_part = Component("uri", (uri,), False, "violation takes precedence")
    else:
        violation_part = Component("violation", (), False, "not a local script violation")
        uri_part = Component("uri", (uri,))
    salt = Component("salt", (effective_directive(csp),))
    return {"default": Component("csp", (salt, violation_part, uri_part))}


def _host_variants(name: str, report: HostnameReport) -> dict[str, Component]:
    salt, _ = _HOST_REPORTS[name]
    parts = (Component("salt", (salt,)), Component("hostname", (report.hostname or "",)))
    return {"default": Component(salt, parts)}


def security_variants(event: PreparedEvent, ctx: object = None) -> dict[str, Component]:
    """The first report present, in Sentry's order: csp, hpkp, expect-staple, expect-ct.

    One dispatch for the four strategies (scores 1003..1000): an event
    carries one report, and other events pass them with a single check.
    """
    raw = event.event
    if raw.csp is not None:
        return csp_variants(event)
    if raw.hpkp is None and raw.expectct is None and raw.expectstaple is None:
        return {}
    for name in _HOST_REPORTS:
        report = getattr(raw, name)
        if report is not None:
            return _host_variants(name, report)
    return {}


def _csp_title(csp: CspReport) -> str:
    directive = effective_directive(csp)
    kind = _CSP_KINDS.get(directive)
    if (csp.blocked_uri or "") in ("", "self", LOCAL):
        if directive == "script-src":
            violated = csp.violated_directive or ""
            if "'unsafe-inline'" in violated:
                return "Blocked unsafe inline 'script'"
            if "'unsafe-eval'" in violated:
                return "Blocked unsafe eval() 'script'"
            return "Blocked unsafe (eval() or inline) 'script'"
        return f"Blocked inline '{kind or directive}'"
    uri = normalized_blocked_uri(csp.blocked_uri)
    if directive == "form-action":
        return f"Blocked 'form' action to '{uri}'"
    return f"Blocked '{kind or directive}' from '{uri}'"


def security_title(event: PreparedEvent) -> str | None:
    """The title Sentry shows for a security report, or None for other events."""
    raw = event.event
    if raw.csp is None and raw.hpkp is None and raw.expectct is None and raw.expectstaple is None:
        return None
    if raw.csp is not None:
        return _csp_title(raw.csp)
    for name, (_, prefix) in _HOST_REPORTS.items():
        report = getattr(raw, name)
        if report is not None:
            return f"{prefix} '{report.hostname or ''}'"
    return None
