"""Security reports group like Sentry's csp, hpkp, expect-staple and expect-ct strategies.

Events come from the relay's own conversion of browser reports, so the test
reads exactly what the workers will store.
"""

from __future__ import annotations

import json

import pytest

from relay.security import security_events
from tests.grouping.factories import contributing, expected_hash, group, hint_of
from workers.grouping.security import normalized_blocked_uri

POLICY = "default-src 'self'; script-src 'self' https://cdn.shop.example; report-uri /csp"


def csp_report(
    blocked: str,
    *,
    page: str = "https://shop.example/cart",
    directive: str = "script-src-elem",
    violated: str | None = None,
    effective: bool = True,
) -> dict:
    """A CSP violation as a browser posts it (Chrome style; Firefox omits effective-directive)."""
    report = {
        "document-uri": page,
        "referrer": "https://shop.example/",
        "violated-directive": violated or directive,
        "original-policy": POLICY,
        "disposition": "enforce",
        "blocked-uri": blocked,
        "status-code": 200,
        "script-sample": "",
    }
    if effective:
        report["effective-directive"] = directive
    body = json.dumps({"csp-report": report}).encode()
    [event] = security_events(body, user_agent="Mozilla/5.0", query={})
    return event


def test_one_directive_and_host_from_different_pages_is_one_issue():
    cart = group(csp_report("https://evil.example/x.js", page="https://shop.example/cart"))
    checkout = group(
        csp_report("https://evil.example/y.js?v=2", page="https://shop.example/checkout?id=7")
    )
    assert cart.hash == checkout.hash == expected_hash("script-src-elem", "evil.example")
    assert cart.variant == "default"
    assert cart.title == "Blocked 'script' from 'evil.example'"


def test_different_hosts_or_directives_are_different_issues():
    evil = group(csp_report("https://evil.example/x.js"))
    other = group(csp_report("https://ads.other.example/x.js"))
    image = group(csp_report("https://evil.example/pixel.gif", directive="img-src"))
    assert len({evil.hash, other.hash, image.hash}) == 3
    assert image.title == "Blocked 'image' from 'evil.example'"


def test_firefox_reports_without_effective_directive_use_the_violated_one():
    chrome = group(csp_report("https://evil.example/x.js", directive="script-src"))
    firefox = group(
        csp_report(
            "https://evil.example/x.js",
            directive="script-src",
            violated="script-src 'self' https://cdn.shop.example",
            effective=False,
        )
    )
    assert chrome.hash == firefox.hash


@pytest.mark.parametrize(
    ("blocked", "normalized"),
    [
        ("", "'self'"),
        ("self", "'self'"),
        ("'self'", "'self'"),
        ("data", "data:"),
        ("data:image/png;base64,iVBORw0KGgo=", "data:"),
        ("blob:https://shop.example/4f1c", "blob:"),
        ("inline", "inline:"),  # Chrome's CSP3 keyword, as Sentry normalizes it
        ("eval", "eval:"),
        ("https://evil.example:8443/a.js", "evil.example:8443"),
        ("chrome-extension://abcdefgh/inject.js", "chrome-extension://abcdefgh"),
        ("wss://push.example/socket", "wss://push.example"),
    ],
)
def test_blocked_uris_are_normalized_like_sentry(blocked, normalized):
    assert normalized_blocked_uri(blocked) == normalized


def test_local_inline_script_violations_group_by_the_violation():
    def report(page):
        return csp_report(
            "", page=page, directive="script-src", violated="script-src 'self' 'unsafe-eval'"
        )

    first = group(report("https://shop.example/a"), explain=True)
    second = group(report("https://shop.example/b"))
    assert first.hash == second.hash == expected_hash("script-src", "'unsafe-eval'")
    assert hint_of(first, "uri") == [(False, "violation takes precedence")]
    assert first.title == "Blocked unsafe eval() 'script'"


def test_inline_blocks_from_many_pages_are_one_issue():
    events = [csp_report("inline", page=f"https://shop.example/p/{n}") for n in range(3)]
    assert len({group(event).hash for event in events}) == 1


def test_the_csp_strategy_wins_over_the_message():
    result = group(csp_report("https://evil.example/x.js"), explain=True)
    assert contributing(result) == [("salt", "script-src-elem"), ("uri", "evil.example")]
    assert hint_of(result, "message", "default") == [
        (False, "ignored because security report takes precedence")
    ]


def expect_ct_report(hostname: str) -> dict:
    body = {
        "expect-ct-report": {
            "date-time": "2024-05-29T10:00:00Z",
            "hostname": hostname,
            "port": 443,
            "effective-expiration-date": "2024-06-29T10:00:00Z",
            "served-certificate-chain": ["-----BEGIN CERTIFICATE-----..."],
            "validated-certificate-chain": [],
            "scts": [],
        }
    }
    [event] = security_events(json.dumps(body).encode(), user_agent=None, query={})
    return event


def hpkp_report(hostname: str, port: int = 443) -> dict:
    body = {
        "date-time": "2024-05-29T10:00:00Z",
        "hostname": hostname,
        "port": port,
        "effective-expiration-date": "2024-06-29T10:00:00Z",
        "include-subdomains": False,
        "noted-hostname": hostname,
        "served-certificate-chain": [],
        "validated-certificate-chain": [],
        "known-pins": ['pin-sha256="d6qzRu9zOECb90Uez27xWltNsj0e1Md7GkYYkVoZWmM="'],
    }
    [event] = security_events(json.dumps(body).encode(), user_agent=None, query={})
    return event


def expect_staple_report(hostname: str) -> dict:
    body = {
        "expect-staple-report": {
            "date-time": "2024-05-29T10:00:00Z",
            "hostname": hostname,
            "port": 443,
            "response-status": "ERROR_RESPONSE",
        }
    }
    [event] = security_events(json.dumps(body).encode(), user_agent=None, query={})
    return event


@pytest.mark.parametrize(
    ("make", "salt", "title"),
    [
        (expect_ct_report, "expect-ct", "Expect-CT failed for 'shop.example'"),
        (hpkp_report, "hpkp", "Public key pinning validation failed for 'shop.example'"),
        (expect_staple_report, "expect-staple", "Expect-Staple failed for 'shop.example'"),
    ],
)
def test_certificate_reports_group_by_hostname(make, salt, title):
    first, second = group(make("shop.example")), group(make("shop.example"))
    other = group(make("api.shop.example"))
    assert first.hash == second.hash == expected_hash(salt, "shop.example")
    assert other.hash != first.hash
    assert first.title == title


def test_report_kinds_for_one_host_are_different_issues():
    hashes = {
        group(make("shop.example")).hash
        for make in (expect_ct_report, hpkp_report, expect_staple_report)
    }
    assert len(hashes) == 3
