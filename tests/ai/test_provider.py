"""The provider: endpoint resolution, and the real openai client against a real local server."""

from __future__ import annotations

import time

import pytest

from core.project_config import AISettings
from core.settings import Settings
from tests.ai.conftest import FAST, MODEL
from tests.support.openai_server import (
    CHAT_PATH,
    EMBEDDINGS_PATH,
    OpenAIServer,
    Reply,
    chat_reply,
    error_reply,
    no_embeddings,
    rate_limited,
    slow,
)
from workers.ai.errors import (
    MalformedAnswer,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from workers.ai.provider import (
    OPENAI_BASE_URL,
    OPENAI_EMBEDDING_MODEL,
    UNUSED_API_KEY,
    Endpoint,
    NotConfigured,
    Provider,
    resolve_endpoint,
)


def endpoint_for(server: OpenAIServer, model: str = MODEL) -> Endpoint:
    endpoint = resolve_endpoint(
        Settings(openai_base_url=server.base_url, openai_model=model), AISettings()
    )
    assert isinstance(endpoint, Endpoint)
    return endpoint


def test_nothing_configured_is_a_state_with_a_message_naming_the_settings():
    endpoint = resolve_endpoint(Settings(openai_base_url="", openai_api_key=""), AISettings())
    assert isinstance(endpoint, NotConfigured)
    assert endpoint.status == "not_configured"
    assert "STACKWISE_OPENAI_BASE_URL" in endpoint.message
    assert "ai.base_url" in endpoint.message
    assert "similar issues and anomaly detection run locally" in endpoint.message


def test_a_project_can_disable_ai_even_with_an_endpoint():
    settings = Settings(openai_base_url="http://127.0.0.1:9/v1")
    endpoint = resolve_endpoint(settings, AISettings(enabled=False))
    assert isinstance(endpoint, NotConfigured)
    assert endpoint.status == "disabled"


def test_an_api_key_alone_means_openai_with_its_embedding_model():
    endpoint = resolve_endpoint(Settings(openai_api_key="sk-test"), AISettings())
    assert endpoint == Endpoint(
        base_url=OPENAI_BASE_URL,
        api_key="sk-test",
        model="gpt-4o-mini",
        embedding_model=OPENAI_EMBEDDING_MODEL,
    )


def test_a_local_server_needs_no_key_and_embeds_with_the_chat_model():
    settings = Settings(openai_base_url="http://127.0.0.1:11434/v1/", openai_model="llama3.1")
    endpoint = resolve_endpoint(settings, AISettings())
    assert endpoint == Endpoint(
        base_url="http://127.0.0.1:11434/v1",
        api_key=UNUSED_API_KEY,
        model="llama3.1",
        embedding_model="llama3.1",
    )


def test_the_process_key_is_never_sent_to_a_project_specific_endpoint():
    with OpenAIServer() as process_server, OpenAIServer() as project_server:
        settings = Settings(openai_base_url=process_server.base_url, openai_api_key="sk-process")
        own = resolve_endpoint(settings, AISettings(model="m"))
        other = resolve_endpoint(settings, AISettings(base_url=project_server.base_url, model="m"))
        assert isinstance(own, Endpoint)
        assert isinstance(other, Endpoint)
        process_server.script_chat(chat_reply("{}"))
        project_server.script_chat(chat_reply("{}"))
        for endpoint in (own, other):
            with Provider(endpoint, FAST) as provider:
                provider.chat("system", "user")
        (to_process,) = process_server.requests_to(CHAT_PATH)
        (to_project,) = project_server.requests_to(CHAT_PATH)
    assert to_process.headers["authorization"] == "Bearer sk-process"
    assert to_project.headers["authorization"] == f"Bearer {UNUSED_API_KEY}"


def test_chat_returns_the_text_usage_and_attempts(openai_server):
    openai_server.script_chat(chat_reply('{"summary": "x"}', completion_tokens=9))
    with Provider(endpoint_for(openai_server), FAST) as provider:
        result = provider.chat("You triage issues.", "Issue: KeyError")
    (request,) = openai_server.requests_to(CHAT_PATH)
    assert request.body["model"] == MODEL
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["max_tokens"] == FAST.max_answer_tokens
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert result.text == '{"summary": "x"}'
    assert result.completion_tokens == 9
    assert result.prompt_tokens == len("You triage issues.\nIssue: KeyError") // 4
    assert result.attempts == 1
    assert result.latency_ms > 0


def test_a_missing_usage_block_is_estimated_so_the_budget_still_counts(openai_server):
    openai_server.script_chat(
        lambda request: Reply(
            body={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "{}" * 40},
                        "finish_reason": "stop",
                    }
                ],
            }
        )
    )
    with Provider(endpoint_for(openai_server), FAST) as provider:
        result = provider.chat("s" * 400, "u" * 400)
    assert result.prompt_tokens == 200
    assert result.completion_tokens == 20


def test_a_timeout_is_retried_then_raised_with_the_attempts(openai_server):
    openai_server.script_chat(slow(3, chat_reply("{}")), slow(3, chat_reply("{}")))
    started = time.monotonic()
    with (
        Provider(endpoint_for(openai_server), FAST) as provider,
        pytest.raises(ProviderTimeout) as raised,
    ):
        provider.chat("s", "u")
    elapsed = time.monotonic() - started
    assert raised.value.attempts == FAST.max_attempts == 2
    assert len(openai_server.requests_to(CHAT_PATH)) == 2
    # Two client timeouts plus one short backoff: the slow server is not waited for.
    assert 2 * FAST.timeout_s <= elapsed < 2 * FAST.timeout_s + 1.0


def test_a_429_waits_for_retry_after_then_succeeds(openai_server):
    openai_server.script_chat(rate_limited(retry_after_s=1), chat_reply('{"ok": 1}'))
    with Provider(endpoint_for(openai_server), FAST) as provider:
        result = provider.chat("s", "u")
    first, second = openai_server.requests_to(CHAT_PATH)
    assert result.attempts == 2
    assert result.text == '{"ok": 1}'
    # Retry-After (1 s) wins over the configured backoff (0.05 s).
    assert second.received_at - first.received_at >= 1.0


def test_a_retry_after_beyond_the_inline_wait_is_handed_back(openai_server):
    openai_server.script_chat(rate_limited(retry_after_s=120))
    with (
        Provider(endpoint_for(openai_server), FAST) as provider,
        pytest.raises(ProviderRateLimited) as raised,
    ):
        provider.chat("s", "u")
    assert raised.value.retry_after_s == 120
    assert len(openai_server.requests_to(CHAT_PATH)) == 1


def test_server_errors_are_retried_and_a_recovery_succeeds(openai_server):
    openai_server.script_chat(error_reply(500, "overloaded"), chat_reply("{}"))
    with Provider(endpoint_for(openai_server), FAST) as provider:
        assert provider.chat("s", "u").attempts == 2


def test_server_errors_on_every_attempt_raise_unavailable(openai_server):
    openai_server.script_chat(error_reply(503, "loading model"), error_reply(502, "bad gateway"))
    with (
        Provider(endpoint_for(openai_server), FAST) as provider,
        pytest.raises(ProviderUnavailable) as raised,
    ):
        provider.chat("s", "u")
    assert raised.value.attempts == 2
    assert "502" in str(raised.value)


def test_a_client_error_is_not_retried(openai_server):
    openai_server.script_chat(error_reply(404, "model 'nope' not found", kind="invalid_request"))
    with (
        Provider(endpoint_for(openai_server, "nope"), FAST) as provider,
        pytest.raises(ProviderRejected) as raised,
    ):
        provider.chat("s", "u")
    assert raised.value.status == 404
    assert len(openai_server.requests_to(CHAT_PATH)) == 1


def test_a_body_that_is_not_a_completion_is_malformed(openai_server):
    openai_server.script_chat(lambda request: Reply(body=b"<html>proxy error</html>"))
    with Provider(endpoint_for(openai_server), FAST) as provider, pytest.raises(MalformedAnswer):
        provider.chat("s", "u")


def test_embeddings_come_back_in_input_order_with_usage(openai_server):
    with Provider(endpoint_for(openai_server), FAST) as provider:
        result = provider.embed(["KeyError in load_cart", "TimeoutError in pay"])
    (request,) = openai_server.requests_to(EMBEDDINGS_PATH)
    assert request.body["input"] == ["KeyError in load_cart", "TimeoutError in pay"]
    assert len(result.vectors) == 2
    assert result.vectors[0] != result.vectors[1]
    assert result.tokens > 0


def test_a_server_without_embeddings_rejects_them(openai_server):
    openai_server.script_embeddings(no_embeddings)
    with (
        Provider(endpoint_for(openai_server), FAST) as provider,
        pytest.raises(ProviderRejected) as raised,
    ):
        provider.embed(["x"])
    assert raised.value.status == 404
