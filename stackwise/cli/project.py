"""`project ...`: create projects, manage DSN keys, set configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from core.pg import projects
from core.project_config import ConfigError, config_to_dict, set_path
from core.runtime import stack_session

console = Console()


def register(commands) -> None:
    parser = commands.add_parser("project", help="projects, DSN keys and their configuration")
    sub = parser.add_subparsers(dest="project_command", required=True, metavar="ACTION")

    create = sub.add_parser("create", help="create a project and print its DSN")
    create.add_argument("slug")
    create.add_argument("--name")
    create.set_defaults(handler=_create)

    sub.add_parser("list", help="list projects").set_defaults(handler=_list)

    show = sub.add_parser("show", help="a project's keys, DSNs and configuration")
    show.add_argument("slug")
    show.set_defaults(handler=_show)

    add_key = sub.add_parser("add-key", help="add a DSN key to a project")
    add_key.add_argument("slug")
    add_key.add_argument("--label", default="default")
    add_key.set_defaults(handler=_add_key)

    for action, active in (("disable-key", False), ("enable-key", True)):
        toggle = sub.add_parser(action, help=f"{action.split('-')[0]} a DSN key")
        toggle.add_argument("public_key")
        toggle.set_defaults(handler=_toggle_key, active=active)

    config = sub.add_parser(
        "config",
        help="show or set configuration: `config SLUG` or `config SLUG PATH VALUE`",
        description="VALUE is JSON when it parses as JSON, text otherwise; @FILE reads a file.",
    )
    config.add_argument("slug")
    config.add_argument("path", nargs="?", help="dotted path, e.g. sampling.enabled")
    config.add_argument("value", nargs="?")
    config.set_defaults(handler=_config)


def _session(settings):
    # Project commands only need PostgreSQL: they may run beside a `serve`.
    return stack_session(settings, own_clickhouse=False, pool_size=2)


def _create(settings, args) -> int:
    with _session(settings) as stack:
        project, key = projects.create_project(stack.pool, args.slug, args.name)
        print(projects.dsn(settings.dsn_host, key.public_key, project.id))
    return 0


def _list(settings, args) -> int:
    with _session(settings) as stack:
        table = Table("id", "slug", "name", "created")
        for project in projects.list_projects(stack.pool):
            table.add_row(
                str(project.id), project.slug, project.name, f"{project.created_at:%Y-%m-%d}"
            )
    console.print(table)
    return 0


def _show(settings, args) -> int:
    with _session(settings) as stack:
        project = projects.get_project(stack.pool, args.slug)
        keys = projects.list_keys(stack.pool, project.id)
    console.print(f"[bold]{project.slug}[/bold] (id {project.id}) — {project.name}")
    # DSNs are printed whole, one per line, so they can be copied (a table would wrap them).
    for key in keys:
        state = "active" if key.is_active else "disabled"
        print(f"key {key.public_key} ({key.label}, {state})")
        print(f"  DSN: {projects.dsn(settings.dsn_host, key.public_key, project.id)}")
    console.print_json(json.dumps(config_to_dict(project.config)))
    return 0


def _add_key(settings, args) -> int:
    with _session(settings) as stack:
        key = projects.add_key(stack.pool, args.slug, args.label)
        print(projects.dsn(settings.dsn_host, key.public_key, key.project_id))
    return 0


def _toggle_key(settings, args) -> int:
    with _session(settings) as stack:
        key = projects.set_key_active(stack.pool, args.public_key, args.active)
    print(f"key {key.public_key} is now {'active' if key.is_active else 'disabled'}")
    return 0


def parse_value(text: str) -> Any:
    if text.startswith("@"):
        return Path(text[1:]).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _validate_rules(path: str, value: Any) -> None:
    from workers.grouping import (
        RuleSyntaxError,
        get_version,
        validate_fingerprint_rules,
        validate_stacktrace_rules,
    )

    if path in ("grouping.version", "grouping.secondary_version") and value != "":
        try:
            get_version(str(value))
        except ValueError as e:
            raise ConfigError(f"{path}: {e}") from e
    validators = {
        "grouping.fingerprint_rules": validate_fingerprint_rules,
        "grouping.stacktrace_rules": validate_stacktrace_rules,
    }
    if path in validators and isinstance(value, str):
        try:
            validators[path](value)
        except RuleSyntaxError as e:
            raise ConfigError(f"{path}: {e}") from e


def _config(settings, args) -> int:
    with _session(settings) as stack:
        project = projects.get_project(stack.pool, args.slug)
        if args.path is None:
            console.print_json(json.dumps(config_to_dict(project.config)))
            return 0
        if args.value is None:
            raise ConfigError("give a VALUE to set (JSON, text, or @FILE)")
        value = parse_value(args.value)
        _validate_rules(args.path, value)
        updated = projects.save_config(
            stack.pool, args.slug, set_path(project.config, args.path, value)
        )
    console.print_json(json.dumps(config_to_dict(updated.config)))
    return 0
