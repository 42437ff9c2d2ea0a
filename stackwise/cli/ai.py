"""`ai ...`: analyze an issue now, show similar issues and merge suggestions, decide them."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from core.pg.projects import get_project
from core.runtime import stack_session

console = Console(width=None if Console().is_terminal else 130)


def register(commands) -> None:
    parser = commands.add_parser("ai", help="AI analysis, similar issues, merge suggestions")
    sub = parser.add_subparsers(dest="ai_command", required=True, metavar="ACTION")

    analyze = sub.add_parser("analyze", help="analyze an issue now (ignores the cache)")
    analyze.add_argument("issue", type=int)
    analyze.set_defaults(handler=_analyze)

    similar = sub.add_parser("similar", help="the issues most like this one")
    similar.add_argument("issue", type=int)
    similar.set_defaults(handler=_similar)

    suggestions = sub.add_parser("suggestions", help="pending merge suggestions of a project")
    suggestions.add_argument("project")
    suggestions.set_defaults(handler=_suggestions)

    for action in ("accept", "reject"):
        decide = sub.add_parser(action, help=f"{action} a merge suggestion")
        decide.add_argument("suggestion", type=int)
        decide.set_defaults(handler=_decide, accept=action == "accept")


def _analyze(settings, args) -> int:
    from workers.ai import analyze_group
    from workers.context import WorkerContext

    # Reads sample events from ClickHouse, so it needs the data (not only PostgreSQL).
    with stack_session(settings) as stack:
        outcome = analyze_group(WorkerContext(stack), args.issue, reason="manual", force=True)
    console.print(f"issue {args.issue}: {outcome.status} {outcome.message}")
    if outcome.analysis is not None:
        import msgspec

        console.print_json(json.dumps(msgspec.to_builtins(outcome.analysis)))
    return 0 if outcome.status in {"analyzed", "cached"} else 1


def _similar(settings, args) -> int:
    from workers.ai import refresh_similarity
    from workers.context import WorkerContext

    with stack_session(settings) as stack:
        outcome = refresh_similarity(WorkerContext(stack), args.issue)
    table = Table("issue", "score", "method")
    for item in outcome.similar:
        table.add_row(str(item.group_id), f"{item.score:.3f}", item.method)
    console.print(table)
    return 0


def _suggestions(settings, args) -> int:
    from workers.ai import pending_merge_suggestions

    with stack_session(settings, own_clickhouse=False, pool_size=2) as stack:
        project = get_project(stack.pool, args.project)
        with stack.pool.connection() as conn:
            pending = pending_merge_suggestions(conn, project.id)
    table = Table("suggestion", "merge issue", "into issue", "score", "method")
    for item in pending:
        table.add_row(
            str(item.id),
            str(item.source_group_id),
            str(item.target_group_id),
            f"{item.score:.3f}",
            item.method,
        )
    console.print(table)
    return 0


def _decide(settings, args) -> int:
    from workers.merges import decide_suggestion

    with stack_session(settings, own_clickhouse=False, pool_size=2) as stack:
        suggestion = decide_suggestion(stack, args.suggestion, accept=args.accept, decided_by="cli")
    console.print(f"suggestion {suggestion.id}: {suggestion.status}")
    return 0
