"""How notebooks show things, wherever they run: one call, three renderings.

    show.md("# Title"); show.chart(altair_chart); show.table(frame); show.stack(a, b)
    rules = show.text_area(text, label="rules"); save = show.run_button("Save")

- marimo (editor or `marimo run`): interactive `mo.ui.altair_chart`, `mo.ui.table`, inputs;
- Jupyter: the raw objects (Altair charts, polars frames, Markdown), displayed natively;
  inputs hold their initial value (edit the cell to change them);
- report (`just report`, tests): `Block`s that `analysis.report` turns into static HTML
  with vega-embed charts; inputs hold their initial value, buttons stay unpressed.

The mode is marimo's when a marimo kernel runs the cell, Jupyter's inside an IPython
kernel, else report; `render_mode` forces one.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

MODES = ("marimo", "jupyter", "report")
TABLE_ROWS = 50
_forced: list[str] = []


@contextlib.contextmanager
def render_mode(mode: str) -> Iterator[None]:
    if mode not in MODES:
        raise ValueError(f"unknown display mode {mode!r}; use one of {MODES}")
    _forced.append(mode)
    try:
        yield
    finally:
        _forced.pop()


def mode() -> str:
    if _forced:
        return _forced[-1]
    import marimo as mo

    if mo.running_in_notebook():
        return "marimo"
    try:
        from IPython import get_ipython
    except ImportError:
        return "report"
    shell = get_ipython()
    return "jupyter" if shell is not None and hasattr(shell, "kernel") else "report"


@dataclass(frozen=True)
class Block:
    """Static output for reports: HTML, a Vega-Lite chart, a table, or a stack of them."""

    kind: str  # html | chart | table | stack
    html: str = ""
    spec: dict | None = None
    children: tuple[Block, ...] = ()
    title: str = ""

    def _repr_html_(self) -> str:
        if self.kind == "stack":
            return "".join(child._repr_html_() for child in self.children)
        if self.kind == "chart":
            return f"<p><em>chart: {html.escape(self.title or 'untitled')}</em></p>"
        return self.html

    def _mime_(self) -> tuple[str, str]:
        return "text/html", self._repr_html_()


@dataclass(frozen=True)
class JupyterChart:
    """An Altair chart for Jupyter, offline: JupyterLab renders Vega-Lite 5 natively but
    not Altair's Vega-Lite 6, and Altair's HTML loads Vega from a CDN. So the chart also
    comes as SVG drawn by vl-convert; a front end that knows Vega-Lite 6 uses the spec."""

    figure: Any

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        import vl_convert

        spec = chart_block(self.figure).spec
        return {
            f"application/vnd.vegalite.v{spec_major(spec)}+json": spec,
            "image/svg+xml": vl_convert.vegalite_to_svg(spec or {}),
            "text/plain": f"<chart: {_chart_title(spec or {})}>",
        }


def spec_major(spec: dict | None) -> str:
    """The Vega-Lite major version a spec declares (`.../vega-lite/v6.4.1.json` -> "6")."""
    schema = (spec or {}).get("$schema", "")
    found = schema.rsplit("/v", 1)[-1].split(".", 1)[0]
    return found if found.isdigit() else "6"


@dataclass
class StaticInput:
    """An input outside marimo: it keeps the value it was made with."""

    value: Any
    label: str = ""
    kind: str = "input"
    options: list = field(default_factory=list)
    shown: str = ""  # how a report shows it (the value by default)


def md(text: str) -> Any:
    import marimo as mo

    current = mode()
    if current == "jupyter":
        from IPython.display import Markdown

        return Markdown(text)
    rendered = mo.md(text)
    return rendered if current == "marimo" else Block("html", html=rendered.text)


def chart(figure, *, title: str = "") -> Any:
    """An Altair chart (its data inline: aggregate before charting)."""
    current = mode()
    if current == "jupyter":
        return JupyterChart(figure)
    if current == "marimo":
        import marimo as mo

        return mo.ui.altair_chart(figure) if _selectable(figure) else figure
    block = chart_block(figure)
    return Block("chart", spec=block.spec, title=title or block.title)


def _selectable(figure) -> bool:
    # mo.ui.altair_chart adds a selection to single-view charts; compound ones stay plain.
    import altair as alt

    return isinstance(figure, alt.Chart)


def _chart_title(spec: dict) -> str:
    title = spec.get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)


def table(frame: pl.DataFrame | None, *, limit: int = TABLE_ROWS, title: str = "") -> Any:
    """A table of the first `limit` rows (None shows nothing)."""
    if frame is None:
        return None
    current = mode()
    if current == "jupyter":
        return frame.head(limit)
    if current == "marimo":
        import marimo as mo

        return mo.ui.table(frame, page_size=min(limit, 20), label=title)
    return Block("table", html=html_table(frame, limit=limit, title=title), title=title)


def stack(*items: Any) -> Any:
    """Items one below the other (None items are left out)."""
    items = tuple(item for item in items if item is not None)
    current = mode()
    if current == "marimo":
        import marimo as mo

        return mo.vstack(list(items))
    if current == "jupyter":
        from IPython.display import display

        for item in items:
            display(item)
        return None
    return Block("stack", children=tuple(to_block(item) for item in items))


def stats(values: dict[str, Any], *, title: str = "") -> Any:
    """A few headline numbers as a one-row table."""
    frame = pl.DataFrame({name: [value] for name, value in values.items()})
    return table(frame, title=title)


def text_area(value: str, *, label: str = "", rows: int = 8) -> Any:
    if mode() == "marimo":
        import marimo as mo

        return mo.ui.text_area(value=value, label=label, rows=rows, full_width=True)
    return StaticInput(value, label, "text")


def run_button(label: str) -> Any:
    if mode() == "marimo":
        import marimo as mo

        return mo.ui.run_button(label=label)
    return StaticInput(False, label, "button")


def dropdown(options: dict[str, Any], *, value: str, label: str = "") -> Any:
    """Options as {shown text: value}; `.value` is the chosen value."""
    if mode() == "marimo":
        import marimo as mo

        return mo.ui.dropdown(options=options, value=value, label=label)
    return StaticInput(options[value], label, "dropdown", list(options), shown=value)


def to_block(item: Any) -> Block:
    """Anything a notebook cell may end with, as a report Block."""
    if isinstance(item, Block):
        return item
    if isinstance(item, pl.DataFrame):
        return Block("table", html=html_table(item))
    if isinstance(item, StaticInput):
        if item.kind == "button":
            return Block("html", html=f"<p class='input'>[{html.escape(item.label)}]</p>")
        label = f"<p class='input-label'>{html.escape(item.label)}</p>" if item.label else ""
        shown = html.escape(item.shown or str(item.value))
        return Block("html", html=f"{label}<pre class='input'>{shown}</pre>")
    text = getattr(item, "text", None)  # marimo's Html outputs (mo.md) carry their HTML
    if isinstance(text, str):
        return Block("html", html=text)
    if type(item).__module__.startswith("altair"):
        return chart_block(item)
    return Block("html", html=f"<pre>{html.escape(str(item))}</pre>")


def chart_block(figure) -> Block:
    import altair as alt

    with alt.data_transformers.disable_max_rows():
        spec = figure.to_dict()
    return Block("chart", spec=spec, title=_chart_title(spec))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        # Reports are in UTC throughout (the page header says so); minutes are enough.
        return value.strftime("%Y-%m-%d %H:%M")
    return html.escape(str(value))


def html_table(frame: pl.DataFrame, *, limit: int = TABLE_ROWS, title: str = "") -> str:
    """A static HTML table of the first `limit` rows."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>"
        for row in frame.head(limit).iter_rows()
    )
    if frame.is_empty():
        span = max(len(frame.columns), 1)
        body = f"<tr><td colspan='{span}' class='empty'>no rows</td></tr>"
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    more = (
        f"<p class='more'>{limit} of {frame.height:,} rows shown</p>"
        if frame.height > limit
        else ""
    )
    return (
        f"<table class='data'>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{more}"
    )
