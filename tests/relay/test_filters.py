"""Inbound filters on the cases Sentry's documentation describes for each."""

from __future__ import annotations

import msgspec
import pytest

from core.project_config import FilterSettings
from relay.event_view import EventView, read_view
from relay.filters import filter_reason, is_crawler, is_legacy_browser

CHROME_120 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def event(**fields) -> EventView:
    """The event as the relay reads it for its policy."""
    view = read_view(msgspec.json.encode({"platform": "javascript", **fields}))
    assert view is not None
    return view


def with_ua(user_agent: str) -> EventView:
    return event(
        request={"url": "https://shop.example.com/", "headers": [["User-Agent", user_agent]]}
    )


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1)",
    ],
)
def test_web_crawlers_are_recognized(user_agent):
    assert is_crawler(user_agent)
    assert filter_reason(with_ua(user_agent), FilterSettings(web_crawlers=True)) == "web-crawlers"


def test_a_real_browser_is_not_a_crawler():
    assert not is_crawler(CHROME_120)
    assert filter_reason(with_ua(CHROME_120), FilterSettings(web_crawlers=True)) is None


@pytest.mark.parametrize(
    ("user_agent", "legacy"),
    [
        ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", True),
        ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)", True),
        ("Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko", True),
        ("Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16", True),
        (
            "Mozilla/5.0 (Linux; U; Android 2.3.6; en-us; Nexus S Build/GRK39F) AppleWebKit/533.1 "
            "(KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
            True,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_6_8) AppleWebKit/534.59.10 "
            "(KHTML, like Gecko) Version/5.1.9 Safari/534.59.10",
            True,
        ),
        (CHROME_120, False),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
            False,
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", False),
    ],
)
def test_legacy_browsers_are_those_sentry_calls_legacy(user_agent, legacy):
    assert is_legacy_browser(user_agent) is legacy


@pytest.mark.parametrize(
    "exception",
    [
        {"type": "Error", "value": "Extension context invalidated."},
        {"type": "TypeError", "value": "can't access dead object: top.GLOBALS"},
        {"type": "ReferenceError", "value": "Can't find variable: ZiteReader"},
        {
            "type": "TypeError",
            "value": "x is undefined",
            "stacktrace": {
                "frames": [
                    {"abs_path": "https://shop.example.com/app.js", "function": "main"},
                    {
                        "abs_path": "chrome-extension://abcdefghijklmnop/content.js",
                        "function": "run",
                    },
                ]
            },
        },
        {
            "type": "Error",
            "value": "boom",
            "stacktrace": {"frames": [{"abs_path": "moz-extension://1234/inject.js"}]},
        },
    ],
)
def test_browser_extension_errors_are_filtered(exception):
    payload = event(exception={"values": [exception]})
    assert filter_reason(payload, FilterSettings(browser_extensions=True)) == "browser-extensions"


@pytest.mark.parametrize(
    "source",
    [
        "Safari-Web-Extension://ABC/inject.js",
        "https://connect.facebook.net/en_US/all.js",
        "https://static.woopra.com/js/woopra.js",
        "https://cdn.example.com/vendor/plugin.js",
        "libraryIn /Applications/Foo.app/",
        "   ",
    ],
)
def test_the_crashing_frame_from_an_extension_source_is_filtered(source):
    frames = [{"abs_path": "https://shop.example.com/app.js"}, {"abs_path": source}]
    payload = event(exception={"values": [{"type": "Error", "stacktrace": {"frames": frames}}]})
    assert filter_reason(payload, FilterSettings(browser_extensions=True)) == "browser-extensions"


def test_an_extension_frame_that_did_not_crash_is_not_filtered():
    frames = [{"abs_path": "chrome-extension://abc/x.js"}, {"abs_path": "https://shop/app.js"}]
    payload = event(exception={"values": [{"type": "Error", "stacktrace": {"frames": frames}}]})
    assert filter_reason(payload, FilterSettings(browser_extensions=True)) is None


def test_an_app_error_is_not_a_browser_extension_error():
    payload = event(
        exception={
            "values": [
                {
                    "type": "TypeError",
                    "value": "Cannot read properties of undefined (reading 'total')",
                    "stacktrace": {
                        "frames": [{"abs_path": "https://shop.example.com/static/app.js"}]
                    },
                }
            ]
        }
    )
    assert filter_reason(payload, FilterSettings(browser_extensions=True)) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"request": {"url": "http://localhost:3000/checkout"}},
        {"request": {"url": "http://127.0.0.1:8000/"}},
        {"user": {"ip_address": "127.0.0.1"}},
        {"user": {"ip_address": "::1"}},
    ],
)
def test_localhost_events_are_filtered(fields):
    assert filter_reason(event(**fields), FilterSettings(localhost=True)) == "localhost"


def test_a_remote_user_is_not_localhost():
    payload = event(request={"url": "https://shop.example.com/"}, user={"ip_address": "8.8.8.8"})
    assert filter_reason(payload, FilterSettings(localhost=True)) is None


def test_release_and_error_message_globs_and_ip_ranges():
    settings = FilterSettings(
        releases=["shop@1.0.*", "*-beta"],
        error_messages=["*ChunkLoadError*", "TypeError: Failed to fetch"],
        client_ips=["10.0.0.0/8", "2001:db8::/32"],
    )
    assert filter_reason(event(release="shop@1.0.3"), settings) == "release-version"
    assert filter_reason(event(release="shop@2.0-beta"), settings) == "release-version"
    assert filter_reason(event(release="shop@1.1.0"), settings) is None
    chunk = event(exception={"values": [{"type": "ChunkLoadError", "value": "Loading chunk 7"}]})
    assert filter_reason(chunk, settings) == "error-message"
    fetch = event(exception={"values": [{"type": "TypeError", "value": "Failed to fetch"}]})
    assert filter_reason(fetch, settings) == "error-message"
    assert filter_reason(event(logentry={"formatted": "Failed to fetch"}), settings) is None
    assert filter_reason(event(user={"ip_address": "10.1.2.3"}), settings) == "ip-address"
    assert filter_reason(event(), settings, client_ip="2001:db8::7") == "ip-address"
    assert filter_reason(event(user={"ip_address": "192.168.0.1"}), settings) is None


def test_disabled_filters_filter_nothing():
    payload = with_ua("Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert filter_reason(payload, FilterSettings()) is None


def test_a_single_exception_object_is_filtered_like_a_list_of_one():
    settings = FilterSettings(error_messages=["*ChunkLoadError*"])
    bare = event(exception={"type": "ChunkLoadError", "value": "Loading chunk 7 failed."})
    assert [(e.type, e.value) for e in bare.exceptions()] == [
        ("ChunkLoadError", "Loading chunk 7 failed.")
    ]
    assert filter_reason(bare, settings) == "error-message"
    assert event(exception={}).exceptions() == []
