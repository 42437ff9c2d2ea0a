"""The Dramatiq actors, declared on a given broker with a given context.

Declaring them at run time (not at import) keeps settings explicit: the broker and
the stores come from the process that runs the workers. Actors are idempotent;
follow-up messages are sent only after the transaction that justified them.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import CurrentMessage

from core.artifacts.store import ArtifactStore
from core.errors import CorruptMessage
from core.pg.issues import reads
from core.queue import PROCESS_EVENTS
from core.wire import decode_batch
from workers import metrics, notifications, operations, rollups
from workers.context import WorkerContext
from workers.lifecycle import expire_ignores
from workers.process_events import BatchOutcome, process_event_batch
from workers.sourcemaps.retention import sweep_artifacts

log = logging.getLogger(__name__)

DELIVER_NOTIFICATIONS = "deliver_notifications"
AGGREGATE_METRICS = "aggregate_metrics"
RUN_OPERATIONS = "run_operations"
SWEEP = "sweep"
ANALYZE_GROUP = "analyze_group"
RETRY_ANALYSES = "retry_analyses"
SCAN_ANOMALIES = "scan_anomalies"
# Our follow-up reasons, in the analysis module's terms.
_ANALYSIS_REASONS = {"new_issue": "new", "regression": "regression", "escalating": "regression"}
_DELIVERY_RETRIES = 8


def _is_last_attempt(max_retries: int) -> bool:
    message = CurrentMessage.get_current_message()
    return message is not None and message.options.get("retries", 0) >= max_retries


def _record(outcome: BatchOutcome) -> None:
    assignment = outcome.assignment
    metrics.batches.labels("ok").inc()
    metrics.events_processed.labels("new").inc(assignment.new_occurrences)
    metrics.events_processed.labels("repeat").inc(outcome.events - assignment.new_occurrences)
    metrics.new_issues.inc(len(assignment.new_group_ids))
    for stage, seconds in outcome.stage_seconds.items():
        metrics.stage_seconds.labels(stage).observe(seconds)
    for lag in outcome.lags_s:
        metrics.processing_lag_seconds.observe(lag)
    metrics.sourcemap_frames.labels("resolved").inc(outcome.frames_resolved)
    metrics.sourcemap_frames.labels("unresolved").inc(outcome.frames_unresolved)


class WorkerActors:
    def __init__(self, broker: dramatiq.Broker, ctx: WorkerContext) -> None:
        self.broker = broker
        self.ctx = ctx
        self.actors: dict[str, dramatiq.Actor] = {}

    def declare(self) -> dict[str, dramatiq.Actor]:
        self._actor(
            self.process_events,
            PROCESS_EVENTS,
            time_limit=300_000,
            max_retries=20,
            throws=(CorruptMessage,),
        )
        self._actor(
            self.deliver_notifications,
            DELIVER_NOTIFICATIONS,
            time_limit=60_000,
            max_retries=_DELIVERY_RETRIES,
            min_backoff=2_000,
            max_backoff=600_000,
        )
        self._actor(self.aggregate_metrics, AGGREGATE_METRICS, time_limit=1_800_000, max_retries=3)
        self._actor(self.run_operations, RUN_OPERATIONS, time_limit=300_000, max_retries=1)
        self._actor(self.sweep, SWEEP, time_limit=300_000, max_retries=1)
        # Model calls have their own queue: a slow endpoint never delays grouping.
        ai_queue = f"{self.ctx.settings.queue_name}-ai"
        self._actor(
            self.analyze_group, ANALYZE_GROUP, queue=ai_queue, time_limit=600_000, max_retries=3
        )
        self._actor(self.retry_analyses, RETRY_ANALYSES, time_limit=120_000, max_retries=1)
        self._actor(self.scan_anomalies, SCAN_ANOMALIES, time_limit=600_000, max_retries=1)
        return self.actors

    def _actor(self, fn, name: str, *, queue: str | None = None, **options) -> None:
        declare = dramatiq.actor(
            actor_name=name,
            queue_name=queue or self.ctx.settings.queue_name,
            broker=self.broker,
            **options,
        )
        self.actors[name] = declare(fn)

    def _send_deliveries(self, ids: list[int]) -> None:
        # One message per batch of notifications: a burst of new issues is one delivery job.
        for start in range(0, len(ids), 100):
            self.actors[DELIVER_NOTIFICATIONS].send(ids[start : start + 100])

    def process_events(self, encoded_batch: bytes) -> None:
        batch = decode_batch(encoded_batch)
        try:
            outcome = process_event_batch(self.ctx, batch)
        except Exception:
            metrics.batches.labels("failed").inc()
            raise
        _record(outcome)
        assignment = outcome.assignment
        self._send_deliveries(assignment.notification_ids)
        for group_id, reason in assignment.analyses:
            self.actors[ANALYZE_GROUP].send(group_id, _ANALYSIS_REASONS.get(reason, reason))
        log.info(
            "batch %s: %d events, %d new occurrences, %d new issues (%s)",
            batch.batch_id,
            outcome.events,
            assignment.new_occurrences,
            len(assignment.new_group_ids),
            ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in outcome.stage_seconds.items()),
        )

    def deliver_notifications(self, notification_ids: list[int]) -> None:
        """Deliver each; if some fail, retry the message (delivered ones are skipped then)."""
        pool = self.ctx.stack.pool
        outcome = notifications.deliver_many(
            pool, notification_ids, default_webhook=self.ctx.settings.alert_webhook_url
        )
        for status in outcome.statuses.values():
            metrics.notifications.labels(status).inc()
        if not outcome.failed:
            return
        metrics.notifications.labels("retry").inc(len(outcome.failed))
        if not _is_last_attempt(_DELIVERY_RETRIES):
            raise notifications.DeliveryError(
                f"{len(outcome.failed)} notification(s) not delivered"
            )
        for notification_id in outcome.failed:
            notifications.give_up(pool, notification_id)
        metrics.notifications.labels("failed").inc(len(outcome.failed))

    def aggregate_metrics(self) -> None:
        rollups.aggregate_metrics(self.ctx)
        settings = self.ctx.settings
        sweep_artifacts(
            self.ctx.stack.pool,
            ArtifactStore(settings.artifacts_path),
            settings.artifact_retention_days,
        )

    def run_operations(self) -> None:
        checks, ids = operations.run_checks(self.ctx, self.broker)
        for check in checks:
            if check.name == "queue_depth":
                metrics.queue_depth.labels(self.ctx.settings.queue_name).set(check.value)
        self._send_deliveries(ids)

    def sweep(self) -> None:
        """Ignores whose time is up, and notifications whose delivery message was lost."""
        with self.ctx.stack.pool.connection() as conn:
            transitions = expire_ignores(conn)
            rows = reads.notice_rows(conn, [t.group_id for t in transitions])
            notices = [notifications.issue_notice(t.kind, rows[t.group_id]) for t in transitions]
            ids = notifications.add_to_outbox(conn, notices)
        self._send_deliveries(ids + notifications.stale_pending(self.ctx.stack.pool))

    def analyze_group(self, group_id: int, reason: str) -> None:
        from workers.ai import analyze_group

        outcome = analyze_group(self.ctx, group_id, reason=reason, options=self._ai_options())
        log.info("analysis of issue %s (%s): %s", group_id, reason, outcome.status)
        if outcome.auto_merge:
            # The project chose to apply suggestions without a person (ai.auto_merge).
            from workers.merges import decide_suggestion

            for suggestion in outcome.merge_suggestions:
                decide_suggestion(self.ctx.stack, suggestion.id, accept=True, decided_by="auto")

    def _ai_options(self):
        from workers.ai import AIOptions

        settings = self.ctx.settings
        return AIOptions(
            timeout_s=settings.openai_timeout_s,
            max_attempts=settings.openai_max_attempts,
            embedding_model=settings.openai_embedding_model,
        )

    def retry_analyses(self) -> None:
        from workers.ai import claim_due_analyses

        with self.ctx.stack.pool.connection() as conn:
            due = claim_due_analyses(conn)
        for item in due:
            self.actors[ANALYZE_GROUP].send(item.group_id, item.reason)

    def scan_anomalies(self) -> None:
        """Spikes and new surges on the hourly rollups, raised as notifications."""
        from workers.ai import scan_anomalies

        found = [stored for stored in scan_anomalies(self.ctx) if stored.new]
        if not found:
            return
        notices = [_anomaly_notice(stored) for stored in found]
        with self.ctx.stack.pool.connection() as conn:
            ids = notifications.add_to_outbox(conn, notices)
        self._send_deliveries(ids)


def _anomaly_notice(stored) -> notifications.Notice:
    anomaly = stored.anomaly
    scope = f"issue {anomaly.group_id}" if anomaly.group_id else "the project"
    label = "Spike" if anomaly.kind == "spike" else "New surge"
    return notifications.Notice(
        project_id=anomaly.project_id,
        group_id=anomaly.group_id or None,
        kind="anomaly",
        dedup_key=f"anomaly:{stored.id}",
        text=(
            f"{label} in {scope}: {anomaly.peak_count:.0f} events in an hour "
            f"against a baseline of {anomaly.baseline:.1f}"
        ),
        fields={"score": round(anomaly.score, 2), "kind": anomaly.kind},
    )


def declare_actors(broker: dramatiq.Broker, ctx: WorkerContext) -> dict[str, dramatiq.Actor]:
    return WorkerActors(broker, ctx).declare()
