"""`python -m stackwise COMMAND`: the operator's command line (the justfile calls it).

Each command group lives in its own module and registers its subcommands here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.errors import CoreError
from core.settings import load_settings
from stackwise.cli import ai, audit, demo, issues, project, run, seed, token, ui, workbench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackwise", description=__doc__)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log at INFO (also after the command: `just demo --verbose`)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, project, token, issues, ai, audit, demo, seed, workbench, ui):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Accepted anywhere on the line, so every recipe passes it on without its own option.
    verbose = "--verbose" in argv
    args = build_parser().parse_args([a for a in argv if a != "--verbose"])
    try:
        settings = load_settings(log_level="INFO") if verbose else load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return int(args.handler(settings, args) or 0)
    except CoreError as e:
        # The operator's to fix (core.errors): one line, exit code 2, no traceback.
        print(f"stackwise: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
