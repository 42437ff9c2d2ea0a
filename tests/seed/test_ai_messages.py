"""`--ai`: messages from an OpenAI-protocol endpoint, cached with their provenance, and
the cache used (saying so) when no endpoint is configured.

The endpoint is a real HTTP server speaking the chat-completions protocol.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.settings import Settings
from seed import ai_messages
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan
from seed.projects import PROJECTS_BY_KEY
from tests.seed.conftest import FIXED_END

BACKEND = (PROJECTS_BY_KEY["backend"],)
ANSWER = [
    {
        "type": "orders.errors.StockMismatch",
        "message": "Stock for {sku} is {n} in the ledger but {n} in the cache",
        "category": "consistency",
        "severity": "high",
        "title": "Ledger and cache disagree on stock",
    },
    {"type": "not a class name!", "message": "dropped: the type is unusable"},
    {"type": "TimeoutError", "message": "Fulfilment API did not answer within {ms}ms ({mystery})"},
]


class _ChatCompletions(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.requests.append({"path": self.path, "auth": self.headers.get("authorization"), **body})
        content = "```json\n" + json.dumps(ANSWER) + "\n```"
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _endpoint() -> Iterator[str]:
    _ChatCompletions.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _copy_of_the_committed_cache(tmp_path):
    path = tmp_path / "ai_messages.json"
    path.write_text(ai_messages.CACHE_PATH.read_text())
    return path


def test_the_committed_cache_says_where_its_messages_come_from():
    cache = json.loads(ai_messages.CACHE_PATH.read_text())
    entries = cache["entries"]
    assert len(entries) == len(ai_messages.wanted_prompts(tuple(PROJECTS_BY_KEY.values())))
    for key, entry in entries.items():
        assert key == ai_messages.prompt_key(entry["prompt"])
        assert entry["source"] == ai_messages.HAND_WRITTEN or entry["source"].startswith("model ")
        assert ai_messages.parse_messages(json.dumps(entry["messages"]))


def test_an_endpoint_writes_the_cache_and_offline_runs_reuse_it(tmp_path):
    path = _copy_of_the_committed_cache(tmp_path)
    said: list[str] = []
    with _endpoint() as base_url:
        online = Settings(openai_base_url=base_url, openai_model="test-model")
        messages = ai_messages.resolve(online, BACKEND, path=path, say=said.append)
        asked = len(_ChatCompletions.requests)
        # Model-written entries are reused: a second online run asks nothing.
        ai_messages.resolve(online, BACKEND, path=path, say=said.append)
        assert len(_ChatCompletions.requests) == asked == 4
    request = _ChatCompletions.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["model"] == "test-model"
    assert "Django REST Framework" in request["messages"][-1]["content"]
    written = messages[("database", "python")]
    assert [m.type for m in written] == ["orders.errors.StockMismatch", "TimeoutError"]
    cache = json.loads(path.read_text())
    sources = {e["source"] for e in cache["entries"].values() if e["platform"] == "python"}
    assert len(sources) == 1 and sources.pop().startswith(f"model test-model at {base_url}")

    said.clear()
    offline = ai_messages.resolve(Settings(), BACKEND, path=path, say=said.append)
    assert offline == messages
    assert "no LLM endpoint configured" in said[0] and str(path) in said[0]


def test_ai_written_messages_reach_the_events(tmp_path):
    path = _copy_of_the_committed_cache(tmp_path)
    with _endpoint() as base_url:
        online = Settings(openai_base_url=base_url, openai_model="test-model")
        messages = ai_messages.resolve(online, BACKEND, path=path, say=lambda _: None)
    options = SeedOptions(
        events=3_000, days=5, root_causes=60, seed=5, end=FIXED_END, projects=("backend",)
    )
    plan = SeedPlan(replace(options, ai_messages=messages))
    assert plan.run_id != options.run_id
    written = [rc for rc in plan.catalogue if rc.ai_written]
    assert written, "about half of each family's root causes take an AI-written message"
    values = set()
    for event in Generator(plan).events():
        for exc in event.rendered.payload.get("exception", {}).get("values", []):
            values.add(exc.get("value", ""))
    assert any(v.startswith("Stock for SKU-") for v in values)
    # An unknown placeholder becomes an id, so every message can be filled.
    assert any(v.startswith("Fulfilment API did not answer within") for v in values)
