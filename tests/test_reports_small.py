"""The committed reports stay small (under 40 MB with the committed sweeps: thirty experiments a profile since the
semantic zoo and Gao et al.'s models joined, each an executed notebook with its figures inline; predictions and
checkpoints stay in data/)."""

import subprocess

from .study_project import ROOT


def test_committed_reports_are_small_and_hold_no_binaries():
    files = subprocess.run(["git", "ls-files", "reports"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:  # not a git checkout (e.g. an sdist): nothing committed to check
        return
    total = sum((ROOT / f).stat().st_size for f in files if (ROOT / f).exists())
    assert total < 40 * 2**20, f"committed reports take {total / 2**20:.1f} MB"
    assert not [f for f in files if f.endswith((".tif", ".gpkg", ".pt", ".pth"))]
