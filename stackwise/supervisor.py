"""Child processes kept running: started together, restarted when one dies, stopped in order.

Each child is a command (`python -m stackwise relay --index 1 ...`) started through
`core.storage.die_with_parent`, so it dies with this process however this process ends,
kill -9 included: what a relay acknowledged is in its durable spool, which the next start
replays. A child has a session of its own, so a Ctrl-C in the terminal reaches this
process only, and the children are stopped here, in order, with SIGTERM.

A child says it is ready by writing one byte to the pipe given with `--ready-fd`, or,
for a program of someone else's (Dramatiq's command line), by writing a given line to its
standard error some number of times (that output is passed on to ours).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from core.errors import CoreError
from core.storage.embedded import dying_with_us

log = logging.getLogger(__name__)

# A child that dies sooner than this after its start is crashing on start: wait before the
# next attempt, longer each time, so a broken child does not spin the machine.
_HEALTHY_AFTER_S = 5.0
_MAX_BACKOFF_S = 10.0


class ChildFailedError(CoreError):
    """A child process did not start."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    # The signal the child gets when this process dies (SIGKILL: nothing to tidy up).
    death_signal: signal.Signals = signal.SIGKILL
    # Ready when its standard error has shown this line `ready_count` times ("": --ready-fd).
    ready_line: str = ""
    ready_count: int = 1
    process: subprocess.Popen[bytes] | None = None
    ready_fd: int = -1
    ready: bool = False
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restart_at: float = 0.0
    restarts: int = field(default=0)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = False

    # -- starting -------------------------------------------------------------------
    def _spawn(self, child: Child) -> None:
        read_fd, write_fd = os.pipe()
        by_line = bool(child.ready_line)
        argv = child.argv if by_line else [*child.argv, "--ready-fd", str(write_fd)]
        try:
            child.process = subprocess.Popen(
                dying_with_us(child.death_signal, argv),
                env=child.env,
                pass_fds=() if by_line else (write_fd,),
                stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE if by_line else None,
                start_new_session=True,
            )
        except BaseException:
            os.close(write_fd)
            os.close(read_fd)
            raise
        if by_line:
            threading.Thread(
                target=_pass_on_stderr, args=(child, child.process, write_fd), daemon=True
            ).start()
        else:
            os.close(write_fd)
        self._close_ready_fd(child)
        child.ready_fd, child.ready = read_fd, False
        child.started_at = time.monotonic()

    def start(self, timeout_s: float = 120.0) -> None:
        """Start every child and wait until each says it is ready."""
        for child in self.children:
            self._spawn(child)
        deadline = time.monotonic() + timeout_s
        while not all(child.ready for child in self.children):
            waiting = [c for c in self.children if not c.ready]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildFailedError(
                    f"{', '.join(c.name for c in waiting)} not ready in {timeout_s:.0f} s"
                )
            readable, _, _ = select.select([c.ready_fd for c in waiting], [], [], remaining)
            for child in waiting:
                if child.ready_fd in readable and not self._read_ready(child):
                    assert child.process is not None
                    code = child.process.wait()
                    raise ChildFailedError(f"{child.name} exited with {code} while starting")

    def _read_ready(self, child: Child) -> bool:
        """True once the child said it is ready; False when it closed the pipe unready."""
        data = os.read(child.ready_fd, 1)
        self._close_ready_fd(child)
        child.ready = bool(data)
        return child.ready

    @staticmethod
    def _close_ready_fd(child: Child) -> None:
        if child.ready_fd >= 0:
            os.close(child.ready_fd)
            child.ready_fd = -1

    # -- watching -------------------------------------------------------------------
    def watch_once(self) -> None:
        """Restart children that died (after a pause if they keep dying); note readiness."""
        now = time.monotonic()
        for child in self.children:
            self._note_ready(child)
            if child.running or self.stopping:
                continue
            if child.restart_at == 0.0:
                self._plan_restart(child, now)
            if now >= child.restart_at:
                child.restart_at = 0.0
                child.restarts += 1
                self._spawn(child)

    def _note_ready(self, child: Child) -> None:
        pending = child.ready_fd >= 0 and select.select([child.ready_fd], [], [], 0)[0]
        if pending and self._read_ready(child):
            log.info("%s ready again", child.name)

    @staticmethod
    def _plan_restart(child: Child, now: float) -> None:
        assert child.process is not None
        quick = now - child.started_at < _HEALTHY_AFTER_S
        child.crashes_in_a_row = child.crashes_in_a_row + 1 if quick else 1
        # The first restart is at once; one crashing again on start waits longer each time.
        pause = 0.0 if child.crashes_in_a_row == 1 else 0.5 * 2 ** (child.crashes_in_a_row - 1)
        pause = min(_MAX_BACKOFF_S, pause)
        log.warning(
            "%s exited with %s; restarting in %.1f s",
            child.name,
            child.process.returncode,
            pause,
        )
        child.restart_at = now + pause

    # -- stopping -------------------------------------------------------------------
    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to every child, then wait; whatever is still running then is killed."""
        self.stopping = True
        started = time.monotonic()
        log.info("stopping %s", ", ".join(child.name for child in self.children))
        for child in self.children:
            if child.running:
                assert child.process is not None
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.name, timeout_s)
                child.process.kill()
                child.process.wait()
            self._close_ready_fd(child)
        log.info("stopped in %.1f s", time.monotonic() - started)


def _pass_on_stderr(child: Child, process: subprocess.Popen[bytes], ready_fd: int) -> None:
    """Copy the child's standard error to ours; say ready after its ready line's count."""
    assert process.stderr is not None
    seen = 0
    marker = child.ready_line.encode()
    try:
        for line in process.stderr:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.buffer.write(line)
                sys.stderr.buffer.flush()
            if marker in line:
                seen += 1
                if seen == child.ready_count:
                    # The supervisor may have stopped listening (a restart it does not await).
                    with contextlib.suppress(OSError):
                        os.write(ready_fd, b"1")
    finally:
        os.close(ready_fd)
