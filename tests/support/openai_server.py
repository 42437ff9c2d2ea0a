"""A real HTTP server speaking the OpenAI chat-completions and embeddings protocol.

Tests point the real `openai` client at it. Each endpoint answers from a script
(a queue of `Reply` objects, consumed in order) and falls back to a default
responder once the script is empty. Every request is recorded (path, headers,
JSON body, arrival time) so tests can assert what was sent and how often.

    with OpenAIServer() as server:
        server.script_chat(rate_limited(retry_after_s=1), chat_reply(ANSWER_JSON))
        ...  # openai.OpenAI(base_url=server.base_url, ...)
        assert len(server.requests_to(CHAT_PATH)) == 2

Shapes follow the OpenAI API reference (chat.completion object, embedding list,
error object `{"error": {"message", "type", "code"}}`), as vLLM, Ollama and
llama.cpp return them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDING_DIMENSIONS = 64


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float

    @property
    def prompt_text(self) -> str:
        """Every message's content, joined: what the model was shown."""
        messages = self.body.get("messages") or []
        return "\n".join(str(m.get("content", "")) for m in messages)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] | bytes = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Wait this long before answering (longer than the client's timeout = a timeout).
    delay_s: float = 0.0


Responder = Callable[[RecordedRequest], Reply]


def _approx_tokens(text: str) -> int:
    # Roughly what BPE tokenizers give for English and code: four characters a token.
    return max(1, len(text) // 4)


def chat_reply(
    content: str, *, model: str = "test-model", completion_tokens: int | None = None
) -> Responder:
    """A successful chat.completion whose message content is `content`."""

    def respond(request: RecordedRequest) -> Reply:
        prompt_tokens = _approx_tokens(request.prompt_text)
        completion = completion_tokens if completion_tokens is not None else _approx_tokens(content)
        return Reply(
            body={
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.body.get("model") or model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion,
                    "total_tokens": prompt_tokens + completion,
                },
            }
        )

    return respond


def error_reply(
    status: int, message: str, *, kind: str = "server_error", headers: dict | None = None
) -> Responder:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return lambda request: Reply(status=status, body=body, headers=headers or {})


def rate_limited(retry_after_s: float = 1) -> Responder:
    return error_reply(
        429,
        "Rate limit reached for requests",
        kind="requests",
        headers={"Retry-After": f"{retry_after_s:g}"},
    )


def slow(delay_s: float, then: Responder) -> Responder:
    def respond(request: RecordedRequest) -> Reply:
        reply = then(request)
        return Reply(reply.status, reply.body, reply.headers, delay_s=delay_s)

    return respond


def hashed_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A bag-of-words vector: texts sharing words get close vectors, like real embeddings."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9_]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        index = int.from_bytes(digest[:2], "little") % dimensions
        vector[index] += 1.0 if digest[2] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embeddings_reply(request: RecordedRequest) -> Reply:
    inputs = request.body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    as_base64 = request.body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = hashed_embedding(str(text))
        encoded: Any = vector
        if as_base64:
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(_approx_tokens(str(t)) for t in texts)
    return Reply(
        body={
            "object": "list",
            "data": data,
            "model": request.body.get("model", "test-embedding"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def no_embeddings(request: RecordedRequest) -> Reply:
    """What servers without an embeddings model answer (llama.cpp without --embeddings)."""
    return error_reply(404, "model does not support embeddings", kind="not_found_error")(request)


class OpenAIServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.chat_default: Responder = error_reply(500, "no chat answer scripted")
        self.embeddings_default: Responder = embeddings_reply
        self._scripts: dict[str, deque[Responder]] = {CHAT_PATH: deque(), EMBEDDINGS_PATH: deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script_chat(self, *responders: Responder) -> None:
        with self._lock:
            self._scripts[CHAT_PATH].extend(responders)

    def script_embeddings(self, *responders: Responder) -> None:
        with self._lock:
            self._scripts[EMBEDDINGS_PATH].extend(responders)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(request.path)
            responder = script.popleft() if script else None
        if responder is None:
            if request.path == CHAT_PATH:
                responder = self.chat_default
            elif request.path == EMBEDDINGS_PATH:
                responder = self.embeddings_default
            else:
                responder = error_reply(404, f"unknown path {request.path}", kind="not_found")
        return responder(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                request = RecordedRequest(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw or b"{}"),
                    received_at=time.monotonic(),
                )
                reply = server._respond(request)
                if reply.delay_s and server._stopping.wait(reply.delay_s):
                    return
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                payload = body.encode() if isinstance(body, str) else body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): what a real server sees too

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
