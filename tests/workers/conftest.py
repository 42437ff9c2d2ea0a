from __future__ import annotations

import pytest

from core.pg.projects import create_project
from workers.context import WorkerContext


@pytest.fixture
def ctx(stack) -> WorkerContext:
    return WorkerContext(stack)


@pytest.fixture
def project_id(stack) -> int:
    project, _ = create_project(stack.pool, "shop")
    return project.id


def group_counts(ctx: WorkerContext, project_id: int) -> dict[str, tuple[int, int]]:
    """exception type -> (times_seen, users_seen) of the project's unmerged issues."""
    with ctx.stack.pool.connection() as conn:
        rows = conn.execute(
            "SELECT exception_type, times_seen, users_seen FROM error_groups "
            "WHERE project_id = %s AND merged_into IS NULL",
            (project_id,),
        ).fetchall()
    return {r["exception_type"]: (r["times_seen"], r["users_seen"]) for r in rows}


def occurrence_count(ctx: WorkerContext, project_id: int) -> int:
    with ctx.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM error_occurrences WHERE project_id = %s", (project_id,)
        ).fetchone()["n"]


def assigned_count(ctx: WorkerContext, project_id: int) -> int:
    return (
        ctx.clickhouse()
        .query(
            "SELECT count() FROM event_groups FINAL WHERE project_id = {p:UInt64}",
            parameters={"p": project_id},
        )
        .result_rows[0][0]
    )
