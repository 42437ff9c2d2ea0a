"""A TCP forwarder in front of a server, which a test can cut and restore.

Processes under test connect to the proxy instead of the machine's shared PostgreSQL or
Redis. `cut()` drops every open connection (reset, as a failed link or a restarted server
does) and stops listening, so new connections are refused; `restore()` listens again on
the same port. The server itself never notices, so other tests sharing it are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

_CHUNK_BYTES = 64 * 1024
# SO_LINGER on, zero seconds: close() resets the connection instead of a polite FIN.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections_total = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    @property
    def cut_off(self) -> bool:
        return self._server is None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._forward, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _forward(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        self.connections_total += 1
        try:
            server_in, server_out = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client_out)
            return
        pair = {client_out, server_out}
        self._open |= pair
        try:
            await asyncio.gather(_pipe(client_in, server_out), _pipe(server_in, client_out))
        finally:
            self._open -= pair
            for writer in pair:
                writer.close()

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()

    def cut(self) -> None:
        """Drop every connection through the proxy and refuse new ones."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._server is None:
            self._call(self._listen())

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.cut()
        try:
            yield
        finally:
            self.restore()

    async def _shut_down(self) -> None:
        await self._cut()
        # The reset connections end their forwarding tasks as their transports close.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=5)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._shut_down())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(_CHUNK_BYTES):
            sink.write(chunk)
            await sink.drain()
    except (OSError, RuntimeError):
        pass  # the other side went away (or the proxy cut it): the pair is closed
    finally:
        # Half-close: the peer sees end of stream, as it would from the server.
        with contextlib.suppress(OSError, RuntimeError):
            if sink.can_write_eof():
                sink.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    writer.transport.abort()
