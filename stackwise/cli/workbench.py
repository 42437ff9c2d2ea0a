"""`export` and `report`: the workbench's data snapshot and its HTML reports.

    stackwise export [--out DIR] [--projects 1,3]     # Parquet of the stored data
    stackwise report [--source SPEC] [--out DIR] [NOTEBOOK ...]

Both read the live stores the way notebooks do (a ClickHouse server, a running `serve`
over HTTP, or the embedded folder); `report --source` may name an export instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(width=None if Console().is_terminal else 120)


def register(commands) -> None:
    exporter = commands.add_parser(
        "export", help="write the stored data as partitioned Parquet (for notebooks, offline)"
    )
    exporter.add_argument("--out", type=Path, help="folder (default: DATA_DIR/export)")
    exporter.add_argument("--projects", help="comma-separated project ids (default: all)")
    exporter.set_defaults(handler=_export)

    report = commands.add_parser(
        "report", help="run every notebook headless and write self-contained HTML reports"
    )
    report.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    report.add_argument("--source", help="an export folder or a ClickHouse URL")
    report.add_argument("--out", type=Path, default=Path("reports"), help="folder for the pages")
    report.set_defaults(handler=_report)


def _projects(text: str | None) -> list[int] | None:
    if not text:
        return None
    return [int(part) for part in text.split(",") if part.strip()]


def _export(settings, args) -> int:
    from analysis.export import export
    from analysis.source import WorkbenchSourceError, open_live_source

    try:
        source = open_live_source(settings)
    except WorkbenchSourceError as e:
        print(f"stackwise export: {e}", file=sys.stderr)
        return 2
    folder = args.out or settings.data_dir / "export"
    with source:
        result = export(source, folder, projects=_projects(args.projects))  # type: ignore[arg-type]
    table = Table("dataset", "rows", "files", title=f"exported to {folder}")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}", str(result.files[name]))
    console.print(table)
    console.print(f"{sum(result.rows.values()):,} rows in {result.seconds:.1f} s")
    return 0


def _notebook_paths(names: list[str]) -> list[Path]:
    from analysis.report import notebooks

    available = {path.stem: path for path in notebooks()}
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(
            f"stackwise report: no notebook {', '.join(unknown)} (have {', '.join(available)})"
        )
    return [available[name] for name in names] or list(available.values())


def _report(settings, args) -> int:
    from analysis.report import build_report
    from analysis.source import WorkbenchSourceError, open_source

    paths = _notebook_paths(args.notebooks)
    try:
        source = open_source(args.source, settings=settings)
    except WorkbenchSourceError as e:
        print(f"stackwise report: {e}", file=sys.stderr)
        return 2
    table = Table("notebook", "report", "charts", "tables", "seconds", title=source.label)
    with source:
        for path in paths:
            report = build_report(path, source, args.out)
            table.add_row(
                report.notebook,
                str(report.path),
                str(report.charts),
                str(report.tables),
                f"{report.seconds:.1f}",
            )
    console.print(table)
    return 0
