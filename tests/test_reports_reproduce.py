"""nbval over the committed smoke reports: a rerun reproduces the outputs of the cells that define the result
(tagged ``nbval-check-output``; timings, progress and paths sanitised by nbval_sanitize.cfg).

To keep ``make test`` within its time, the rerun covers steps 01-03 and four experiments (Mask R-CNN with and
without factors + BE, U-Net and PSPNet with factors + BE); step 05 needs every experiment and step 06 the
fine-tuning, which ``test_notebooks`` executes end to end. ``make verify`` reruns every committed quick report."""

import subprocess
import sys
from pathlib import Path

import pytest

from .study_project import ROOT, make_project


CHECKED = {"01_prepare_data", "02_analyse_factors", "03_enhance_background", "04_run_experiment_I",
           "04_run_experiment_IV", "04_run_experiment_VI", "04_run_experiment_VIII"}


def test_committed_smoke_reports_reproduce(tmp_path):
    if not list((ROOT / "reports/smoke").glob("*.ipynb")):
        pytest.fail("reports/smoke/ holds no executed notebooks; run `make smoke` and commit reports/smoke/")
    root = make_project(tmp_path / "project", with_reports="smoke")
    notebooks = sorted(str(p) for p in (root / "reports/smoke").glob("*.ipynb") if p.stem in CHECKED)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
         "--nbval-lax", "--nbval-sanitize-with", str(root / "nbval_sanitize.cfg"), "--nbval-cell-timeout=900",
         *notebooks],
        cwd=root, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
    assert len(notebooks) == len(CHECKED)
