"""Lower the calling thread's CPU priority, so storage work yields to acknowledging.

On Linux a thread has a nice value of its own (setpriority(2) with a thread id), so the
storage owner's flushing and grouping threads can give way to the relay processes on
the same cores without slowing the threads that must stay prompt.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

_LOWEST = 19


def thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def yield_cpu(increment: int) -> None:
    """Raise this thread's nice value by `increment` (0: leave it)."""
    if increment <= 0:
        return
    try:
        os.setpriority(
            os.PRIO_PROCESS, threading.get_native_id(), min(_LOWEST, thread_nice() + increment)
        )
    except (AttributeError, OSError) as e:
        # Not Linux, or not permitted: the thread keeps the process's priority.
        log.debug("could not lower this thread's priority: %s", e)
