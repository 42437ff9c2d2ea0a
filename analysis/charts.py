"""Altair charts the notebooks share, built from analysis frames (small: aggregate first).

Every builder returns an `alt.Chart` (or a layer of them) with a title; `display.chart`
decides how it is shown. Time axes are in UTC on a 24-hour clock and say so, like the
tables beside them (Vega would otherwise draw the reader's local time, 12-hour).
"""

from __future__ import annotations

import altair as alt
import polars as pl

WIDTH = 640
HEIGHT = 260


TIME_ZONE = "UTC"


def _base(frame: pl.DataFrame, title: str, height: int = HEIGHT) -> alt.Chart:
    return alt.Chart(frame, title=title).properties(width=WIDTH, height=height)


def time_axis(field: str, title: str | None = None) -> alt.X:
    """A UTC time axis, 24-hour clock: dates alone for a `day` field."""
    clock = "%Y-%m-%d" if field == "day" else "%Y-%m-%d %H:%M"
    # A label expression, not `format`: Vega-Lite renders `formatType="utc"` with its
    # default 12-hour multi-format and ignores the format string.
    # Day ticks for daily data: hourly ticks would repeat each date.
    ticks = alt.TickCount({"interval": "day", "step": 1}) if field == "day" else alt.Undefined
    axis = alt.Axis(labelExpr=f"utcFormat(datum.value, '{clock}')", labelAngle=-30, tickCount=ticks)
    return alt.X(
        f"{field}:T",
        title=f"{title or field} ({TIME_ZONE})",
        scale=alt.Scale(type="utc"),
        axis=axis,
    )


def line(
    frame: pl.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    color: str | None = None,
    x_type: str = "T",
    y_title: str | None = None,
    dash: str | None = None,
) -> alt.Chart:
    """A line per `color` value; `dash` draws a second field's values dashed or solid
    (e.g. stored and extrapolated volume)."""
    encoding = {
        "x": time_axis(x) if x_type == "T" else alt.X(f"{x}:{x_type}", title=x),
        "y": alt.Y(f"{y}:Q", title=y_title or y),
        "tooltip": [x, y, *([color] if color else []), *([dash] if dash else [])],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
    if dash:
        encoding["strokeDash"] = alt.StrokeDash(f"{dash}:N")
    return _base(frame, title).mark_line(point=frame.height <= 60).encode(**encoding)


def bars(
    frame: pl.DataFrame,
    category: str,
    value: str,
    *,
    title: str,
    color: str | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.Chart:
    """Horizontal bars, largest first."""
    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    encoding = {
        "y": alt.Y(f"{category}:N", sort="-x", title=category),
        "x": alt.X(f"{value}:Q", title=value, scale=scale),
        "tooltip": [category, value, *([color] if color else [])],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
        encoding["yOffset"] = alt.YOffset(f"{color}:N")
    height = max(120, min(18 * frame.height, 520))
    return _base(frame, title, height).mark_bar().encode(**encoding)


def columns(
    frame: pl.DataFrame, x: str, y: str, *, title: str, color: str | None = None
) -> alt.Chart:
    """Vertical bars over an ordered (time or number) axis."""
    encoding = {
        "x": alt.X(f"{x}:O", title=x),
        "y": alt.Y(f"{y}:Q", title=y),
        "tooltip": [x, y, *([color] if color else [])],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
    return _base(frame, title).mark_bar().encode(**encoding)


def spikes(frame: pl.DataFrame, time: str, value: str, *, title: str) -> alt.LayerChart:
    """A series with its trailing baseline (dashed) and the spikes marked."""
    base = _base(frame, title)
    x = time_axis(time)
    series = base.mark_line().encode(x=x, y=alt.Y(f"{value}:Q"))
    baseline = base.mark_line(strokeDash=[4, 3], color="gray").encode(x=x, y="baseline:Q")
    marked = (
        base.transform_filter(alt.datum.spike)
        .mark_point(color="crimson", size=80, filled=True)
        .encode(x=x, y=f"{value}:Q", tooltip=[time, value, "baseline", "score"])
    )
    return alt.LayerChart(layer=[series, baseline, marked])


def heatmap(frame: pl.DataFrame, x: str, y: str, value: str, *, title: str) -> alt.Chart:
    return (
        _base(frame, title, height=max(160, 22 * frame[y].n_unique()))
        .mark_rect()
        .encode(
            x=alt.X(f"{x}:N"),
            y=alt.Y(f"{y}:N"),
            color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues")),
            tooltip=[x, y, value],
        )
    )


def loglog(frame: pl.DataFrame, x: str, y: str, *, title: str, color: str | None = None):
    encoding = {
        "x": alt.X(f"{x}:Q", scale=alt.Scale(type="log")),
        "y": alt.Y(f"{y}:Q", scale=alt.Scale(type="log")),
        "tooltip": [x, y, *([color] if color else [])],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N")
    return _base(frame, title).mark_circle(size=30).encode(**encoding)
