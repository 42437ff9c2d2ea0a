"""Send uniquely identified events to a relay and remember which ones it acknowledged."""

from __future__ import annotations

import threading
import uuid

import httpx
import msgspec

from relay.envelope import serialize_envelope


def event_envelope(event_id: str, sequence: int) -> bytes:
    event = {
        "event_id": event_id,
        "platform": "python",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "LoadTestError",
                    "value": f"request {sequence} failed",
                    "stacktrace": {
                        "frames": [
                            {
                                "module": "app.load",
                                "function": "handle",
                                "in_app": True,
                                "lineno": 10 + sequence % 7,
                            }
                        ]
                    },
                }
            ]
        },
    }
    return serialize_envelope(
        {"event_id": event_id}, [({"type": "event"}, msgspec.json.encode(event))]
    )


class LoadSender:
    """Threads posting envelopes until stopped; `acknowledged` holds ids answered 200."""

    def __init__(self, url: str, public_key: str, threads: int = 4) -> None:
        self.url = url
        self.headers = {"X-Sentry-Auth": f"Sentry sentry_key={public_key}, sentry_version=7"}
        self.acknowledged: list[str] = []
        self.statuses: dict[int, int] = {}
        self.connection_errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def send_one(self, client: httpx.Client, sequence: int) -> int | None:
        event_id = uuid.uuid4().hex
        try:
            response = client.post(
                self.url, content=event_envelope(event_id, sequence), headers=self.headers
            )
        except httpx.HTTPError:
            with self._lock:
                self.connection_errors += 1
            return None
        with self._lock:
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                assert response.json() == {"id": event_id}
                self.acknowledged.append(event_id)
        return response.status_code

    def _run(self) -> None:
        sequence = 0
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                self.send_one(client, sequence)
                sequence += 1

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
