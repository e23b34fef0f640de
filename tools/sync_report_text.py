"""Carry the notebooks' text into the committed reports: the markdown cells (and the parameters cell's comments) of
every executed notebook under reports/ are set to those of its source in notebooks/, matched by cell id.

    .venv/bin/python tools/sync_report_text.py           # rewrite the reports whose text is behind
    .venv/bin/python tools/sync_report_text.py --check   # list them; exit 1 if any

Only cells without outputs are touched: markdown cells and the ``parameters`` cell (its values are overridden by
the runner's ``injected-parameters`` cell, which is kept). Code cells and every output stay as the run left them,
so a report still shows exactly what its run computed; a report whose cells no longer match its source's (another
number, order or kind of cells) is listed as needing a rerun and left alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from landslide_utils.files.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]


def source_of(report: Path) -> Path:
    """notebooks/<NN_name>.ipynb for a report (``04_run_experiment_VI.ipynb`` comes from ``04_run_experiment``)."""
    stem = report.stem
    for candidate in sorted((ROOT / "notebooks").glob("*.ipynb"), key=lambda p: -len(p.stem)):
        if stem == candidate.stem or stem.startswith(candidate.stem + "_"):
            return candidate
    raise FileNotFoundError(f"{report}: no source notebook in notebooks/ for it")


def _read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``; ValueError naming the file when it is not one (cut short, hand-edited)."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises JSON, schema and reader errors alike
        raise ValueError(f"{path}: not a readable notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                         "restore it from git (git checkout -- FILE) or rerun its step") from None


def _text_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.id: c for c in nb.cells if c.cell_type == "markdown" or "parameters" in c.metadata.get("tags", [])}


def sync(report: Path, *, write: bool) -> str | None:
    """``None`` when the report's text is current; otherwise what is (or was) done, or why it must be rerun."""
    src, nb = _read(source_of(report)), _read(report)
    kept = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if [(c.id, c.cell_type) for c in kept] != [(c.id, c.cell_type) for c in src.cells]:
        return "cells differ from its source: rerun the step to refresh it"
    wanted = _text_cells(src)
    stale = [c for c in kept if c.id in wanted and c.source != wanted[c.id].source]
    if not stale:
        return None
    if write:
        for c in stale:
            c.source = wanted[c.id].source
        text = nbformat.writes(nb)
        write_text(report, text if text.endswith("\n") else text + "\n")  # as nbformat.write ends a file
    return f"{len(stale)} text cell(s) {'updated' if write else 'behind'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only list the reports whose text is behind")
    args = ap.parse_args(argv)
    behind = rerun = 0
    for report in sorted((ROOT / "reports").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in report.parts or report.name.endswith(".failed.ipynb") or report.name.startswith("."):
            continue
        try:
            message = sync(report, write=not args.check)
        except FileNotFoundError as exc:
            print(f"error: {exc} (name it NN_<source>_<what>.ipynb after its notebook, or move it out of reports/)",
                  file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if message is None:
            continue
        rerun += message.startswith("cells differ")
        behind += not message.startswith("cells differ")
        print(f"{report.relative_to(ROOT)}: {message}")
    if args.check and behind:
        print(f"{behind} report(s) behind notebooks/: run tools/sync_report_text.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
