"""Where a study's files live: ``data/<profile>/`` (generated, never committed) and ``reports/<profile>/``.

Paths are relative to the project root (the folder holding ``params/`` and ``notebooks/``), so executed
notebooks record relative paths only and rerun anywhere (DESIGN.md, "Layout").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StudyPaths", "find_root", "use_project_root"]


def find_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) with ``params/profiles``."""
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "params" / "profiles").is_dir():
            return cand
    raise FileNotFoundError(
        f"no project root (a folder with params/profiles/) at or above {here}; run from inside the project"
    )


def use_project_root(start: str | Path | None = None) -> Path:
    """Change the working directory to the project root and return it (used by the notebooks)."""
    root = find_root(start)
    os.chdir(root)
    return root


@dataclass(frozen=True)
class StudyPaths:
    """All paths of one profile's study, relative to ``root``."""

    name: str
    root: Path = Path(".")

    @property
    def data(self) -> Path:
        return self.root / "data" / self.name

    @property
    def inputs(self) -> Path:
        """The synthetic area's generated input files (real inputs stay where the profile points)."""
        return self.data / "inputs"

    @property
    def aligned(self) -> Path:
        """Layers aligned to the image grid (DEM, slope, river levels, instance ids)."""
        return self.data / "aligned"

    @property
    def tiles(self) -> Path:
        return self.data / "tiles"

    @property
    def tile_index(self) -> Path:
        return self.tiles / "index.gpkg"

    @property
    def coco_train(self) -> Path:
        return self.tiles / "coco_train.json"

    @property
    def enhanced(self) -> Path:
        return self.data / "enhanced"

    @property
    def enhanced_index(self) -> Path:
        return self.enhanced / "index.csv"

    def experiment(self, exp: str) -> Path:
        """Checkpoints, loss log and predictions of one experiment."""
        return self.data / "experiments" / exp

    @property
    def stamps(self) -> Path:
        return self.data / ".stamps"

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.name

    @property
    def figures(self) -> Path:
        return self.reports / "figures"

    @property
    def tables(self) -> Path:
        return self.reports / "tables"

    @property
    def metrics(self) -> Path:
        return self.reports / "metrics"
