"""Fingerprint events from the command line.

    python -m workers.grouping FILE [--rules RULES_FILE] [--stacktrace-rules FILE]
                               [--version v2] [--explain | --no-explain] [--skip-invalid]

FILE holds JSON Lines, one event per line as an SDK sends it (`-` reads
stdin). Each event yields one JSON line on stdout: hash, hashes, variant,
version, title, culprit, exception type and value, fingerprint, the matched
fingerprint rule and the explanation. `--explain` prints the explanation as a
tree instead (as `just issues show` does): every component with a check mark
or the reason it does not count, frames with their in-app flag and category
and the rules that set them.

A line that is not a JSON object prints `FILE:LINE: ...` on stderr and stops
with status 2; `--skip-invalid` reports it and goes on. Invalid rules print
`RULES_FILE: line L, column C: message` and exit with status 2.

An event may carry its own rules as Sentry's grouping test inputs do:
`_grouping.enhancements` (stack-trace rules, after the file's) and
`_fingerprinting_rules` (fingerprint rules in Sentry's JSON form, after the
file's); real SDKs never send these keys.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import msgspec

from workers.grouping.api import (
    GroupingConfig,
    group_event,
    validate_fingerprint_rules,
    validate_stacktrace_rules,
)
from workers.grouping.errors import RuleSyntaxError
from workers.grouping.explain import render_text
from workers.grouping.versions import GROUPING_VERSION, VERSIONS

INVALID_INPUT_STATUS = 2
_decode_line = msgspec.json.Decoder().decode


class InvalidLine(Exception):
    """A line that cannot be grouped: not a JSON object, or rules that do not parse."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers.grouping", description="Fingerprint events (JSON Lines)."
    )
    parser.add_argument("file", help="JSON Lines file of events, or - for stdin")
    parser.add_argument("--rules", type=Path, help="fingerprint rules file (Sentry syntax)")
    parser.add_argument("--stacktrace-rules", type=Path, help="stack-trace rules file")
    parser.add_argument("--version", default=GROUPING_VERSION, choices=sorted(VERSIONS))
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--explain", action="store_true", help="print each event's component tree, not JSON"
    )
    shown.add_argument("--no-explain", action="store_true", help="leave out the explanation")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="report a line that is not a JSON object and go on (default: stop, status 2)",
    )
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
        raise SystemExit(INVALID_INPUT_STATUS) from error
    return text


def build_config(args: argparse.Namespace) -> GroupingConfig:
    return GroupingConfig.build(
        args.version,
        fingerprint_rules=_read_rules(args.rules, validate_fingerprint_rules),
        stacktrace_rules=_read_rules(args.stacktrace_rules, validate_stacktrace_rules),
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fingerprint_rules_from_json(rules: Any) -> str:
    """Sentry's JSON form of fingerprint rules (`{"matchers": [[key, pattern]...],
    "fingerprint": [...], "attributes": {...}}`, a negated key starting with "!")
    as rule text."""
    lines = []
    for rule in rules if isinstance(rules, list) else []:
        matchers = " ".join(f"{key}:{_quoted(str(value))}" for key, value in rule["matchers"])
        values = ", ".join(_quoted(str(value)) for value in rule["fingerprint"])
        attributes = "".join(
            f" {name}={_quoted(str(value))}"
            for name, value in (rule.get("attributes") or {}).items()
        )
        lines.append(f"{matchers} -> {values}{attributes}")
    return "\n".join(lines)


def _event_rules(event: dict[str, Any]) -> tuple[str, str]:
    """(stack-trace rules, fingerprint rules) an event carries, as Sentry's test inputs do."""
    grouping = event.get("_grouping")
    enhancements = grouping.get("enhancements") if isinstance(grouping, dict) else None
    try:
        fingerprints = fingerprint_rules_from_json(event.get("_fingerprinting_rules"))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidLine(f"unreadable _fingerprinting_rules ({error})") from error
    return (enhancements if isinstance(enhancements, str) else ""), fingerprints


class ConfigPerEvent:
    """The command's config, extended by the rules an event carries (built once per text)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.version = args.version
        self.stacktrace_rules = _read_rules(args.stacktrace_rules, validate_stacktrace_rules)
        self.fingerprint_rules = _read_rules(args.rules, validate_fingerprint_rules)
        self.base = GroupingConfig.build(
            self.version,
            fingerprint_rules=self.fingerprint_rules,
            stacktrace_rules=self.stacktrace_rules,
        )
        self._built: dict[tuple[str, str], GroupingConfig] = {}

    def __call__(self, event: dict[str, Any]) -> GroupingConfig:
        if "_grouping" not in event and "_fingerprinting_rules" not in event:
            return self.base
        key = _event_rules(event)
        if key == ("", ""):
            return self.base
        config = self._built.get(key)
        if config is None:
            try:
                config = GroupingConfig.build(
                    self.version,
                    fingerprint_rules="\n".join((self.fingerprint_rules, key[1])),
                    stacktrace_rules="\n".join((self.stacktrace_rules, key[0])),
                )
            except RuleSyntaxError as error:
                raise InvalidLine(f"the event's own rules: {error}") from error
            self._built[key] = config
        return config


def _event_of(line: bytes) -> dict[str, Any]:
    try:
        event = _decode_line(line)
    except msgspec.DecodeError as error:
        raise InvalidLine(f"not a JSON object ({error})") from error
    if not isinstance(event, dict):
        raise InvalidLine(f"not a JSON object (a JSON {type(event).__name__})")
    return event


def run(
    config_for: Callable[[dict[str, Any]], GroupingConfig],
    source: BinaryIO,
    sink: BinaryIO,
    *,
    name: str,
    explain: bool,
    text: bool = False,
    skip_invalid: bool = False,
    errors: TextIO | None = None,
) -> int:
    """Group every line; the exit status (2 at the first invalid line unless skipped)."""
    errors = errors or sys.stderr
    encoder = msgspec.json.Encoder()
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            event = _event_of(line)
            config = config_for(event)
        except InvalidLine as error:
            print(f"{name}:{number}: {error}", file=errors)
            if skip_invalid:
                continue
            return INVALID_INPUT_STATUS
        result = group_event(line, config, explain=explain or text)
        if text:
            header = f"{name}:{number}: {result.title}"
            body = render_text(result.explanation) if result.explanation is not None else []
            sink.write("\n".join([header, *body, ""]).encode() + b"\n")
        else:
            sink.write(encoder.encode(result) + b"\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config_for = ConfigPerEvent(args)
    options = {
        "explain": not args.no_explain,
        "text": args.explain,
        "skip_invalid": args.skip_invalid,
    }
    if args.file == "-":
        return run(config_for, sys.stdin.buffer, sys.stdout.buffer, name="-", **options)
    try:
        with open(args.file, "rb") as source:
            return run(config_for, source, sys.stdout.buffer, name=args.file, **options)
    except FileNotFoundError as error:
        print(f"{args.file}: no such file", file=sys.stderr)
        raise SystemExit(INVALID_INPUT_STATUS) from error


if __name__ == "__main__":
    sys.exit(main())
