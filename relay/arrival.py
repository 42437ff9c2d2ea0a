"""What an ingestion endpoint reads of a request and what it answers, in plain terms.

Two HTTP fronts parse requests (`front.RelayProtocol` for an SDK's envelope and store
posts, Sanic for everything else) and both hand the endpoints an `Arrival` and write the
`Reply` they return, so a request gets the same answer whichever front read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from relay.deps import CORS_HEADERS, RelayDeps
from relay.errors import RateLimited, RelayError, Unavailable


@dataclass(slots=True)
class Arrival:
    deps: RelayDeps
    # Lower-case names; the first value of a repeated header, as Sanic's `get` gives.
    headers: Mapping[str, str]
    # The first value of each query parameter.
    query: dict[str, str]
    body: bytes
    client_ip: str


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    # JSON, or empty (a 201 to a browser's report).
    body: bytes = b""


def json_reply(status: int, document: object, headers: dict[str, str]) -> Reply:
    return Reply(
        status, {**headers, "content-type": "application/json"}, msgspec.json.encode(document)
    )


def internal_error_reply() -> Reply:
    """A bug of ours: a 500 that says no more (the trace goes to the log)."""
    return json_reply(500, {"detail": "internal relay error"}, CORS_HEADERS)


def error_reply(error: RelayError) -> Reply:
    """The status, headers and `{"detail": ...}` body a Sentry SDK expects for `error`."""
    headers = {**CORS_HEADERS, "x-sentry-error": error.detail[:200]}
    if isinstance(error, RateLimited):
        headers["retry-after"] = str(error.retry_after_s)
        headers["x-sentry-rate-limits"] = error.rate_limits_header
    elif isinstance(error, Unavailable):
        headers["retry-after"] = str(error.retry_after_s)
    return json_reply(error.status, {"detail": error.detail}, headers)
