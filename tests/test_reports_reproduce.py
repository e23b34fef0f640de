"""The committed smoke reports reproduce.

Steps 01-03 (data preparation, factor analysis, background enhancement: NumPy and GDAL arithmetic that gives the
same bytes on every machine) are checked as nbval checks them: the smoke project's rerun of 01-03 (the session
fixture ``smoke_prepared``, which the notebook tests build on) reproduces the text outputs of the cells that define
the result (tagged ``nbval-check-output``; timings, progress and paths sanitised by the rules of
nbval_sanitize.cfg). ``make verify`` runs nbval itself on the quick reports.

Training repeats exactly on one machine (``training.num_threads`` fixed, resume tested bit-exactly in
test_train) but not across CPU types: the math libraries pick other kernels per instruction set, and the few
smoke steps of a randomly initialised model amplify the last bits (measured between the machines of two sessions:
U-Net VI 10 084 against 10 028 false-positive pixels, Mask R-CNN III average precision 0.012 against 0.028).
So the metrics of every experiment of the end-to-end smoke run of ``test_notebooks`` (the runner, a fresh copy
of the project) are compared with the committed metrics JSON by :func:`compare_metrics`: the same keys, the same
test area, every rate within :data:`TOL`. ``make verify`` reruns every committed quick report with nbval (exact on the CPU type that
made the record).
"""

import configparser
import re
from pathlib import Path

import nbformat
import pytest

from .study_project import ROOT

CHECKED = {"01_prepare_data", "02_analyse_factors", "03_enhance_background"}
RATES = ("precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa", "ap", "f1_val_threshold")
EXACT = ("test_tiles", "valid_pixels", "model", "channels", "training_data", "steps", "threshold", "threshold_source")
TOL = 0.05
"""Largest difference of a rate between a rerun and the committed record (cross-CPU spread at the smoke budget)."""
TOL_MASKRCNN = 0.15
"""The same for Mask R-CNN, whose 4 smoke steps from random weights leave a few dozen instances near the score
threshold: measured between an AVX2-only and an AVX-512 EPYC, Experiment IV's recall 0.307 against 0.402."""


def compare_metrics(committed: dict, rerun: dict, *, tol: float | None = None) -> list[str]:
    """Differences between two metrics records of one experiment beyond what another CPU type explains (``tol``:
    :data:`TOL`, or :data:`TOL_MASKRCNN` for a Mask R-CNN record)."""
    if tol is None:
        tol = TOL_MASKRCNN if committed.get("model") == "maskrcnn" else TOL
    problems = [f"keys differ: {sorted(set(committed) ^ set(rerun))}"] if set(committed) != set(rerun) else []
    problems += [f"{k}: {committed.get(k)!r} -> {rerun.get(k)!r}" for k in EXACT if committed.get(k) != rerun.get(k)]
    problems += [f"{k}: {committed[k]:.4f} -> {rerun[k]:.4f}" for k in RATES
                 if k in committed and k in rerun and abs(committed[k] - rerun[k]) > tol]
    return problems


def test_metric_comparison_can_fail() -> None:
    base = {"model": "unet", "channels": "rgb", "training_data": "original", "steps": 4, "test_tiles": 6,
            "valid_pixels": 100, "threshold": 0.5, "threshold_source": "fixed", "f1": 0.30, "ap": 0.20}
    assert compare_metrics(base, dict(base, f1=0.33)) == []
    assert compare_metrics(base, dict(base, f1=0.40)) == ["f1: 0.3000 -> 0.4000"]
    assert compare_metrics(base, dict(base, valid_pixels=99)) == ["valid_pixels: 100 -> 99"]
    assert compare_metrics(base, {k: v for k, v in base.items() if k != "ap"})[0].startswith("keys differ")
    mrcnn = dict(base, model="maskrcnn", recall=0.30)
    assert compare_metrics(mrcnn, dict(mrcnn, recall=0.40)) == []  # within Mask R-CNN's cross-CPU spread
    assert compare_metrics(mrcnn, dict(mrcnn, recall=0.50)) == ["recall: 0.3000 -> 0.5000"]


def sanitizers(cfg: Path) -> list[tuple[re.Pattern[str], str]]:
    """The (regex, replacement) pairs of an nbval sanitize file, in order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def checked_outputs(path: Path, rules: list[tuple[re.Pattern[str], str]]) -> list[list[str]]:
    """The sanitised text outputs (streams and text/plain) of every cell tagged ``nbval-check-output``."""
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or "nbval-check-output" not in cell.get("metadata", {}).get("tags", []):
            continue
        texts = []
        for out in cell.get("outputs", []):
            text = out.get("text") if out.get("output_type") == "stream" else out.get("data", {}).get("text/plain")
            if text:
                text = "".join(text) if isinstance(text, list) else text
                for pattern, repl in rules:
                    text = pattern.sub(repl, text)
                texts.append(text)
        cells.append(texts)
    return cells


def test_output_comparison_can_fail(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", metadata={"tags": ["nbval-check-output"]})])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="took 3.2 s in /a/b/data/x\n")]
    nbformat.write(nb, tmp_path / "a.ipynb")
    nb.cells[0].outputs[0].text = "took 9 s in /c/data/x\n"
    nbformat.write(nb, tmp_path / "b.ipynb")
    rules = sanitizers(ROOT / "nbval_sanitize.cfg")
    assert checked_outputs(tmp_path / "a.ipynb", rules) == checked_outputs(tmp_path / "b.ipynb", rules)
    nb.cells[0].outputs[0].text = "took 9 s in /c/data/y\n"
    nbformat.write(nb, tmp_path / "b.ipynb")
    assert checked_outputs(tmp_path / "a.ipynb", rules) != checked_outputs(tmp_path / "b.ipynb", rules)


def test_committed_smoke_reports_reproduce(smoke_prepared: Path) -> None:
    committed = sorted(p for p in (ROOT / "reports/smoke").glob("*.ipynb") if p.stem in CHECKED)
    if len(committed) != len(CHECKED):
        pytest.fail("reports/smoke/ lacks the executed notebooks 01-03; run `make smoke` and commit reports/smoke/")
    rules = sanitizers(ROOT / "nbval_sanitize.cfg")
    for path in committed:
        want = checked_outputs(path, rules)
        got = checked_outputs(smoke_prepared / "reports/smoke" / path.name, rules)
        assert want, f"{path.name}: no cell tagged nbval-check-output"
        assert got == want, f"{path.name}: the rerun's checked outputs differ from the committed ones"
