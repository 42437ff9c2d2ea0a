"""Notifications reach a real webhook as Slack-compatible JSON, are retried, never repeated."""

from __future__ import annotations

import logging

import pytest

from core.pg import projects
from core.project_config import set_path
from tests.support.webhook import webhook
from tests.workers.factories import batch_of, error_event
from workers import notifications
from workers.process_events import process_event_batch


def point_webhook(ctx, url: str) -> None:
    project = projects.get_project(ctx.stack.pool, "shop")
    projects.save_config(
        ctx.stack.pool, "shop", set_path(project.config, "notifications.webhook_url", url)
    )


def status_of(ctx, notification_id: int) -> dict:
    with ctx.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT status, attempts, last_error FROM notifications WHERE id = %s",
            (notification_id,),
        ).fetchone()


def test_a_new_issue_is_posted_to_the_project_webhook(ctx, project_id):
    with webhook() as hook:
        point_webhook(ctx, hook.url)
        outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
        [notification_id] = outcome.assignment.notification_ids
        assert notifications.deliver(ctx.stack.pool, notification_id) == "delivered"
        assert notifications.deliver(ctx.stack.pool, notification_id) == "delivered"
    assert len(hook.received) == 1, "a delivered notification is not posted again"
    payload = hook.received[0]
    assert payload["text"].startswith("New issue: PaymentError: card 4000 declined")
    assert {f["title"] for f in payload["attachments"][0]["fields"]} >= {"issue", "culprit"}


def test_a_failing_webhook_is_retried_and_then_given_up(ctx, project_id):
    with webhook() as hook:
        point_webhook(ctx, hook.url)
        outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
        [notification_id] = outcome.assignment.notification_ids
        hook.failures_left = 1
        with pytest.raises(notifications.DeliveryError):
            notifications.deliver(ctx.stack.pool, notification_id)
        assert status_of(ctx, notification_id)["status"] == "pending"
        assert notifications.deliver(ctx.stack.pool, notification_id) == "delivered"
        assert status_of(ctx, notification_id)["attempts"] == 2
        other = process_event_batch(
            ctx, batch_of([error_event(exception_type="TimeoutError")], project_id)
        ).assignment.notification_ids[0]
        hook.failures_left = 100
        with pytest.raises(notifications.DeliveryError):
            notifications.deliver(ctx.stack.pool, other)
        notifications.give_up(ctx.stack.pool, other)
    final = status_of(ctx, other)
    assert final["status"] == "failed" and "503" in final["last_error"]


def test_without_a_webhook_notifications_are_logged(ctx, project_id, caplog):
    caplog.set_level(logging.DEBUG, logger="workers.notifications")
    outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
    [notification_id] = outcome.assignment.notification_ids
    assert notifications.deliver(ctx.stack.pool, notification_id) == "logged"
    assert "New issue: PaymentError" in caplog.text


def test_lost_delivery_messages_are_found_by_the_sweep(ctx, project_id):
    outcome = process_event_batch(ctx, batch_of([error_event()], project_id))
    with ctx.stack.pool.connection() as conn:
        conn.execute("UPDATE notifications SET created_at = now() - interval '10 minutes'")
    assert notifications.stale_pending(ctx.stack.pool) == outcome.assignment.notification_ids
