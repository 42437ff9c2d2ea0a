"""Seed events -> the HTTP requests their SDKs would send to the relay.

One event per envelope, as SDKs send them. What differs per SDK, as recorded
under fixtures/envelopes/:

| SDK              | auth            | Content-Encoding        | envelope header sdk |
|------------------|-----------------|-------------------------|---------------------|
| sentry-python    | X-Sentry-Auth   | br (quality 4)          | no                  |
| sentry-java      | X-Sentry-Auth   | gzip                    | yes                 |
| @sentry/node     | query string    | gzip above 32 KiB only  | yes                 |
| @sentry/react    | query string    | none (fetch, text/plain)| yes                 |

The event's timestamps are historic; `sent_at` is now, as for a client whose
clock is right (the relay then applies no drift correction).
"""

from __future__ import annotations

import gzip
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote

import brotli
import msgspec

from relay.envelope import serialize_envelope
from seed import payloads
from seed.generate import SeedEvent
from seed.projects import ProvisionedProject

NODE_GZIP_THRESHOLD = 32 * 1024
_encode = msgspec.json.encode


@dataclass(frozen=True)
class SeedRequest:
    project: str
    family: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    # Data category for rate limits: "error" or "transaction".
    category: str


def sent_at_now() -> str:
    return payloads.iso_timestamp(time.time(), 3)


def _dsc(event: SeedEvent, public_key: str) -> dict[str, str]:
    """The dynamic sampling context SDKs put in the envelope header."""
    rendered = event.rendered
    trace = {
        "trace_id": rendered.trace_id,
        "environment": "production",
        "release": event.release,
        "public_key": public_key,
    }
    if rendered.kind == "transaction":
        trace.update(transaction=rendered.transaction, sampled="true", sample_rate="1")
    return trace


class EnvelopeBuilder:
    def __init__(self, provisioned: dict[str, ProvisionedProject]) -> None:
        self.provisioned = provisioned

    def key_for(self, event: SeedEvent) -> str:
        """The DSN key an event goes out with: some services run with several keys."""
        keys = self.provisioned[event.project].keys
        return keys[zlib.crc32(event.rendered.event_id.encode()) % len(keys)].public_key

    def build(self, event: SeedEvent, sent_at: str) -> SeedRequest:
        provisioned = self.provisioned[event.project]
        project = provisioned.seed
        rendered = event.rendered
        key = self.key_for(event)
        headers: dict[str, object] = {"event_id": rendered.event_id, "sent_at": sent_at}
        if project.platform != "python":
            headers["sdk"] = {"name": project.sdk_name, "version": project.sdk_version}
        headers["trace"] = _dsc(event, key)
        item = {"type": rendered.kind}
        if project.platform in ("python", "java"):
            item["content_type"] = "application/json"
        envelope = serialize_envelope(headers, [(item, _encode(rendered.payload))])
        http_headers, body = self._transport(project.platform, project.client, key, envelope)
        path = f"/api/{provisioned.project.id}/envelope/"
        if project.auth == "query":
            client = quote(project.client, safe="")
            path += f"?sentry_version=7&sentry_key={key}&sentry_client={client}"
        if project.platform == "javascript":
            agent = rendered.payload.get("request", {}).get("headers", {}).get("User-Agent")
            http_headers.update(
                {"User-Agent": agent or "Mozilla/5.0", "Origin": payloads.WEB_ORIGIN}
            )
        category = "transaction" if rendered.kind == "transaction" else "error"
        return SeedRequest(
            event.project, event.root_cause.family, path, http_headers, body, category
        )

    @staticmethod
    def _transport(platform: str, client: str, key: str, envelope: bytes):
        if platform == "python":
            auth = f"Sentry sentry_key={key}, sentry_version=7, sentry_client={client}"
            headers = {
                "Content-Type": "application/x-sentry-envelope",
                "Content-Encoding": "br",
                "User-Agent": client,
                "X-Sentry-Auth": auth,
            }
            return headers, brotli.compress(envelope, quality=4)
        if platform == "java":
            auth = f"Sentry sentry_version=7,sentry_client={client},sentry_key={key}"
            headers = {
                "Content-Type": "application/x-sentry-envelope",
                "Content-Encoding": "gzip",
                "Accept": "application/json",
                "User-Agent": client,
                "X-Sentry-Auth": auth,
            }
            return headers, gzip.compress(envelope, compresslevel=6, mtime=0)
        if platform == "node":
            headers = {"User-Agent": client}
            if len(envelope) > NODE_GZIP_THRESHOLD:
                headers["Content-Encoding"] = "gzip"
                return headers, gzip.compress(envelope, compresslevel=6, mtime=0)
            return headers, envelope
        return {"Content-Type": "text/plain;charset=UTF-8"}, envelope
