# ruff: noqa: PLR0917, PLR1711 - marimo cells take their inputs as arguments, end in return
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import polars as pl

    from analysis import accuracy, charts, replay_diff
    from analysis import display as show
    from analysis import rules as project_rules
    from analysis.replay import RuleSet, shared_index
    from analysis.source import notebook_source

    return (
        RuleSet,
        accuracy,
        charts,
        notebook_source,
        pl,
        project_rules,
        replay_diff,
        shared_index,
        show,
    )


@app.cell
def _(notebook_source, pl, show):
    source = notebook_source()
    _projects = source.projects()
    _events = source.rollup(["project_id"]).select(pl.col("project_id").cast(pl.Int64), "events")
    projects = _projects.join(_events, left_on="id", right_on="project_id", how="left").sort(
        "events", descending=True, nulls_last=True
    )
    project_choice = show.dropdown(
        {row["slug"]: row["id"] for row in projects.iter_rows(named=True)},
        value=projects["slug"][0],
        label="project",
    )
    show.stack(
        show.md(
            "# Fingerprint-rule tuning\n\n"
            "Edit the project's fingerprint rules (Sentry syntax, one per line), see how "
            "the stored events would be grouped, how accurate that is against the ground "
            "truth, and which of today's issues would merge or split. Then save the rules "
            f"to the project.\n\n*Data: {source.label}*"
        ),
        project_choice,
    )
    return project_choice, projects, source


@app.cell
def _(project_choice, project_rules, projects, show):
    project_id = project_choice.value
    saved = project_rules.project_rules(projects, project_id)
    # With no rules saved yet, start from an example worth replaying.
    _example = (
        "# Example: one issue for all timeouts, one per exception type for connection errors\n"
        'error.type:"*Timeout*" -> timeouts\n'
        'error.value:"*connection*" -> connection-errors, {{ type }}\n'
    )
    rules_box = show.text_area(
        saved.fingerprint_rules or _example, label="fingerprint rules", rows=8
    )
    show.stack(show.md("## Rules"), rules_box)
    return project_id, rules_box, saved


@app.cell
def _(RuleSet, project_rules, rules_box, saved, show):
    rules = RuleSet(rules_box.value, saved.stacktrace_rules, saved.version)
    problem = project_rules.check(rules)
    show.md(f"**These rules do not parse:** `{problem}`" if problem else "Rules parse.")
    return problem, rules


@app.cell
def _(accuracy, problem, project_id, replay_diff, rules, shared_index, source):
    if problem:
        replayed = None
    else:
        _index = shared_index(source, rules, projects=[project_id])
        replayed = _index.replay(rules)
    issues = source.issues([project_id])
    current = replay_diff.current_assignments(source, [project_id])
    truth = accuracy.error_truth(source, [project_id])
    return current, issues, replayed, truth


@app.cell
def _(current, issues, replay_diff, replayed, show):
    changes = replay_diff.diff(current, replayed, issues=issues) if replayed else None
    _summary = changes.summary if changes else {}
    show.stack(
        show.md(
            f"## What would change\n\nReplayed in {replayed.seconds:.2f} s."
            if replayed
            else "## What would change"
        ),
        show.stats(_summary, title="today's issues -> replayed issues") if changes else None,
    )
    return (changes,)


@app.cell
def _(accuracy, charts, current, pl, replayed, show, truth):
    _frames = []
    if not truth.is_empty() and replayed is not None:
        _today = accuracy.evaluate(
            truth, current.with_columns(pl.col("group_id").cast(pl.String).alias("predicted"))
        )
        _new = accuracy.evaluate(truth, accuracy.predicted_from_replay(replayed))
        _frames = [
            _today.scores.frame().with_columns(pl.lit("today").alias("grouping")),
            _new.scores.frame().with_columns(pl.lit("with these rules").alias("grouping")),
        ]
    _scores = (
        pl.concat(_frames).filter(
            pl.col("metric").str.ends_with("f1") | (pl.col("metric") == "adjusted_rand")
        )
        if _frames
        else None
    )
    show.stack(
        show.md("## Accuracy against the ground truth"),
        show.chart(
            charts.bars(
                _scores,
                "metric",
                "value",
                color="grouping",
                title="Today vs. these rules",
                domain=(0, 1),
            )
        )
        if _scores is not None
        else show.md("No ground truth for this project (seed it with `just seed`)."),
        show.table(_scores) if _scores is not None else None,
    )
    return


@app.cell
def _(changes, show):
    show.stack(
        show.md("## Issues that would merge\n\nNew issues holding several of today's issues."),
        show.table(changes.merges.drop("from") if changes else None, title="merges"),
        show.table(
            changes.merges.explode("from").unnest("from", separator="_").drop("title")
            if changes and not changes.merges.is_empty()
            else None,
            title="which of today's issues each merge takes in",
        ),
        show.md("## Issues that would split"),
        show.table(changes.splits.drop("into") if changes else None, title="splits"),
    )
    return


@app.cell
def _(show):
    save_button = show.run_button("Save these rules to the project")
    show.stack(show.md("## Save"), save_button)
    return (save_button,)


@app.cell
def _(problem, project_id, project_rules, rules, save_button, show, source):
    if save_button.value and not problem:
        try:
            _slug = project_rules.save_rules(source, project_id, rules)
            _message = f"Saved: the workers of project **{_slug}** now group with these rules."
        except project_rules.RulesNotSavedError as _error:
            _message = f"Not saved: {_error}"
    else:
        _message = "Rules are saved only when you press the button."
    show.md(_message)
    return


if __name__ == "__main__":
    app.run()
