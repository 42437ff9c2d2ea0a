"""The AI package's error tree. Model failures are data, not crashes:

    AIError                      (a WorkerError, workers/errors.py)
    ├── ProviderError            the endpoint did not give a usable response
    │   ├── ProviderTimeout      no answer within the client timeout (after retries)
    │   ├── ProviderRateLimited  429 with a Retry-After longer than we wait in-line
    │   ├── ProviderUnavailable  5xx or connection refused/reset (after retries)
    │   └── ProviderRejected     4xx other than 429: bad model, bad key, bad request
    ├── MalformedAnswer          the model answered, but not with the JSON we asked for
    └── BudgetExceeded           the project's calls/hour or tokens/day are spent

`analyze_group` turns each into a recorded failure with a `kind` (the class's
`kind` attribute) and a time for the scheduled retry; none reaches the actor,
so Dramatiq's own retries are left for infrastructure errors (PostgreSQL,
ClickHouse, Redis down).
"""

from __future__ import annotations

from workers.errors import WorkerError


class AIError(WorkerError):
    kind = "error"


class ProviderError(AIError):
    kind = "provider_error"

    def __init__(self, message: str, *, attempts: int = 1, retry_after_s: float | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.retry_after_s = retry_after_s


class ProviderTimeout(ProviderError):
    kind = "timeout"


class ProviderRateLimited(ProviderError):
    kind = "rate_limited"


class ProviderUnavailable(ProviderError):
    kind = "unavailable"


class ProviderRejected(ProviderError):
    kind = "rejected"

    def __init__(self, message: str, *, status: int, attempts: int = 1):
        super().__init__(message, attempts=attempts)
        self.status = status


class MalformedAnswer(AIError):
    kind = "malformed"


class BudgetExceeded(AIError):
    kind = "budget"

    def __init__(self, message: str, *, retry_at: float):
        super().__init__(message)
        self.retry_at = retry_at
