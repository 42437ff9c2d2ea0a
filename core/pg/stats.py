"""Project statistics, the PostgreSQL aggregate: daily counts per project.

The table: project_stats, written by the hourly `aggregate_metrics` job.
"""

from __future__ import annotations

from datetime import date

from psycopg.types.json import Jsonb

from core.storage.postgres import DbConnection


def save_day(
    conn: DbConnection,
    project_id: int,
    day: date,
    *,
    error_count: int,
    unique_errors: int,
    new_issues: int,
    performance: dict,
) -> None:
    """Write a project's day (replacing it); nothing for a project that no longer exists."""
    conn.execute(
        """
        INSERT INTO project_stats AS s (project_id, date, error_count, unique_errors,
                                        new_issues, performance_metrics)
        SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM projects WHERE id = %s)
        ON CONFLICT (project_id, date) DO UPDATE SET error_count = excluded.error_count,
            unique_errors = excluded.unique_errors, new_issues = excluded.new_issues,
            performance_metrics = excluded.performance_metrics
        """,
        (
            project_id,
            day,
            error_count,
            unique_errors,
            new_issues,
            Jsonb(performance),
            project_id,
        ),
    )


def delete_before(conn: DbConnection, day: date) -> None:
    conn.execute("DELETE FROM project_stats WHERE date < %s", (day,))
