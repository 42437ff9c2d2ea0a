"""The seeder's traffic at a steady rate, recording which event ids each relay answered 200.

The four seeded services' events are built into the envelopes their SDKs send
(seed) and posted by the seeder's sender, which retries 429 and 503 answers
and broken connections as `just seed` does. The connections are spread over the relays
given; what each attempt got is noted per event id.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from seed.deliver_http import Sender
from seed.envelopes import EnvelopeBuilder, sent_at_now
from seed.generate import SeedEvent
from seed.http1 import Connection, Response
from seed.summary import Tally


@dataclass
class Book:
    """What the sending side knows, per event id."""

    kinds: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (service, kind)
    acknowledged: set[str] = field(default_factory=set)
    # Ids of which an attempt ended without an answer: the relay may have kept that copy.
    resent: set[str] = field(default_factory=set)
    answers: Counter = field(default_factory=Counter)


class RecordingConnection(Connection):
    """The seeder's connection, noting each attempt's answer for the event being sent."""

    def __init__(self, base_url: str, book: Book) -> None:
        super().__init__(base_url)
        self.book, self.event_id = book, ""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        try:
            response = await super().post(path, body, headers)
        except OSError:
            self.book.resent.add(self.event_id)
            self.book.answers["broken"] += 1
            raise
        self.book.answers[response.status] += 1
        if response.status == 200:
            self.book.acknowledged.add(self.event_id)
        return response


async def _send(base_url: str, queue: asyncio.Queue, sender: Sender, book: Book) -> None:
    connection = RecordingConnection(base_url, book)
    try:
        while (item := await queue.get()) is not None:
            connection.event_id, request = item
            await sender.send(connection, request)
    finally:
        await connection.close()


async def _produce(
    events: Iterator[SeedEvent],
    builder: EnvelopeBuilder,
    queue: asyncio.Queue,
    book: Book,
    *,
    rate: float,
    seconds: float,
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    for sent, event in enumerate(events):
        due = started + sent / rate
        if due > started + seconds:
            return
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        rendered = event.rendered
        book.kinds[rendered.event_id] = (event.project, rendered.kind)
        await queue.put((rendered.event_id, builder.build(event, sent_at_now())))


async def seeded_traffic(
    relays: list[str],
    builder: EnvelopeBuilder,
    events: Iterator[SeedEvent],
    book: Book,
    *,
    rate: float,
    seconds: float,
    connections: int,
) -> Tally:
    """Send `events` at `rate` a second for `seconds`, over `connections` connections
    spread over `relays` (base URLs), then wait for the last answers (and retries). The
    tally says what the sender gave up on."""
    tally = Tally()
    sender = Sender(tally)
    queue: asyncio.Queue = asyncio.Queue(maxsize=connections * 4)
    senders = [
        asyncio.create_task(_send(relays[n % len(relays)], queue, sender, book))
        for n in range(connections)
    ]
    await _produce(events, builder, queue, book, rate=rate, seconds=seconds)
    for _ in senders:
        await queue.put(None)
    await asyncio.gather(*senders)
    return tally
