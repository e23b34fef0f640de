"""The committed smoke reports reproduce.

Steps 01-03 (data preparation, factor analysis, background enhancement: NumPy and GDAL arithmetic that gives the
same bytes on every machine) are checked by nbval: a rerun reproduces the outputs of the cells that define the
result (tagged ``nbval-check-output``; timings, progress and paths sanitised by nbval_sanitize.cfg).

Training repeats exactly on one machine (``training.num_threads`` fixed, resume tested bit-exactly in
test_train) but not across CPU types: the math libraries pick other kernels per instruction set, and the few
smoke steps of a randomly initialised model amplify the last bits (measured between the machines of two sessions:
U-Net VI 10 084 against 10 028 false-positive pixels, Mask R-CNN III average precision 0.012 against 0.028).
So the metrics of every experiment of the end-to-end smoke run of ``test_notebooks`` (the runner, a fresh copy
of the project) are compared with the committed metrics JSON by :func:`compare_metrics`: the same keys, the same
test area, every rate within :data:`TOL`. ``make verify`` reruns every committed quick report with nbval (exact on the CPU type that
made the record).
"""

import subprocess
import sys

import pytest

from .study_project import ROOT, make_project

CHECKED = {"01_prepare_data", "02_analyse_factors", "03_enhance_background"}
RATES = ("precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa", "ap", "f1_val_threshold")
EXACT = ("test_tiles", "valid_pixels", "model", "channels", "training_data", "steps", "threshold", "threshold_source")
TOL = 0.05
"""Largest difference of a rate between a rerun and the committed record (cross-CPU spread at the smoke budget)."""


def compare_metrics(committed: dict, rerun: dict, *, tol: float = TOL) -> list[str]:
    """Differences between two metrics records of one experiment beyond what another CPU type explains."""
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
