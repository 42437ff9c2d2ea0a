"""Item types beyond events land where they belong: attachments with their bytes,
sessions as release-health rows, client reports and accepted counts as outcomes."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid

from tests.relay.conftest import CORPUS, PROJECT_ID, send_fixture, wait_for_rows

# The recorder's own envelope decoder: expectations come from an independent reading.
_spec = importlib.util.spec_from_file_location(
    "envelope_codec", CORPUS.parent / "record" / "envelope_codec.py"
)
codec = importlib.util.module_from_spec(_spec)
sys.modules["envelope_codec"] = codec
_spec.loader.exec_module(codec)


def decoded_items(name: str) -> list:
    sidecar = json.loads((CORPUS / f"{name}.json").read_text())
    body = next((CORPUS / name).parent.glob(f"{(CORPUS / name).name}.[be]*")).read_bytes()
    envelope = codec.parse_envelope(
        codec.decode_body(body, sidecar["headers"].get("content-encoding"))
    )
    return envelope.items


def test_attachments_are_stored_with_bytes_and_headers_tied_to_their_event(relay):
    sidecar, response = send_fixture(relay, "python/attachments")
    assert response.status_code == 200
    event_id = sidecar["expect"]["event_ids"][0]
    sent = {
        item.headers["filename"]: item.payload
        for item in decoded_items("python/attachments")
        if item.headers["type"] == "attachment"
    }
    sql = f"SELECT count() FROM attachments WHERE event_id = '{uuid.UUID(event_id)}'"
    assert wait_for_rows(relay, sql, len(sent)) == len(sent)
    rows = (
        relay.stack.clickhouse()
        .query(
            "SELECT name, content_type, size, data FROM attachments WHERE event_id = {e:UUID}",
            parameters={"e": str(uuid.UUID(event_id))},
        )
        .result_rows
    )
    stored = {name: (content_type, size, data) for name, content_type, size, data in rows}
    for filename, payload in sent.items():
        _, size, data = stored[filename]
        assert size == len(payload)
        assert (data if isinstance(data, bytes) else data.encode()) == payload
    assert stored["receipt.txt"][0] == "text/plain"


def test_session_updates_and_aggregates_become_release_health_rows(relay):
    for name in ("python/session.session", "python/sessions_aggregate.sessions"):
        assert send_fixture(relay, name)[1].status_code == 200
    update = json.loads(decoded_items("python/session.session")[0].payload)
    aggregate = json.loads(decoded_items("python/sessions_aggregate.sessions")[0].payload)
    aggregated_total = sum(
        entry.get(status, 0)
        for entry in aggregate["aggregates"]
        for status in ("exited", "errored", "abnormal", "crashed")
    )
    expected_quantity = 1 + aggregated_total
    sql = f"SELECT sum(quantity) FROM sessions WHERE project_id = {PROJECT_ID}"
    assert wait_for_rows(relay, sql, expected_quantity) == expected_quantity
    (release, status) = (
        relay.stack.clickhouse()
        .query(
            "SELECT release, status FROM sessions WHERE session_id = {s:String}",
            parameters={"s": update["sid"]},
        )
        .result_rows[0]
    )
    assert release == update["attrs"]["release"]
    assert status == update["status"]


def test_client_reports_and_accepted_events_are_counted_as_outcomes(relay):
    assert send_fixture(relay, "python/client_report")[1].status_code == 200
    report = json.loads(decoded_items("python/client_report")[0].payload)
    discarded = sum(entry["quantity"] for entry in report["discarded_events"])
    sql = (
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'client_discard' "
        f"AND project_id = {PROJECT_ID}"
    )
    assert wait_for_rows(relay, sql, discarded) == discarded

    assert send_fixture(relay, "python/exception")[1].status_code == 200
    sql = (
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'accepted' AND category = 'error' "
        f"AND project_id = {PROJECT_ID}"
    )
    assert wait_for_rows(relay, sql, 1) >= 1


def test_a_csp_report_becomes_a_readable_security_event(relay):
    _, response = send_fixture(relay, "spec/security-csp")
    assert response.status_code == 201
    sql = f"SELECT count() FROM events WHERE type = 'csp' AND project_id = {PROJECT_ID}"
    assert wait_for_rows(relay, sql, 1) == 1
    (message, payload) = (
        relay.stack.clickhouse()
        .query("SELECT message, payload FROM events WHERE type = 'csp'")
        .result_rows[0]
    )
    report = json.loads((CORPUS / "spec/security-csp.body").read_bytes())["csp-report"]
    assert message.startswith("Blocked ")
    assert json.loads(payload)["csp"]["document_uri"] == report["document-uri"]


def test_historic_and_drifting_timestamps_are_stored_as_the_event_happened(relay):
    import time
    from datetime import UTC, datetime

    import msgspec

    from relay.envelope import serialize_envelope
    from tests.relay.conftest import PUBLIC_KEY

    three_days_ago = time.time() - 3 * 86400
    iso = datetime.fromtimestamp(three_days_ago, UTC).isoformat().replace("+00:00", "Z")
    historic = uuid.uuid4().hex
    drifting = uuid.uuid4().hex
    # A client whose clock is two hours slow: sent_at and timestamp are both early.
    slow = time.time() - 7200
    bodies = [
        serialize_envelope(
            {"event_id": historic},
            [
                (
                    {"type": "event"},
                    msgspec.json.encode({"event_id": historic, "timestamp": iso, "message": "old"}),
                )
            ],
        ),
        serialize_envelope(
            {"event_id": drifting, "sent_at": datetime.fromtimestamp(slow, UTC).isoformat()},
            [
                (
                    {"type": "event"},
                    msgspec.json.encode(
                        {"event_id": drifting, "timestamp": slow - 30, "message": "drift"}
                    ),
                )
            ],
        ),
    ]
    for body in bodies:
        response = relay.http.post(
            f"/api/{PROJECT_ID}/envelope/",
            content=body,
            headers={"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}"},
        )
        assert response.status_code == 200
    ids = ", ".join(f"'{uuid.UUID(e)}'" for e in (historic, drifting))
    assert wait_for_rows(relay, f"SELECT count() FROM events WHERE event_id IN ({ids})", 2) == 2
    stored = dict(
        relay.stack.clickhouse()
        .query(
            f"SELECT replaceAll(toString(event_id), '-', ''), toFloat64(timestamp) FROM events "
            f"WHERE event_id IN ({ids})"
        )
        .result_rows
    )
    assert abs(stored[historic] - three_days_ago) < 1
    assert abs(stored[drifting] - (time.time() - 30)) < 10


def test_a_transaction_past_its_tables_retention_is_an_invalid_outcome_not_a_lost_row(relay):
    import time

    import msgspec

    from relay.envelope import serialize_envelope
    from tests.relay.conftest import PUBLIC_KEY

    def transaction(age_days: float) -> tuple[str, bytes]:
        event_id = uuid.uuid4().hex
        end = time.time() - age_days * 86400
        body = msgspec.json.encode(
            {
                "event_id": event_id,
                "type": "transaction",
                "transaction": "/checkout",
                "start_timestamp": end - 0.25,
                "timestamp": end,
                "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": "a" * 16}},
            }
        )
        envelope = serialize_envelope({"event_id": event_id}, [({"type": "transaction"}, body)])
        return event_id, envelope

    recent_id, recent = transaction(29)
    expired_id, expired = transaction(31)
    for body in (recent, expired):
        response = relay.http.post(
            f"/api/{PROJECT_ID}/envelope/",
            content=body,
            headers={"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}"},
        )
        assert response.status_code == 200
    sql = (
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'invalid' AND reason = 'timestamp' "
        f"AND category = 'transaction' AND project_id = {PROJECT_ID}"
    )
    assert wait_for_rows(relay, sql, 1) == 1
    stored = relay.stack.clickhouse().query(
        "SELECT replaceAll(toString(event_id), '-', '') FROM transactions "
        f"WHERE event_id IN ('{uuid.UUID(recent_id)}', '{uuid.UUID(expired_id)}')"
    )
    assert [row[0] for row in stored.result_rows] == [recent_id]


def _item_metric(relay, item_type: str, outcome: str) -> float:
    text = relay.http.get("/metrics").text
    line = f'relay_items_total{{item_type="{item_type}",outcome="{outcome}"}} '
    return sum(float(row.split()[-1]) for row in text.splitlines() if row.startswith(line))


def test_an_invalid_item_is_counted_once_in_the_relays_metrics(relay):
    from relay.envelope import serialize_envelope
    from tests.relay.conftest import PUBLIC_KEY

    before = _item_metric(relay, "error", "invalid") + _item_metric(relay, "event", "invalid")
    event_id = uuid.uuid4().hex
    body = serialize_envelope({"event_id": event_id}, [({"type": "event"}, b"[1, 2]")])
    response = relay.http.post(
        f"/api/{PROJECT_ID}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}"},
    )
    assert response.status_code == 200
    # Items are processed after the answer: the segment's counts land together once stored.
    deadline = time.monotonic() + 20
    while True:
        after = _item_metric(relay, "error", "invalid") + _item_metric(relay, "event", "invalid")
        if after > before or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert after - before == 1


def test_malformed_sessions_and_client_reports_are_invalid_items_and_nothing_stalls(relay):
    """Each used to reach the spool and fail every flush of its segment, so nothing
    acknowledged after it was ever stored."""
    from relay.envelope import serialize_envelope
    from tests.relay.conftest import PUBLIC_KEY

    headers = {"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}"}
    malformed = [
        ("sessions", b'{"aggregates": 5}'),
        ("sessions", b'{"aggregates": [{"started": "2026-12-01T00:00:00Z", "exited": "x"}]}'),
        ("session", b'{"sid": "a", "errors": "many"}'),
        ("client_report", b'{"discarded_events": 3}'),
    ]
    # No other test of the module sends invalid sessions or client reports.
    sql = (
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'invalid' "
        "AND reason = 'invalid_item' AND category IN ('session', 'client_report') "
        f"AND project_id = {PROJECT_ID}"
    )
    before = 0
    for kind, payload in malformed:
        body = serialize_envelope({}, [({"type": kind}, payload)])
        response = relay.http.post(f"/api/{PROJECT_ID}/envelope/", content=body, headers=headers)
        assert response.status_code == 200
    event_id = uuid.uuid4().hex
    body = serialize_envelope(
        {"event_id": event_id}, [({"type": "event"}, b'{"message": "after"}')]
    )
    assert (
        relay.http.post(f"/api/{PROJECT_ID}/envelope/", content=body, headers=headers).status_code
        == 200
    )
    assert (
        wait_for_rows(
            relay, f"SELECT count() FROM events WHERE event_id = '{uuid.UUID(event_id)}'", 1
        )
        == 1
    )
    assert wait_for_rows(relay, sql, before + len(malformed)) == before + len(malformed)


def test_store_answers_400_only_for_what_relay_refuses_before_answering(relay):
    """Like Relay's store endpoint: a body that is no JSON object, or whose event id is
    not one, is a 400; what fails later (an event past its retention) is answered with
    its id and becomes an `invalid` outcome."""
    from tests.relay.conftest import PUBLIC_KEY

    headers = {"X-Sentry-Auth": f"Sentry sentry_key={PUBLIC_KEY}", "Content-Type": "text/plain"}
    url = f"/api/{PROJECT_ID}/store/"
    for body in (b"{not json", b"[1, 2]", b'{"event_id": "not-an-id", "message": "m"}'):
        response = relay.http.post(url, content=body, headers=headers)
        assert response.status_code == 400, body
        assert "detail" in response.json()
    sql = (
        "SELECT sum(quantity) FROM outcomes WHERE outcome = 'invalid' AND reason = 'timestamp' "
        f"AND category = 'error' AND project_id = {PROJECT_ID}"
    )
    before = relay.stack.clickhouse().query(sql).result_rows[0][0] or 0
    event_id = uuid.uuid4().hex
    too_old = json.dumps(
        {"event_id": event_id, "message": "ancient", "timestamp": time.time() - 400 * 86400}
    )
    response = relay.http.post(url, content=too_old.encode(), headers=headers)
    assert response.status_code == 200
    assert response.json() == {"id": event_id}
    assert wait_for_rows(relay, sql, before + 1) == before + 1
