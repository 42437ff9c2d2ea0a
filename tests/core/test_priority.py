"""A thread lowers its own priority; the process's other threads keep theirs."""

from __future__ import annotations

import threading

from core.priority import thread_nice, yield_cpu


def _in_a_thread(increment: int) -> int:
    seen: list[int] = []

    def run() -> None:
        yield_cpu(increment)
        seen.append(thread_nice())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


def test_a_thread_yields_the_cpu_by_the_increment_and_alone():
    before = thread_nice()
    assert _in_a_thread(5) == min(19, before + 5)
    assert _in_a_thread(0) == before
    assert _in_a_thread(40) == 19
    assert thread_nice() == before
