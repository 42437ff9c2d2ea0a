"""Notifications: new issues, regressions, threshold and operations alerts.

A transactional outbox: the worker inserts a notification row in the same
transaction that made the change (unique per kind, subject and period, so a
redelivered batch does not repeat it), and enqueues its delivery only after the
commit. Delivery posts Slack-compatible JSON to the project's (or the
deployment's) webhook and logs it; a failed delivery is retried with backoff by
Dramatiq and never holds up grouping. A sweep re-enqueues rows left pending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from core.pg import notifications as outbox
from core.project_config import parse_config
from core.storage.postgres import DbConnection, Pool
from workers.errors import DeliveryError

log = logging.getLogger(__name__)

_WEBHOOK_TIMEOUT_S = 10.0
_HEADLINES = {
    "new_issue": "New issue",
    "regression": "Regression",
    "escalating": "Ignored issue is back",
    "threshold": "Issue over its alert threshold",
    "operations": "Operations alert",
    "anomaly": "Anomaly",
}


@dataclass(frozen=True)
class Notice:
    project_id: int
    kind: str
    dedup_key: str
    text: str
    group_id: int | None = None
    fields: dict | None = None


def issue_notice(kind: str, group: dict, *, period: str = "") -> Notice:
    """A notice about one issue; `group` is a row with id, project_id, title, culprit."""
    headline = _HEADLINES.get(kind, kind)
    return Notice(
        project_id=group["project_id"],
        group_id=group["id"],
        kind=kind,
        dedup_key=f"{kind}:{group['id']}:{period or group.get('times_regressed', 0)}",
        text=f"{headline}: {group['title']}",
        fields={
            "issue": group["id"],
            "culprit": group.get("culprit") or "",
            "events": group.get("times_seen", 0),
            "level": group.get("level", "error"),
        },
    )


def slack_payload(notice: Notice) -> dict:
    fields = [
        {"title": k, "value": str(v), "short": True} for k, v in (notice.fields or {}).items()
    ]
    return {
        "text": notice.text,
        "attachments": [{"color": "#e01e5a", "fields": fields, "footer": "stackwise"}],
        "stackwise": {
            "kind": notice.kind,
            "project_id": notice.project_id,
            "group_id": notice.group_id,
        },
    }


def add_to_outbox(conn: DbConnection, notices: list[Notice]) -> list[int]:
    """Insert notices in one statement (skipping ones already recorded); returns new ids."""
    if not notices:
        return []
    unique = sorted({n.dedup_key: n for n in notices}.values(), key=lambda n: n.dedup_key)
    return outbox.add(
        conn, [(n.project_id, n.group_id, n.kind, slack_payload(n), n.dedup_key) for n in unique]
    )


@dataclass(frozen=True)
class Delivery:
    """What became of a batch of notifications."""

    statuses: dict[int, str]
    failed: dict[int, str]


def _post(client: httpx.Client, url: str, payload: dict) -> str | None:
    """None when the webhook took it, else what went wrong."""
    try:
        client.post(url, json=payload, timeout=_WEBHOOK_TIMEOUT_S).raise_for_status()
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"
    return None


def deliver_many(pool: Pool, ids: list[int], *, default_webhook: str = "") -> Delivery:
    """Deliver the pending ones among `ids`: one read, a post each, one write."""
    with pool.connection() as conn:
        rows = outbox.pending_with_config(conn, ids)
    statuses: dict[int, str] = {}
    failed: dict[int, str] = {}
    with httpx.Client() as client:
        for row in rows:
            log.debug("notification %s [%s]: %s", row["id"], row["kind"], row["payload"]["text"])
            config = parse_config(row["config"]) if row["config"] is not None else None
            url = (config.notifications.webhook_url if config else "") or default_webhook
            error = _post(client, url, row["payload"]) if url else None
            if error is None:
                statuses[row["id"]] = "delivered" if url else "logged"
            else:
                failed[row["id"]] = error
    _record(pool, statuses, failed)
    if rows:
        log.info("notifications: %d delivered or logged, %d failed", len(statuses), len(failed))
    return Delivery(statuses=statuses, failed=failed)


def _record(pool: Pool, statuses: dict[int, str], failed: dict[int, str]) -> None:
    ids = sorted(statuses) + sorted(failed)
    if not ids:
        return
    with pool.connection() as conn:
        outbox.record_attempts(
            conn, ids, [statuses.get(i) for i in ids], [failed.get(i) for i in ids]
        )


def deliver(pool: Pool, notification_id: int, *, default_webhook: str = "") -> str:
    """Deliver one notification; returns its final status. Raises DeliveryError to retry."""
    outcome = deliver_many(pool, [notification_id], default_webhook=default_webhook)
    if notification_id in outcome.failed:
        raise DeliveryError(f"webhook delivery failed: {outcome.failed[notification_id]}")
    if notification_id in outcome.statuses:
        return outcome.statuses[notification_id]
    with pool.connection() as conn:
        status = outbox.status_of(conn, notification_id)
    return status or "missing"


def give_up(pool: Pool, notification_id: int) -> None:
    """After the last retry: keep the row, marked failed, for people to see."""
    with pool.connection() as conn:
        outbox.mark_failed(conn, notification_id)


def stale_pending(pool: Pool, older_than_s: float = 120) -> list[int]:
    """Pending rows whose delivery message was lost (a crash between commit and enqueue)."""
    with pool.connection() as conn:
        return outbox.stale_pending(conn, older_than_s)


def hour_key(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y%m%d%H")
