# ruff: noqa: PLR0917, PLR1711 - marimo cells take their inputs as arguments, end in return
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import polars as pl

    from analysis import ai_evaluation as ai
    from analysis import charts, seed_truth
    from analysis import display as show
    from analysis.source import notebook_source

    return ai, charts, notebook_source, pl, seed_truth, show


@app.cell
def _(notebook_source, show):
    source = notebook_source()
    # Per million tokens, as providers quote them (gpt-4o-mini's list prices); edit to yours.
    prices = {"prompt_per_million": 0.15, "completion_per_million": 0.60}
    show.md(
        "# AI summary evaluation\n\n"
        "The model's severity and category for each issue against the seeder's labels "
        "(the majority over the issue's events), whether its summaries name the facts, "
        "what the calls cost, and the spike detector against the seeded spike days.\n\n"
        f"*Data: {source.label}*"
    )
    return prices, source


@app.cell
def _(ai, pl, prices, source):
    ground_truth = source.read("seed_ground_truth")
    _assignments = source.read(
        "event_groups", columns=["project_id", "event_id", "group_id"]
    ).with_columns(pl.col("group_id").cast(pl.Int64))
    truth = ai.issue_truth(ground_truth.filter(pl.col("type") != "transaction"), _assignments)
    _analyses = source.issues().rename({"id": "group_id"})
    predicted = ai.predictions(_analyses)
    calls = source.read("ai_calls")
    evaluation = ai.evaluation_report(predicted, truth, calls, prices)
    no_model = ai.no_model_note(predicted, calls)
    return calls, evaluation, ground_truth, no_model, predicted, truth


@app.cell
def _(charts, evaluation, no_model, pl, predicted, show, truth):
    _labels = evaluation["labels"].unpivot(
        index="label", on=["accuracy", "macro_f1"], variable_name="score"
    )
    show.md(f"## Severity and category\n\n{no_model}") if no_model else show.stack(
        show.md(
            f"## Severity and category\n\n{predicted.height} issues analyzed "
            f"of {truth.height} with ground truth."
        ),
        show.chart(
            charts.bars(
                _labels.drop_nulls("value"),
                "label",
                "value",
                color="score",
                title="Label scores",
                domain=(0, 1),
            )
        ),
        show.table(evaluation["labels"], title="per label"),
        show.chart(
            charts.bars(
                evaluation["category_classes"].filter(pl.col("support") > 0),
                "class",
                "f1",
                title="Category F1 per class",
                domain=(0, 1),
            )
        ),
        show.table(evaluation["severity_classes"], title="severity per class"),
    )
    return


@app.cell
def _(charts, evaluation, no_model, show):
    None if no_model else show.stack(
        show.md("## Confusion"),
        show.chart(
            charts.heatmap(
                evaluation["severity_confusion"],
                "predicted",
                "true",
                "n",
                title="Severity: true vs. predicted",
            )
        ),
        show.chart(
            charts.heatmap(
                evaluation["category_confusion"],
                "predicted",
                "true",
                "n",
                title="Category: true vs. predicted",
            )
        ),
    )
    return


@app.cell
def _(calls, evaluation, no_model, show):
    None if no_model else show.stack(
        show.md("## Facts, latency and cost"),
        show.table(
            evaluation["facts"], title="summaries naming the exception type and the culprit"
        ),
        show.table(evaluation["cost"], title="calls per purpose and model"),
        show.table(
            calls.group_by("status").len().sort("len", descending=True), title="calls by status"
        ),
    )
    return


@app.cell
def _(ai, charts, ground_truth, pl, seed_truth, show, source):
    _hourly = source.rollup(["project_id", "group_id", "hour"]).select(
        pl.col("project_id").cast(pl.Int64),
        pl.col("group_id").cast(pl.Int64),
        "hour",
        pl.col("events").alias("count"),
    )
    _detected = ai.detect_on_frame(_hourly)
    _spikes = seed_truth.spike_days(ground_truth).with_columns(pl.col("project_id").cast(pl.Int64))
    _score = ai.anomaly_precision_recall(_detected, _spikes)
    _stored = source.read("ai_anomalies")
    _per_day = _detected.group_by(pl.col("start_hour").dt.truncate("1d").alias("day"), "kind").len()
    show.stack(
        show.md(
            "## Spike detection\n\nThe anomaly detector run over the stored hourly rollups, "
            "against the seeded spike days (days over 3x the project's median day)."
        ),
        show.table(_score, title="project-wide anomalies vs. seeded spike days"),
        show.chart(
            charts.columns(_per_day, "day", "len", color="kind", title="Detected anomalies per day")
        ),
        show.table(_detected.sort("score", descending=True), title="detected anomalies", limit=20),
        show.table(_stored, title="anomalies the workers stored", limit=20),
    )
    return


if __name__ == "__main__":
    app.run()
