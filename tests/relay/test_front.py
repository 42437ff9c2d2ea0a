"""The relay's HTTP front: SDK event posts take the short path, everything else Sanic's.

Each test speaks HTTP/1.1 over a raw socket to the module's relay, so the bytes on the
wire are the test's own: requests split anywhere, several in one write, a connection
that changes from event posts to other requests, heads the short path must leave to
Sanic. Where both fronts can answer, the answers are compared with a connection the
relay serves through Sanic (`fast_front` off).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import pytest
from sanic import Request, Sanic
from sanic.compat import Header

from relay.front import client_address, parse_fast_head
from tests.relay.conftest import PROJECT_ID, PUBLIC_KEY, RunningRelay, wait_for_rows
from tests.support.load import event_envelope

AUTH = f"Sentry sentry_key={PUBLIC_KEY}, sentry_version=7"


def _post(
    body: bytes,
    *,
    path: str = f"/api/{PROJECT_ID}/envelope/",
    headers: dict[str, str | None] | None = None,
) -> bytes:
    """A POST with these headers added to an SDK's (a None value leaves one out)."""
    fields: dict[str, str | None] = {
        "Host": "relay",
        "X-Sentry-Auth": AUTH,
        "Content-Type": "application/x-sentry-envelope",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
    head = f"POST {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in fields.items() if v is not None
    )
    return head.encode() + b"\r\n" + body


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n".encode()


class Answer(msgspec.Struct):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return msgspec.json.decode(self.body)


class Wire:
    """One client connection; reads answers one at a time, in order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        chunk = self.sock.recv(65536)
        self.data += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.data:
            assert self._more(), f"connection closed before an answer: {self.data!r}"
        head, _, rest = self.data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            assert self._more(), "connection closed inside an answer"
            rest = self.data.partition(b"\r\n\r\n")[2]
        self.data = rest[length:]
        return Answer(int(status_line.split()[1]), headers, rest[:length])

    def closed(self) -> bool:
        """Whether the relay closed the connection (nothing more was sent first)."""
        return not self._more() and not self.data


@contextmanager
def wire(relay: RunningRelay, *, fast: bool = True) -> Iterator[Wire]:
    app = relay.service.app
    app.ctx.fast_front = fast
    port = int(relay.base_url.rsplit(":", 1)[1])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            # The protocol reads the setting when the connection is made.
            yield Wire(sock)
    finally:
        app.ctx.fast_front = True


def _front(relay: RunningRelay, client: Wire) -> str:
    """Which front serves the client's connection, asked on the relay's loop."""
    port = client.sock.getsockname()[1]

    async def ask() -> str:
        for connection in relay.service.app.ctx.server.connections:
            if connection.transport.get_extra_info("peername")[1] == port:
                return connection.front
        raise AssertionError("the relay has no such connection")

    return asyncio.run_coroutine_threadsafe(ask(), relay.service.app.ctx.loop).result(10)


def _envelope() -> tuple[str, bytes]:
    event_id = uuid.uuid4().hex
    return event_id, event_envelope(event_id, 1)


def _stored(relay: RunningRelay, event_ids: list[str]) -> int:
    listed = ", ".join(f"'{event_id}'" for event_id in event_ids)
    return wait_for_rows(
        relay, f"SELECT count() FROM events WHERE event_id IN ({listed})", len(event_ids)
    )


# -- which heads the short path takes --


def _head(path: str = "/api/42/envelope/", version: str = "1.1", **extra: str) -> bytes:
    fields = {"Host": "relay", "Content-Length": "10", **extra}
    lines = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in fields.items())
    return f"POST {path} HTTP/{version}\r\n{lines}\r\n".encode()


def test_the_short_path_takes_an_sdks_envelope_and_store_posts():
    head = parse_fast_head(_head(X_Sentry_Auth=AUTH))
    assert head is not None
    assert (head.endpoint, head.project_id, head.body_length) == (b"envelope", 42, 10)
    assert head.headers["x-sentry-auth"] == AUTH
    assert head.keep_alive
    browser = parse_fast_head(_head("/api/42/store?sentry_key=abc&sentry_version=7&x=%2F"))
    assert browser is not None
    assert browser.endpoint == b"store"
    assert browser.query == {"sentry_key": "abc", "sentry_version": "7", "x": "/"}
    closing = parse_fast_head(_head(Connection="close"))
    assert closing is not None
    assert not closing.keep_alive


@pytest.mark.parametrize(
    "head",
    [
        _head("/api/42/security/"),
        _head("/api/42/envelope/", version="1.0"),
        _head("/api/x/envelope/"),
        _head("/api/0/organizations/acme/chunk-upload/"),
        _head(Transfer_Encoding="chunked"),
        _head(Expect="100-continue"),
        _head(Upgrade="h2c"),
        _head(Content_Length=str(2 * 1024 * 1024)),
        _head().replace(b"Content-Length: 10\r\n", b""),
        _head().replace(b"Content-Length: 10\r\n", b"Content-Length: 10\r\nContent-Length: 11\r\n"),
        _head().replace(b"Host: relay", b"Host : relay"),
        _head().replace(b"Host: relay", b"Ho\x01st: relay"),
        b"GET /api/42/envelope/ HTTP/1.1\r\nHost: relay\r\n\r\n",
    ],
    ids=[
        "other-endpoint",
        "http-1.0",
        "project-not-a-number",
        "upload-api",
        "chunked",
        "expect-continue",
        "upgrade",
        "body-over-the-short-limit",
        "no-content-length",
        "two-content-lengths",
        "space-before-colon",
        "control-character-in-name",
        "get",
    ],
)
def test_the_short_path_leaves_everything_else_to_sanic(head):
    assert parse_fast_head(head) is None


# -- answers over a real connection --


def test_event_posts_are_answered_on_the_short_path_and_stored(relay):
    sent = [_envelope() for _ in range(3)]
    with wire(relay) as client:
        for event_id, body in sent:
            client.send(_post(body))
            answer = client.answer()
            assert answer.status == 200
            assert answer.json() == {"id": event_id}
            assert answer.headers["connection"] == "keep-alive"
            assert answer.headers["access-control-allow-origin"] == "*"
        assert _front(relay, client) == "fast"
    assert _stored(relay, [event_id for event_id, _ in sent]) == 3


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        (f"/api/{PROJECT_ID}/envelope/", {}, None),
        (f"/api/{PROJECT_ID}/store/", {}, b'{"message": "hello"}'),
        (
            f"/api/{PROJECT_ID}/envelope/?sentry_key={PUBLIC_KEY}&sentry_version=7",
            {"X-Sentry-Auth": None},
            None,
        ),
        (f"/api/{PROJECT_ID}/envelope/", {"X-Sentry-Auth": "Sentry sentry_key=nope"}, None),
        (f"/api/{PROJECT_ID}/envelope/", {"X-Sentry-Auth": "garbage"}, None),
        (f"/api/{PROJECT_ID + 1}/envelope/", {}, None),
        (f"/api/{PROJECT_ID}/envelope/", {}, b"{not json\n"),
        (f"/api/{PROJECT_ID}/envelope/", {"Content-Encoding": "gzip"}, b"not gzip"),
        (f"/api/{PROJECT_ID}/store/", {}, b"[1, 2]"),
    ],
    ids=[
        "envelope",
        "store",
        "query-auth",
        "unknown-key",
        "malformed-auth",
        "other-project",
        "malformed-envelope",
        "bad-gzip",
        "store-not-an-object",
    ],
)
def test_both_fronts_give_the_same_answer(relay, path, headers, body):
    answers = []
    for fast in (True, False):
        event_id, envelope = _envelope()
        payload = body if body is not None else envelope
        with wire(relay, fast=fast) as client:
            client.send(_post(payload, path=path, headers=headers))
            answer = client.answer()
            assert _front(relay, client) == ("fast" if fast else "sanic")
        document = answer.json()
        if document.get("id") == event_id:
            document["id"] = "<the event's id>"
        elif "id" in document:
            document["id"] = "<generated>"
        kept = {"content-type", "access-control-allow-origin", "x-sentry-error"}
        answers.append(
            (answer.status, document, {k: v for k, v in answer.headers.items() if k in kept})
        )
    assert answers[0] == answers[1]


def test_a_connection_moves_to_sanic_at_a_request_it_does_not_take(relay):
    first, second = _envelope(), _envelope()
    with wire(relay) as client:
        client.send(_post(first[1]))
        assert client.answer().json() == {"id": first[0]}
        client.send(_get("/healthz"))
        health = client.answer()
        assert health.status == 200
        assert health.json()["status"] == "ok"
        assert _front(relay, client) == "sanic"
        client.send(_post(second[1]))
        assert client.answer().json() == {"id": second[0]}
    assert _stored(relay, [first[0], second[0]]) == 2


def test_requests_sent_together_are_answered_in_order(relay):
    events = [_envelope() for _ in range(4)]
    with wire(relay) as client:
        client.send(
            _post(events[0][1])
            + _post(events[1][1])
            + _get("/healthz")
            + _post(events[2][1])
            + _post(events[3][1])
        )
        assert client.answer().json() == {"id": events[0][0]}
        assert client.answer().json() == {"id": events[1][0]}
        assert client.answer().json()["status"] == "ok"
        assert client.answer().json() == {"id": events[2][0]}
        assert client.answer().json() == {"id": events[3][0]}
    assert _stored(relay, [event_id for event_id, _ in events]) == 4


def test_a_request_arriving_a_byte_at_a_time_is_answered(relay):
    event_id, body = _envelope()
    request = _post(body)
    with wire(relay) as client:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for position in range(0, 200):
            client.send(request[position : position + 1])
        client.send(request[200:-1])
        time.sleep(0.05)
        client.send(request[-1:])
        assert client.answer().json() == {"id": event_id}
        assert _front(relay, client) == "fast"
    assert _stored(relay, [event_id]) == 1


def test_a_chunked_post_is_sanics_and_is_stored(relay):
    event_id, body = _envelope()
    head = _post(b"", headers={"Transfer-Encoding": "chunked"}).replace(
        b"Content-Length: 0\r\n", b""
    )
    middle = len(body) // 2
    chunks = b"".join(
        b"%x\r\n%b\r\n" % (len(part), part) for part in (body[:middle], body[middle:])
    )
    with wire(relay) as client:
        client.send(head + chunks + b"0\r\n\r\n")
        assert client.answer().json() == {"id": event_id}
        assert _front(relay, client) == "sanic"
    assert _stored(relay, [event_id]) == 1


def test_a_post_expecting_100_continue_is_answered(relay):
    event_id, body = _envelope()
    with wire(relay) as client:
        request = _post(body, headers={"Expect": "100-continue"})
        head, _, rest = request.partition(b"\r\n\r\n")
        client.send(head + b"\r\n\r\n")
        client.send(rest)
        answer = client.answer()
        if answer.status == 100:
            answer = client.answer()
        assert answer.json() == {"id": event_id}
    assert _stored(relay, [event_id]) == 1


def test_malformed_http_gets_a_400_and_the_relay_serves_on(relay):
    with wire(relay) as client:
        client.send(b"POST /api/42/envelope/ HTTP/1.1\r\nHost relay\r\nContent-Length: 2\r\n\r\n{}")
        answer = client.answer()
        assert answer.status == 400
        assert answer.json()["detail"]
    event_id, body = _envelope()
    with wire(relay) as client:
        client.send(_post(body))
        assert client.answer().json() == {"id": event_id}


def test_a_body_over_the_relays_limit_is_refused_with_413(relay):
    with wire(relay) as client:
        client.send(
            f"POST /api/{PROJECT_ID}/envelope/ HTTP/1.1\r\nHost: relay\r\n"
            f"X-Sentry-Auth: {AUTH}\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = client.answer()
        assert answer.status == 413
        assert "detail" in answer.json()


def test_connection_close_is_honoured(relay):
    event_id, body = _envelope()
    with wire(relay) as client:
        client.send(_post(body, headers={"Connection": "close"}))
        answer = client.answer()
        assert answer.json() == {"id": event_id}
        assert answer.headers["connection"] == "close"
        assert client.closed()


def test_idle_and_slow_connections_time_out_as_sanics_settings_say(relay):
    config = relay.service.app.config
    saved = (config.KEEP_ALIVE_TIMEOUT, config.REQUEST_TIMEOUT)
    config.KEEP_ALIVE_TIMEOUT, config.REQUEST_TIMEOUT = 1, 1
    try:
        event_id, body = _envelope()
        with wire(relay) as idle, wire(relay) as slow:
            idle.send(_post(body))
            assert idle.answer().json() == {"id": event_id}
            slow.send(_post(_envelope()[1])[:300])
            started = time.monotonic()
            answer = slow.answer()
            assert answer.status == 408
            assert slow.closed()
            assert idle.closed()
            assert time.monotonic() - started < 5
    finally:
        config.KEEP_ALIVE_TIMEOUT, config.REQUEST_TIMEOUT = saved


def test_a_head_over_sanics_limit_is_refused_with_413(relay):
    with wire(relay) as client:
        client.send(_post(b"{}", headers={"X-Padding": "x" * 9000}))
        answer = client.answer()
        assert answer.status == 413
        assert answer.json()["detail"] == "Request header exceeds the size limit"


def test_a_client_sending_more_than_the_buffer_while_answered_gets_every_answer(relay):
    # ~2.3 MB in one write: the relay stops reading while an answer is awaited and the
    # buffer is over its bound, and reads on once it has answered.
    events = [_envelope() for _ in range(600)]
    with wire(relay) as client:
        sender = threading.Thread(
            target=client.send, args=(b"".join(_post(body) for _, body in events),)
        )
        sender.start()
        answered = [client.answer().json()["id"] for _ in events]
        sender.join(10)
        assert _front(relay, client) == "fast"
    assert answered == [event_id for event_id, _ in events]
    assert _stored(relay, answered) == len(events)


@pytest.mark.parametrize(
    ("config", "headers"),
    [
        ({}, [("x-forwarded-for", "203.0.113.9")]),
        ({"PROXIES_COUNT": 1}, [("x-forwarded-for", "198.51.100.1, 203.0.113.9")]),
        (
            {"PROXIES_COUNT": 2},
            [("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "203.0.113.9")],
        ),
        ({"PROXIES_COUNT": 1}, []),
        ({"REAL_IP_HEADER": "x-real-ip"}, [("x-real-ip", "203.0.113.5")]),
        ({"FORWARDED_SECRET": "s3"}, [("forwarded", "for=203.0.113.7;secret=s3")]),
        ({"FORWARDED_SECRET": "s3"}, [("forwarded", "for=203.0.113.7;secret=wrong")]),
    ],
    ids=[
        "no-proxy-trusted",
        "one-proxy",
        "two-proxies-two-headers",
        "proxy-trusted-no-header",
        "real-ip-header",
        "forwarded-with-secret",
        "forwarded-wrong-secret",
    ],
)
def test_the_client_address_is_the_one_sanic_gives(config, headers):
    app = Sanic(f"front-address-{uuid.uuid4().hex[:8]}")
    app.config.update(config)
    request = Request(b"/api/42/envelope/", Header(headers), "1.1", "POST", None, app)  # type: ignore[arg-type]
    sanic_address = request.remote_addr or "192.0.2.1"  # the peer, as `request.ip` would be
    assert client_address(headers, app.config, "192.0.2.1") == sanic_address


def test_a_client_that_closes_its_side_after_sending_gets_its_answers(relay):
    events = [_envelope() for _ in range(2)]
    with wire(relay) as client:
        client.send(_post(events[0][1]) + _post(events[1][1]))
        client.sock.shutdown(socket.SHUT_WR)
        assert client.answer().json() == {"id": events[0][0]}
        assert client.answer().json() == {"id": events[1][0]}
        assert client.closed()
    assert _stored(relay, [event_id for event_id, _ in events]) == 2


def test_a_client_that_closes_its_side_mid_request_is_closed_without_an_answer(relay):
    with wire(relay) as client:
        client.send(_post(_envelope()[1])[:500])
        client.sock.shutdown(socket.SHUT_WR)
        assert client.closed()
