"""What the issue page's buttons do: the functions `just issues resolve/ignore/merge` and
`just project config` call, so the app and the command line cannot disagree.

Each returns the sentence the page shows; a refusal (an issue already merged, rules that
do not parse) is a sentence too, never an exception in the browser.
"""

from __future__ import annotations

from analysis import rules as project_rules
from analysis.replay_worker import RuleSet
from core.errors import CoreError
from core.pg.projects import get_project, save_config
from core.project_config import set_path
from stackwise.ui import store
from workers.errors import LifecycleError
from workers.lifecycle import ignore, resolve, unresolve
from workers.merges import merge_issues

ACTIONS = ("resolve", "resolve in next release", "ignore", "unresolve")


def change_status(group_id: int, action: str) -> str:
    """One of ACTIONS on one issue, in its own transaction."""
    opened = store.stack()
    try:
        with opened.pool.connection() as conn, conn.transaction():
            if action == "resolve":
                resolve(conn, group_id, in_next_release=False)
            elif action == "resolve in next release":
                resolve(conn, group_id, in_next_release=True)
            elif action == "ignore":
                ignore(conn, group_id, more_events=None, until=None)
            elif action == "unresolve":
                unresolve(conn, group_id)
            else:
                raise ValueError(f"unknown action {action!r}; use {', '.join(ACTIONS)}")
    except LifecycleError as e:
        return f"Issue {group_id} not changed: {e}"
    return f"Issue {group_id}: {action} done."


def parse_ids(text: str) -> list[int]:
    """Issue ids typed as `12, 13 14` (a leading # is allowed)."""
    parts = text.replace(",", " ").split()
    try:
        return [int(part.lstrip("#")) for part in parts]
    except ValueError as e:
        raise ValueError(f"not issue ids: {text!r}") from e


def merge_into(target_id: int, text: str) -> str:
    try:
        sources = parse_ids(text)
    except ValueError as e:
        return str(e)
    if not sources:
        return "Type the ids of the issues to merge into this one."
    try:
        moved = merge_issues(store.stack(), target_id, sources)
    except LifecycleError as e:
        return f"Not merged: {e}"
    return f"Merged {', '.join(f'#{s}' for s in sources)} into #{target_id} ({moved} hashes moved)."


def save_rules(project_id: int, rules: RuleSet) -> str:
    """The rules into the project's configuration, validated as `just project config` does."""
    problem = project_rules.check(rules)
    if problem:
        return f"Not saved: the rules do not parse: {problem}"
    pool = store.stack().pool
    try:
        project = get_project(pool, project_id)
        config = set_path(project.config, "grouping.fingerprint_rules", rules.fingerprint_rules)
        config = set_path(config, "grouping.stacktrace_rules", rules.stacktrace_rules)
        saved = save_config(pool, project.slug, config)
    except CoreError as e:
        return f"Not saved: {e}"
    return f"Saved: the workers of project {saved.slug} now group with these rules."
