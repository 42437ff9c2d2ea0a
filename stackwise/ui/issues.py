"""What the issues app's pages show, read from the issue store and the workbench source.

The list and the issue page come from PostgreSQL (live, so an action shows at once); the
charts and tag distributions from the stored events (`analysis.source`), which may be a
running `serve`'s ClickHouse or an export.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import msgspec
import polars as pl
from rich.console import Console

from analysis.source import Source, Window
from core.event.stacktrace import FrameRow, frame_context, frame_rows, sourcemap_errors
from core.pg import ai as ai_store
from core.pg.issues import reads
from core.pg.issues.reads import IssueSearch
from core.pg.projects import list_projects
from stackwise.cli.issues import _explanation_tree, _which_event
from stackwise.ui import store

MAX_TAG_EVENTS = 5_000
TOP_TAG_VALUES = 5
LIST_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "project": pl.String,
    "title": pl.String,
    "culprit": pl.String,
    "level": pl.String,
    "status": pl.String,
    "substatus": pl.String,
    "times_seen": pl.Int64,
    "users_seen": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class IssuePage:
    group: dict[str, Any]
    members: list[int]
    releases: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    frames: list[FrameRow]
    # Source lines around each frame's own, by (exception, position) as in `frames`.
    context: dict[tuple[int, int], tuple[list[str], str, list[str]]]
    sourcemap_errors: list[dict[str, Any]]
    explanation: str
    first_event: str  # "event <id> at <time>": the sample the stack trace and tree show
    similar: list[dict[str, Any]] = field(default_factory=list)


def filter_options() -> dict[str, Any]:
    """What the list's filters offer: project slugs (to ids) and the values in use."""
    opened = store.stack()
    with opened.pool.connection() as conn:
        facets = reads.issue_facets(conn)
    return {"project": {p.slug: p.id for p in list_projects(opened.pool)}, **facets}


def search(query: IssueSearch) -> pl.DataFrame:
    with store.stack().pool.connection() as conn:
        rows = reads.search_issues(conn, query)
    return pl.DataFrame(rows, schema=LIST_SCHEMA, orient="row")


def _explain(sample: bytes, project_id: int) -> str:
    """The component tree `just issues show` prints, as text."""
    tree = _explanation_tree(sample, project_id, store.stack())
    if tree is None:
        return "no sample event stored for this issue"
    console = Console(file=io.StringIO(), width=140, record=True, color_system=None)
    console.print(tree)
    return console.export_text()


def issue_page(group_id: int) -> IssuePage | None:
    with store.stack().pool.connection() as conn:
        found = reads.issue_detail(conn, group_id)
        if found is None:
            return None
        group, _, activity = found
        members = reads.issue_with_members(conn, group_id)
        releases = reads.issue_releases(conn, group_id)
        similar = ai_store.similar_issues(conn, group_id)
    sample = bytes(group["sample_event"] or b"")
    return IssuePage(
        group=group,
        members=list((members or {}).get("member_ids") or [group_id]),
        releases=releases,
        activity=activity,
        frames=frame_rows(sample),
        context=frame_context(sample),
        sourcemap_errors=sourcemap_errors(sample),
        explanation=_explain(sample, group["project_id"]),
        first_event=_which_event(sample),
        similar=similar,
    )


def _window(page: IssuePage, margin: timedelta) -> Window:
    # PostgreSQL answers in the session's zone (Etc/UTC), which polars tells from UTC.
    first, last = (page.group[k].astimezone(UTC) for k in ("first_seen", "last_seen"))
    return Window(first - margin, last + margin)


def events_over_time(source: Source, page: IssuePage) -> pl.DataFrame:
    """Events a day (stored, and extrapolated through sampling) of the issue and the issues
    merged into it, from the hourly rollups."""
    frame = source.rollup(
        ["group_id", "day"],
        projects=[page.group["project_id"]],
        window=_window(page, timedelta(days=1)),
    )
    return (
        frame.filter(pl.col("group_id").cast(pl.Int64).is_in(page.members))
        .group_by("day")
        .agg(pl.col("events").sum().alias("stored"), pl.col("weighted").sum().alias("extrapolated"))
        .sort("day")
    )


def tag_distribution(source: Source, page: IssuePage) -> pl.DataFrame:
    """The most common values of each tag (and level, release, environment, SDK) over the
    issue's stored events: tag, value, events, share."""
    project, window = [page.group["project_id"]], _window(page, timedelta(hours=1))
    groups = source.read("event_groups", columns=["event_id", "group_id"], projects=project)
    wanted = set(groups.filter(pl.col("group_id").cast(pl.Int64).is_in(page.members))["event_id"])
    events = source.read(
        "events",
        columns=["event_id", "level", "release", "environment", "sdk_name", "tags"],
        projects=project,
        window=window,
    ).filter(pl.col("event_id").is_in(list(wanted)))
    counts: Counter[tuple[str, str]] = Counter()
    for row in events.head(MAX_TAG_EVENTS).iter_rows(named=True):
        tags = msgspec.json.decode(row["tags"] or "{}")
        values = {"level": row["level"], "release": row["release"], "sdk": row["sdk_name"]}
        values["environment"] = row["environment"]
        for key, value in (values | tags).items():
            if value:
                counts[(key, str(value))] += 1
    frame = pl.DataFrame(
        [(k, v, n) for (k, v), n in counts.items()],
        schema={"tag": pl.String, "value": pl.String, "events": pl.Int64},
        orient="row",
    )
    total = min(events.height, MAX_TAG_EVENTS) or 1
    return (
        frame.with_columns((pl.col("events") / total).round(3).alias("share"))
        .sort(["tag", "events"], descending=[False, True])
        .group_by("tag", maintain_order=True)
        .head(TOP_TAG_VALUES)
    )
