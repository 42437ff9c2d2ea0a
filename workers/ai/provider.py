"""The model endpoint: any OpenAI-compatible server, through the `openai` client.

`resolve_endpoint` decides, from the process Settings and the project's `ai`
section, which server, model and key to use, or returns `NotConfigured` with a
message a person can act on: "not configured" is a state, never an exception
and never a made-up answer.

`Provider` wraps one `openai.OpenAI` client. The client's own retries are off
(`max_retries=0`) so this module owns them: it counts attempts (stored with
each call), caps the time a worker spends waiting in-line, and hands a long
Retry-After back to the caller, whose scheduled retry waits instead of a
worker thread. Errors are translated into `workers.ai.errors`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from core.project_config import AISettings
from core.settings import Settings
from workers.ai.errors import (
    MalformedAnswer,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
# Local servers ignore the key, but the client refuses to start without one.
UNUSED_API_KEY = "unused"

if TYPE_CHECKING:
    import openai

NOT_CONFIGURED_MESSAGE = (
    "no AI endpoint is configured: set STACKWISE_OPENAI_BASE_URL to an OpenAI-compatible "
    "server (vLLM, Ollama, llama.cpp: e.g. http://127.0.0.1:11434/v1) or STACKWISE_OPENAI_API_KEY "
    "for OpenAI, or the project's ai.base_url. Summaries, fixes and severity need a model; "
    "similar issues and anomaly detection run locally without one."
)
DISABLED_MESSAGE = "AI analysis is disabled for this project (ai.enabled = false)"
NO_MODEL_MESSAGE = "no AI model is named: set STACKWISE_OPENAI_MODEL or the project's ai.model"


class AIOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Client behaviour. The timeout leaves room for a local model on modest hardware
    (700 answer tokens at ~15 tokens/s); tests shrink every time here."""

    timeout_s: float = 60.0
    max_attempts: int = 3
    # First retry delay, doubled per attempt up to max_backoff_s.
    backoff_s: float = 1.0
    max_backoff_s: float = 8.0
    # A Retry-After longer than this ends the call; the scheduled retry waits instead.
    max_inline_wait_s: float = 20.0
    max_answer_tokens: int = 700
    temperature: float = 0.2
    # Empty: OpenAI's small embedding model on OpenAI, the chat model elsewhere.
    embedding_model: str = ""


DEFAULT_OPTIONS = AIOptions()


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    base_url: str
    api_key: str
    model: str
    embedding_model: str


class NotConfigured(msgspec.Struct, frozen=True, kw_only=True):
    status: str  # "not_configured" or "disabled"
    message: str


def resolve_endpoint(
    settings: Settings, ai: AISettings, options: AIOptions = DEFAULT_OPTIONS
) -> Endpoint | NotConfigured:
    if not ai.enabled:
        return NotConfigured(status="disabled", message=DISABLED_MESSAGE)
    base_url = (ai.base_url or settings.openai_base_url).rstrip("/")
    if not base_url and not settings.openai_api_key:
        return NotConfigured(status="not_configured", message=NOT_CONFIGURED_MESSAGE)
    model = ai.model or settings.openai_model
    if not model:
        return NotConfigured(status="not_configured", message=NO_MODEL_MESSAGE)
    base_url = base_url or OPENAI_BASE_URL
    # The process key belongs to the process endpoint: a project that points ai.base_url
    # elsewhere must not receive it (project settings are editable by project admins).
    global_url = (settings.openai_base_url or OPENAI_BASE_URL).rstrip("/")
    api_key = settings.openai_api_key if base_url == global_url else ""
    embedding_model = options.embedding_model or (
        OPENAI_EMBEDDING_MODEL if base_url == OPENAI_BASE_URL else model
    )
    return Endpoint(
        base_url=base_url,
        api_key=api_key or UNUSED_API_KEY,
        model=model,
        embedding_model=embedding_model,
    )


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    attempts: int


class EmbeddingResult(msgspec.Struct, frozen=True, kw_only=True):
    vectors: list[list[float]]
    model: str
    tokens: int
    latency_ms: float
    attempts: int


T = TypeVar("T")


def _retry_after_s(headers: Any) -> float | None:
    """Retry-After as seconds or an HTTP date (RFC 9110 10.2.3); retry-after-ms first."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class Provider:
    """One endpoint's client; use as a context manager so the HTTP pool is closed."""

    def __init__(self, endpoint: Endpoint, options: AIOptions = DEFAULT_OPTIONS) -> None:
        self.endpoint = endpoint
        self.options = options
        # Imported here: the client takes a second of CPU to import, and most workers
        # analyze issues without a model (similarity alone) and never need it.
        import openai

        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            max_retries=0,
            timeout=options.timeout_s,
        )

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def chat(self, system: str, user: str) -> ChatResult:
        """One JSON-mode chat completion; raises ProviderError subclasses or MalformedAnswer."""

        def call() -> Any:
            return self._client.chat.completions.create(
                model=self.endpoint.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                temperature=self.options.temperature,
                max_tokens=self.options.max_answer_tokens,
            )

        response, attempts, latency_ms = self._with_retries(call)
        choices = getattr(response, "choices", None)
        if not choices or choices[0].message is None:
            raise MalformedAnswer("the endpoint answered without a message")
        text = choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        return ChatResult(
            text=text,
            model=response.model or self.endpoint.model,
            finish_reason=choices[0].finish_reason or "",
            # Some local servers omit usage; an estimate keeps the budget honest.
            prompt_tokens=usage.prompt_tokens if usage else _approx_tokens(system + user),
            completion_tokens=usage.completion_tokens if usage else _approx_tokens(text),
            latency_ms=latency_ms,
            attempts=attempts,
        )

    def embed(self, texts: list[str]) -> EmbeddingResult:
        def call() -> Any:
            # Floats, not the client's default base64: every compatible server speaks them.
            return self._client.embeddings.create(
                model=self.endpoint.embedding_model, input=texts, encoding_format="float"
            )

        response, attempts, latency_ms = self._with_retries(call)
        data = sorted(response.data or [], key=lambda item: item.index)
        vectors = [list(item.embedding) for item in data]
        if len(vectors) != len(texts) or any(not v for v in vectors):
            raise MalformedAnswer(f"asked for {len(texts)} embeddings, got {len(vectors)}")
        usage = getattr(response, "usage", None)
        return EmbeddingResult(
            vectors=vectors,
            model=response.model or self.endpoint.embedding_model,
            tokens=usage.total_tokens if usage else sum(_approx_tokens(t) for t in texts),
            latency_ms=latency_ms,
            attempts=attempts,
        )

    def _with_retries(self, call: Callable[[], T]) -> tuple[T, int, float]:
        import openai

        started = time.perf_counter()
        for attempt in range(1, self.options.max_attempts + 1):
            try:
                result = call()
            except ValueError as e:
                # The client could not parse a 200 body as JSON (a proxy's HTML page...).
                raise MalformedAnswer(f"the endpoint's response is not JSON: {e}"[:500]) from e
            except openai.APIError as e:
                error = _translate(e, attempt)
                last = attempt == self.options.max_attempts
                if isinstance(error, ProviderRejected | MalformedAnswer) or last:
                    raise error from e
                delay = self._delay_before_retry(error, attempt)
                if delay is None:
                    raise error from e
                time.sleep(delay)
            else:
                return result, attempt, (time.perf_counter() - started) * 1000
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay_before_retry(self, error: ProviderError, attempt: int) -> float | None:
        backoff = min(self.options.backoff_s * 2 ** (attempt - 1), self.options.max_backoff_s)
        if error.retry_after_s is None:
            return backoff
        if error.retry_after_s > self.options.max_inline_wait_s:
            return None
        return error.retry_after_s


def _translate(error: openai.APIError, attempt: int) -> ProviderError | MalformedAnswer:
    import openai

    # APITimeoutError subclasses APIConnectionError: test it first.
    if isinstance(error, openai.APITimeoutError):
        return ProviderTimeout("no answer within the client timeout", attempts=attempt)
    if isinstance(error, openai.APIConnectionError):
        return ProviderUnavailable(f"cannot reach the endpoint: {error}", attempts=attempt)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retry_after = _retry_after_s(error.response.headers)
        message = f"HTTP {status}: {error.message}"[:500]
        if status == 429:
            return ProviderRateLimited(message, attempts=attempt, retry_after_s=retry_after)
        if status >= 500 or status in (408, 409):
            return ProviderUnavailable(message, attempts=attempt, retry_after_s=retry_after)
        return ProviderRejected(message, status=status, attempts=attempt)
    # A 200 whose body is not a completion (APIResponseValidationError and kin).
    return MalformedAnswer(f"the endpoint's response is not an OpenAI response: {error}"[:500])
