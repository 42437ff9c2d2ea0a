"""Generated requests look like the recorded SDK requests under fixtures/envelopes/.

The recorder's own decoder (an independent reading of the protocol) must parse
every generated body; auth, encodings and the event's fields follow what the
real sentry-python and @sentry/node sent when they were recorded.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from core.pg.projects import Project, ProjectKey
from core.project_config import ProjectConfig
from seed.envelopes import EnvelopeBuilder
from seed.projects import SEED_PROJECTS, ProvisionedProject

CORPUS = Path(__file__).parents[2] / "fixtures" / "envelopes"
_spec = importlib.util.spec_from_file_location(
    "envelope_codec", CORPUS.parent / "record" / "envelope_codec.py"
)
codec = importlib.util.module_from_spec(_spec)
sys.modules["envelope_codec"] = codec
_spec.loader.exec_module(codec)

# Fields the recordings did not exercise but these SDKs send in production.
_PRODUCTION_EXTRAS = {"request", "transaction", "measurements", "logger", "logentry"}


def _provisioned() -> dict[str, ProvisionedProject]:
    now = datetime.now(UTC)
    out = {}
    for number, seed in enumerate(SEED_PROJECTS, 1):
        project = Project(number, seed.slug, seed.name, ProjectConfig(), now)
        keys = tuple(
            ProjectKey(f"{number:02d}{index:030x}", number, label, True, now)
            for index, label in enumerate(seed.key_labels)
        )
        out[seed.key] = ProvisionedProject(seed, project, keys)
    return out


def _recorded(name: str) -> tuple[dict, dict]:
    sidecar = json.loads((CORPUS / f"{name}.json").read_text())
    body = (CORPUS / f"{name}.envelope").read_bytes()
    envelope = codec.parse_envelope(
        codec.decode_body(body, sidecar["headers"].get("content-encoding"))
    )
    return sidecar, envelope.items[0].json()


def _keys(events: list[dict], field: str | None = None) -> set[str]:
    keys: set[str] = set()
    for event in events:
        if field is None:
            keys |= set(event)
            continue
        for exc in event.get("exception", {}).get("values", []):
            for frame in exc.get("stacktrace", {}).get("frames", []):
                keys |= set(frame)
    return keys


@pytest.fixture(scope="module")
def requests_by_project(default_events):
    builder = EnvelopeBuilder(_provisioned())
    out: dict[str, list] = {}
    for event in default_events[:4000]:
        out.setdefault(event.project, []).append(
            (event, builder.build(event, "2026-11-01T00:00:00.000Z"))
        )
    return out


def test_every_generated_body_parses_with_the_recorders_decoder(requests_by_project):
    for requests in requests_by_project.values():
        for event, request in requests:
            raw = codec.decode_body(request.body, request.headers.get("Content-Encoding"))
            envelope = codec.parse_envelope(raw)
            assert envelope.headers["event_id"] == event.rendered.event_id
            assert [item.type for item in envelope.items] == [event.rendered.kind]
            payload = envelope.items[0].json()
            assert payload["event_id"] == event.rendered.event_id
            assert payload["contexts"]["seed"]["root_cause"] == event.root_cause.id


@pytest.mark.parametrize(
    ("project", "recorded", "transaction"),
    [
        ("backend", ["python/exception", "python/logging_error"], "python/transaction"),
        ("api", ["node/exception", "node/message_error"], "node-v10/transaction"),
    ],
)
def test_requests_and_events_follow_the_recorded_sdk(
    requests_by_project, project, recorded, transaction
):
    sidecars, events = zip(*(_recorded(name) for name in recorded), strict=True)
    tx_sidecar, tx_event = _recorded(transaction)
    sidecar = sidecars[0]
    allowed_event_keys = _keys([*events, tx_event]) | _PRODUCTION_EXTRAS
    allowed_frame_keys = _keys(list(events), "frames")
    for event, request in requests_by_project[project]:
        query = parse_qs(urlsplit(request.path).query)
        if "x-sentry-auth" in sidecar["headers"]:
            assert request.headers["X-Sentry-Auth"].startswith("Sentry sentry_key=")
            assert "sentry_version=7" in request.headers["X-Sentry-Auth"]
            assert not query
        else:
            assert query["sentry_version"] == ["7"] and "sentry_key" in query
        expected_encoding = sidecar["headers"].get("content-encoding")
        assert request.headers.get("Content-Encoding") == expected_encoding
        payload = json.loads(
            codec.parse_envelope(codec.decode_body(request.body, expected_encoding))
            .items[0]
            .payload
        )
        assert set(payload) <= allowed_event_keys, set(payload) - allowed_event_keys
        assert _keys([payload], "frames") <= allowed_frame_keys
        recorded_event = tx_event if event.rendered.kind == "transaction" else events[0]
        assert type(payload["timestamp"]) is type(recorded_event["timestamp"])
    assert tx_sidecar["expect"]["item_types"] == ["transaction"]


def test_browser_events_carry_source_mapped_frames_and_the_minified_originals(requests_by_project):
    event, request = next(
        (e, r)
        for e, r in requests_by_project["web"]
        if e.rendered.kind == "event" and "raw_stacktrace" in str(e.rendered.payload["exception"])
    )
    assert request.headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert request.headers["User-Agent"].startswith("Mozilla/5.0")
    payload = json.loads(codec.parse_envelope(request.body).items[0].payload)
    exception = payload["exception"]["values"][-1]
    mapped, minified = exception["stacktrace"]["frames"], exception["raw_stacktrace"]["frames"]
    assert len(mapped) == len(minified)
    assert all(f["abs_path"].startswith("webpack://") and f["data"]["sourcemap"] for f in mapped)
    assert all(f["abs_path"].startswith("https://shop.example.com/static/js/") for f in minified)
    assert event.rendered.browser in ("chrome", "edge", "firefox", "safari")
