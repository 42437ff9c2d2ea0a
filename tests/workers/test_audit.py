"""The audit reconciles the relay's ledger with the stored rows, the issues and the outcomes,
and finds each kind of difference: a lost row, an extra row, an ungrouped event, a
miscounted issue. Real relay over HTTP, real workers, chdb, the machine's PostgreSQL."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest

from analysis import operations
from analysis.clickhouse_source import ClickHouseSource
from core.audit import reconcile
from core.pg.projects import create_project, save_config
from core.project_config import set_path
from core.storage import chdb_http
from relay.envelope import serialize_envelope
from relay.service import RelayService
from stackwise.cli import main
from stackwise.serve import running_workers, stack_broker
from tests.support.clickhouse_server import wait_until
from tests.support.relay_thread import free_port, serving
from workers import operations as operations_checks
from workers.context import WorkerContext

_encode = msgspec.json.encode


def _error(event_id: str, kind: str) -> bytes:
    return _encode(
        {
            "event_id": event_id,
            "platform": "python",
            "exception": {"values": [{"type": kind, "value": "boom"}]},
            "user": {"id": "u1"},
        }
    )


def _transaction(event_id: str) -> bytes:
    now = time.time()
    return _encode(
        {
            "event_id": event_id,
            "type": "transaction",
            "transaction": "/cart",
            "start_timestamp": now - 0.2,
            "timestamp": now,
            "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": "b" * 16}},
        }
    )


def mixed_traffic(post) -> dict[str, list[str]]:
    """Errors (two issues, one with an attachment), a message, transactions, sessions and
    one filtered event; returns the acknowledged ids by kind."""
    sent: dict[str, list[str]] = {"error": [], "default": [], "transaction": []}
    for n in range(6):
        event_id = uuid.uuid4().hex
        items = [({"type": "event"}, _error(event_id, "KeyError" if n % 2 else "ValueError"))]
        if n == 0:
            items.append(({"type": "attachment", "filename": "log.txt"}, b"line one\n"))
        post(serialize_envelope({"event_id": event_id}, items))
        sent["error"].append(event_id)
    message_id = uuid.uuid4().hex
    message = _encode({"event_id": message_id, "message": "disk almost full"})
    post(serialize_envelope({"event_id": message_id}, [({"type": "event"}, message)]))
    sent["default"].append(message_id)
    for _ in range(3):
        event_id = uuid.uuid4().hex
        post(
            serialize_envelope(
                {"event_id": event_id}, [({"type": "transaction"}, _transaction(event_id))]
            )
        )
        sent["transaction"].append(event_id)
    session = _encode(
        {"sid": uuid.uuid4().hex, "status": "ok", "init": True, "attrs": {"release": "1.0"}}
    )
    post(serialize_envelope({}, [({"type": "session"}, session)]))
    # Filtered by the project's error-message filter: kept out, with an outcome.
    filtered_id = uuid.uuid4().hex
    noise = _encode({"event_id": filtered_id, "message": "ResizeObserver loop limit exceeded"})
    post(serialize_envelope({"event_id": filtered_id}, [({"type": "event"}, noise)]))
    return sent


@pytest.fixture
def pipeline(stack):
    project, key = create_project(stack.pool, "audited")
    config = set_path(project.config, "filters.error_messages", ["*ResizeObserver*"])
    config = set_path(config, "sampling.enabled", False)
    save_config(stack.pool, project.slug, config)
    broker = stack_broker(stack)
    relay = RelayService(stack, broker)
    relay.start()
    try:
        with serving(relay.app) as base_url, httpx.Client(base_url=base_url) as http:

            def post(body: bytes) -> None:
                response = http.post(
                    f"/api/{project.id}/envelope/",
                    content=body,
                    headers={"X-Sentry-Auth": f"Sentry sentry_key={key.public_key}"},
                )
                assert response.status_code == 200, response.text

            yield stack, broker, project.id, post
    finally:
        relay.stop()


@pytest.fixture
def audit_cli(stack, monkeypatch, capsys):
    """`stackwise audit` through the command line, reading ClickHouse over HTTP as it
    does beside a running `serve`."""
    settings = stack.settings
    port = free_port()
    server = chdb_http.serve_in_background(
        settings.clickhouse_dsn.removeprefix("chdb://"), "127.0.0.1", port
    )
    for name, value in {
        "STACKWISE_CLICKHOUSE_URL": f"http://127.0.0.1:{port}",
        "STACKWISE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "STACKWISE_POSTGRES_URL": settings.postgres_url,
        "STACKWISE_REDIS_URL": settings.redis_url,
        "STACKWISE_REDIS_NAMESPACE": settings.redis_namespace,
        "STACKWISE_DATA_DIR": str(settings.data_dir),
    }.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str]:
        code = main(["audit", "--settle", "0", *argv])
        return code, capsys.readouterr().out

    yield run
    server.shutdown()
    server.server_close()


def audit(stack, project_id: int, *, settle_s: float = 0.0):
    now = datetime.now(UTC)
    with stack.pool.connection() as conn:
        return reconcile(
            stack.clickhouse(),
            conn,
            since=now - timedelta(hours=2),
            until=now,
            now=now,
            projects=[project_id],
            settle_s=settle_s,
        )


def _grouped(stack, event_ids: list[str]) -> int:
    return (
        stack.clickhouse()
        .query(
            "SELECT uniqExact(event_id) FROM event_groups WHERE event_id IN {ids:Array(UUID)}",
            parameters={"ids": event_ids},
        )
        .result_rows[0][0]
    )


def _ledgered(stack, project_id: int) -> int:
    return (
        stack.clickhouse()
        .query(
            "SELECT sum(items) FROM ingest_ledger FINAL WHERE project_id = {p:UInt64}",
            parameters={"p": project_id},
        )
        .result_rows[0][0]
    )


def test_mixed_traffic_reconciles_and_every_kind_of_difference_is_found(pipeline, audit_cli):
    stack, broker, project_id, post = pipeline
    with running_workers(stack, broker, schedule=False):
        sent = mixed_traffic(post)
        events = sent["error"] + sent["default"]
        # 7 events, 3 transactions, 1 attachment, 1 session row.
        wait_until(lambda: _ledgered(stack, project_id) == 12, 30, "relay did not flush")
        wait_until(lambda: _grouped(stack, events) == len(events), 30, "workers did not group")
        result = audit(stack, project_id)
    assert result.ok, result
    by_category = {}
    for line in result.lines:
        by_category.setdefault(line.category, []).append(line)
    kept = {c: sum(line.accepted for line in lines) for c, lines in by_category.items()}
    assert kept == {"error": 6, "default": 1, "transaction": 3, "attachment": 1, "session": 1}
    assert sum(line.dropped.get("filtered", 0) for line in result.lines) == 1
    assert sum(line.grouped for line in result.lines) == 7
    assert result.issues_checked == 3  # KeyError, ValueError, the message
    code, out = audit_cli("--project", "audited")
    assert code == 0, out
    assert "reconciled: 12 kept, 1 dropped with an outcome, 0 missing" in out
    # The operations notebook shows the same reconciliation, per project and category.
    totals = operations.reconciliation(ClickHouseSource.from_stack(stack))
    shown = {row["category"]: row["kept"] for row in totals.to_dicts()}
    assert shown == kept
    assert operations.reconciliation_verdict(totals).startswith("Reconciled: every one of the 12")

    client = stack.clickhouse()
    # A lost row: an acknowledged event gone from its table.
    lost = sent["error"][1]
    client.command(
        f"ALTER TABLE events DELETE WHERE event_id = '{uuid.UUID(lost)}' "
        "SETTINGS mutations_sync = 2"
    )
    # An extra row: a session stored twice.
    client.command("INSERT INTO sessions SELECT * FROM sessions SETTINGS insert_deduplicate = 0")
    # A miscounted issue.
    with stack.pool.connection() as conn:
        conn.execute(
            "UPDATE error_groups SET times_seen = times_seen + 1 WHERE project_id = %s "
            "AND exception_type = 'KeyError'",
            (project_id,),
        )
    damaged = audit(stack, project_id)
    assert (damaged.missing, damaged.extra, damaged.ok) == (1, 1, False)
    (difference,) = damaged.issue_differences
    assert difference.times_seen == difference.assigned + 1
    code, out = audit_cli("--project", "audited", "--since", "3h")
    assert code == 1
    assert "hours that do not reconcile" in out and "issues whose event count disagrees" in out
    assert "DIFFERENCES: 12 kept, 1 dropped with an outcome, 1 missing, 1 extra" in out
    verdict = operations.reconciliation_verdict(
        operations.reconciliation(ClickHouseSource.from_stack(stack))
    )
    assert verdict.startswith("Does not reconcile: 1 missing, 1 extra of 12 kept")


def test_an_event_the_workers_have_not_grouped_is_pending_then_a_difference_then_repaired(
    pipeline, monkeypatch
):
    stack, broker, project_id, post = pipeline
    event_id = uuid.uuid4().hex
    post(serialize_envelope({"event_id": event_id}, [({"type": "event"}, _error(event_id, "E"))]))
    wait_until(lambda: _ledgered(stack, project_id) == 1, 30, "relay did not flush")
    # No workers run: within the settling time it is in flight, after it a difference.
    assert audit(stack, project_id, settle_s=600).ok
    late = audit(stack, project_id, settle_s=0)
    assert (late.ungrouped, late.missing, late.ok) == (1, 0, False)
    assert "1 ungrouped" in late.summary()

    # Its queue message is lost (the relay's went to a queue no worker reads). The
    # operations check sends the stored event to the workers again, named.
    broker.flush_all()
    monkeypatch.setattr(operations_checks, "LEDGER_SETTLE_S", 0.0)
    check = operations_checks.check_ledger(WorkerContext(stack), broker)
    assert check.breached
    assert "1 ungrouped events sent to the workers again" in check.detail
    with running_workers(stack, broker, schedule=False):
        wait_until(lambda: _grouped(stack, [event_id]) == 1, 30, "the repair was not grouped")
    assert audit(stack, project_id).ok
    assert operations_checks.check_ledger(WorkerContext(stack), broker).value == 0
