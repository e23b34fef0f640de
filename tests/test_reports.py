"""nbval over the committed smoke reports: a rerun reproduces the outputs of the cells that define the result
(tagged ``nbval-check-output``; timings, progress and paths sanitised by nbval_sanitize.cfg)."""

import subprocess
import sys
from pathlib import Path

import pytest

from .study_project import ROOT, make_project


def test_committed_smoke_reports_reproduce(tmp_path):
    if not list((ROOT / "reports/smoke").glob("*.ipynb")):
        pytest.fail("reports/smoke/ holds no executed notebooks; run `make smoke` and commit reports/smoke/")
    root = make_project(tmp_path / "project", with_reports="smoke")
    notebooks = sorted(str(p) for p in (root / "reports/smoke").glob("*.ipynb"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
         "--nbval-lax", "--nbval-sanitize-with", str(root / "nbval_sanitize.cfg"), "--nbval-cell-timeout=900",
         *notebooks],
        cwd=root, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
