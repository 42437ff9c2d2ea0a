# ruff: noqa: PLR1711 - marimo cells end in return, also those defining nothing
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    from analysis import charts, operations
    from analysis import display as show
    from analysis.source import notebook_source

    return charts, notebook_source, operations, show


@app.cell
def _(notebook_source, show):
    source = notebook_source()
    show.md(
        "# Operations\n\n"
        "Whether every acknowledged event is accounted for, ingestion rate, processing "
        "lag, queue depth, storage efficiency (from ClickHouse's own system tables) and "
        "slow queries.\n\n"
        f"*Data: {source.label}*"
    )
    return (source,)


@app.cell
def _(operations, show, source):
    _totals = operations.reconciliation(source)
    show.stack(
        show.md(
            "## Accounting\n\nThe relay's ledger against what is stored and grouped over the "
            "last day, as `just audit` reconciles it.\n\n"
            f"**{operations.reconciliation_verdict(_totals)}**"
        ),
        show.table(_totals, title="per project and category"),
    )
    return


@app.cell
def _(charts, operations, show, source):
    _rate = operations.ingestion_rate(source)
    _bucket = _rate["bucket"][0] if _rate.height else "1h"
    show.stack(
        show.md(f"## Ingestion\n\nEvents stored per {_bucket} of arrival."),
        show.chart(
            charts.line(_rate, "received", "events_per_s", title="Events stored per second")
        ),
        show.table(_rate.sort("events_per_s", descending=True), title="busiest buckets", limit=10),
    )
    return


@app.cell
def _(charts, operations, show, source):
    _lags = operations.processing_lag(source)
    _summary = operations.lag_summary(_lags)
    _long = _summary.unpivot(
        index="processed", on=["p50_s", "p95_s", "p99_s"], variable_name="percentile"
    )
    show.stack(
        show.md(
            "## Processing lag\n\nSeconds from the relay storing an event to the workers "
            f"grouping it, over {_lags.height:,} events."
        ),
        show.chart(
            charts.line(
                _long, "processed", "value", color="percentile", title="Lag percentiles (s)"
            )
        ),
        show.table(_summary, title="lag by processing time", limit=24),
    )
    return


@app.cell
def _(operations, show, source):
    show.stack(
        show.md(
            "## Queue depth\n\nMessages waiting for the workers (an export keeps its snapshot)."
        ),
        show.table(operations.queue_depth(source), title="queues"),
    )
    return


@app.cell
def _(charts, operations, show, source):
    _tables = operations.storage(source)
    _columns = operations.column_storage(source, "events")
    show.stack(
        show.md(
            "## Storage\n\nActive parts per table (`system.parts`) and the event columns "
            "taking most space (`system.columns`)."
        ),
        show.chart(charts.bars(_tables, "table", "bytes_on_disk", title="Bytes on disk per table")),
        show.table(_tables, title="tables"),
        show.chart(
            charts.bars(
                _columns,
                "name",
                "data_compressed_bytes",
                title="events: compressed bytes per column",
            )
        ),
        show.table(_columns, title="events columns"),
    )
    return


@app.cell
def _(charts, operations, show, source):
    _slow = operations.slow_queries(source)
    show.stack(
        show.md(
            "## Slow queries\n\nFrom the server's query log, or the dashboard queries "
            "timed by the workbench."
        ),
        show.chart(charts.bars(_slow, "query", "seconds", title="Query seconds")),
        show.table(_slow, title="slowest queries"),
    )
    return


if __name__ == "__main__":
    app.run()
