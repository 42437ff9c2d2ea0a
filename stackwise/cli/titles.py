"""Tables with an issue-title column cut to the terminal's width, marked with "…"."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

# Per column: a space either side and its left border; the table's right border.
_COLUMN_OVERHEAD = 3
_TABLE_OVERHEAD = 1


def titled_table(
    console: Console, headers: list[str], rows: list[list[str]], *, title_column: int, **kw
) -> Table:
    """Every column but the title as wide as its widest cell; the title gets the rest
    and ends with "…" where cut (rich would otherwise squeeze the other columns)."""
    others = [
        max(len(header), *(len(row[i]) for row in rows))
        for i, header in enumerate(headers)
        if i != title_column
    ]
    room = console.width - sum(w + _COLUMN_OVERHEAD for w in others)
    room -= _COLUMN_OVERHEAD + _TABLE_OVERHEAD
    table = Table(**kw)
    for i, header in enumerate(headers):
        if i == title_column:
            table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=max(room, 10))
        else:
            table.add_column(header, no_wrap=True, justify="right" if i == 0 else "left")
    for row in rows:
        table.add_row(*row)
    return table
