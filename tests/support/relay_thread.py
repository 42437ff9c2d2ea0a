"""Run a real relay (Sanic over a real socket) in a background thread of the test process."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sanic import Sanic

from relay.front import RelayProtocol


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app: Sanic, port: int | None = None, protocol: type = RelayProtocol) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends, with the relay's protocol as `serve`
    does unless told otherwise; yields the base URL. The server and its loop are
    `app.ctx.server` and `app.ctx.loop` meanwhile."""
    port = port or free_port()
    # Sanic's TouchUp rewrites shared class methods at each app's start-up, which breaks the
    # second app in one process; `serve` runs one app per process and keeps it on.
    app.config.TOUCHUP = False
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    async def start() -> None:
        server = await app.create_server(
            host="127.0.0.1",
            port=port,
            return_asyncio_server=True,
            access_log=False,
            protocol=protocol,
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        state["server"] = app.ctx.server = server
        app.ctx.loop = loop

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as e:
            state["error"] = e
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name=f"relay-{port}", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in state:
        raise state["error"]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server = state["server"]

        async def stop() -> None:
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
