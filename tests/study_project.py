"""A throw-away copy of the project (params, notebooks) in which a whole study can run without touching the
repository's own data/ and reports/."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_project(dest: Path, *, with_reports: str | None = None) -> Path:
    """Copy params/, notebooks/ and samples/ (and optionally the committed ``reports/<profile>/`` notebooks) to
    ``dest``."""
    shutil.copytree(ROOT / "params", dest / "params")
    shutil.copytree(ROOT / "samples", dest / "samples")
    shutil.copytree(ROOT / "notebooks", dest / "notebooks")
    shutil.copy(ROOT / "nbval_sanitize.cfg", dest / "nbval_sanitize.cfg")
    if with_reports:
        out = dest / "reports" / with_reports
        out.mkdir(parents=True)
        for nb in sorted((ROOT / "reports" / with_reports).glob("*.ipynb")):
            if not nb.name.endswith(".failed.ipynb"):
                shutil.copy(nb, out / nb.name)
    return dest
