"""Default secret scrubbing, after Sentry's default data scrubbers.

Five rules, each on by default and each switched off per project under
`scrubbing` in the project's configuration (core.project_config.ScrubbingSettings):

    sensitive_keys  values under sensitive keys (Sentry's default list: password,
                    secret, passwd, api_key, apikey, auth, credentials, mysql_pwd,
                    privatekey, private_key, token, plus cookies and authorization
                    headers) become "[Filtered]"
    credit_cards    card numbers in any string: a run of 13-19 digits split by spaces
                    or dashes that passes the Luhn check, or a bare run that also
                    carries a card network's issuer prefix at a length that network
                    issues (so a 13-digit `Date.now()` or a numeric id stays)
    bearer_tokens   `Bearer <token>` and `token <token>`
    private_keys    PEM private key blocks
    url_passwords   the password in `scheme://user:password@host`

A quick scan of the whole event first skips the walk for the common event that
carries none of them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, NamedTuple

from core.project_config import ScrubbingSettings
from relay.literal_scan import LiteralScanner, PatternRuns

FILTERED = "[Filtered]"
# Every rule on: a project that never configured scrubbing.
DEFAULT_SCRUBBING = ScrubbingSettings()

_SENSITIVE_KEY = re.compile(
    r"password|secret|passwd|api_?key|auth|credentials|mysql_pwd|private_?key|token"
    r"|cookie|sessionid|x-api-key|csrf",
    re.IGNORECASE,
)
# Keys whose names contain a sensitive word but hold structure, not secrets.
_SAFE_KEYS = frozenset({"author", "authors", "oauth_version", "author_name"})
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_BEARER = re.compile(r"\b(bearer|token)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE)
_PEM = re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?-----END[A-Z ]*PRIVATE KEY-----", re.DOTALL)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@/\s]+)(@)", re.IGNORECASE)

# The quick scan runs on every event, so it avoids Python's regular expressions over the
# whole text: words are found by a multi-literal scanner (`literal_scan`), and card
# numbers on a copy where every digit is "0", separators "-", the rest "x", so a search
# for a literal run of zeros does the work.
_KEYWORDS = (
    b"password",
    b"passwd",
    b"secret",
    b"apikey",
    b"api_key",
    b"api-key",
    b"auth",
    b"credential",
    b"mysql_pwd",
    b"private",
    b"token",
    b"cookie",
    b"sessionid",
    b"csrf",
    b"bearer",
)
_SHAPES = bytes(
    0x30 if chr(c).isdigit() and c < 128 else 0x2D if c in (0x20, 0x2D) else 0x78
    for c in range(256)
)
# A run of at least 13 digits, single separators allowed between them, taken whole.
_CARD_SHAPE = re.compile(rb"0(?:-?0){12,}")
# The same runs found in the raw bytes in one Hyperscan pass. A regular expression over
# the whole event (the translated copy and `_CARD_SHAPE`) cost 20 us of a 3 KB event's
# ~75 us of processing: an SDK's trace id is hex, and its digits often make a run.
_CARD_RUN = rb"[0-9](?:[ \-]?[0-9]){12,}"
_card_runs = PatternRuns(_CARD_RUN)
_URL_AUTH = re.compile(rb"://[^:/@\s\"]+:[^@/\s\"]+@")
# Parts of an event that are structure, not user data: scanning them wastes time.
_SKIP_TOP_LEVEL = frozenset(
    {"sdk", "debug_meta", "modules", "spans", "measurements", "fingerprint", "release", "dist"}
)
# Identifiers that may hold long digit runs and must never be masked.
_ID_KEYS = frozenset({"event_id", "trace_id", "span_id", "parent_span_id", "timestamp"})


# (first digits low, high, the lengths issued): the issuer prefixes of the card networks,
# after ISO/IEC 7812 and the networks' published IIN ranges.
_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset(range(16, 20))),  # Discover
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("3528", "3589", frozenset(range(16, 20))),  # JCB
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("3095", "3095", frozenset(range(14, 20))),
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(14, 20))),
    ("62", "62", frozenset(range(16, 20))),  # UnionPay
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
    ("5018", "5018", frozenset(range(13, 20))),  # Maestro
    ("5020", "5020", frozenset(range(13, 20))),
    ("5038", "5038", frozenset(range(13, 20))),
    ("5893", "5893", frozenset(range(13, 20))),
    ("6304", "6304", frozenset(range(13, 20))),
    ("6759", "6759", frozenset(range(13, 20))),
    ("6761", "6763", frozenset(range(13, 20))),
)


# 19 digits with a separator between each pair: the longest text `_CARD` matches.
_MAX_CARD_CHARS = 37


def _issued(digits: str) -> bool:
    """Whether some card network issues numbers of this prefix at this length."""
    for low, high, lengths in _ISSUERS:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return True
    return False


def is_card_number(text: str) -> bool:
    """A card number as written: 13-19 digits, Luhn-valid; a bare run (no space or dash)
    must also start with a card network's issuer prefix at a length it issues, since
    bare digit runs are mostly ids and millisecond times."""
    digits = "".join(c for c in text if c.isdigit())
    if not 13 <= len(digits) <= 19 or not _luhn_valid(digits):
        return False
    return len(digits) != len(text) or _issued(digits)


def _luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 else digit
        checksum += doubled - 9 if doubled > 9 else doubled
    return checksum % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    return FILTERED if is_card_number(match.group(0)) else match.group(0)


def _may_hold_card(data: bytes) -> bool:
    return _CARD_SHAPE.search(data.translate(_SHAPES)) is not None


def _previous_significant(raw: bytes, position: int) -> int:
    while position > 0 and raw[position - 1] in b" \t\r\n":
        position -= 1
    return raw[position - 1] if position > 0 else 0


def _run_holds_card(run: str) -> bool:
    """Whether any stretch of this run of digits and separators that the walk's `_CARD`
    could match is a card number: the walk's matches begin at the run's start or after a
    separator and end at its end or before one, so every such stretch is tried."""
    cuts = [i for i, c in enumerate(run) if not c.isdigit()]
    ends = [*cuts, len(run)]
    for start in (0, *(cut + 1 for cut in cuts)):
        for end in ends[bisect_left(ends, start + 13) :]:
            if end - start > _MAX_CARD_CHARS:
                break
            if is_card_number(run[start:end]):
                return True
    return False


def _raw_has_card(raw: bytes, card_runs: PatternRuns = _card_runs) -> bool:
    """A card number inside a JSON string (JSON numbers are ids, not cards)."""
    for start, end in card_runs.runs(raw):
        if _previous_significant(raw, start) in b":,[":
            continue
        if _run_holds_card(raw[start:end].decode("ascii", "replace")):
            return True
    return False


def _in_key(raw: bytes, start: int, end: int) -> bool:
    """Whether raw[start:end] lies inside an object key or the name of a [name, value]
    pair: the string it is in is followed by a colon, or is a pair's first element."""
    close = raw.find(b'"', end)
    if close < 0:
        return False
    after = raw[close + 1 : close + 8].lstrip()
    if after.startswith(b":"):
        return True
    opening = raw.rfind(b'"', 0, start)
    return after.startswith(b",") and _previous_significant(raw, opening) == ord("[")


# Keywords, then what only value checks look for. "bearer" is both a keyword and a sign
# of a bearer token.
_SCAN_LITERALS = (*_KEYWORDS, b"token ", b"private key")
_TOKEN_SPACE = len(_KEYWORDS)
_PRIVATE_KEY = len(_KEYWORDS) + 1
_BEARER_WORD = _KEYWORDS.index(b"bearer")
_scanner = LiteralScanner(_SCAN_LITERALS)


def _scan_words(raw: bytes, scanner: LiteralScanner) -> tuple[bool, bool, bool]:
    """(a keyword in a key, a bearer or token value, a private key) in one pass."""
    found = [False, False, False]

    def on_match(index: int, end: int) -> bool:
        if index < _TOKEN_SPACE:
            if index == _BEARER_WORD:
                found[1] = True
            if not found[0]:
                found[0] = _in_key(raw, end - len(_SCAN_LITERALS[index]), end)
        elif index == _TOKEN_SPACE:
            found[1] = True
        elif index == _PRIVATE_KEY:
            found[2] = True
        return all(found)

    scanner.scan(raw, on_match)
    return found[0], found[1], found[2]


class ScrubPlan(NamedTuple):
    """Which checks an event needs, decided once from its raw bytes."""

    keys: bool
    cards: bool
    bearer: bool
    pem: bool
    url_passwords: bool

    @property
    def values(self) -> bool:
        return self.cards or self.bearer or self.pem or self.url_passwords


def plan_scrub(
    raw: bytes, scanner: LiteralScanner = _scanner, rules: ScrubbingSettings = DEFAULT_SCRUBBING
) -> ScrubPlan | None:
    """None when nothing in the event can be a secret that the project's `rules` mask:
    the common case, decided fast."""
    keys, bearer, pem = _scan_words(raw, scanner)
    plan = ScrubPlan(
        keys=keys and rules.sensitive_keys,
        cards=rules.credit_cards and _raw_has_card(raw),
        bearer=bearer and rules.bearer_tokens,
        pem=pem and rules.private_keys,
        url_passwords=rules.url_passwords and b"@" in raw and _URL_AUTH.search(raw) is not None,
    )
    return plan if plan.keys or plan.values else None


def scrub_string(value: str, plan: ScrubPlan | None = None) -> str:
    if len(value) < 8:
        return value
    if (plan is None or plan.cards) and _may_hold_card(value.encode("utf-8", "replace")):
        value = _CARD.sub(_mask_card, value)
    lowered = value.lower()
    if (plan is None or plan.bearer) and ("bearer" in lowered or "token" in lowered):
        value = _BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", value)
    if (plan is None or plan.pem) and "private key" in lowered:
        value = _PEM.sub(FILTERED, value)
    if (plan is None or plan.url_passwords) and "://" in value and "@" in value:
        value = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{FILTERED}{m.group(3)}", value)
    return value


_key_verdicts: dict[str, bool] = {}


def _is_sensitive_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    verdict = _key_verdicts.get(key)
    if verdict is None:
        verdict = key.lower() not in _SAFE_KEYS and _SENSITIVE_KEY.search(key) is not None
        if len(_key_verdicts) < 100_000:  # keys repeat; a bound keeps odd payloads harmless
            _key_verdicts[key] = verdict
    return verdict


def _scrub(node: Any, plan: ScrubPlan) -> Any:
    if isinstance(node, str):
        return scrub_string(node, plan) if plan.values else node
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None or isinstance(value, bool | int | float) or key in _ID_KEYS:
                continue
            if plan.keys and _is_sensitive_key(key):
                node[key] = FILTERED
            elif isinstance(value, str):
                if plan.values:
                    node[key] = scrub_string(value, plan)
            else:
                _scrub(value, plan)
        return node
    if isinstance(node, list):
        if len(node) == 2 and plan.keys and _is_sensitive_key(node[0]) and isinstance(node[1], str):
            # Header and tag lists come as [name, value] pairs.
            node[1] = FILTERED
            return node
        for index, value in enumerate(node):
            if isinstance(value, str):
                if plan.values:
                    node[index] = scrub_string(value, plan)
            elif isinstance(value, dict | list):
                _scrub(value, plan)
    return node


def scrub_event(
    event: dict[str, Any], raw: bytes | None = None, rules: ScrubbingSettings = DEFAULT_SCRUBBING
) -> bool:
    """Scrub in place by the project's `rules`; returns whether anything could have
    changed. With the raw bytes, only the checks they call for run, and none when nothing
    looks secret."""
    if raw is not None:
        plan = plan_scrub(raw, rules=rules)
    else:
        plan = ScrubPlan(
            rules.sensitive_keys,
            rules.credit_cards,
            rules.bearer_tokens,
            rules.private_keys,
            rules.url_passwords,
        )
    if plan is None or not (plan.keys or plan.values):
        return False
    for key, value in event.items():
        if key in _SKIP_TOP_LEVEL or key in _ID_KEYS or value is None:
            continue
        if isinstance(value, bool | int | float):
            continue
        if plan.keys and _is_sensitive_key(key):
            event[key] = FILTERED
        else:
            event[key] = _scrub(value, plan)
    return True
