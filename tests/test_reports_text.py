"""The committed reports carry their notebooks' current text: every markdown cell (and the parameters cell's
comments) of an executed notebook under reports/ equals its source in notebooks/ (tools/sync_report_text.py), while
code cells and outputs stay as the run left them."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sync_report_text  # noqa: E402  (tools/ is a folder of scripts, not a package)


def test_committed_reports_show_the_notebooks_current_text() -> None:
    behind = []
    for report in sorted((ROOT / "reports").rglob("*.ipynb")):
        if report.name.startswith(".") or report.name.endswith(".failed.ipynb"):  # a run's staging file
            continue
        message = sync_report_text.sync(report, write=False)
        if message is not None and not message.startswith("cells differ"):
            behind.append(f"{report.relative_to(ROOT)}: {message}")
    assert not behind, "run tools/sync_report_text.py:\n" + "\n".join(behind)


def test_the_sync_touches_text_only(tmp_path: Path, monkeypatch) -> None:
    src = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# new text"),
                                          nbformat.v4.new_code_cell("x = 1  # documented", metadata={"tags": ["parameters"]}),
                                          nbformat.v4.new_code_cell("print(x)")])
    for k, c in enumerate(src.cells):
        c.id = f"09-{k:02d}"
    (tmp_path / "notebooks").mkdir()
    nbformat.write(src, tmp_path / "notebooks/09_demo.ipynb")
    run = nbformat.from_dict(nbformat.reads(nbformat.writes(src), as_version=4))
    run.cells[0].source, run.cells[1].source, run.cells[2].source = "# old text", "x = 1", "print(x)  # as run"
    run.cells[2].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    injected = nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]})
    injected.id = "abc"
    run.cells.insert(2, injected)
    report = tmp_path / "reports/p/09_demo_A.ipynb"
    report.parent.mkdir(parents=True)
    nbformat.write(run, report)
    monkeypatch.setattr(sync_report_text, "ROOT", tmp_path)
    assert sync_report_text.sync(report, write=False) == "2 text cell(s) behind"
    assert sync_report_text.main(["--check"]) == 1
    assert sync_report_text.sync(report, write=True) == "2 text cell(s) updated"
    after = nbformat.read(report, as_version=4)
    assert [c.source for c in after.cells] == ["# new text", "x = 1  # documented", "x = 2", "print(x)  # as run"]
    assert after.cells[3].outputs[0].text == "2\n"  # outputs and code as the run left them
    assert sync_report_text.sync(report, write=False) is None
    after.cells.pop(0)
    nbformat.write(after, report)
    assert sync_report_text.sync(report, write=True).startswith("cells differ")
    nbformat.write(after, report.with_name("99_orphan.ipynb"))  # no notebooks/99_*.ipynb: a message, not a traceback
    assert sync_report_text.main(["--check"]) == 2
    (report.parent / "99_orphan.ipynb").unlink()
    report.write_text('{"cells": [', encoding="utf-8")  # cut short: a message naming it, not a traceback
    assert sync_report_text.main(["--check"]) == 2
