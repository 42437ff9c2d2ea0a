"""Message parameterization of grouping v2 (v1's is `parameterize`, frozen).

Same frame as Sentry's: the first two non-empty lines ("..." when cut), then
one alternation regex, leftmost match first and, at one position, the earlier
pattern first: email, url, hostname, ip, traceparent, uuid, sha1, md5, date,
duration, git_sha, hex, float, int, quoted_str, bool, uniq_id -> `<name>`.

What v2 does beyond v1:

* date: ISO 8601 / RFC 3339 date-times with `T` or a space, seconds,
  fractions, `Z` or an offset (`2024-02-20T22:16:36.5+02:00`), the compact
  form (`20060102T150405Z`), RFC 850 with an abbreviated weekday
  (`Mon, 02-Jan-06 15:04:05 MST`) and 24-hour clock times with a leading zero
  (`09:05`, `23:59:07.123`).
* ip: IPv6 is matched whole (v1's alternation stopped at the first `::`:
  `2001:db8::1` became `<ip><int>`), compressed, v4-mapped (`::ffff:1.2.3.4`),
  with a zone (`%eth0`) or a prefix length (`/32`, IPv4 too). A candidate
  must start outside a word, be a valid address and, for IPv6, hold a digit:
  `Type::method` and `Cafe::bad` stay text.
* hex without `0x`: 8+ digits of one case with a letter (v1), or 4 to 7
  with a letter and a digit (`9AF8`, `c0ffee1`; 7 lowercase are git_sha).
* bool: `True`/`False` after `=` too (Python's spelling).
* a `-` right after a word character is a separator, not a minus sign:
  `name-908` -> `name-<int>` (v1: `name<int>`).
* uniq_id: a run of 10+ letters and digits that mixes both and switches
  between lower case, upper case and digits at least once every three
  characters (`3MtwBwLkdIwHu7ix28a3tqPa`, nanoids): random ids Sentry's
  unique-id replacement removes, where identifiers such as
  `Base64EncodedString` or `user12345678` stay.
"""

from __future__ import annotations

import ipaddress
import itertools
import re

from workers.grouping.parameterize import message_normalizer

_TLDS = (
    "com|net|org|jp|de|uk|fr|br|it|ru|es|me|gov|pl|ca|au|cn|co|in|nl|edu|info|eu|ch|id|at|kr|"
    "cz|mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|cc|to|no|fi|us|pt|dk|ar|hu|tk|gr|il|news|ro|my|"
    "biz|ie|za|nz|sg|ee|th|io|xyz|pe|bg|hk|rs|lt|link|ph|club|si|site|mobi|by|cat|wiki|la|ga|"
    "xxx|cf|hr|ng|jobs|online|kz|ug|gq|ae|is|lv|pro|fm|tips|ms|sa|app"
)
_OCTET = r"(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H = "[0-9a-fA-F]{1,4}"
_H_RUN = rf"{_H}(?::{_H}){{0,6}}"
_IPV6 = (
    rf"(?:{_H}:){{6}}{_IPV4}"  # full, v4 tail
    rf"|(?:{_H_RUN})?::(?:{_H}:){{0,5}}{_IPV4}"  # compressed, v4 tail (::ffff:1.2.3.4)
    rf"|(?:{_H}:){{7}}{_H}"  # full
    rf"|(?:{_H_RUN})?::(?:{_H_RUN})?"  # compressed
)
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = "(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)"
_WEEKDAY = "(?:Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday)"
_ZONE = r"(?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z])"
_OFFSET = r"(?:Z|[+-][0-2]\d(?::?[0-5]\d)?)"
_FRACTION = r"(?:[.,]\d+)"

_DATE = "|".join(
    [
        # JavaScript's Date.toString(): "Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"
        rf"{_DAY}\s{_MONTH}\s\d{{2}}\s\d{{4}}\s\d{{2}}:\d{{2}}:\d{{2}}\sGMT[+-]\d{{4}}(?:\s\([^)]*\))?",
        # ISO 8601 / RFC 3339 date-times, extended form
        rf"\b\d{{4}}-[01]\d-[0-3]\d[T\s][0-2]\d:[0-5]\d(?::[0-5]\d{_FRACTION}?)?{_OFFSET}?(?!\d)",
        # ISO 8601 basic (compact) form: 20060102T150405Z
        rf"\b\d{{4}}[01]\d[0-3]\dT[0-2]\d[0-5]\d(?:[0-5]\d{_FRACTION}?)?{_OFFSET}?\b",
        # RFC 822, RFC 1123 (numeric zone or name)
        rf"{_DAY},\s\d{{1,2}}\s{_MONTH}\s\d{{2,4}}\s\d{{1,2}}:\d{{1,2}}(?::\d{{1,2}})?\s(?:[-\+][\d]{{2}}[0-5][\d]|{_ZONE})",
        # "Mon Jan 02, 1999", "Jan 02, 1999"
        rf"(?:{_DAY}\s)?{_MONTH}\s[0-3]\d,\s\d{{2,4}}",
        # RFC 850, with the weekday written out or abbreviated
        rf"(?:{_WEEKDAY}|{_DAY}),\s\d{{2}}-{_MONTH}-\d{{2}}\s\d{{2}}:\d{{2}}:\d{{2}}\s{_ZONE}",
        # clock times, 24-hour with or without a leading zero (09:05, 23:59:07.123)
        # or kitchen (3:04PM, 3:04:05 pm)
        rf"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d{_FRACTION}?)?(?:\s?[aApP][Mm])?\b",
        r"\b[1-9]\d?:\d{2}(?::\d{2})?(?:\s?[aApP][Mm])?\b",
        # a plain date, a plain time
        r"\d{4}-[01]\d-[0-3]\d|[0-2]\d:[0-5]\d:[0-5]\d",
        rf"\b(?:{_DAY}\s+)?{_MONTH}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}:\d{{2}}\s+\d{{4}}",
        r"datetime\.datetime\(.*?\)",
    ]
)
# A `-` is a minus sign unless it follows a word character (`name-908`).
_MINUS = r"(?<![\w.])-"

_PATTERNS: list[tuple[str, str]] = [
    ("email", r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*"),
    ("url", r"\b(?:wss?|https?|ftp)://[^\s/$.?#].[^\s]*"),
    ("hostname", rf"\b(?:[a-zA-Z0-9\-]{{1,63}}\.)+?(?:{_TLDS.upper()}|{_TLDS})\b"),
    (
        "ip",
        rf"(?<![\w:.])(?:{_IPV6})(?:%[0-9a-zA-Z]+)?(?:/\d{{1,3}}\b)?(?![\w:])"
        rf"|(?<![\d.]){_IPV4}(?:/\d{{1,2}}\b)?",
    ),
    (
        "traceparent",
        r"\b[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b|\b[0-9a-f]{32}-[0-9a-f]{16}(?:-[01])?\b",
    ),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("sha1", r"\b[0-9a-fA-F]{40}\b"),
    ("md5", r"\b[0-9a-fA-F]{32}\b"),
    ("date", _DATE),
    ("duration", r"\b\d+ms|\d+(?:\.\d+)?s\b"),
    ("git_sha", r"\b(?=[0-9a-f]{0,6}[a-f])(?=[0-9a-f]{0,6}[0-9])[0-9a-f]{7}\b"),
    (
        "hex",
        r"\b0[xX][0-9a-fA-F]+\b"
        r"|\b(?=[0-9]*[a-fA-F])(?:[0-9a-f]{8,128}|[0-9A-F]{8,128})\b"
        r"|\b(?=[a-fA-F]*[0-9])(?=[0-9]*[a-fA-F])(?:[0-9a-f]{4,7}|[0-9A-F]{4,7})\b",
    ),
    ("float", rf"{_MINUS}\d+\.\d+\b|\b\d+\.\d+\b"),
    ("int", rf"{_MINUS}\d+\b|\b\d+\b"),
    ("quoted_str", r"""(?<==)'[^']+'|(?<==)"[^"]+\""""),
    ("bool", r"(?<==)(?:true|false|True|False)\b"),
    (
        "uniq_id",
        r"(?<![a-zA-Z0-9])(?=[a-zA-Z]*[0-9])(?=[0-9]*[a-zA-Z])[a-zA-Z0-9]{10,}(?![a-zA-Z0-9])",
    ),
]

PARAMETERIZATION_REGEX = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _PATTERNS))
# Every pattern needs a digit, "@", ".", ":", "=", or a run of 8 hex letters:
# text without any of them is returned untouched without running the big regex.
_MAY_MATCH = re.compile(r"[0-9@.:=]|[a-fA-F]{8}")
# uniq_id: at least one switch between lower, upper and digit per this many characters.
UNIQ_ID_CHARS_PER_SWITCH = 3


def _char_class(char: str) -> int:
    return 0 if char.isdigit() else 1 if char.islower() else 2


def is_unique_id(token: str) -> bool:
    """Whether a run of letters and digits reads as random rather than as a name."""
    switches = sum(1 for a, b in itertools.pairwise(token) if _char_class(a) != _char_class(b))
    return switches * UNIQ_ID_CHARS_PER_SWITCH >= len(token)


def _is_address(text: str) -> bool:
    address = text.split("%", 1)[0].split("/", 1)[0]
    if ":" in address and not any(char.isdigit() for char in address):
        return False  # "Cafe::bad": a class and a method, not an address
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _placeholder(match: re.Match[str]) -> str:
    name = match.lastgroup
    if name == "ip" and not _is_address(match.group()):
        return match.group()
    if name == "uniq_id" and not is_unique_id(match.group()):
        return match.group()
    return f"<{name}>"


def parameterize(text: str) -> str:
    """Replace ids, numbers, addresses, dates... in `text` by `<kind>` tokens."""
    if not _MAY_MATCH.search(text):
        return text
    return PARAMETERIZATION_REGEX.sub(_placeholder, text)


normalize_message = message_normalizer(parameterize)
