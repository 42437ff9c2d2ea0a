"""Browser security reports (CSP, Expect-CT, HPKP, Expect-Staple, Reporting API) -> events.

Browsers post these to `/api/<project>/security/` (or `/csp-report/`) with the key in
`?sentry_key=`. Like Sentry, each report becomes an event of type `csp`, `expectct`,
`hpkp` or `expectstaple` with a readable message ("Blocked 'script' from 'evil.com'")
and the report's fields kept under the interface of the same name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec

from relay.errors import MALFORMED_JSON, BadRequest

SECURITY_CONTENT_TYPES = frozenset(
    {
        "application/csp-report",
        "application/json",
        "application/reports+json",
        "application/expect-ct-report",
        "application/expect-ct-report+json",
        "application/expect-staple-report",
        "text/plain",
    }
)
# Sentry's message templates per effective directive.
_CSP_TEMPLATES = {
    "child-src": "Blocked 'child' from '{uri}'",
    "connect-src": "Blocked 'connect' from '{uri}'",
    "font-src": "Blocked 'font' from '{uri}'",
    "form-action": "Blocked 'form' action to '{uri}'",
    "img-src": "Blocked 'image' from '{uri}'",
    "manifest-src": "Blocked 'manifest' from '{uri}'",
    "media-src": "Blocked 'media' from '{uri}'",
    "object-src": "Blocked 'object' from '{uri}'",
    "script-src": "Blocked 'script' from '{uri}'",
    "script-src-elem": "Blocked 'script' from '{uri}'",
    "style-src": "Blocked 'style' from '{uri}'",
    "style-src-elem": "Blocked 'style' from '{uri}'",
    "frame-src": "Blocked 'frame' from '{uri}'",
    "worker-src": "Blocked 'worker' from '{uri}'",
}
_LOCAL_URIS = {"": "'self'", "self": "'self'", "inline": "'unsafe-inline'", "eval": "'unsafe-eval'"}


def _blocked_uri(value: Any) -> str:
    """What was blocked, the way Sentry names it: a host, or a keyword like 'self'."""
    text = str(value or "").strip().strip("'").lower()
    if text in _LOCAL_URIS:
        return _LOCAL_URIS[text]
    if text.startswith(("data:", "blob:", "filesystem:", "about:", "chrome-extension:")):
        return text.split(":", 1)[0] + ":"
    parts = urlsplit(text if "://" in text else f"//{text}")
    return parts.netloc or text


def _csp_event(report: dict[str, Any]) -> dict[str, Any]:
    def field(*names: str) -> Any:
        for name in names:
            if report.get(name) not in (None, ""):
                return report[name]
        return None

    directive = str(field("effective-directive", "effectiveDirective", "violated-directive") or "")
    directive = directive.split(" ", 1)[0]
    uri = _blocked_uri(field("blocked-uri", "blockedURL"))
    if uri == "'unsafe-inline'":
        message = f"Blocked unsafe inline '{directive}'"
    elif uri == "'unsafe-eval'":
        message = f"Blocked unsafe eval() '{directive}'"
    else:
        message = _CSP_TEMPLATES.get(directive, "Blocked '{directive}' from '{uri}'").format(
            uri=uri, directive=directive
        )
    document_uri = field("document-uri", "documentURL")
    return {
        "type": "csp",
        "logger": "csp",
        "culprit": directive,
        "logentry": {"formatted": message},
        "csp": {
            "document_uri": document_uri,
            "effective_directive": directive,
            "violated_directive": field("violated-directive"),
            "blocked_uri": field("blocked-uri", "blockedURL"),
            "original_policy": field("original-policy", "originalPolicy"),
            "referrer": field("referrer"),
            "status_code": field("status-code", "statusCode"),
            "source_file": field("source-file", "sourceFile"),
            "line_number": field("line-number", "lineNumber"),
            "column_number": field("column-number", "columnNumber"),
            "script_sample": field("script-sample", "sample"),
            "disposition": field("disposition"),
        },
        "request": {"url": document_uri},
        "tags": {"effective-directive": directive, "blocked-uri": uri},
    }


def _expect_event(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    hostname = report.get("hostname") or ""
    names = {"expectct": "Expect-CT", "hpkp": "HPKP", "expectstaple": "Expect-Staple"}
    return {
        "type": kind,
        "logger": kind,
        "culprit": hostname,
        "logentry": {"formatted": f"{names[kind]} failed for '{hostname}'"},
        kind: report,
        "tags": {"hostname": hostname},
    }


def _report_events(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, list):
        # Reporting API (`application/reports+json`): a list of typed reports.
        events = []
        for entry in document:
            if isinstance(entry, dict) and entry.get("type") == "csp-violation":
                events.append(_csp_event(entry.get("body") or {}))
        return events
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("csp-report"), dict):
        return [_csp_event(document["csp-report"])]
    if isinstance(document.get("expect-ct-report"), dict):
        return [_expect_event("expectct", document["expect-ct-report"])]
    if isinstance(document.get("expect-staple-report"), dict):
        return [_expect_event("expectstaple", document["expect-staple-report"])]
    if "known-pins" in document:
        return [_expect_event("hpkp", document)]
    return []


def security_events(body: bytes, *, user_agent: str | None, query: dict[str, str]) -> list[dict]:
    """The events a security report body stands for; BadRequest if it is none we know."""
    try:
        document = msgspec.json.decode(body)
    except MALFORMED_JSON as e:
        raise BadRequest(f"security report is not valid JSON: {e}") from e
    events = _report_events(document)
    if not events:
        raise BadRequest("not a security report (csp-report, expect-ct, hpkp or reports+json)")
    for event in events:
        event["platform"] = "javascript"
        if user_agent:
            event.setdefault("request", {})["headers"] = [["User-Agent", user_agent]]
        if query.get("sentry_release"):
            event["release"] = query["sentry_release"]
        if query.get("sentry_environment"):
            event["environment"] = query["sentry_environment"]
    return events
