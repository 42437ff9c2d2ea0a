"""The operator's `project` commands, run through the real command line entry point."""

from __future__ import annotations

import re

import psycopg
import pytest

from stackwise.cli import main

DSN = re.compile(r"http://([0-9a-f]{32})@127\.0\.0\.1:8000/(\d+)")


@pytest.fixture
def cli(monkeypatch, postgres_url, redis_url, tmp_path, capsys):
    monkeypatch.setenv("STACKWISE_POSTGRES_URL", postgres_url)
    monkeypatch.setenv("STACKWISE_REDIS_URL", redis_url)
    monkeypatch.setenv("STACKWISE_DATA_DIR", str(tmp_path / "data"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_create_prints_a_dsn_that_matches_the_stored_key(cli, postgres_url):
    code, out, _ = cli("project", "create", "shop", "--name", "Shop")
    assert code == 0
    public_key, project_id = DSN.search(out).groups()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT p.slug, p.name, k.is_active FROM project_keys k JOIN projects p "
            "ON p.id = k.project_id WHERE k.public_key = %s",
            (public_key,),
        ).fetchone()
    assert row == ("shop", "Shop", True)
    assert int(project_id) > 0


def test_duplicate_and_invalid_slugs_are_refused_with_a_message(cli):
    assert cli("project", "create", "shop")[0] == 0
    code, _, err = cli("project", "create", "shop")
    assert code == 2 and "already exists" in err
    code, _, err = cli("project", "create", "Bad Slug!")
    assert code == 2 and "invalid slug" in err


def test_list_and_show(cli):
    cli("project", "create", "alpha")
    cli("project", "create", "beta")
    code, out, _ = cli("project", "list")
    assert code == 0 and "alpha" in out and "beta" in out
    code, out, _ = cli("project", "show", "beta")
    assert code == 0 and DSN.search(out) and '"sampling"' in out


def test_keys_can_be_added_disabled_and_enabled(cli, postgres_url):
    cli("project", "create", "shop")
    code, out, _ = cli("project", "add-key", "shop", "--label", "ci")
    assert code == 0
    new_key = DSN.search(out).group(1)
    assert cli("project", "disable-key", new_key)[0] == 0
    with psycopg.connect(postgres_url) as conn:
        active = conn.execute(
            "SELECT label, is_active FROM project_keys WHERE public_key = %s", (new_key,)
        ).fetchone()
    assert active == ("ci", False)
    code, out, _ = cli("project", "enable-key", new_key)
    assert code == 0 and "active" in out
    code, _, err = cli("project", "disable-key", "f" * 32)
    assert code == 2 and "no key" in err


def test_config_set_is_validated_and_stored(cli, postgres_url, tmp_path):
    cli("project", "create", "shop")
    assert cli("project", "config", "shop", "sampling.enabled", "false")[0] == 0
    assert cli("project", "config", "shop", "rate_limits.per_minute", '{"error": 600}')[0] == 0
    rules = tmp_path / "rules.txt"
    rules.write_text("error.type:DatabaseUnavailable -> system-down\n")
    assert cli("project", "config", "shop", "grouping.fingerprint_rules", f"@{rules}")[0] == 0
    with psycopg.connect(postgres_url) as conn:
        (config,) = conn.execute("SELECT config FROM projects WHERE slug = 'shop'").fetchone()
    assert config["sampling"]["enabled"] is False
    assert config["rate_limits"]["per_minute"] == {"error": 600}
    assert (
        config["grouping"]["fingerprint_rules"] == "error.type:DatabaseUnavailable -> system-down\n"
    )


def test_config_rejects_unknown_paths_wrong_types_and_bad_rules(cli):
    cli("project", "create", "shop")
    code, _, err = cli("project", "config", "shop", "sampling.enabeld", "false")
    assert code == 2 and "unknown configuration path 'sampling.enabeld'" in err
    code, _, err = cli("project", "config", "shop", "sampling.enabled", '"sometimes"')
    assert code == 2 and "sampling.enabled" in err
    code, _, err = cli("project", "config", "shop", "grouping.fingerprint_rules", "error.type:X")
    assert code == 2 and "grouping.fingerprint_rules" in err and "line 1" in err


def test_moving_the_grouping_version_starts_a_transition_and_unknown_versions_are_refused(
    cli, postgres_url
):
    cli("project", "create", "shop")
    code, _, err = cli("project", "config", "shop", "grouping.version", "v9")
    assert code == 2 and "unknown grouping version 'v9'" in err
    assert cli("project", "config", "shop", "grouping.version", "v1")[0] == 0
    with psycopg.connect(postgres_url) as conn:
        (config,) = conn.execute("SELECT config FROM projects WHERE slug = 'shop'").fetchone()
    grouping = config["grouping"]
    assert (grouping["version"], grouping["secondary_version"]) == ("v1", "v2")
    assert grouping["secondary_expires_unix_s"] > 0
