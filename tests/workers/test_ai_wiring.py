"""Through Dramatiq: a new issue that reaches a few events is analyzed by the model, after
its batch committed, on the AI queue; the answer is stored on the issue."""

from __future__ import annotations

import json

from core.queue import PROCESS_EVENTS, enqueue
from core.wire import encode_batch
from relay.write import EventRows
from stackwise.serve import running_workers, stack_broker
from tests.support.clickhouse_server import wait_until
from tests.support.openai_server import CHAT_PATH, OpenAIServer, chat_reply
from tests.workers.factories import batch_of, error_event

ANSWER = {
    "summary": "Card payments are declined by the gateway for every order.",
    "likely_cause": "The payment gateway rejects the card token format.",
    "suggested_fix": "Validate the card token before calling charge().",
    "severity": "high",
    "severity_reason": "Checkout fails for customers.",
    "category": "external_service",
}


def test_a_new_issue_is_analyzed_after_its_batch(settings, tmp_path):
    from core.runtime import open_stack

    with OpenAIServer() as server:
        server.script_chat(chat_reply(json.dumps(ANSWER)))
        values = {f: getattr(settings, f) for f in settings.__struct_fields__}
        values.update(
            openai_base_url=server.base_url,
            openai_api_key="test-key",
            openai_model="local-model",
            openai_timeout_s=5.0,
        )
        configured = settings.__class__(**values)
        stack = open_stack(configured, own_clickhouse=True)
        try:
            from core.pg.projects import create_project

            project, _ = create_project(stack.pool, "shop")
            broker = stack_broker(stack)
            with running_workers(stack, broker, schedule=False):
                events = [error_event(value=f"card {i} declined") for i in range(4)]
                batch = batch_of(events, project.id)
                # As the relay does: the events are in ClickHouse before the batch is queued.
                rows = EventRows()
                for e in batch.events:
                    rows.add(
                        e.project_id,
                        e.event_id,
                        e.received_at,
                        e.payload,
                        timestamp=e.timestamp,
                        event_type="error",
                    )
                stack.clickhouse().insert_arrow("events", rows.table())
                enqueue(broker, configured.queue_name, PROCESS_EVENTS, encode_batch(batch))

                def analyzed() -> bool:
                    with stack.pool.connection() as conn:
                        row = conn.execute("SELECT ai_summary FROM error_groups").fetchone()
                    return row is not None and row["ai_summary"] is not None

                wait_until(analyzed, 60, "the issue was not analyzed")
            with stack.pool.connection() as conn:
                summary = conn.execute("SELECT ai_summary FROM error_groups").fetchone()[
                    "ai_summary"
                ]
        finally:
            stack.close()
        [request] = server.requests_to(CHAT_PATH)
    assert summary["answer"]["severity"] == "high"
    assert summary["model"] == "local-model"
    assert "PaymentError" in request.prompt_text
