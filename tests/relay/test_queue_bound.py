"""The flusher waits for room in Redis: a bound in events, whatever the batches' size."""

from __future__ import annotations

import threading

import msgspec

from core.queue import queue_depth
from relay.metrics import RelayMetrics
from relay.service import batch_sink
from stackwise.serve import stack_broker


def _waits(sink, seconds: float = 0.5) -> bool:
    """Whether wait_for_queue_room is still waiting after `seconds`."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (sink.wait_for_queue_room(), done.set()))
    thread.daemon = True
    thread.start()
    return not done.wait(seconds)


def test_larger_batches_leave_fewer_of_them_waiting_in_redis(stack):
    stack.settings = msgspec.structs.replace(stack.settings, queue_max_batches=2)
    broker = stack_broker(stack)
    queue = stack.settings.queue_name
    small = batch_sink(stack, broker, RelayMetrics(), batch_rows=1000)
    large = batch_sink(stack, broker, RelayMetrics(), batch_rows=2000)

    small.enqueue_batch(b"one")
    assert queue_depth(broker, queue) == 1
    assert not _waits(small)  # two batches of 1,000 may wait
    assert _waits(large)  # one of 2,000 is as many events

    small.enqueue_batch(b"two")
    assert _waits(small)
    broker.client.delete(f"{broker.namespace}:{queue}")  # the workers took them
    assert not _waits(small) and not _waits(large)
