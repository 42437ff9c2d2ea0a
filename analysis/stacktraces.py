"""Issues' stack traces for the notebooks: each issue's sample event (its first, as the
workers processed it), one row per frame. JavaScript frames resolved with source maps
show the original function, file, line and source line, with the minified frame beside
(`core.event.stacktrace`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import polars as pl

from analysis.source_base import Source
from analysis.tables import ISSUE_SAMPLES
from core.event.stacktrace import FrameRow, frame_rows

SCHEMA = {
    "group_id": pl.Int64,
    "exception": pl.Int64,
    "exception_type": pl.String,
    "position": pl.Int64,
    "function": pl.String,
    "location": pl.String,
    "context_line": pl.String,
    "in_app": pl.Boolean,
    "resolved_with": pl.String,
    "minified": pl.String,
}


def issue_stacktraces(
    source: Source, group_ids: Sequence[int], *, projects: Sequence[int] | None = None
) -> pl.DataFrame:
    """The frames of these issues' sample events, most recent call last per exception
    (`projects`, when given, limits what is read)."""
    wanted = [int(g) for g in group_ids]
    samples = source.read(ISSUE_SAMPLES.name, projects=projects)
    samples = samples.filter(pl.col("id").is_in(wanted))
    rows = [
        {"group_id": group_id, **asdict(row)}
        for group_id, payload in samples.select("id", "sample_event").iter_rows()
        for row in frame_rows(payload or "")
    ]
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    order = {g: i for i, g in enumerate(wanted)}
    return frame.sort(
        pl.col("group_id").replace_strict(order, default=len(order)), "exception", "position"
    )


__all__ = ["FrameRow", "issue_stacktraces"]
