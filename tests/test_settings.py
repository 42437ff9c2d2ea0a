from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, load_settings


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
