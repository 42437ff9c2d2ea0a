"""`issues ...`: list, show (with the grouping explanation), resolve, ignore, merge."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import msgspec
from rich.console import Console
from rich.tree import Tree

from core.event.stacktrace import frame_rows, sourcemap_errors
from core.pg.issues import reads
from core.pg.projects import get_project
from core.runtime import stack_session
from stackwise.cli.titles import titled_table

console = Console(width=None if Console().is_terminal else 130)
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(commands) -> None:
    parser = commands.add_parser("issues", help="list, show, resolve, ignore and merge issues")
    sub = parser.add_subparsers(dest="issues_command", required=True, metavar="ACTION")

    listing = sub.add_parser("list", help="issues, most recent first")
    listing.add_argument("--project", help="project slug or id")
    listing.add_argument(
        "--status", default="unresolved", choices=["unresolved", "resolved", "ignored", "all"]
    )
    listing.add_argument("--limit", type=int, default=25)
    listing.set_defaults(handler=_list)

    show = sub.add_parser("show", help="one issue, with how its events were grouped")
    show.add_argument("issue", type=int)
    show.set_defaults(handler=_show)

    resolve = sub.add_parser("resolve", help="mark issues resolved")
    resolve.add_argument("issues", type=int, nargs="+")
    resolve.add_argument(
        "--next-release",
        action="store_true",
        help="only events from a newer release than today's regress it",
    )
    resolve.set_defaults(handler=_resolve)

    unresolve = sub.add_parser("unresolve", help="mark issues unresolved")
    unresolve.add_argument("issues", type=int, nargs="+")
    unresolve.set_defaults(handler=_unresolve)

    ignore = sub.add_parser("ignore", help="ignore issues: forever, for N more events, or a while")
    ignore.add_argument("issues", type=int, nargs="+")
    until = ignore.add_mutually_exclusive_group()
    until.add_argument("--count", type=int, help="until this many more events arrive")
    until.add_argument("--until", help="until this time (ISO 8601)")
    until.add_argument("--for", dest="duration", help="for a while: 30m, 6h, 2d, 1w")
    ignore.set_defaults(handler=_ignore)

    merge = sub.add_parser("merge", help="merge issues into one; later events follow")
    merge.add_argument("target", type=int)
    merge.add_argument("sources", type=int, nargs="+")
    merge.set_defaults(handler=_merge)


def _session(settings):
    return stack_session(settings, own_clickhouse=False, pool_size=2)


def _list(settings, args) -> int:
    with _session(settings) as stack, stack.pool.connection() as conn:
        project_id = get_project(stack.pool, args.project).id if args.project else None
        status = None if args.status == "all" else args.status
        rows = reads.list_issues(conn, project_id=project_id, status=status, limit=args.limit)
    table = titled_table(
        console,
        ["issue", "title", "status", "events", "users", "last seen"],
        [
            [
                str(row["id"]),
                row["title"],
                f"{row['status']}/{row['substatus']}",
                str(row["times_seen"]),
                str(row["users_seen"]),
                f"{row['last_seen']:%Y-%m-%d %H:%M}",
            ]
            for row in rows
        ],
        title_column=1,
    )
    console.print(table)
    return 0


def _explanation_tree(sample: bytes, project_id: int, stack) -> Tree | None:
    """Group the issue's first event again, under its project's current rules, and explain."""
    from workers.grouping import GroupingConfig, group_event

    if not sample:
        return None
    grouping = get_project(stack.pool, project_id).config.grouping
    config = GroupingConfig.build(
        grouping.version,
        fingerprint_rules=grouping.fingerprint_rules,
        stacktrace_rules=grouping.stacktrace_rules,
    )
    result = group_event(sample, config, explain=True)
    explanation = result.explanation
    tree = Tree(f"hash [bold]{result.hash}[/bold] from the {result.variant!r} variant")
    if explanation is None:
        return tree
    if explanation.fingerprint_rule:
        tree.add(f"fingerprint rule: {explanation.fingerprint_rule}")
    for variant in explanation.variants:
        mark = "[green]✓[/green]" if variant.contributes else "[red]✗[/red]"
        label = f"{mark} variant {variant.name} ({variant.hash or 'no hash'})"
        branch = tree.add(label + (f" — {variant.hint}" if variant.hint else ""))
        if variant.values:
            branch.add(f"values: {', '.join(variant.values)}")
        if variant.component is not None:
            _add_component(branch, variant.component)
    return tree


def _add_component(node: Tree, component) -> None:
    mark = "[green]✓[/green]" if component.contributes else "[dim]✗[/dim]"
    text = f"{mark} {component.id}"
    if component.values:
        text += f" {' '.join(repr(v) for v in component.values)}"
    if component.hint:
        text += f" [dim]({component.hint})[/dim]"
    branch = node.add(text)
    for child in component.children:
        _add_component(branch, child)


def _show(settings, args) -> int:
    with _session(settings) as stack:
        found = _load_issue(stack, args.issue)
        if found is None:
            console.print(f"no issue {args.issue}")
            return 2
        group, releases, activity = found
        sample = bytes(group["sample_event"] or b"")
        tree = _explanation_tree(sample, group["project_id"], stack)
    _print_issue(group, releases, activity, tree, _which_event(sample))
    _print_stacktrace(sample)
    return 0


def _print_stacktrace(sample: bytes) -> None:
    """The first event's stack trace, as source maps resolved it (minified frame beside)."""
    rows = frame_rows(sample)
    if not rows:
        return
    console.print("[bold]stack trace of its first event[/bold] (most recent call last)")
    exception = None
    for row in rows:
        if row.exception != exception:
            exception = row.exception
            console.print(f"  {row.exception_type or 'exception'}", markup=False)
        app = "" if row.in_app is not False else "  (library)"
        console.print(f"    at {row.function} ({row.location}){app}", markup=False)
        if row.context_line:
            console.print(f"        {row.context_line[:160]}", markup=False, style="dim")
        if row.resolved_with:
            console.print(
                f"        source map ({row.resolved_with}); minified: {row.minified}",
                markup=False,
                style="dim",
            )
    for error in sourcemap_errors(sample):
        url, kind, reason = error.get("url", "?"), error.get("type"), error.get("reason", "")
        console.print(f"  unresolved {url}: {kind} — {reason}", markup=False)


def _load_issue(stack, group_id: int):
    with stack.pool.connection() as conn:
        return reads.issue_detail(conn, group_id)


class _SampleHead(msgspec.Struct):
    event_id: str = ""
    timestamp: float | str | None = None


def _which_event(sample: bytes) -> str:
    """`event <id> at <time>` for the stored sample (the issue's first event)."""
    try:
        head = msgspec.json.decode(sample, type=_SampleHead)
    except msgspec.DecodeError:
        return ""
    when = ""
    if isinstance(head.timestamp, int | float):
        when = f" at {datetime.fromtimestamp(head.timestamp, UTC):%Y-%m-%d %H:%M:%S} UTC"
    elif head.timestamp:  # stored as the SDK sent it: RFC 3339
        when = f" at {head.timestamp}"
    return f"event {head.event_id}{when}" if head.event_id else ""


def _print_issue(group, releases, activity, tree: Tree | None, which: str = "") -> None:
    console.print(f"[bold]#{group['id']} {group['title']}[/bold]")
    console.print(
        f"{group['culprit']} — {group['status']}/{group['substatus']}, "
        f"{group['times_seen']} events, {group['users_seen']} users, "
        f"first {group['first_seen']:%Y-%m-%d %H:%M}, last {group['last_seen']:%Y-%m-%d %H:%M}"
    )
    if group["merged_into"]:
        console.print(f"merged into #{group['merged_into']}")
    for row in releases:
        console.print(
            f"  release {row['release'] or '-'} ({row['environment'] or '-'}): "
            f"{row['times_seen']} events"
        )
    for row in activity:
        console.print(f"  {row['created_at']:%Y-%m-%d %H:%M} {row['kind']} {row['data'] or ''}")
    if group["ai_summary"]:
        console.print_json(json.dumps(group["ai_summary"], default=str))
    if tree is not None:
        console.print(
            f"[bold]grouping of its first event[/bold] ({which or 'stored at creation'}, "
            "under the project's current rules)",
            highlight=False,
        )
        console.print(tree)


def _each(settings, ids: list[int], action) -> int:
    from workers.errors import LifecycleError

    with _session(settings) as stack:
        for group_id in ids:
            try:
                with stack.pool.connection() as conn, conn.transaction():
                    action(conn, group_id)
            except LifecycleError as e:
                console.print(f"issue {group_id}: {e}")
                return 2
            console.print(f"issue {group_id}: done")
    return 0


def _resolve(settings, args) -> int:
    from workers.lifecycle import resolve

    return _each(
        settings, args.issues, lambda conn, i: resolve(conn, i, in_next_release=args.next_release)
    )


def _unresolve(settings, args) -> int:
    from workers.lifecycle import unresolve

    return _each(settings, args.issues, unresolve)


def _until(args) -> datetime | None:
    if args.until:
        when = datetime.fromisoformat(args.until)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    if args.duration:
        match = _DURATION.match(args.duration)
        if not match:
            raise SystemExit(f"--for takes 30m, 6h, 2d or 1w, not {args.duration!r}")
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        return datetime.now(UTC) + timedelta(**{unit: amount})
    return None


def _ignore(settings, args) -> int:
    from workers.lifecycle import ignore

    until = _until(args)
    return _each(
        settings, args.issues, lambda conn, i: ignore(conn, i, more_events=args.count, until=until)
    )


def _merge(settings, args) -> int:
    from workers.errors import LifecycleError
    from workers.merges import merge_issues

    with _session(settings) as stack:
        try:
            moved = merge_issues(stack, args.target, args.sources)
        except LifecycleError as e:
            console.print(str(e))
            return 2
    console.print(f"merged {args.sources} into {args.target} ({moved} hashes moved)")
    return 0
