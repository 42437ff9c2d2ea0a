# ruff: noqa: PLR0917, PLR1711 - marimo cells take their inputs as arguments, end in return
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import polars as pl

    from analysis import charts, dashboards, seed_truth, stacktraces, traffic
    from analysis import display as show
    from analysis.source import notebook_source

    return charts, dashboards, notebook_source, pl, seed_truth, show, stacktraces, traffic


@app.cell
def _(notebook_source, show):
    source = notebook_source()
    issues = source.issues()
    show.md(
        "# Traffic and seed distributions\n\n"
        "Events over time with their spikes, releases, sampling, the dashboards' top and "
        "trending issues, and what the seeder generated (from its ground truth).\n\n"
        f"*Data: {source.label}*"
    )
    return issues, source


@app.cell
def _(charts, pl, show, source, traffic):
    daily = traffic.with_project_slugs(
        traffic.series(source, every="day", by=["project_id"]), source.projects()
    )
    _volume = traffic.stored_and_extrapolated(daily)
    # Spikes in what the applications sent: sampling lowers what is stored, not traffic.
    _total = daily.group_by("day").agg(pl.col("weighted").sum().alias("events")).sort("day")
    daily_spikes = traffic.spikes(_total, time="day", value="events")
    _short = traffic.baseline_shortfall(daily_spikes)
    show.stack(
        show.md(
            "## Daily events\n\nWhere dynamic sampling kept only a fraction of a project's "
            "events, its dashed line is the volume extrapolated from what was stored (each "
            "stored event counts 1 ÷ the rate it was kept at); spikes are judged on that."
            + (f"\n\n**Spikes: {_short}.**" if _short else "")
        ),
        show.chart(
            charts.line(
                _volume,
                "day",
                "events",
                color="project",
                dash="measure",
                title="Events per day: stored, and extrapolated where sampled",
            )
        ),
        show.chart(
            charts.spikes(
                daily_spikes,
                "day",
                "events",
                title="All projects: spikes" + (f" ({_short})" if _short else ""),
            )
        ),
        show.table(
            daily_spikes.filter("spike").select("day", "events", "baseline", "score"),
            title="spike days (robust z-score over the 7 days before)",
        ),
    )
    return (daily_spikes,)


@app.cell
def _(charts, dashboards, show, source, traffic):
    hourly = dashboards.error_rate_by_hour(source)
    show.stack(
        show.md("## Error rate by hour"),
        show.chart(
            charts.line(
                traffic.stored_and_extrapolated(hourly, time="hour"),
                "hour",
                "events",
                dash="measure",
                title="Events per hour: stored, and extrapolated where sampled",
            )
        ),
        show.chart(
            charts.columns(
                dashboards.hour_of_day_profile(hourly),
                "hour_of_day",
                "mean_events",
                title="Mean events by hour of day (UTC)",
            )
        ),
    )
    return


@app.cell
def _(charts, dashboards, show, source, traffic):
    _new = traffic.with_project_slugs(dashboards.new_issues_per_release(source), source.projects())
    show.stack(
        show.md("## Releases"),
        show.chart(
            charts.bars(
                _new, "release", "new_issues", color="project", title="New issues per release"
            )
        ),
        show.table(traffic.releases(source), title="releases: first and last hour, events, issues"),
    )
    return


@app.cell
def _(charts, pl, show, source, traffic):
    _sampling = traffic.sampling(source)
    _long = _sampling.unpivot(
        index="day", on=["stored", "extrapolated", "estimated_sent"], variable_name="measure"
    )
    show.stack(
        show.md(
            "## Sampling\n\nStored events, extrapolated through each event's sample weight, "
            "and the estimate of what was sent (adding what the relay dropped)."
        ),
        show.chart(
            charts.line(_long, "day", "value", color="measure", title="Stored vs. extrapolated")
        ),
        show.table(_sampling.filter(pl.col("stored") > 0), title="per day", limit=40),
    )
    return


@app.cell
def _(dashboards, issues, show, source):
    top = dashboards.top_issues(source)
    show.stack(
        show.md("## Top and trending issues"),
        show.table(dashboards.with_titles(top, issues), title="top issues"),
        show.table(
            dashboards.with_titles(dashboards.trending_issues(source), issues),
            title="trending: last 24 hours against the 24 before",
        ),
    )
    return (top,)


@app.cell
def _(show, source, stacktraces, top):
    _top = top.head(3)
    show.stack(
        show.md(
            "## The top issues' stack traces\n\n"
            "Each issue's first event as the workers processed it: JavaScript frames "
            "resolved with uploaded source maps show the original code, the minified "
            "frame beside (`resolved_with`, `minified`)."
        ),
        show.table(
            stacktraces.issue_stacktraces(
                source, _top["group_id"].to_list(), projects=_top["project_id"].to_list()
            ).drop("exception", "position"),
            title="frames, most recent call last",
            limit=60,
        ),
    )
    return


@app.cell
def _(charts, seed_truth, show, source):
    truth = source.read("seed_ground_truth")
    show.stack(
        show.md(
            "## What the seeder generated\n\n"
            f"{truth.height:,} seeded events, {truth['root_cause'].n_unique()} root causes."
        ),
        show.chart(
            charts.bars(
                seed_truth.distribution(truth, "family"),
                "family",
                "events",
                title="Events per family",
            )
        ),
        show.chart(
            charts.bars(
                seed_truth.distribution(truth, "category"),
                "category",
                "events",
                title="Events per category",
            )
        ),
        show.chart(
            charts.bars(
                seed_truth.distribution(truth, "severity"),
                "severity",
                "events",
                title="Events per severity",
            )
        ),
        show.chart(
            charts.loglog(
                seed_truth.root_cause_sizes(truth),
                "rank",
                "events",
                title="Root-cause sizes (log-log)",
            )
        ),
    )
    return (truth,)


@app.cell
def _(charts, daily_spikes, pl, seed_truth, show, truth):
    _seeded = seed_truth.spike_days(truth)
    _found = daily_spikes.filter("spike").select(pl.col("day").dt.date()).unique()
    _daily = seed_truth.daily(truth)
    show.stack(
        show.md(
            "## Seeded spike days and regressions\n\n"
            f"Seeded spike days found by the spike detector: "
            f"{_seeded.select('day').unique().join(_found, on='day').height} of "
            f"{_seeded.select('day').unique().height}."
        ),
        show.chart(
            charts.line(
                _daily, "day", "events", color="type", title="Seeded events per day and type"
            )
        ),
        show.table(_seeded, title="seeded spike days (over 3x the project's median day)"),
        show.table(seed_truth.regressions(truth), title="regressions per release"),
    )
    return


if __name__ == "__main__":
    app.run()
