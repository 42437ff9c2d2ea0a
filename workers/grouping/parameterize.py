"""Message parameterization: replace event-specific values by placeholders.

Sentry (grouping/parameterization.py) keeps the first two non-empty lines of a
message ("..." appended when cut) and runs ONE alternation regex over them, in
this order: email, url, hostname, ip, traceparent, uuid, sha1, md5, date,
duration, git_sha, hex, float, int, quoted_str, bool; every match becomes
`<name>`. The order matters: the leftmost match wins and, at one position, the
earlier pattern wins. Later additions to Sentry's list (traceparent, git_sha,
hex ids without `0x`) are included because Sentry applies them to every
grouping config; decimal numbers of any length stay `<int>` (see "hex").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_TLDS = (
    "com|net|org|jp|de|uk|fr|br|it|ru|es|me|gov|pl|ca|au|cn|co|in|nl|edu|info|eu|ch|id|at|kr|"
    "cz|mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|cc|to|no|fi|us|pt|dk|ar|hu|tk|gr|il|news|ro|my|"
    "biz|ie|za|nz|sg|ee|th|io|xyz|pe|bg|hk|rs|lt|link|ph|club|si|site|mobi|by|cat|wiki|la|ga|"
    "xxx|cf|hr|ng|jobs|online|kz|ug|gq|ae|is|lv|pro|fm|tips|ms|sa|app"
)
_OCTET = r"(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
_IPV4 = rf"(?:{_OCTET}\.){{3,3}}{_OCTET}"
_H = "[0-9a-fA-F]{1,4}"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = "(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)"
_ZONE = r"(?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z])"

_PATTERNS: list[tuple[str, str]] = [
    ("email", r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*"),
    ("url", r"\b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*"),
    ("hostname", rf"\b(?:[a-zA-Z0-9\-]{{1,63}}\.)+?(?:{_TLDS.upper()}|{_TLDS})\b"),
    (
        "ip",
        rf"(?:{_H}:){{7,7}}{_H}|(?:{_H}:){{1,7}}:|(?:{_H}:){{1,6}}:{_H}|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
        rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}"
        rf"|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}|{_H}:(?:(?::{_H}){{1,6}})|:(?:(?::{_H}){{1,7}}|:)"
        rf"|fe80:(?::[0-9a-fA-F]{{0,4}}){{0,4}}%[0-9a-zA-Z]{{1,}}"
        rf"|::(?:ffff(?::0{{1,4}}){{0,1}}:){{0,1}}{_IPV4}|(?:{_H}:){{1,4}}:{_IPV4}|{_IPV4}",
    ),
    (
        "traceparent",
        r"\b[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b|\b[0-9a-f]{32}-[0-9a-f]{16}(?:-[01])?\b",
    ),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("sha1", r"\b[0-9a-fA-F]{40}\b"),
    ("md5", r"\b[0-9a-fA-F]{32}\b"),
    (
        "date",
        # JavaScript's Date.toString(): "Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"
        rf"{_DAY}\s{_MONTH}\s\d{{2}}\s\d{{4}}\s\d{{2}}:\d{{2}}:\d{{2}}\sGMT[+-]\d{{4}}(?:\s\([^)]*\))?"
        # RFC822, RFC1123, RFC1123Z
        rf"|{_DAY},\s\d{{1,2}}\s{_MONTH}\s\d{{2,4}}\s\d{{1,2}}:\d{{1,2}}(?::\d{{1,2}})?\s(?:[-\+][\d]{{2}}[0-5][\d]|{_ZONE})"
        # "Mon Jan 02, 1999", "Jan 02, 1999"
        rf"|(?:{_DAY}\s)?{_MONTH}\s[0-3]\d,\s\d{{2,4}}"
        # RFC850
        rf"|(?:Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday),\s\d{{2}}-{_MONTH}-\d{{2}}\s\d{{2}}:\d{{2}}:\d{{2}}\s{_ZONE}"
        # RFC3339, RFC3339Nano
        r"|\d{4}-?[01]\d-?[0-3]\dT[0-2]\d:?[0-5]\d:?[0-5]\d\.\d+(?:[+-][0-2]\d:[0-5]\d|Z)"
        # ISO datetime, kitchen time, date, time
        r"|\d{4}-[01]\d-[0-3]\d\s[0-2]\d:[0-5]\d:[0-5]\d"
        r"|\b[1-9]\d?:\d{2}(?::\d{2})?(?:\s?[aApP][Mm])?\b"
        r"|\d{4}-[01]\d-[0-3]\d|[0-2]\d:[0-5]\d:[0-5]\d"
        r"|\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d(?::[0-5]\d)?(?:\.\d+)?(?:[+-][0-2]\d:[0-5]\d|Z)"
        rf"|\b(?:{_DAY}\s+)?{_MONTH}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}:\d{{2}}\s+\d{{4}}"
        r"|datetime\.datetime\(.*?\)",
    ),
    ("duration", r"\b\d+ms|\d+(?:\.\d+)?s\b"),
    ("git_sha", r"\b(?=[0-9a-f]{0,6}[a-f])(?=[0-9a-f]{0,6}[0-9])[0-9a-f]{7}\b"),
    # Without 0x: 8+ hex digits of one case with at least one letter. Sentry now
    # also turns runs of 8+ decimal digits into <hex>; we keep every decimal
    # number <int> so an id growing from 7 to 8 digits stays in its issue.
    (
        "hex",
        r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9]*[a-fA-F])(?:[0-9a-f]{8,128}|[0-9A-F]{8,128})\b",
    ),
    ("float", r"-\d+\.\d+\b|\b\d+\.\d+\b"),
    ("int", r"-\d+\b|\b\d+\b"),
    ("quoted_str", r"""(?<==)'[^']+'|(?<==)"[^"]+\""""),
    ("bool", r"(?<==)true|(?<==)false"),
]

PARAMETERIZATION_REGEX = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _PATTERNS))
# Every pattern needs a digit, "@", ".", ":", "=", or a run of 8 hex letters:
# text without any of them is returned untouched without running the big regex.
_MAY_MATCH = re.compile(r"[0-9@.:=]|[a-fA-F]{8}")
_CACHE_MAX = 65536


def _placeholder(match: re.Match[str]) -> str:
    name = match.lastgroup
    if name == "ip" and not _is_valid_ip(match.group()):
        # Sentry's IP validity fallback: "Foo::bar" or "12:30:" are not addresses.
        return match.group()
    return f"<{name}>"


def _is_valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def trim_to_two_lines(message: str) -> str:
    """The first two non-empty lines; "..." marks a cut (Sentry's behaviour)."""
    if "\n" not in message:
        return message
    lines = [line for line in message.split("\n") if line.strip()][:2]
    trimmed = "\n".join(lines)
    return trimmed + "..." if trimmed != message else trimmed


def parameterize(text: str) -> str:
    """Replace ids, numbers, addresses, dates... in `text` by `<kind>` tokens."""
    if not _MAY_MATCH.search(text):
        return text
    return PARAMETERIZATION_REGEX.sub(_placeholder, text)


def message_normalizer(parameterize_text: Callable[[str], str]) -> Callable[[str], str]:
    """Sentry's normalize_message_for_grouping over one parameterizer (each grouping
    version has its own): two lines, then parameterized, memoized per message."""
    cache: dict[str, str] = {}

    def normalize_message(message: str) -> str:
        cached = cache.get(message)
        if cached is None:
            cached = parameterize_text(trim_to_two_lines(message))
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[message] = cached
        return cached

    return normalize_message


normalize_message = message_normalizer(parameterize)
