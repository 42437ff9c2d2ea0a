"""Scheduled actors, cron-style, with APScheduler.

Each process that runs workers runs a scheduler; a tick only enqueues the actor's
message, and a Redis key per job and tick makes sure that with several worker
processes the message is sent once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dramatiq
import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from workers.actors import (
    AGGREGATE_METRICS,
    RETRY_ANALYSES,
    RUN_OPERATIONS,
    SCAN_ANOMALIES,
    SWEEP,
)

log = logging.getLogger(__name__)

# actor name -> cron expression (minute hour day month day-of-week), UTC.
SCHEDULE = {
    AGGREGATE_METRICS: "0 * * * *",
    RUN_OPERATIONS: "*/5 * * * *",
    SWEEP: "* * * * *",
    RETRY_ANALYSES: "*/5 * * * *",
    # After the hour's rollups have settled.
    SCAN_ANOMALIES: "10 * * * *",
}


def _send_once(
    client: redis.Redis, namespace: str, actor: dramatiq.Actor, name: str, tick_s: int = 50
) -> None:
    tick = datetime.now(UTC).strftime("%Y%m%d%H%M")
    if client.set(f"{namespace}:schedule:{name}:{tick}", 1, nx=True, ex=tick_s * 10):
        actor.send()
        log.debug("scheduled %s at %s", name, tick)


def start_scheduler(
    actors: dict[str, dramatiq.Actor],
    client: redis.Redis,
    namespace: str,
    schedule: dict[str, str] | None = None,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    for name, cron in (schedule or SCHEDULE).items():
        if name not in actors:
            continue
        scheduler.add_job(
            _send_once,
            CronTrigger.from_crontab(cron, timezone=UTC),
            args=(client, namespace, actors[name], name),
            id=name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler
