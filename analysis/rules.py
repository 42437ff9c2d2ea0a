"""A project's grouping rules: read them from a source, check them, save them back.

Saving goes through the same functions as `just project config` (validated rule text,
then the whole configuration document validated and written): the workers pick the new
rules up within seconds. Only live stores can be written; an export is read-only.
"""

from __future__ import annotations

import json

import polars as pl

from analysis.replay_worker import RuleSet
from analysis.source_base import Source
from core.pg.projects import get_project, save_config
from core.project_config import parse_config, set_path
from core.storage import postgres
from workers.grouping import RuleSyntaxError, validate_fingerprint_rules, validate_stacktrace_rules


class RulesNotSavedError(RuntimeError):
    """The rules could not be saved; the message says why."""


def project_rules(projects: pl.DataFrame, project_id: int) -> RuleSet:
    """The project's saved grouping rules (from `source.projects()`)."""
    row = projects.filter(pl.col("id") == project_id)
    if row.is_empty():
        raise ValueError(f"no project {project_id}")
    grouping = parse_config(json.loads(row["config"][0] or "{}")).grouping
    return RuleSet(grouping.fingerprint_rules, grouping.stacktrace_rules, grouping.version)


def check(rules: RuleSet) -> str | None:
    """None when the rules parse, else the error (line and column)."""
    try:
        validate_fingerprint_rules(rules.fingerprint_rules)
        validate_stacktrace_rules(rules.stacktrace_rules)
        rules.config()
    except (RuleSyntaxError, ValueError) as e:
        return str(e)
    return None


def save_rules(source: Source, project_id: int, rules: RuleSet) -> str:
    """Write the fingerprint and stack-trace rules into the project's configuration."""
    url = getattr(source, "postgres_url", "")
    if not url:
        raise RulesNotSavedError(
            f"{source.label} is read-only: open the notebook on live data to save rules"
        )
    problem = check(rules)
    if problem:
        raise RulesNotSavedError(f"rules not saved: {problem}")
    pool = postgres.open_pool(url, max_size=1, name="workbench")
    try:
        project = get_project(pool, project_id)
        config = set_path(project.config, "grouping.fingerprint_rules", rules.fingerprint_rules)
        config = set_path(config, "grouping.stacktrace_rules", rules.stacktrace_rules)
        config = set_path(config, "grouping.version", rules.version)
        saved = save_config(pool, project.slug, config)
    finally:
        pool.close()
    return saved.slug
