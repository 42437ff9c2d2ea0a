# ruff: noqa: PLR1711 - marimo cells end in return, also those defining nothing
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import polars as pl

    from analysis import accuracy, charts
    from analysis import display as show
    from analysis.replay import ReplayIndex, RuleSet
    from analysis.source import notebook_source

    return ReplayIndex, RuleSet, accuracy, charts, notebook_source, pl, show


@app.cell
def _(notebook_source, show):
    source = notebook_source()
    show.md(
        "# Grouping accuracy\n\n"
        "How well today's issues match the seeder's ground truth (the root cause behind "
        "every seeded event), with the issues that mix root causes and the root causes "
        f"spread over several issues.\n\n*Data: {source.label}*"
    )
    return (source,)


@app.cell
def _(accuracy, source):
    truth = accuracy.error_truth(source)
    titles = accuracy.issue_titles(source)
    today = accuracy.evaluate(truth, accuracy.predicted_from_issues(source), titles=titles)
    return titles, today, truth


@app.cell
def _(charts, pl, show, today):
    _scores = today.scores.frame()
    _ratios = _scores.filter(
        ~pl.col("metric").is_in(["events", "true_clusters", "predicted_clusters"])
    )
    show.stack(
        show.md(
            f"## Scores\n\n{today.scores.events:,} error events, "
            f"{today.scores.true_clusters} root causes, {today.scores.predicted_clusters} issues."
        ),
        show.chart(
            charts.bars(
                _ratios, "metric", "value", title="Today's issues against the truth", domain=(0, 1)
            )
        ),
        show.table(_ratios, title="scores (1.0 = perfect)"),
    )
    return


@app.cell
def _(show, today):
    show.stack(
        show.md("## By project"),
        show.table(today.by_project, title="scores per project"),
    )
    return


@app.cell
def _(show, today):
    show.stack(
        show.md(
            "## Worst over-merged issues\n\n"
            "Issues holding events of several root causes, most misplaced events first; "
            "one row per root cause inside, with an event to look at."
        ),
        show.table(
            today.over_merged.drop("clusters", strict=False),
            title="over-merged (none is good news)",
        ),
        show.md("## Worst over-split root causes"),
        show.table(
            today.over_split.drop("clusters", strict=False),
            title="over-split (none is good news)",
        ),
    )
    return


@app.cell
def _(ReplayIndex, RuleSet, accuracy, source, truth):
    # A yardstick: what grouping by exception type alone would score on the same events.
    _naive = RuleSet(fingerprint_rules='error.type:"*" -> {{ type }}')
    with ReplayIndex.build(source, rules=_naive) as _index:
        _replay = _index.replay(_naive)
    naive = accuracy.evaluate(
        truth, accuracy.predicted_from_replay(_replay), titles=accuracy.replay_titles(_replay)
    )
    return (naive,)


@app.cell
def _(charts, naive, pl, show, today):
    _both = pl.concat(
        [
            today.scores.frame().with_columns(pl.lit("today's issues").alias("grouping")),
            naive.scores.frame().with_columns(pl.lit("exception type only").alias("grouping")),
        ]
    ).filter(pl.col("metric").str.ends_with("f1") | (pl.col("metric") == "adjusted_rand"))
    show.stack(
        show.md(
            "## Against a naive grouping\n\n"
            "Grouping by exception type alone merges unrelated root causes: its worst "
            "over-merged issues show what the metrics catch."
        ),
        show.chart(
            charts.bars(
                _both,
                "metric",
                "value",
                color="grouping",
                title="F1 and adjusted Rand: today vs. type only",
                domain=(0, 1),
            )
        ),
        show.table(
            naive.over_merged.drop("clusters", strict=False),
            title="type-only grouping: worst over-merged issues",
        ),
    )
    return


@app.cell
def _(charts, pl, show, today):
    _pieces = (
        today.table.group_by("truth")
        .agg(pl.len().alias("issues"), pl.col("n").sum().alias("events"))
        .group_by("issues")
        .agg(pl.len().alias("root_causes"))
        .sort("issues")
    )
    show.stack(
        show.md("## Issues per root cause\n\n1 everywhere means no root cause is split."),
        show.chart(
            charts.columns(
                _pieces,
                "issues",
                "root_causes",
                title="Root causes by the number of issues they landed in",
            )
        ),
    )
    return


if __name__ == "__main__":
    app.run()
