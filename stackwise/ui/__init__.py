"""`just ui`: the issues app, a marimo app (`app.py`) over the issue store and `analysis`.

    store      the stores, opened once per process (every browser session shares them)
    issues     what the pages show: the filtered list, one issue, its charts' frames
    actions    resolve, ignore, merge, save grouping rules: the command line's functions
    views      HTML for what marimo has no element for (stack traces, the issue table)
    app.py     the marimo app: list, issue page, rule tuning (thin: it only arranges)

`stackwise ui` (stackwise/cli/ui.py) starts `marimo run` on `app.py`.
"""
