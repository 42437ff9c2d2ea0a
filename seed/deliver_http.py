"""Deliver seed events to the relay as real envelopes over HTTP.

A producer generates events in timeline order and builds their requests; a
bounded number of senders post them, each over its own keep-alive connection
(http1.Connection; see there why not httpx). As
SDKs do, a sender that gets 429 waits for `Retry-After` before that project's
category sends again, and 503 backs off; unlike SDKs (which drop), the seeder
then retries the same envelope, so the whole catalogue arrives. Other 4xx are
counted as rejected and not retried.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator

from seed.envelopes import EnvelopeBuilder, SeedRequest, sent_at_now
from seed.generate import SeedEvent
from seed.http1 import Connection, Response
from seed.summary import Tally

MAX_ATTEMPTS = 20
_MAX_BACKOFF_S = 30.0
_ITEMS = re.compile(
    r'^relay_items_total\{item_type="([^"]*)",outcome="([^"]*)"\} ([0-9.e+]+)$', re.M
)


def relay_outcomes(base_url: str) -> Counter:
    """What the relay did with the items it got, by outcome (accepted, sampled, ...):
    a 200 does not say whether an event was kept, the relay's metrics do."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    outcomes: Counter = Counter()
    for item_type, outcome, value in _ITEMS.findall(text):
        if item_type in ("error", "default", "transaction", "event"):
            outcomes[outcome] += int(float(value))
    return outcomes


class RateLimits:
    """Until when each (project, category) must not send, from 429 answers."""

    def __init__(self) -> None:
        self.until: dict[tuple[str, str], float] = {}

    def block(self, request: SeedRequest, response: Response) -> float:
        """Pause the request's project and category for `Retry-After` seconds."""
        delay = _retry_after(response, 1.0)
        self.until[(request.project, request.category)] = time.monotonic() + delay
        return delay

    async def wait(self, request: SeedRequest) -> None:
        remaining = self.until.get((request.project, request.category), 0.0) - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)


def _retry_after(response: Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", default)))
    except ValueError:
        return default


class Sender:
    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.limits = RateLimits()

    async def send(self, connection: Connection, request: SeedRequest) -> None:
        backoff = 0.5
        for _ in range(MAX_ATTEMPTS):
            await self.limits.wait(request)
            try:
                response = await connection.post(request.path, request.body, request.headers)
            except OSError:  # ConnectionError included: reconnect on the next attempt
                await connection.close()
                self.tally.retries["network"] += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            status = response.status
            if status == 200:
                self.tally.add(request.project, request.family, "accepted")
                return
            if status == 429:
                self.tally.retries["429"] += 1
                self.limits.block(request, response)
                continue
            if status == 503:
                self.tally.retries["503"] += 1
                await asyncio.sleep(_retry_after(response, backoff))
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            self._reject(request, f"{status} {response.text[:120]}")
            return
        self._reject(request, f"gave up after {MAX_ATTEMPTS} attempts")

    def _reject(self, request: SeedRequest, reason: str) -> None:
        self.tally.add(request.project, request.family, "rejected")
        self.tally.rejections[reason] += 1


async def _produce(
    events: Iterator[SeedEvent], builder: EnvelopeBuilder, queue: asyncio.Queue, tally: Tally
) -> None:
    for count, event in enumerate(events, 1):
        request = builder.build(event, sent_at_now())
        tally.add(request.project, request.family, "sent")
        await queue.put(request)
        if count % 64 == 0:
            await asyncio.sleep(0)  # let the senders run between bursts of generation


async def _consume(
    base_url: str, queue: asyncio.Queue, sender: Sender, done: Callable[[], None]
) -> None:
    connection = Connection(base_url)
    try:
        while True:
            request = await queue.get()
            if request is None:
                return
            await sender.send(connection, request)
            done()
    finally:
        await connection.close()


async def deliver(
    base_url: str,
    events: Iterator[SeedEvent],
    builder: EnvelopeBuilder,
    tally: Tally,
    *,
    concurrency: int,
    on_done: Callable[[], None],
) -> None:
    tally.started = time.monotonic()
    sender = Sender(tally)
    queue: asyncio.Queue = asyncio.Queue(maxsize=concurrency * 4)
    senders = [
        asyncio.create_task(_consume(base_url, queue, sender, on_done)) for _ in range(concurrency)
    ]
    try:
        await _produce(events, builder, queue, tally)
        for _ in senders:
            await queue.put(None)
        await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
    tally.stop()
