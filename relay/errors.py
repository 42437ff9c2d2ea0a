"""The relay's error tree; `app.py` turns each into the response a Sentry SDK expects.

RelayError                       any client-visible failure, with .status and .detail
├── BadRequest          400      malformed input (envelope, JSON, encoding, ids)
├── Unauthorized        401      no credentials at all
├── Forbidden           403      unknown, disabled or disagreeing credentials
├── NotFound            404      no such project or release (the upload API)
├── PayloadTooLarge     413      a size limit was exceeded (names the limit)
├── RateLimited         429      a quota is exhausted (carries Retry-After and categories)
└── Unavailable         503      the relay cannot take more right now (spool full)
"""

from __future__ import annotations

import msgspec

# What decoding client JSON may raise: msgspec's own error, or invalid UTF-8 inside a string.
MALFORMED_JSON = (msgspec.DecodeError, UnicodeDecodeError)


class RelayError(Exception):
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(RelayError):
    status = 400


class Unauthorized(RelayError):
    status = 401


class Forbidden(RelayError):
    status = 403


class NotFound(RelayError):
    status = 404


class PayloadTooLarge(RelayError):
    status = 413


class UnsupportedMediaType(RelayError):
    status = 415


class RateLimited(RelayError):
    status = 429

    def __init__(self, detail: str, *, retry_after_s: int, rate_limits_header: str) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
        self.rate_limits_header = rate_limits_header


class Unavailable(RelayError):
    status = 503

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
