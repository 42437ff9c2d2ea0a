# ruff: noqa: PLR0917, PLR1711, B018 - marimo cells take their inputs as arguments, end in return
# mypy: ignore-errors
"""The issues app (`just ui`): thin cells over `stackwise.ui`'s modules.

Pages by URL: `/` the issue list, `/?issue=ID` one issue, `/?page=rules` rule tuning.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="stackwise issues")


@app.cell
def _():
    # Only what the list needs: a page imports the rest (charts, replay) when it opens.
    from datetime import UTC, datetime, timedelta
    from html import escape

    import marimo as mo
    import polars as pl

    from core.pg.issues.reads import IssueSearch
    from stackwise.ui import issues, store, views

    return IssueSearch, UTC, datetime, escape, issues, mo, pl, store, timedelta, views


@app.cell
def _(escape, mo, store):
    _params = mo.query_params()
    issue_param = _params.get("issue")
    page = "issue" if issue_param else (_params.get("page") or "list")
    source = store.source(mo.cli_args().get("source"))
    _data = source if isinstance(source, str) else f"events from {source.label}"
    mo.Html(
        "<nav style='margin-bottom:8px'><a href='?page=list'>Issues</a> · "
        "<a href='?page=rules'>Rule tuning</a> "
        f"<small style='color:#888'>· issues from PostgreSQL, {escape(_data)}</small></nav>"
    )
    return issue_param, page, source


@app.cell
def _(issues, mo, page):
    mo.stop(page != "list")
    _options = issues.filter_options()
    _periods = {"any time": None, "last hour": 1, "last 24 hours": 24, "last 7 days": 168}
    _periods["last 30 days"] = 720
    f_project = mo.ui.dropdown(options=_options["project"], label="project")
    # Unresolved by default, as in Sentry; "--" lists every status.
    f_status = mo.ui.dropdown(
        options=["unresolved", "resolved", "ignored"],
        value="unresolved",
        allow_select_none=True,
        label="status",
    )
    f_release = mo.ui.dropdown(options=_options["release"], label="release")
    f_environment = mo.ui.dropdown(options=_options["environment"], label="environment")
    f_level = mo.ui.dropdown(options=_options["level"], label="level")
    f_first = mo.ui.dropdown(options=_periods, value="any time", label="first seen")
    f_last = mo.ui.dropdown(options=_periods, value="any time", label="last seen")
    f_text = mo.ui.text(label="search", placeholder="title or culprit")
    f_sort = mo.ui.dropdown(
        options={"last seen": "recent", "events": "events", "users": "users", "first seen": "new"},
        value="last seen",
        label="sort by",
    )
    filters = mo.hstack(
        [f_project, f_status, f_release, f_environment, f_level, f_first, f_last, f_text, f_sort],
        wrap=True,
        justify="start",
    )
    return (
        f_environment,
        f_first,
        f_last,
        f_level,
        f_project,
        f_release,
        f_sort,
        f_status,
        f_text,
        filters,
    )


@app.cell
def _(
    IssueSearch,
    UTC,
    datetime,
    f_environment,
    f_first,
    f_last,
    f_level,
    f_project,
    f_release,
    f_sort,
    f_status,
    f_text,
    filters,
    issues,
    mo,
    timedelta,
    views,
):
    def _since(hours):
        return None if hours is None else datetime.now(UTC) - timedelta(hours=hours)

    _query = IssueSearch(
        project_id=f_project.value,
        status=f_status.value or "",
        release=f_release.value or "",
        environment=f_environment.value or "",
        level=f_level.value or "",
        first_seen_from=_since(f_first.value),
        last_seen_from=_since(f_last.value),
        text=f_text.value.strip(),
        sort=f_sort.value,
    )
    _found = issues.search(_query)
    mo.vstack(
        [
            mo.md("# Issues"),
            filters,
            mo.md(f"{_found.height} issues (at most {_query.limit})"),
            mo.Html(views.issue_table(_found)),
        ]
    )
    return


@app.cell
def _(issue_param, mo, page):
    mo.stop(page != "issue")
    from stackwise.ui import actions

    group_id = int(issue_param)
    b_resolve = mo.ui.run_button(label="Resolve")
    b_next_release = mo.ui.run_button(label="Resolve in next release")
    b_ignore = mo.ui.run_button(label="Ignore")
    b_unresolve = mo.ui.run_button(label="Unresolve")
    merge_ids = mo.ui.text(label="merge these issues into this one", placeholder="e.g. 12 13")
    b_merge = mo.ui.run_button(label="Merge")
    return (
        actions,
        b_ignore,
        b_merge,
        b_next_release,
        b_resolve,
        b_unresolve,
        group_id,
        merge_ids,
    )


@app.cell
def _(actions, b_ignore, b_merge, b_next_release, b_resolve, b_unresolve, group_id, merge_ids):
    message = ""
    for _button, _action in (
        (b_resolve, "resolve"),
        (b_next_release, "resolve in next release"),
        (b_ignore, "ignore"),
        (b_unresolve, "unresolve"),
    ):
        if _button.value:
            message = actions.change_status(group_id, _action)
    if b_merge.value:
        message = actions.merge_into(group_id, merge_ids.value)
    return (message,)


@app.cell
def _(group_id, issues, message, mo):
    # Read after every action: naming `message` makes marimo re-run this cell when it changes.
    _after = message
    detail = issues.issue_page(group_id)
    mo.stop(detail is None, mo.md(f"# No issue {group_id}"))
    return (detail,)


@app.cell
def _(
    b_ignore,
    b_merge,
    b_next_release,
    b_resolve,
    b_unresolve,
    detail,
    merge_ids,
    message,
    mo,
):
    _g = detail.group
    _merged = f"\n\n**Merged into [#{_g['merged_into']}](?issue={_g['merged_into']}).**"
    mo.vstack(
        [
            mo.md(
                f"# #{_g['id']} {_g['title']}\n\n{_g['culprit']}"
                + (_merged if _g["merged_into"] else "")
            ),
            mo.Html(
                f"<p>status <b id='sw-status'>{_g['status']}/{_g['substatus']}</b> · "
                f"level {_g['level']} · {_g['times_seen']:,} events · "
                f"{_g['users_seen']:,} users · first seen {_g['first_seen']:%Y-%m-%d %H:%M} UTC"
                f" · last seen {_g['last_seen']:%Y-%m-%d %H:%M} UTC</p>"
            ),
            mo.hstack(
                [b_resolve, b_next_release, b_ignore, b_unresolve, merge_ids, b_merge],
                justify="start",
                wrap=True,
            ),
            mo.md(f"**{message}**") if message else mo.md(""),
        ]
    )
    return


@app.cell
def _(detail, mo, views):
    mo.vstack(
        [
            mo.md("## Stack trace (its first event; most recent call first)"),
            mo.Html(views.stack_trace(detail.frames, detail.sourcemap_errors, detail.context)),
        ]
    )
    return


@app.cell
def _(detail, issues, mo, source):
    from analysis import charts

    if isinstance(source, str):
        _shown = mo.md(f"*No stored events to chart: {source}*")
    else:
        _daily = issues.events_over_time(source, detail)
        _tags = issues.tag_distribution(source, detail)
        _long = _daily.unpivot(index="day", variable_name="series", value_name="events")
        _shown = mo.vstack(
            [
                mo.md("## Events over time"),
                mo.as_html(
                    charts.line(
                        _long,
                        "day",
                        "events",
                        dash="series",
                        title="events a day (UTC): stored, and extrapolated through sampling",
                    )
                )
                if _daily.height
                else mo.md("*No events of this issue in the stored data.*"),
                mo.md("## Tags"),
                mo.ui.table(_tags, page_size=20, selection=None) if _tags.height else None,
            ]
        )
    _shown
    return


@app.cell
def _(detail, escape, mo, pl):
    _summary = detail.group["ai_summary"]
    _releases = pl.DataFrame(detail.releases) if detail.releases else None
    _similar = detail.similar
    mo.vstack(
        [
            mo.md("## Releases and environments"),
            mo.ui.table(_releases, selection=None) if _releases is not None else mo.md("none"),
            mo.md("## AI summary"),
            mo.md(
                "\n\n".join(f"**{k}**: {v}" for k, v in _summary.items())
                if isinstance(_summary, dict)
                else "*No AI analysis of this issue (set STACKWISE_OPENAI_BASE_URL).*"
            ),
            mo.md("## Similar issues"),
            mo.md(
                "\n".join(
                    f"- [#{s['id']} {s['title']}](?issue={s['id']}) "
                    f"({s['status']}, {s['times_seen']} events, score {s['score']:.2f})"
                    for s in _similar
                )
                or "*None found yet (`just ai similar ID`).*"
            ),
            mo.md(
                "## How its first event was grouped"
                + (
                    f"\n\n{detail.first_event}, under the project's current rules"
                    if detail.first_event
                    else ""
                )
            ),
            mo.Html("<pre style='font-size:12px'>" + escape(detail.explanation) + "</pre>"),
            mo.md("## Activity"),
            mo.md(
                "\n".join(
                    f"- {a['created_at']:%Y-%m-%d %H:%M} {a['kind']} {a['data'] or ''}"
                    for a in detail.activity
                )
                or "none"
            ),
        ]
    )
    return


@app.cell
def _(issues, mo, page):
    mo.stop(page != "rules")
    from analysis.replay import RuleSet
    from analysis.rules import check as check_rules
    from stackwise.ui import actions as rule_actions
    from stackwise.ui import tuning

    _projects = issues.filter_options()["project"]
    mo.stop(not _projects, mo.md("# Rule tuning\n\nNo projects yet."))
    r_project = mo.ui.dropdown(options=_projects, value=next(iter(_projects)), label="project")
    return RuleSet, check_rules, r_project, rule_actions, tuning


@app.cell
def _(mo, r_project, tuning):
    saved = tuning.saved_rules(r_project.value)
    r_fingerprint = mo.ui.text_area(
        value=saved.fingerprint_rules, label="fingerprint rules", rows=8, full_width=True
    )
    r_stacktrace = mo.ui.text_area(
        value=saved.stacktrace_rules, label="stack-trace rules", rows=6, full_width=True
    )
    r_replay = mo.ui.run_button(label="Replay")
    r_save = mo.ui.run_button(label="Save to the project")
    mo.vstack(
        [
            mo.md(
                "# Rule tuning\n\nEdit the rules (Sentry syntax, one per line), replay them "
                "over the stored events to see which of today's issues would merge or "
                "split, then save them to the project."
            ),
            r_project,
            r_fingerprint,
            r_stacktrace,
            mo.hstack([r_replay, r_save], justify="start"),
        ]
    )
    return r_fingerprint, r_replay, r_save, r_stacktrace, saved


@app.cell
def _(RuleSet, check_rules, mo, r_fingerprint, r_stacktrace, saved):
    rules = RuleSet(r_fingerprint.value, r_stacktrace.value, saved.version)
    problem = check_rules(rules)
    mo.md(f"**These rules do not parse:** `{problem}`" if problem else "Rules parse.")
    return problem, rules


@app.cell
def _(mo, pl, problem, r_project, r_replay, rules, source, tuning):
    mo.stop(not r_replay.value or bool(problem))
    mo.stop(isinstance(source, str), mo.md(f"*Nothing to replay: {source}*"))
    _changes, _seconds = tuning.replay(source, r_project.value, rules)
    mo.vstack(
        [
            mo.md(f"## What would change (replayed in {_seconds:.2f} s)"),
            mo.ui.table(
                _changes.summary_frame().with_columns(pl.col("value").round(3)), selection=None
            ),
            mo.md("## Issues that would merge"),
            mo.ui.table(_changes.merges.drop("from"), selection=None),
            mo.md("## Issues that would split"),
            mo.ui.table(_changes.splits.drop("into"), selection=None),
        ]
    )
    return


@app.cell
def _(mo, r_project, r_save, rule_actions, rules):
    mo.stop(not r_save.value)
    mo.md(f"**{rule_actions.save_rules(r_project.value, rules)}**")
    return


if __name__ == "__main__":
    app.run()
