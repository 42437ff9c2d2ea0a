"""Over HTTP: every generated envelope is accepted by a real relay and stored like SDK
traffic; 429 and 503 answers are waited out and retried."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from relay.service import RelayService
from seed.deliver_http import deliver
from seed.envelopes import EnvelopeBuilder
from seed.generate import Generator
from seed.plan import SeedOptions, SeedPlan, today_utc
from seed.projects import (
    PROJECTS_BY_KEY,
    SEED_PROJECTS,
    configure_relay_limits,
    ensure_seed_projects,
)
from seed.summary import Tally
from stackwise.serve import running_workers, stack_broker
from tests.support.relay_thread import serving

OPTIONS = SeedOptions(events=500, days=5, root_causes=50, seed=21, end=today_utc())


def _send(base_url: str, plan: SeedPlan, provisioned, concurrency: int = 8) -> Tally:
    tally = Tally()
    events = Generator(plan).events()
    builder = EnvelopeBuilder(provisioned)
    asyncio.run(
        deliver(base_url, events, builder, tally, concurrency=concurrency, on_done=lambda: None)
    )
    return tally


def _wait_for(check, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_every_envelope_is_accepted_stored_with_its_truth_and_grouped(stack):
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    # Sampling would keep a varying part of a burst this fast: store them all here.
    assert configure_relay_limits(stack.pool, provisioned, keep_all=True)
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    config = provisioned["web"].project.config
    assert not config.sampling.enabled and not config.spike_protection.enabled
    assert not configure_relay_limits(stack.pool, provisioned, keep_all=True)
    plan = SeedPlan(OPTIONS)
    broker = stack_broker(stack)
    relay = RelayService(stack, broker)
    relay.start()
    client = stack.clickhouse()
    count = lambda sql: client.query(sql).result_rows[0][0]  # noqa: E731
    try:
        with running_workers(stack, broker), serving(relay.app) as base_url:
            started = time.monotonic()
            tally = _send(base_url, plan, provisioned)
            print(f"\n{OPTIONS.events} events sent in {time.monotonic() - started:.1f} s")
            assert tally.total("accepted") == OPTIONS.events
            assert tally.total("rejected") == 0
            _wait_for(lambda: count("SELECT count() FROM seed_ground_truth") == OPTIONS.events)
            print(f"stored after {time.monotonic() - started:.1f} s")
            errors = count("SELECT count() FROM events")
            with stack.pool.connection() as conn:
                grouped = lambda: conn.execute(  # noqa: E731
                    "SELECT count(*) AS n FROM error_occurrences"
                ).fetchone()["n"]
                _wait_for(lambda: grouped() == errors)
            print(f"grouped after {time.monotonic() - started:.1f} s")
    finally:
        relay.stop()
    assert errors + count("SELECT count() FROM transactions") == OPTIONS.events
    # Stored as the events say: their historic time and their type, not the arrival's.
    sent = {e.rendered.event_id: e for e in Generator(plan).events()}
    stored = client.query(
        "SELECT lower(hex(event_id)), toFloat64(timestamp), type FROM events"
    ).result_rows
    for event_id, timestamp, kind in stored:
        event = sent[event_id]
        assert abs(timestamp - event.timestamp) < 0.002, (event.root_cause.id, timestamp)
        assert kind == ("error" if "exception" in event.rendered.payload else "default")
    rows = client.query(
        "SELECT p.slug, e.platform, e.sdk_name, count() FROM events AS e "
        "INNER JOIN seed_ground_truth AS t ON t.event_id = e.event_id "
        "INNER JOIN (SELECT arrayJoin({ids:Array(Tuple(UInt64, String))}) AS pair, "
        "pair.1 AS id, pair.2 AS slug) AS p ON p.id = e.project_id "
        "GROUP BY p.slug, e.platform, e.sdk_name",
        parameters={
            "ids": [(p.project.id, p.project.slug) for p in provisioned.values()],
        },
    ).result_rows
    for slug, platform, sdk_name, _ in rows:
        seed = next(s for s in PROJECTS_BY_KEY.values() if s.slug == slug)
        assert (platform, sdk_name) == (seed.platform, seed.sdk_name)
    assert {row[0] for row in rows} == {p.slug for p in SEED_PROJECTS}


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 and then 503 to the first requests, then 200 like a relay."""

    protocol_version = "HTTP/1.1"
    answers: list[tuple[int, dict[str, str]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        with self.lock:
            status, headers = self.answers.pop(0) if self.answers else (200, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        body = b'{"id":"x"}' if status == 200 else b'{"detail":"busy"}'
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _flaky_server(answers) -> Iterator[str]:
    _Flaky.answers = list(answers)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_rate_limits_and_unavailability_are_waited_out_and_retried():
    from tests.seed.test_sdk_shapes import _provisioned

    plan = SeedPlan(SeedOptions(events=30, days=2, root_causes=20, seed=2, end=today_utc()))
    answers = [
        (429, {"Retry-After": "1", "X-Sentry-Rate-Limits": "1:error;transaction:key:quota"}),
        (503, {"Retry-After": "0"}),
        (400, {}),
    ]
    with _flaky_server(answers) as base_url:
        started = time.monotonic()
        tally = _send(base_url, plan, _provisioned(), concurrency=1)
    assert tally.retries == {"429": 1, "503": 1}
    assert tally.total("accepted") == 29 and tally.total("rejected") == 1
    assert time.monotonic() - started >= 1.0, "the 429's Retry-After was honoured"
