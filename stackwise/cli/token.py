"""`token ...`: API tokens for sentry-cli (source map uploads, releases)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core.pg import projects, tokens
from core.runtime import stack_session

console = Console()


def register(commands) -> None:
    parser = commands.add_parser("token", help="API tokens for sentry-cli uploads")
    sub = parser.add_subparsers(dest="token_command", required=True, metavar="ACTION")

    create = sub.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--project", help="the one project it reaches (default: every project)")
    create.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        help=f"repeatable (default {' '.join(tokens.DEFAULT_SCOPES)}); "
        f"known: {', '.join(sorted(tokens.KNOWN_SCOPES))}",
    )
    create.add_argument("--label", default="")
    create.set_defaults(handler=_create)

    sub.add_parser("list", help="tokens (never their text)").set_defaults(handler=_list)

    revoke = sub.add_parser("revoke", help="revoke a token: refused from then on")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_revoke)


def _session(settings):
    return stack_session(settings, own_clickhouse=False, pool_size=2)


def _create(settings, args) -> int:
    with _session(settings) as stack:
        project_id = projects.get_project(stack.pool, args.project).id if args.project else None
        text, token = tokens.create_token(
            stack.pool,
            project_id=project_id,
            scopes=tuple(args.scopes or tokens.DEFAULT_SCOPES),
            label=args.label,
        )
    # The text alone on stdout, so `TOKEN=$(just token create)` works; the rest to stderr.
    print(text)
    reach = f"project {args.project}" if args.project else "every project"
    Console(stderr=True).print(
        f"token {token.id} ({', '.join(token.scopes)}; {reach}): shown once, only a hash is kept"
    )
    return 0


def _list(settings, args) -> int:
    with _session(settings) as stack:
        found = tokens.list_tokens(stack.pool)
        with stack.pool.connection() as conn:
            slugs = projects.slugs(conn)
    table = Table("id", "label", "project", "scopes", "created", "last used", "revoked")
    for token in found:
        table.add_row(
            str(token.id),
            token.label,
            slugs.get(token.project_id, "?") if token.project_id else "(every project)",
            " ".join(token.scopes),
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "-",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-",
        )
    console.print(table)
    return 0


def _revoke(settings, args) -> int:
    with _session(settings) as stack:
        token = tokens.revoke_token(stack.pool, args.id)
    console.print(f"token {token.id} revoked")
    return 0
