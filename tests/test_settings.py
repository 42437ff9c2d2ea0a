from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, environment_for, load_settings, spool_dir_of


def test_no_environment_means_everything_embedded_under_the_data_folder():
    settings = load_settings({})
    assert settings.fully_embedded
    assert settings.data_dir == Path(".stackwise")
    assert settings.clickhouse_dsn == f"chdb://{Path('.stackwise/clickhouse').resolve()}"


def test_environment_variables_are_typed_and_override_defaults():
    settings = load_settings(
        {
            "STACKWISE_PORT": "9001",
            "STACKWISE_BATCH_MAX_AGE_S": "0.5",
            "STACKWISE_POSTGRES_URL": "postgresql://db/x",
            "STACKWISE_DATA_DIR": "/srv/sw",
        }
    )
    assert settings.port == 9001
    assert settings.batch_max_age_s == 0.5
    assert settings.data_dir == Path("/srv/sw")
    assert not settings.embedded_postgres
    assert settings.embedded_redis


def test_a_malformed_value_names_the_variable():
    with pytest.raises(SettingsError, match="STACKWISE_PORT='eighty'"):
        load_settings({"STACKWISE_PORT": "eighty"})


def test_an_unknown_variable_is_an_error_not_silently_ignored():
    with pytest.raises(SettingsError, match="STACKWISE_BATCH_MAX_ROW"):
        load_settings({"STACKWISE_BATCH_MAX_ROW": "10"})


def test_settings_are_frozen():
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_a_clickhouse_server_url_switches_off_the_embedded_engine():
    settings = load_settings({"STACKWISE_CLICKHOUSE_URL": "http://ch:8123"})
    assert not settings.embedded_clickhouse
    assert settings.clickhouse_dsn == "http://ch:8123"


def test_a_child_process_environment_loads_the_same_settings():
    settings = load_settings(
        {"STACKWISE_PORT": "9001", "STACKWISE_BATCH_MAX_AGE_S": "0.5"},
        data_dir="/srv/sw",
        relay_index=2,
        clickhouse_url="http://127.0.0.1:8123",
    )
    environment = environment_for(settings, {"PATH": "/bin", "STACKWISE_PORT": "1"})
    assert environment["PATH"] == "/bin"
    assert load_settings(environment) == settings


def test_each_relay_process_has_a_spool_of_its_own_and_relay_0_the_single_process_one():
    assert spool_dir_of(Path("/d"), 0) == Path("/d/spool")
    assert load_settings({}, data_dir="/d", relay_index=3).spool_dir == Path("/d/spool/relay-3")


def test_segments_are_larger_when_another_process_flushes_them_unless_set():
    assert load_settings({}).segment_rows == 1000
    assert load_settings({"STACKWISE_RELAY_FLUSHES": "false"}).segment_rows == 4000
    both = {"STACKWISE_RELAY_FLUSHES": "false", "STACKWISE_BATCH_MAX_ROWS": "250"}
    assert load_settings(both).segment_rows == 250


def test_segments_stay_open_longer_when_another_process_flushes_them_unless_set():
    assert load_settings({}).segment_age_s == 1.0
    assert load_settings({"STACKWISE_RELAY_FLUSHES": "false"}).segment_age_s == 2.0
    both = {"STACKWISE_RELAY_FLUSHES": "false", "STACKWISE_BATCH_MAX_AGE_S": "0.5"}
    assert load_settings(both).segment_age_s == 0.5


def test_the_queue_bound_counts_events_whatever_the_batches_size():
    settings = load_settings({"STACKWISE_QUEUE_MAX_BATCHES": "200"})
    assert settings.queue_bound(1000) == 200
    assert settings.queue_bound(4000) == 50
    assert settings.queue_bound(250) == 800
    assert load_settings({"STACKWISE_QUEUE_MAX_BATCHES": "1"}).queue_bound(4000) == 1
