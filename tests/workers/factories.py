"""Events and batches as the relay hands them to the workers."""

from __future__ import annotations

import time
import uuid

import msgspec

from core.wire import EventBatch, QueuedEvent


def error_event(
    *,
    exception_type: str = "PaymentError",
    value: str = "card 4000 declined",
    function: str = "charge",
    release: str = "shop@1.0.0",
    environment: str = "production",
    user: str | None = "u-1",
    timestamp: float | None = None,
) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": timestamp or time.time(),
        "platform": "python",
        "level": "error",
        "release": release,
        "environment": environment,
        "user": {"id": user} if user else None,
        "exception": {
            "values": [
                {
                    "type": exception_type,
                    "value": value,
                    "stacktrace": {
                        "frames": [
                            {
                                "module": "shop.api",
                                "function": "checkout",
                                "in_app": True,
                                "lineno": 10,
                            },
                            {
                                "module": "shop.payments",
                                "function": function,
                                "in_app": True,
                                "lineno": 42,
                            },
                        ]
                    },
                }
            ]
        },
    }


def batch_of(
    events: list[dict], project_id: int, *, received_at: float | None = None
) -> EventBatch:
    received = received_at or time.time()
    return EventBatch(
        batch_id=uuid.uuid4().hex,
        created_at=received,
        events=[
            QueuedEvent(
                project_id=project_id,
                event_id=event["event_id"],
                timestamp=event["timestamp"],
                received_at=received,
                payload=msgspec.json.encode(event),
            )
            for event in events
        ],
    )
