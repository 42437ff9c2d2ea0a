"""The lines `serve` and `worker` announce (the DSN, the address) reach a reader whole.

With PYTHONUNBUFFERED (set in this machine's environment, and common in containers),
`print` writes a line's text and its newline in two calls, and a relay's log line, relayed
to the same pipe from another thread, could land between them: a restart test once read
the demo DSN with a log line glued to the project id. `say` writes each line in one call.
"""

from __future__ import annotations

import io

from stackwise import serve


class _Writes(io.RawIOBase):
    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.calls.append(bytes(data))
        return len(data)


def _unbuffered_stdout(monkeypatch) -> _Writes:
    raw = _Writes()
    # What Python makes of stdout under PYTHONUNBUFFERED: text written straight through.
    monkeypatch.setattr(serve.sys, "stdout", io.TextIOWrapper(raw, write_through=True))
    return raw


def test_an_announced_line_is_one_write(monkeypatch):
    raw = _unbuffered_stdout(monkeypatch)
    serve.say("demo project DSN: http://key@127.0.0.1:8000/1")
    assert raw.calls == [b"demo project DSN: http://key@127.0.0.1:8000/1\n"]


def test_print_would_have_split_it(monkeypatch):
    # The premise of the test above: without `say`, the newline is a write of its own.
    raw = _unbuffered_stdout(monkeypatch)
    print("demo project DSN: http://key@127.0.0.1:8000/1", file=serve.sys.stdout, flush=True)
    assert len(raw.calls) == 2
