"""Quotas, spike protection, sampling and outcomes against a running relay and real Redis."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import msgspec
import pytest
from sentry_sdk.transport import _parse_rate_limits

from core.pg import projects
from core.project_config import set_path
from relay.envelope import serialize_envelope
from tests.relay.conftest import wait_for_rows

_slugs = itertools.count(1)


def project_with(relay, **config) -> tuple[int, str]:
    """A new project with these configuration paths set; returns (id, public key)."""
    project, key = projects.create_project(relay.stack.pool, f"policy-{next(_slugs)}")
    current = project.config
    for path, value in config.items():
        current = set_path(current, path.replace("__", "."), value)
    projects.save_config(relay.stack.pool, project.slug, current)
    relay.service.project_cache.load()
    return project.id, key.public_key


def error_envelope(
    *,
    exception_type: str = "QuotaError",
    trace_id: str | None = None,
    with_transaction: bool = False,
) -> bytes:
    event_id = uuid.uuid4().hex
    headers = {"event_id": event_id}
    if trace_id:
        headers["trace"] = {"trace_id": trace_id, "public_key": "x"}
    event = {
        "event_id": event_id,
        "platform": "python",
        "exception": {"values": [{"type": exception_type, "value": "limit test"}]},
    }
    if trace_id:
        event["contexts"] = {"trace": {"trace_id": trace_id, "span_id": "b" * 16}}
    items = [({"type": "event"}, msgspec.json.encode(event))]
    if with_transaction:
        transaction = {
            "event_id": uuid.uuid4().hex,
            "type": "transaction",
            "transaction": "/x",
            "start_timestamp": time.time() - 1,
            "timestamp": time.time(),
            "contexts": {"trace": {"trace_id": trace_id, "span_id": "a" * 16}},
        }
        items.append(({"type": "transaction"}, msgspec.json.encode(transaction)))
    return serialize_envelope(headers, items)


def post(relay, project_id: int, key: str, body: bytes):
    return relay.http.post(
        f"/api/{project_id}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
    )


def relay_outcomes(relay, project_id: int, expected_total: int) -> Counter:
    sql = f"SELECT sum(quantity) FROM outcomes WHERE project_id = {project_id} AND source = 'relay'"
    wait_for_rows(relay, sql, expected_total)
    rows = (
        relay.stack.clickhouse()
        .query(
            "SELECT outcome, reason, category, sum(quantity) FROM outcomes "
            "WHERE project_id = {p:UInt64} AND source = 'relay' GROUP BY outcome, reason, category",
            parameters={"p": project_id},
        )
        .result_rows
    )
    return Counter({(o, r, c): q for o, r, c, q in rows})


def test_a_daily_quota_refuses_with_headers_the_sentry_sdk_parses(relay):
    project_id, key = project_with(relay, rate_limits__per_day={"error": 20})
    statuses = [post(relay, project_id, key, error_envelope()) for _ in range(30)]
    codes = [r.status_code for r in statuses]
    assert codes.count(200) == 20 and codes[20:] == [429] * 10
    refused = statuses[-1]
    assert int(refused.headers["retry-after"]) > 0
    [(category, until)] = list(_parse_rate_limits(refused.headers["x-sentry-rate-limits"]))
    assert category == "error"
    assert until > datetime.now(UTC)
    outcomes = relay_outcomes(relay, project_id, 30)
    assert outcomes[("accepted", "", "error")] == 20
    assert outcomes[("rate_limited", "project_quota", "error")] == 10


def test_a_minute_quota_is_a_bucket_that_refills(relay):
    project_id, key = project_with(relay, rate_limits__per_minute={"all": 120})
    started = time.monotonic()
    codes = [post(relay, project_id, key, error_envelope()).status_code for _ in range(130)]
    elapsed = time.monotonic() - started
    # A full bucket of 120, plus what refilled (2 a second) while the requests were sent.
    assert 120 <= codes.count(200) <= 120 + 2 * elapsed + 1
    assert codes[-1] == 429
    time.sleep(1.1)
    assert post(relay, project_id, key, error_envelope()).status_code == 200


def test_a_limited_category_is_dropped_from_an_otherwise_accepted_envelope(relay):
    project_id, key = project_with(relay, rate_limits__per_day={"transaction": 0})
    response = post(
        relay, project_id, key, error_envelope(trace_id=uuid.uuid4().hex, with_transaction=True)
    )
    assert response.status_code == 200
    [(category, _)] = list(_parse_rate_limits(response.headers["x-sentry-rate-limits"]))
    assert category == "transaction"
    outcomes = relay_outcomes(relay, project_id, 2)
    assert outcomes[("rate_limited", "project_quota", "transaction")] == 1
    assert outcomes[("accepted", "", "error")] == 1


def test_sampling_keeps_whole_traces_at_the_configured_rate(relay):
    rate = 0.2
    project_id, key = project_with(
        relay,
        sampling__tiers=[{"above_per_minute": -1, "sample_rate": rate}],
        spike_protection__enabled=False,
    )
    traces = [uuid.uuid4().hex for _ in range(600)]
    types = [f"Sampled{i % 6}" for i in range(600)]
    for trace_id, exception_type in zip(traces, types, strict=True):
        body = error_envelope(
            exception_type=exception_type, trace_id=trace_id, with_transaction=True
        )
        assert post(relay, project_id, key, body).status_code == 200
    stored = relay_outcomes(relay, project_id, 1200)
    kept_errors = stored[("accepted", "", "error")]
    kept_transactions = stored[("accepted", "", "transaction")]
    # Six error signatures and one transaction signature are each kept the first time.
    sampled_in = kept_errors - 6
    assert 0.14 * 600 <= sampled_in <= 0.26 * 600, kept_errors
    assert stored[("sampled", "dynamic_sampling", "error")] == 600 - kept_errors
    rows = (
        relay.stack.clickhouse()
        .query(
            "SELECT e.trace_id, e.sample_rate, t.trace_id != '' FROM events e "
            "LEFT JOIN transactions t ON t.trace_id = e.trace_id AND t.project_id = e.project_id "
            "WHERE e.project_id = {p:UInt64}",
            parameters={"p": project_id},
        )
        .result_rows
    )
    sampled_traces = {r[0] for r in rows if r[1] == pytest.approx(rate)}
    assert len(sampled_traces) == sampled_in
    # A trace kept by sampling keeps its transaction too.
    assert all(has_tx for trace, sample_rate, has_tx in rows if trace in sampled_traces)
    novel = [r for r in rows if r[1] == 1.0]
    assert len(novel) == 6
    assert abs(kept_transactions - sampled_in) <= 1


def test_every_exception_type_survives_sampling_the_first_time(relay):
    project_id, key = project_with(
        relay, sampling__tiers=[{"above_per_minute": -1, "sample_rate": 0.01}]
    )
    for index in range(40):
        body = error_envelope(exception_type=f"NeverSeen{index}", trace_id=uuid.uuid4().hex)
        assert post(relay, project_id, key, body).status_code == 200
    outcomes = relay_outcomes(relay, project_id, 40)
    assert outcomes[("accepted", "", "error")] == 40


def test_spike_protection_caps_a_project_far_above_its_baseline(relay):
    while time.time() % 60 > 45:  # the cap is per minute: do not straddle one
        time.sleep(1)
    project_id, key = project_with(
        relay, spike_protection__min_per_minute=25, spike_protection__multiple=10.0
    )
    # A quiet hour behind it: two events a minute.
    minute = int(time.time() // 60)
    namespace = relay.stack.settings.redis_namespace
    for past in range(2, 62):
        relay.stack.redis.set(f"{namespace}:volume:{project_id}:{minute - past}", 2, ex=7200)
    relay.service.policy.volume.record(project_id, 0)
    time.sleep(1.5)  # the background sync reads the history back
    assert relay.service.policy.volume.get(project_id).baseline > 0
    codes = [post(relay, project_id, key, error_envelope()).status_code for _ in range(40)]
    assert codes.count(200) in range(25, 28)
    refused = [c for c in codes if c == 429]
    assert refused, codes
    outcomes = relay_outcomes(relay, project_id, 40)
    assert outcomes[("rate_limited", "spike_protection", "error")] == len(refused)
    metrics = relay.http.get("/metrics").text
    assert 'outcome="rate_limited"' in metrics


def test_outcome_counts_add_up_to_exactly_what_was_sent(relay):
    project_id, key = project_with(
        relay,
        rate_limits__per_day={"transaction": 3},
        filters__error_messages=["*Filtered*"],
    )
    sent = Counter()
    for index in range(10):
        trace_id = uuid.uuid4().hex
        body = error_envelope(
            exception_type="Filtered" if index % 2 else "Kept",
            trace_id=trace_id,
            with_transaction=True,
        )
        post(relay, project_id, key, body)
        sent["error"] += 1
        sent["transaction"] += 1
    invalid = serialize_envelope({}, [({"type": "event"}, b"{not json")])
    post(relay, project_id, key, invalid)
    sent["error"] += 1
    outcomes = relay_outcomes(relay, project_id, sum(sent.values()))
    by_category = Counter()
    for (_, _, category), quantity in outcomes.items():
        by_category[category] += quantity
    assert by_category == sent
    assert outcomes[("filtered", "error-message", "error")] == 5
    assert outcomes[("invalid", "invalid_item", "error")] == 1
    assert outcomes[("rate_limited", "project_quota", "transaction")] == 7


def test_the_live_sentry_sdk_backs_off_when_rate_limited(relay):
    import sentry_sdk

    from tests.support.sdk_app import sentry_client

    project_id, key = project_with(relay, rate_limits__per_day={"error": 2})
    host = relay.base_url.split("//")[1]
    before = _envelope_requests(relay)
    with sentry_client(f"http://{key}@{host}/{project_id}"):
        for index in range(10):
            try:
                raise ValueError(f"backoff {index}")
            except ValueError as error:
                sentry_sdk.capture_exception(error)
            time.sleep(0.05)
    requests = _envelope_requests(relay) - before
    # Two accepted, one refused; then the SDK keeps errors to itself (plus its client report).
    assert 3 <= requests <= 5, requests
    sql = (
        f"SELECT sum(quantity) FROM outcomes WHERE project_id = {project_id} "
        "AND outcome = 'client_discard' AND reason = 'ratelimit_backoff'"
    )
    assert wait_for_rows(relay, sql, 7) == 7


def _envelope_requests(relay) -> int:
    total = 0
    for line in relay.http.get("/metrics").text.splitlines():
        if line.startswith('relay_requests_total{endpoint="envelope"'):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total
