"""The rule-tuning page: a project's saved rules, and what edited rules would change.

The replay is the workbench's (`analysis.replay`, `analysis.replay_diff`): the stored
events fingerprinted again under the edited rules, compared with today's issues.
"""

from __future__ import annotations

import threading

from analysis import replay_diff
from analysis.replay import RuleSet, shared_index
from analysis.replay_diff import ReplayDiff
from analysis.source import Source
from core.pg.projects import get_project
from stackwise.ui import store

# One replay index per process, kept warm between edits; sessions take turns on it.
_replaying = threading.Lock()


def saved_rules(project_id: int) -> RuleSet:
    grouping = get_project(store.stack().pool, project_id).config.grouping
    return RuleSet(grouping.fingerprint_rules, grouping.stacktrace_rules, grouping.version)


def replay(source: Source, project_id: int, rules: RuleSet) -> tuple[ReplayDiff, float]:
    """Today's issues against `rules` replayed over the project's stored events, and the
    replay's seconds."""
    with _replaying:
        replayed = shared_index(source, rules, projects=[project_id]).replay(rules)
    current = replay_diff.current_assignments(source, [project_id])
    changes = replay_diff.diff(current, replayed, issues=source.issues([project_id]))
    return changes, replayed.seconds
