"""HTML for what marimo has no element for: the issue table with links, the stack trace.

Every value from an event is escaped: titles, functions and source lines are whatever an
application sent.
"""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from core.event.stacktrace import FrameRow

STYLE = """
<style>
.sw-issues { border-collapse: collapse; width: 100%; font-size: 14px; }
.sw-issues th, .sw-issues td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
.sw-issues td.n { text-align: right; font-variant-numeric: tabular-nums; }
.sw-culprit { color: #666; font-size: 12px; }
.sw-frame { font-family: monospace; font-size: 13px; margin: 2px 0; }
.sw-frame .ctx { color: #444; background: #f6f6f6; padding: 1px 6px; white-space: pre; }
.sw-frame .lib { color: #888; }
.sw-frame .ctx .near { color: #999; }
</style>
"""


def _time(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


def issue_table(frame: pl.DataFrame) -> str:
    """The list: each title links to its issue page (`?issue=ID`)."""
    if frame.is_empty():
        return "<p>No issues match these filters.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("issue", "project", "title", "level", "status", "events", "users", "last seen")
    )
    rows = []
    for row in frame.iter_rows(named=True):
        rows.append(
            f"<tr data-issue='{row['id']}'><td>#{row['id']}</td>"
            f"<td>{escape(row['project'])}</td>"
            f"<td><a href='?issue={row['id']}' class='sw-issue-link'>"
            f"{escape(row['title'][:120])}</a>"
            f"<div class='sw-culprit'>{escape(row['culprit'] or '')}</div></td>"
            f"<td>{escape(row['level'])}</td>"
            f"<td class='sw-status'>{escape(row['status'])}/{escape(row['substatus'])}</td>"
            f"<td class='n'>{row['times_seen']:,}</td><td class='n'>{row['users_seen']:,}</td>"
            f"<td>{_time(row['last_seen'])}</td></tr>"
        )
    return f"{STYLE}<table class='sw-issues'><tr>{head}</tr>{''.join(rows)}</table>"


def _frame(row: FrameRow, around: tuple[list[str], str, list[str]] | None) -> str:
    library = row.in_app is False
    text = f"at {escape(row.function)} ({escape(row.location)})"
    parts = [f"<div class='{'lib' if library else 'app'}'>{text}</div>"]
    pre, line, post = around or ([], row.context_line, [])
    if line or pre or post:
        near = [*pre, *post]
        # Drop the indentation the lines share, keep what sets them apart.
        margin = min((len(x) - len(x.lstrip()) for x in [*near, line] if x.strip()), default=0)
        source = [f"<span class='near'>{escape(x[margin:200])}</span>" for x in pre]
        source.append(f"<b>{escape(line[margin:200])}</b>")
        source += [f"<span class='near'>{escape(x[margin:200])}</span>" for x in post]
        parts.append(f"<div class='ctx'>{'<br>'.join(source)}</div>")
    if row.resolved_with:
        parts.append(
            f"<div class='lib'>source map ({escape(row.resolved_with)}); "
            f"minified: {escape(row.minified)}</div>"
        )
    return f"<div class='sw-frame'>{''.join(parts)}</div>"


def stack_trace(
    frames: list[FrameRow],
    errors: list[dict[str, Any]],
    context: dict[tuple[int, int], tuple[list[str], str, list[str]]],
) -> str:
    """Each exception's frames, most recent call first: the application's frames, then
    the library frames folded away (they rarely say where the bug is)."""
    if not frames:
        return "<p>No stack trace in this issue's sample event.</p>"
    by_exception: dict[int, list[FrameRow]] = {}
    for row in frames:
        by_exception.setdefault(row.exception, []).append(row)
    parts = [STYLE]
    # Events list a chain's exceptions cause first; the one raised last is read first.
    for rows in reversed(by_exception.values()):
        ordered = sorted(rows, key=lambda r: -r.position)
        app = [r for r in ordered if r.in_app is not False]
        library = [r for r in ordered if r.in_app is False]
        parts.append(f"<h4>{escape(rows[0].exception_type or 'exception')}</h4>")
        parts += [_frame(r, context.get((r.exception, r.position))) for r in app]
        if library:
            parts.append(
                f"<details><summary>{len(library)} library frames</summary>"
                f"{''.join(_frame(r, None) for r in library)}</details>"
            )
    for error in errors:
        parts.append(
            f"<p>unresolved {escape(str(error.get('url', '?')))}: "
            f"{escape(str(error.get('type')))} — {escape(str(error.get('reason', '')))}</p>"
        )
    return "".join(parts)
