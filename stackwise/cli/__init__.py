"""`python -m stackwise COMMAND`: the operator's command line (the justfile calls it).

Each command group lives in its own module and registers its subcommands here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.pg.projects import ProjectError
from core.project_config import ConfigError
from core.runtime import DataFolderBusyError
from core.settings import SettingsError, load_settings
from core.storage.clickhouse import ClickHouseLockedError
from stackwise.cli import ai, demo, issues, project, run, seed, workbench
from stackwise.local_server import ServerStartError
from stackwise.serve import RunModeError

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
    for module in (run, project, issues, ai, demo, seed, workbench):
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
