"""Per-event values: users and words from Faker, ids and numbers from the event's RNG.

Faker is slow (tens of microseconds a call), so it fills pools once per run,
seeded from `--seed`; events draw from the pools. A production user base is
finite too, so the same users recur across events, as they do in real data.

Message templates name their variable parts as `{placeholders}`. The "safe" ones
become `<int>`, `<email>`, `<uuid>`, ... under Sentry's message parameterization,
so a message-only root cause still groups as one issue; the others (names,
products, ...) vary in ways only a stack trace can see past.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from faker import Faker

from relay.write import is_clean

_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "pt_BR", "nl_NL", "ja_JP"]
_POOL_USERS = 3000
_POOL_WORDS = 400
_HOSTS = ("api.stripe.com", "api.adyen.com", "ws.dhl.com", "api.sendgrid.com", "tax.avalara.net")

# Browser share in the traffic, and the family whose error messages each uses.
BROWSER_SHARE = {"chrome": 0.60, "safari": 0.22, "firefox": 0.09, "edge": 0.09}
BROWSER_ENGINE = {"chrome": "chrome", "edge": "chrome", "firefox": "firefox", "safari": "safari"}


@dataclass(frozen=True)
class User:
    id: str
    email: str
    username: str
    ip_address: str


def _user_agents(rng: random.Random) -> dict[str, list[str]]:
    chrome = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0"
    systems = (
        "Windows NT 10.0; Win64; x64",
        "Macintosh; Intel Mac OS X 10_15_7",
        "X11; Linux x86_64",
        "Linux; Android 10; K",
    )
    agents: dict[str, list[str]] = {"chrome": [], "edge": [], "firefox": [], "safari": []}
    for version in range(120, 132):
        for system in systems:
            mobile = " Mobile" if "Android" in system else ""
            base = f"Mozilla/5.0 ({system}) {chrome.format(v=version)}{mobile} Safari/537.36"
            agents["chrome"].append(base)
            if "Windows" in system:
                agents["edge"].append(f"{base} Edg/{version}.0.0.0")
    for version in range(121, 134):
        for system in (
            "Windows NT 10.0; Win64; x64",
            "X11; Linux x86_64",
            "Macintosh; Intel Mac OS X 10.15",
        ):
            agents["firefox"].append(
                f"Mozilla/5.0 ({system}; rv:{version}.0) Gecko/20100101 Firefox/{version}.0"
            )
    webkit = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
    for safari in ("16.6", "17.1", "17.4", "17.6", "18.0", "18.1"):
        agents["safari"].append(
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {webkit} Version/{safari} "
            "Safari/605.1.15"
        )
        ios = safari.replace(".", "_")
        agents["safari"].append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) {webkit} "
            f"Version/{safari} Mobile/15E148 Safari/604.1"
        )
    for values in agents.values():
        rng.shuffle(values)
    return agents


def _public_ip(rng: random.Random) -> str:
    # Faker's multi-locale proxy repeats addresses; a plain draw does not.
    first = rng.choice([23, 31, 46, 62, 77, 81, 88, 91, 104, 142, 151, 176, 185, 203, 212])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _clean(values: list) -> list:
    """Drop values the relay's secret check would flag: events take pool values unchecked."""
    return [v for v in values if is_clean(msgspec.json.encode([v, {v: v}]))]


class Pools:
    """Faker-made values for one run; identical for the same seed."""

    def __init__(self, seed: int) -> None:
        fake = Faker(_LOCALES)
        fake.seed_instance(seed)
        rng = random.Random(f"pools/{seed}")
        self.users = [
            User(
                id=str(rng.randint(1000, 999_999)),
                email=fake.unique.email(),
                username=fake.user_name(),
                ip_address=_public_ip(rng),
            )
            for _ in range(_POOL_USERS)
        ]
        self.names = _clean([fake.name() for _ in range(_POOL_WORDS)])
        self.companies = _clean([fake.company() for _ in range(_POOL_WORDS)])
        self.cities = _clean([fake.city() for _ in range(_POOL_WORDS)])
        self.products = _clean([fake.catch_phrase() for _ in range(_POOL_WORDS)])
        self.words = _clean([fake.word() for _ in range(_POOL_WORDS)])
        self.users = [
            u for u in self.users if len(_clean([u.id, u.email, u.username, u.ip_address])) == 4
        ]
        self.user_agents = {name: _clean(agents) for name, agents in _user_agents(rng).items()}
        self.browsers = list(BROWSER_SHARE)
        self.browser_weights = list(BROWSER_SHARE.values())


def pick(rng: random.Random, items):
    """`rng.choice` without its Python-level bookkeeping (this runs millions of times)."""
    return items[int(rng.random() * len(items))]


def between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint`, fast: an integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# Placeholder -> value; the "safe" ones survive Sentry's message parameterization.
SAFE_FILLERS: dict[str, Callable[[random.Random, Pools], str]] = {
    "id": lambda r, p: str(between(r, 1, 9_999_999)),
    "order_id": lambda r, p: str(between(r, 100_000, 9_999_999)),
    "user_id": lambda r, p: str(between(r, 1000, 999_999)),
    "invoice_id": lambda r, p: f"INV-{between(r, 100_000, 999_999)}",
    "sku": lambda r, p: f"SKU-{between(r, 10_000, 99_999)}",
    "uuid": lambda r, p: _uuid(r),
    "email": lambda r, p: pick(r, p.users).email,
    "ip": lambda r, p: pick(r, p.users).ip_address,
    "url": lambda r, p: f"https://{pick(r, _HOSTS)}/v1/requests/{between(r, 1, 9_999_999)}",
    "amount": lambda r, p: f"{between(r, 1, 2000)}.{between(r, 0, 99):02d}",
    "ms": lambda r, p: str(between(r, 1000, 60_000)),
    "n": lambda r, p: str(between(r, 2, 60)),
    "attempt": lambda r, p: str(between(r, 2, 5)),
    "hex": lambda r, p: f"{r.getrandbits(64):016x}",
    "date": lambda r, p: f"2026-{between(r, 1, 12):02d}-{between(r, 1, 28):02d}",
    "position": lambda r, p: str(between(r, 0, 4000)),
    "pid": lambda r, p: str(between(r, 1000, 65_000)),
}
UNSAFE_FILLERS: dict[str, Callable[[random.Random, Pools], str]] = {
    "name": lambda r, p: pick(r, p.names),
    "company": lambda r, p: pick(r, p.companies),
    "city": lambda r, p: pick(r, p.cities),
    "product": lambda r, p: pick(r, p.products),
    "username": lambda r, p: pick(r, p.users).username,
    "word": lambda r, p: pick(r, p.words),
}
FILLERS = {**SAFE_FILLERS, **UNSAFE_FILLERS}


class Filler(dict):
    """`template.format_map(Filler(rng, pools))`: each placeholder drawn once per event."""

    def __init__(self, rng: random.Random, pools: Pools) -> None:
        super().__init__()
        self.rng = rng
        self.pools = pools

    def __missing__(self, key: str) -> str:
        value = FILLERS[key](self.rng, self.pools)
        self[key] = value
        return value
