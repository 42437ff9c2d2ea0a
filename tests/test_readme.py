"""The README documents the whole command surface: every `just` recipe and every command
of the command line (with its subcommands)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from stackwise.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def recipes() -> list[str]:
    just = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")
    assert just, "the rust-just package provides `just`"
    listed = subprocess.run(
        [just, "--summary"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # `default` is what a bare `just` runs: the listing itself.
    return [name for name in listed if name != "default"]


def cli_commands() -> list[str]:
    """`command` and `command subcommand` for every command of `python -m stackwise`."""
    found = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append(f"{prefix}{name}")
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def test_every_just_recipe_is_in_the_readme():
    names = recipes()
    assert {"demo", "test", "seed", "check"} <= set(names)
    assert [name for name in names if f"just {name}" not in README] == []


def test_every_command_and_subcommand_of_the_command_line_is_in_the_readme():
    commands = cli_commands()
    assert {"serve", "project create", "issues merge", "ai reject"} <= set(commands)
    assert [command for command in commands if f"just {command}" not in README] == []


def test_the_readme_says_how_to_get_uv_and_what_just_test_installs_before_the_commands():
    before = README[: README.index("uv run just demo")]
    assert "python3 -m pip install uv" in before
    justfile = (ROOT / "justfile").read_text()
    # What the `test` recipe's dependencies run, named as they run it.
    assert "npm ci --prefix tests/sdk/node" in justfile
    assert "npm ci --prefix tests/sdk/node" in before
    assert "tests/sdk/node/package-lock.json" in before
    assert "apt-get install -y -qq --no-install-recommends chromium" in justfile
    assert "apt-get install -y --no-install-recommends chromium" in before
    assert "when run as root" in before
    test_recipe = next(line for line in justfile.splitlines() if line.startswith("test "))
    assert test_recipe.split(":")[1].split() == ["node-deps", "browser"]
