"""`stackwise seed` through the real command line entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.runtime import lock_data_folder
from core.storage import clickhouse
from stackwise.cli import build_parser, main

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
def cli(monkeypatch, settings, capsys):
    """The command line with this test's stores (the settings fixture's, as variables)."""
    for name in (
        "data_dir",
        "postgres_url",
        "redis_url",
        "clickhouse_url",
        "clickhouse_database",
        "queue_name",
        "redis_namespace",
    ):
        monkeypatch.setenv(f"STACKWISE_{name.upper()}", str(getattr(settings, name)))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    client = clickhouse.connect(settings.clickhouse_url, settings.clickhouse_database)
    client.command(f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`")


def _seed_parser():
    commands = build_parser()._subparsers._group_actions[0]
    return commands.choices["seed"]


def test_every_option_is_explained_in_help_and_the_readme():
    parser = _seed_parser()
    readme = README.read_text()
    assert "## Seeding" in readme
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{action.option_strings} has no help text"
        assert action.option_strings[0] in readme, f"{action.option_strings[0]} not in README"


def test_direct_seeding_loads_groups_and_summarizes(cli, settings):
    code, out, err = cli(
        "seed", "--direct", "--events", "400", "--days", "3", "--root-causes", "30", "--seed", "9"
    )
    assert code == 0, err
    assert re.search(r"run [0-9a-f]{12}: 400 events over 3 days, 30 root causes", out)
    assert re.search(r"total\s+│\s+│\s+400 │\s+400 │\s+0", out)
    client = clickhouse.connect(settings.clickhouse_url, settings.clickhouse_database)
    truth = client.query("SELECT count(), uniqExact(root_cause) FROM seed_ground_truth").result_rows
    assert truth == [(400, 30)] or truth[0][0] == 400
    assert client.query("SELECT count() FROM event_groups").result_rows[0][0] > 0


def test_bad_options_and_a_busy_data_folder_fail_with_a_message(cli, settings):
    code, _, err = cli("seed", "--days", "400")
    assert code == 2 and "--days 1 to 365" in err
    code, _, err = cli("seed", "--projects", "web,mobile")
    assert code == 2 and "unknown seed project(s) mobile" in err
    lock = lock_data_folder(settings.data_dir)
    try:
        code, _, err = cli("seed", "--direct", "--events", "10")
    finally:
        lock.close()
    assert code == 2 and "in use by another stackwise process" in err
