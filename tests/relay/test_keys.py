"""Keys are cached in the relay and refreshed from PostgreSQL: changes apply in seconds."""

from __future__ import annotations

import time

from core.pg import projects
from tests.relay.test_policy import error_envelope, post


def status_within(relay, project_id: int, key: str, wanted: int, seconds: float) -> float:
    """Seconds until a request gets `wanted`; fails after `seconds`."""
    started = time.monotonic()
    while True:
        code = post(relay, project_id, key, error_envelope()).status_code
        elapsed = time.monotonic() - started
        if code == wanted:
            return elapsed
        assert elapsed < seconds, f"still {code} after {elapsed:.1f} s"
        time.sleep(0.2)


def test_a_disabled_key_stops_working_within_seconds_without_a_restart(relay):
    project, key = projects.create_project(relay.stack.pool, "keys-live")
    # A key created a moment ago works at once (an unknown key triggers a refresh).
    assert post(relay, project.id, key.public_key, error_envelope()).status_code == 200
    projects.set_key_active(relay.stack.pool, key.public_key, False)
    took = status_within(relay, project.id, key.public_key, 403, seconds=5)
    assert took <= relay.stack.settings.key_refresh_interval_s + 1
    response = post(relay, project.id, key.public_key, error_envelope())
    assert response.json() == {"detail": "project key is disabled"}
    projects.set_key_active(relay.stack.pool, key.public_key, True)
    status_within(relay, project.id, key.public_key, 200, seconds=5)


def test_a_key_of_another_project_is_refused(relay):
    first, first_key = projects.create_project(relay.stack.pool, "keys-a")
    second, _ = projects.create_project(relay.stack.pool, "keys-b")
    response = post(relay, second.id, first_key.public_key, error_envelope())
    assert response.status_code == 403
    assert "does not belong" in response.json()["detail"]
    assert post(relay, first.id, first_key.public_key, error_envelope()).status_code == 200
