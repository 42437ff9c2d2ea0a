"""Fingerprint events from the command line.

    python -m workers.grouping FILE [--rules RULES_FILE] [--stacktrace-rules FILE]

FILE holds JSON Lines, one event per line as an SDK sends it (`-` reads
stdin). Each event yields one JSON line on stdout: hash, hashes, variant,
version, title, culprit, exception type and value, fingerprint, the matched
fingerprint rule and the explanation. Invalid rules print
`RULES_FILE: line L, column C: message` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

import msgspec

from workers.grouping.api import (
    GroupingConfig,
    group_event,
    validate_fingerprint_rules,
    validate_stacktrace_rules,
)
from workers.grouping.errors import RuleSyntaxError
from workers.grouping.versions import GROUPING_VERSION, VERSIONS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers.grouping", description="Fingerprint events (JSON Lines)."
    )
    parser.add_argument("file", help="JSON Lines file of events, or - for stdin")
    parser.add_argument("--rules", type=Path, help="fingerprint rules file (Sentry syntax)")
    parser.add_argument("--stacktrace-rules", type=Path, help="stack-trace rules file")
    parser.add_argument("--version", default=GROUPING_VERSION, choices=sorted(VERSIONS))
    parser.add_argument("--no-explain", action="store_true", help="leave out the explanation tree")
    return parser


def _read_rules(path: Path | None, validate) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SystemExit(f"{path}: {error.strerror}") from error
    try:
        validate(text)
    except RuleSyntaxError as error:
        print(f"{path}: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    return text


def build_config(args: argparse.Namespace) -> GroupingConfig:
    return GroupingConfig.build(
        args.version,
        fingerprint_rules=_read_rules(args.rules, validate_fingerprint_rules),
        stacktrace_rules=_read_rules(args.stacktrace_rules, validate_stacktrace_rules),
    )


def run(config: GroupingConfig, source: BinaryIO, sink: BinaryIO, *, explain: bool) -> None:
    encoder = msgspec.json.Encoder()
    for line in source:
        if line.strip():
            result = group_event(line, config, explain=explain)
            sink.write(encoder.encode(result) + b"\n")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = build_config(args)
    explain = not args.no_explain
    if args.file == "-":
        run(config, sys.stdin.buffer, sys.stdout.buffer, explain=explain)
        return 0
    try:
        with open(args.file, "rb") as source:
            run(config, source, sys.stdout.buffer, explain=explain)
    except FileNotFoundError as error:
        print(f"{args.file}: no such file", file=sys.stderr)
        raise SystemExit(2) from error
    return 0


if __name__ == "__main__":
    sys.exit(main())
