"""`serve --processes 2`: the storage owner's flushing and grouping threads yield the CPU
to the relay processes (`STACKWISE_STORAGE_NICE`, 5 by default); the relays, and the
owner's own main thread, keep the normal priority."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil

from tests.e2e.test_restarts import Deployment


def _thread_nices(pid: int) -> dict[int, int]:
    """Each thread's nice value by thread id, from /proc (field 19 of its stat)."""
    nices = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        # The command name in parentheses may hold spaces; fields follow its closing one.
        nices[int(task.name)] = int(stat.rsplit(")", 1)[1].split()[16])
    return nices


def test_the_storage_threads_yield_to_the_relays(tmp_path):
    deployment = Deployment(tmp_path, processes=2)
    server = deployment.start()
    try:
        deployment.send(10)  # the flushers and workers have run
        owner = psutil.Process(server.process.pid)
        owner_nices = _thread_nices(owner.pid)
        assert owner_nices[owner.pid] == 0  # the main thread: it supervises the relays
        # Two flushers (one per relay spool), two worker threads and their consumer.
        assert list(owner_nices.values()).count(5) >= 5, owner_nices
        relays = [p for p in owner.children(recursive=True) if "--index" in p.cmdline()]
        assert len(relays) == 2
        for relay in relays:
            assert set(_thread_nices(relay.pid).values()) == {0}, relay.cmdline()
    finally:
        deployment.stop(signal.SIGTERM)
