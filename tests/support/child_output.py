"""A child process's combined output, read as it comes so its pipe never fills."""

from __future__ import annotations

import subprocess
import threading


class ChildOutput:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line)

    def wait_closed(self, timeout_s: float) -> None:
        """Once the child has exited: until its last line is read."""
        self._reader.join(timeout_s)

    @property
    def text(self) -> str:
        return "".join(self.lines)
