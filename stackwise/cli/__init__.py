"""`python -m stackwise COMMAND`: the operator's command line (the justfile calls it).

Each command group lives in its own module and registers its subcommands here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from stackwise.cli import ai, audit, demo, issues, project, run, seed, workbench
from stackwise.local_server import ServerStartError
from stackwise.project_config import ConfigError
from stackwise.projects import ProjectError
from stackwise.runtime import DataFolderBusyError
from stackwise.serve import RunModeError
from stackwise.settings import SettingsError, load_settings
from stackwise.storage.clickhouse import ClickHouseLockedError

# Errors that are the operator's to fix: printed as one line, exit code 2, no traceback.
_USER_ERRORS = (
    ConfigError,
    ProjectError,
    DataFolderBusyError,
    ClickHouseLockedError,
    RunModeError,
    SettingsError,
    ServerStartError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackwise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, project, issues, ai, audit, demo, seed, workbench):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return int(args.handler(settings, args) or 0)
    except _USER_ERRORS as e:
        print(f"stackwise: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
