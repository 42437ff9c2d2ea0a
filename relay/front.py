"""The relay's HTTP/1 protocol: an SDK's event posts take a short path, the rest is Sanic's.

Sanic's request lifecycle (its HTTP parser in Python, Request, router, signals, the
handler's task and the response object) costs about 60 us of CPU per request on this
machine; a uvloop protocol with httptools' parser, about 11 us; the relay's own work per
event, about 25 us. Nearly every request a relay sees is an SDK posting an envelope, so
those are framed here and handed to the same endpoint code (`endpoints.envelope_reply`,
`store_reply`) that Sanic's handlers call, and answered with the same reply.

The short path takes only what it can frame without doubt: at the start of a request, a
request line `POST /api/<id>/envelope/` (or `store`) over HTTP/1.1, a head that
httptools parses cleanly, one Content-Length, no Transfer-Encoding, Expect or Upgrade,
and a body of at most `_MAX_FAST_BODY`. Anything else, from that request on, belongs to
Sanic: the connection's unread bytes become Sanic's buffer and its connection task
starts, so health checks, uploads, preflights, chunked or oversized bodies and malformed
requests get Sanic's handling and errors. A connection handed over stays with Sanic.

Timeouts follow Sanic's settings: an idle connection closes after KEEP_ALIVE_TIMEOUT, a
request still arriving after REQUEST_TIMEOUT is answered 408 and closed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import httptools
from sanic.compat import Header
from sanic.config import Config
from sanic.headers import format_http1_response, parse_forwarded, parse_xforwarded
from sanic.server.protocols.base_protocol import SanicProtocol
from sanic.server.protocols.http_protocol import HttpProtocol

from relay.arrival import Arrival, Reply, error_reply, internal_error_reply, json_reply
from relay.deps import CORS_HEADERS
from relay.endpoints import envelope_reply, store_reply
from relay.errors import RelayError

log = logging.getLogger(__name__)

_FAST_ROUTE = re.compile(rb"POST /api/(\d{1,18})/(envelope|store)/?(?:\?([!-~]*))? HTTP/1\.1\r\n")
# How every request the short path takes begins: a buffer that does not is Sanic's at once.
_FAST_START = b"POST /api/"
_HEAD_END = b"\r\n\r\n"
# Sanic's REQUEST_MAX_HEADER_SIZE: a longer head is Sanic's to refuse.
_MAX_HEAD = 8 * 1024
# Larger bodies go to Sanic, which reads them in parts against REQUEST_MAX_SIZE.
_MAX_FAST_BODY = 1024 * 1024
# While a request is answered, a client sending on stops being read beyond this.
_MAX_BUFFERED = 2 * _MAX_FAST_BODY
_ENDPOINTS = {b"envelope": envelope_reply, b"store": store_reply}


@dataclass(slots=True)
class _Head:
    endpoint: bytes
    project_id: int
    query: dict[str, str]
    headers: dict[str, str]
    header_pairs: list[tuple[str, str]]
    head_length: int
    body_length: int
    keep_alive: bool


class _HeadFields:
    """httptools' callbacks for one request head."""

    __slots__ = ("complete", "content_lengths", "headers", "pairs", "refused")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        # Every header as sent, repeated ones included (a proxy's addresses, see
        # `client_address`).
        self.pairs: list[tuple[str, str]] = []
        self.content_lengths = 0
        self.refused = False
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        if key == "content-length":
            self.content_lengths += 1
        elif key in ("transfer-encoding", "expect", "upgrade"):
            self.refused = True
        text = value.decode(errors="surrogateescape")
        self.pairs.append((key, text))
        # Sanic's `headers.get` answers the first of repeated headers.
        self.headers.setdefault(key, text)

    def on_headers_complete(self) -> None:
        self.complete = True


def parse_fast_head(head: bytes) -> _Head | None:
    """The head (request line to the blank line included) of a request the short path
    takes, or None: Sanic's then."""
    route = _FAST_ROUTE.match(head)
    if route is None:
        return None
    fields = _HeadFields()
    parser = httptools.HttpRequestParser(fields)
    try:
        parser.feed_data(head)
    except httptools.HttpParserError:
        return None
    if not fields.complete or fields.refused or fields.content_lengths != 1:
        return None
    body_length = int(fields.headers["content-length"])
    if body_length > _MAX_FAST_BODY:
        return None
    query_string = route.group(3)
    query = {}
    if query_string:
        query = {
            name: values[0]
            for name, values in parse_qs(query_string.decode("ascii"), errors="replace").items()
        }
    return _Head(
        endpoint=route.group(2),
        project_id=int(route.group(1)),
        query=query,
        headers=fields.headers,
        header_pairs=fields.pairs,
        head_length=len(head),
        body_length=body_length,
        keep_alive=parser.should_keep_alive(),
    )


def client_address(header_pairs: list[tuple[str, str]], config: Config, peer: str) -> str:
    """The client's address as Sanic's `request.remote_addr or request.ip` gives it: the
    proxy headers' address where the configuration trusts a proxy (FORWARDED_SECRET,
    REAL_IP_HEADER, PROXIES_COUNT), the connection's peer otherwise."""
    if config.FORWARDED_SECRET or config.REAL_IP_HEADER or config.PROXIES_COUNT:
        headers = Header(header_pairs)
        forwarded = parse_forwarded(headers, config) or parse_xforwarded(headers, config)
        if forwarded and forwarded.get("for"):
            return str(forwarded["for"])
    return peer


def _not_fast(partial_head: bytearray) -> bool:
    """Whether a head still arriving can no longer be one the short path takes."""
    if len(partial_head) >= _MAX_HEAD:
        return True
    if not _FAST_START.startswith(bytes(partial_head[: len(_FAST_START)])):
        return True
    return b"\r\n" in partial_head and _FAST_ROUTE.match(partial_head) is None


def _reply_bytes(reply: Reply, keep_alive: bool) -> bytes:
    headers = [
        (name.encode("latin-1"), value.encode(errors="surrogateescape"))
        for name, value in reply.headers.items()
    ]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    headers.append((b"connection", b"keep-alive" if keep_alive else b"close"))
    return format_http1_response(reply.status, headers) + reply.body


class RelayProtocol(HttpProtocol):
    """Sanic's HTTP/1 protocol, with the short path for event posts (see the module) and
    one change when the server stops.

    Sanic closes every connection it finds idle, then waits for the others. A keep-alive
    connection whose next request has just arrived is still idle until its task runs; that
    task then handles a request on a closed connection: it appends the event and is cut
    off before the answer (logged as "stopped. Transport is closed"), so the SDK sends
    again an event already spooled. Such a connection is busy: it is answered, with
    `Connection: close` (see `app.stop_keeping_alive`), within the graceful wait. The
    short path keeps the same rule."""

    __slots__ = ("_answering", "_client_done", "_client_ip", "_fast", "_head")

    @property
    def front(self) -> str:
        """Which front serves this connection now: "fast" or "sanic"."""
        return "fast" if self._fast else "sanic"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._fast = bool(getattr(self.app.ctx, "fast_front", False))
        if not self._fast:
            super().connection_made(transport)
            return
        # Sanic's connection set-up, without its connection task: that starts on hand-over.
        SanicProtocol.connection_made(self, transport)  # type: ignore[arg-type]
        self.recv_buffer = bytearray()
        self._head: _Head | None = None
        self._answering: asyncio.Task[None] | None = None
        # The client closed its side (shutdown(SHUT_WR), as `nc -N` does): answer what
        # it sent whole, then close.
        self._client_done = False
        self._client_ip = self.conn_info.client_ip if self.conn_info else ""
        self._time = time.monotonic()
        self._schedule_timeout_check()

    def data_received(self, data: bytes) -> None:
        if not self._fast:
            super().data_received(data)
            return
        if not data:
            self.close()
            return
        self._time = time.monotonic()
        self.recv_buffer += data
        if self._answering is None:
            self._advance()
        elif len(self.recv_buffer) > _MAX_BUFFERED and self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        if not self._fast or self._answering is None:
            # Sanic's, or nothing whole to answer: the transport closes.
            return None
        self._client_done = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._callback_check_timeouts:
            self._callback_check_timeouts.cancel()
        super().connection_lost(exc)

    def close_if_idle(self) -> bool:
        if self.recv_buffer:
            return False
        if self._fast:
            if self._answering is not None:
                return False
            self.close()
            return True
        return super().close_if_idle()

    # -- the short path --

    def _advance(self) -> None:
        """Frame the next request in the buffer: answer it here, wait for more of it, or
        hand the connection to Sanic."""
        buffer = self.recv_buffer
        if not buffer or self.transport is None or self.transport.is_closing():
            return
        if len(buffer) > _MAX_BUFFERED:
            # Reading was paused while the last answer was awaited (see data_received);
            # the buffer only shrinks here, so it is still this long.
            self.transport.resume_reading()
        head = self._head
        if head is None:
            head_end = buffer.find(_HEAD_END, 0, _MAX_HEAD)
            if head_end < 0:
                if _not_fast(buffer):
                    self._hand_to_sanic()
                return
            head = parse_fast_head(bytes(buffer[: head_end + len(_HEAD_END)]))
            if head is None:
                self._hand_to_sanic()
                return
            self._head = head
        end = head.head_length + head.body_length
        if len(buffer) < end:
            return
        body = bytes(buffer[head.head_length : end])
        del buffer[:end]
        self._head = None
        self._answering = self.loop.create_task(self._answer(head, body))

    async def _answer(self, head: _Head, body: bytes) -> None:
        deps = self.app.ctx.deps
        address = client_address(head.header_pairs, self.app.config, self._client_ip)
        arrival = Arrival(deps, head.headers, head.query, body, address)
        try:
            reply = await _ENDPOINTS[head.endpoint](arrival, head.project_id)
        except RelayError as error:
            deps.metrics.count_request(head.endpoint.decode(), error.status)
            reply = error_reply(error)
        except Exception:
            # A bug of ours: logged with its trace and counted, as Sanic's handler does.
            log.exception("unexpected relay error")
            deps.metrics.count_request(head.endpoint.decode(), 500)
            reply = internal_error_reply()
        self._answering = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        keep_alive = head.keep_alive and self.app.config.KEEP_ALIVE
        transport.write(_reply_bytes(reply, keep_alive))
        self._time = time.monotonic()
        if keep_alive:
            self._advance()
        if not keep_alive or (self._client_done and self._fast and self._answering is None):
            self.close()

    def _hand_to_sanic(self) -> None:
        """From the request at the start of the buffer on, Sanic serves this connection."""
        self._fast = False
        if self._callback_check_timeouts:
            self._callback_check_timeouts.cancel()
            self._callback_check_timeouts = None
        # Sanic's Http reads this very buffer (it keeps a reference to it).
        self._task = self.loop.create_task(self.connection_task())
        self._data_received.set()

    def _schedule_timeout_check(self) -> None:
        config = self.app.config
        interval = max(0.1, min(config.KEEP_ALIVE_TIMEOUT, config.REQUEST_TIMEOUT) / 2)
        self._callback_check_timeouts = self.loop.call_later(interval, self._check_timeouts)

    def _check_timeouts(self) -> None:
        if not self._fast or self.transport is None or self.transport.is_closing():
            return
        if self._answering is None:
            waited = time.monotonic() - self._time
            config = self.app.config
            if not self.recv_buffer and waited > config.KEEP_ALIVE_TIMEOUT:
                self.close()
                return
            if self.recv_buffer and waited > config.REQUEST_TIMEOUT:
                timeout = json_reply(408, {"detail": "Request Timeout"}, CORS_HEADERS)
                self.transport.write(_reply_bytes(timeout, keep_alive=False))
                self.close()
                return
        self._schedule_timeout_check()
