"""Every request in fixtures/envelopes/ (recorded from real SDKs, plus spec edge cases)
replayed byte for byte against a running relay: the status a Sentry SDK expects, and
for accepted events, the rows in ClickHouse."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.relay.conftest import CORPUS, RunningRelay, send_fixture

SIDECARS = sorted(CORPUS.glob("*/*.json"))


def _stored_event_ids(relay: RunningRelay, table: str, event_ids: list[str]) -> set[str]:
    rows = (
        relay.stack.clickhouse()
        .query(
            f"SELECT replaceAll(toString(event_id), '-', '') FROM {table} "
            "WHERE event_id IN {ids:Array(UUID)}",
            parameters={"ids": [str(uuid.UUID(e)) for e in event_ids]},
        )
        .result_rows
    )
    return {row[0] for row in rows}


def _wait_stored(relay: RunningRelay, event_ids: list[str], timeout_s: float = 20) -> set[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = _stored_event_ids(relay, "events", event_ids)
        found |= _stored_event_ids(relay, "transactions", event_ids)
        if found >= set(event_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _expected_stored(expect: dict) -> list[str]:
    """Event ids of event-like items (attachments etc. share the id but are not events)."""
    if expect.get("events_stored") == 0:
        return []
    kinds = {"event", "transaction", "security"}
    if not kinds & set(expect.get("item_types", [])):
        return []
    return expect.get("event_ids", [])


@pytest.mark.parametrize("sidecar_path", SIDECARS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_request(sidecar_path: Path, relay: RunningRelay):
    name = f"{sidecar_path.parent.name}/{sidecar_path.stem}"
    sidecar, response = send_fixture(relay, name)
    expect = sidecar["expect"]
    allowed = expect.get("status_in") or [expect["status"]]
    assert response.status_code in allowed, response.text
    assert response.status_code < 500
    if response.status_code >= 400:
        assert "detail" in response.json()
        if "detail_contains" in expect:
            assert expect["detail_contains"] in response.json()["detail"].lower()
        return
    if response.status_code == 200 and "response" in expect:
        assert response.json() == expect["response"]
    wanted = _expected_stored(expect)
    if wanted and response.status_code in (200, 201):
        assert _wait_stored(relay, wanted) >= set(wanted)
