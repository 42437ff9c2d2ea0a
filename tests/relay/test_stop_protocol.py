"""A relay stopping: a connection whose next request has arrived is answered, not cut.

Sanic closes the connections it finds idle when the server stops. A keep-alive connection
whose next request's bytes have just arrived is still idle until its task runs, and that
task then handles the request on a closed connection: the event is appended, the answer
never sent, and the SDK sends the event again. The race is narrow, so the test puts the
connection in that state itself, on the server's loop: the bytes arrive through the
protocol, and the stop's idle check runs before the connection's task does.
"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
from sanic.server.protocols.http_protocol import HttpProtocol

from relay.front import RelayProtocol
from relay.service import RelayService
from stackwise.serve import stack_broker
from tests.relay.conftest import add_project
from tests.support.load import event_envelope
from tests.support.relay_thread import serving

PUBLIC_KEY = "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
PROJECT_ID = 77


def _request(event_id: str) -> bytes:
    body = event_envelope(event_id, 1)
    head = (
        f"POST /api/{PROJECT_ID}/envelope/ HTTP/1.1\r\nHost: relay\r\n"
        f"X-Sentry-Auth: Sentry sentry_key={PUBLIC_KEY}, sentry_version=7\r\n"
        f"Content-Type: application/x-sentry-envelope\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer (head and body), or what came before the connection closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    ("protocol", "fast_front", "answered"),
    [(RelayProtocol, True, True), (RelayProtocol, False, True), (HttpProtocol, False, False)],
    ids=["relay-short-path-answers", "relay-sanic-path-answers", "sanic-protocol-cuts"],
)
def test_a_request_arrived_as_the_relay_stops_is_answered(stack, protocol, fast_front, answered):
    add_project(stack, PROJECT_ID, "stopping", PUBLIC_KEY)
    service = RelayService(stack, stack_broker(stack))
    service.app.ctx.fast_front = fast_front
    service.start()
    try:
        with serving(service.app, protocol=protocol) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(_request(uuid.uuid4().hex))
                assert _read_answer(sock).startswith(b"HTTP/1.1 200")  # kept alive
                (connection,) = service.app.ctx.server.connections
                assert getattr(connection, "front", "sanic") == ("fast" if fast_front else "sanic")
                second = uuid.uuid4().hex
                closed: list[bool] = []
                arrived = threading.Event()

                def arrive_as_the_server_stops() -> None:
                    connection.data_received(_request(second))
                    service.app.config.KEEP_ALIVE = False  # as the relay's stop does
                    closed.append(connection.close_if_idle())
                    arrived.set()

                service.app.ctx.loop.call_soon_threadsafe(arrive_as_the_server_stops)
                assert arrived.wait(10)
                answer = _read_answer(sock)
        assert closed == [not answered]
        if answered:
            assert answer.startswith(b"HTTP/1.1 200")
            assert b"connection: close" in answer.lower()
            assert second.encode() in answer
        else:
            assert not answer.startswith(b"HTTP/1.1 200")
    finally:
        service.stop()
