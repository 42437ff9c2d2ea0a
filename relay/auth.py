"""Who is sending: the public key, from every place a Sentry SDK may put it.

Accepted, as Sentry does: `X-Sentry-Auth: Sentry sentry_key=..., sentry_version=7, ...`,
`Authorization: Sentry ...` (or `DSN <dsn>`), `sentry_key`/`sentry_version` query
parameters, and the envelope header `dsn`. Several forms may be present as long as
they name the same key; credentials that disagree are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec

from relay.errors import Forbidden, Unauthorized

_PUBLIC_KEY = re.compile(r"^[0-9a-f]{32}$")


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str
    client: str | None = None
    version: str | None = None


def parse_auth_header(value: str) -> dict[str, str]:
    """`Sentry sentry_key=abc, sentry_version=7` -> {"sentry_key": "abc", ...}."""
    text = value.strip()
    if text[:6].lower() == "sentry":
        text = text[6:]
    pairs: dict[str, str] = {}
    for part in text.split(","):
        name, sep, content = part.strip().partition("=")
        if sep:
            pairs[name.strip().lower()] = content.strip().strip('"')
    return pairs


def key_from_dsn(dsn: str) -> str | None:
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return None
    return parts.username or None


def _candidates(
    headers: Mapping[str, str], query: Mapping[str, str], envelope_dsn: str | None
) -> list[tuple[str, dict[str, str]]]:
    found: list[tuple[str, dict[str, str]]] = []
    sentry_auth = headers.get("x-sentry-auth")
    if sentry_auth:
        found.append(("X-Sentry-Auth", parse_auth_header(sentry_auth)))
    authorization = headers.get("authorization")
    if authorization:
        scheme = authorization.strip()[:6].lower()
        if scheme == "sentry":
            found.append(("Authorization", parse_auth_header(authorization)))
        elif authorization.strip()[:4].lower() == "dsn ":
            key = key_from_dsn(authorization.strip()[4:].strip())
            found.append(("Authorization", {"sentry_key": key or ""}))
    if "sentry_key" in query:
        found.append(("query", {k: v for k, v in query.items() if k.startswith("sentry_")}))
    if envelope_dsn:
        found.append(("envelope dsn", {"sentry_key": key_from_dsn(envelope_dsn) or ""}))
    return found


def extract_credentials(
    headers: Mapping[str, str], query: Mapping[str, str], envelope_dsn: str | None = None
) -> Credentials:
    """The one public key the request names; 401 if none, 403 if they disagree."""
    candidates = _candidates(headers, query, envelope_dsn)
    keys = {fields.get("sentry_key", "") for _, fields in candidates}
    if not candidates or keys == {""}:
        raise Unauthorized("missing authorization information")
    if len(keys) > 1:
        places = ", ".join(place for place, _ in candidates)
        raise Forbidden(f"conflicting credentials in {places}")
    public_key = keys.pop().lower()
    if not _PUBLIC_KEY.match(public_key):
        raise Unauthorized("invalid public key: expected 32 hexadecimal characters")
    fields = candidates[0][1]
    return Credentials(
        public_key=public_key,
        client=fields.get("sentry_client"),
        version=fields.get("sentry_version"),
    )
