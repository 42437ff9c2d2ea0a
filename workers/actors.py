"""The Dramatiq actors, declared on a given broker with a given context.

Declaring them in a function (not at import) keeps settings explicit: the broker
and the stores come from the process that runs the workers.
"""

from __future__ import annotations

import logging

import dramatiq

from stackwise.queue import PROCESS_EVENTS
from stackwise.wire import decode_batch
from workers.context import WorkerContext
from workers.process_events import process_event_batch

log = logging.getLogger(__name__)


def declare_actors(broker: dramatiq.Broker, ctx: WorkerContext) -> dict[str, dramatiq.Actor]:
    queue_name = ctx.settings.queue_name

    def process_events(encoded_batch: bytes) -> None:
        batch = decode_batch(encoded_batch)
        outcome = process_event_batch(ctx, batch)
        log.info(
            "batch %s: %d events, %d new occurrences, %d new issues (%s)",
            batch.batch_id,
            outcome.events,
            outcome.new_occurrences,
            len(outcome.new_group_ids),
            ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in outcome.stage_seconds.items()),
        )

    actors = {
        PROCESS_EVENTS: dramatiq.actor(
            process_events,
            actor_name=PROCESS_EVENTS,
            queue_name=queue_name,
            broker=broker,
            time_limit=300_000,
            max_retries=20,
        )
    }
    return actors
