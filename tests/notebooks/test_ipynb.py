"""Each marimo notebook has a JupyterLab twin that `just ipynb` keeps in sync, and the twin
runs in a real Jupyter kernel.

Sync is checked the way `marimo export ipynb --sort top-down` writes a twin: one code
cell per marimo cell, in file order, holding the cell's body without its final `return`.
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analysis.report import NOTEBOOKS, notebooks


def marimo_cells(path: Path) -> list[str]:
    """The code of each `@app.cell` function: its body minus the closing `return`."""
    text = path.read_text()
    lines = text.splitlines()
    cells = []
    for node in ast.parse(text).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        if not any(ast.unparse(d).startswith("app.cell") for d in node.decorator_list):
            continue
        body = node.body[:-1] if isinstance(node.body[-1], ast.Return) else node.body
        segment = "\n".join(lines[node.body[0].lineno - 1 - _leading(node) : body[-1].end_lineno])
        cells.append(textwrap.dedent(segment).strip("\n"))
    return cells


def _leading(node: ast.FunctionDef) -> int:
    # Comment lines between `def` and the first statement belong to the cell too.
    return node.body[0].lineno - node.lineno - 1


def ipynb_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_ipynb_twin_matches_the_marimo_notebook(path):
    twin = path.with_suffix(".ipynb")
    assert twin.exists(), f"{twin.name} is missing: run `uv run just ipynb`"
    assert ipynb_cells(twin) == marimo_cells(path), f"{twin.name} is stale: run `uv run just ipynb`"


def test_a_notebook_runs_in_a_jupyter_kernel(exported, monkeypatch):
    """operations.ipynb, pointed at the seeded export by a first cell, runs without error
    and shows its charts (SVG, with the Vega-Lite spec) and tables (HTML)."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's future paths, no warning
    notebook = nbformat.read(NOTEBOOKS / "operations.ipynb", as_version=4)
    pin = (
        "from analysis.parquet_source import ParquetSource\n"
        "from analysis.source import pin_source\n"
        f"pin_source(ParquetSource({str(exported.folder)!r}))"
    )
    notebook.cells.insert(0, nbformat.v4.new_code_cell(pin))
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    charts = [o["data"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(charts) == 5  # the notebook's charts, drawn without a network
    assert all(any(k.startswith("application/vnd.vegalite.v") for k in c) for c in charts)
    assert all("<svg" in c["image/svg+xml"] for c in charts)
    assert any("<table" in o.get("data", {}).get("text/html", "") for o in outputs)
