"""Where a study's files live: ``data/<profile>/`` (generated, never committed) and ``reports/<profile>/``.

Paths are relative to the project root (the folder holding ``params/`` and ``notebooks/``), so executed
notebooks record relative paths only and rerun anywhere (docs/architecture.md, "Layout of a study's files").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StudyPaths", "find_root", "use_project_root", "safe_name", "STACK_FILE", "CHECKPOINT_FILE", "relative_path"]


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
    """All paths of one profile's study, relative to ``root``.

    By default everything generated lives in ``data/<name>/`` and everything reported in ``reports/<name>/``;
    the optional folders (a profile's ``paths`` section, see :meth:`of`) move the data, the reports, the
    outputs of step 01 (``prepared``) or of step 03 (``enhanced``) elsewhere.
    """

    name: str
    root: Path = Path(".")
    data_dir: Path | None = None
    reports_dir: Path | None = None
    prepared_dir: Path | None = None
    enhanced_dir: Path | None = None

    @classmethod
    def of(cls, profile: Any, root: str | Path = ".") -> "StudyPaths":
        """The paths of a loaded profile, honouring its ``paths`` section."""
        root = Path(root)
        spec = getattr(profile, "paths", None)

        def pick(key: str) -> Path | None:
            value = getattr(spec, key, None) if spec is not None else None
            return None if value is None else (Path(value) if Path(value).is_absolute() else root / value)

        return cls(profile.name, root, pick("data"), pick("reports"), pick("prepared"), pick("enhanced"))

    @property
    def data(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.root / "data" / self.name

    @property
    def prepared(self) -> Path:
        """The outputs of step 01 (inputs, aligned layers, tiles); the data folder unless moved."""
        return self.prepared_dir if self.prepared_dir is not None else self.data

    @property
    def inputs(self) -> Path:
        """The synthetic area's generated input files (real inputs stay where the profile points)."""
        return self.prepared / "inputs"

    @property
    def aligned(self) -> Path:
        """Layers aligned to the image grid (DEM, slope, river levels, instance ids)."""
        return self.prepared / "aligned"

    @property
    def tiles(self) -> Path:
        return self.prepared / "tiles"

    @property
    def tiles_t2(self) -> Path:
        """Second-date tiles of the multi-temporal test (same grid as :attr:`tiles`)."""
        return self.prepared / "tiles_t2"

    @property
    def tile_index(self) -> Path:
        return self.tiles / "index.gpkg"

    def extra_tiles(self, name: str) -> Path:
        """Tiles of the extra test set ``name`` (``evaluation.extra_tests``), cut by step 01."""
        return self.prepared / "extra_tests" / name / "tiles"

    @property
    def coco_train(self) -> Path:
        return self.tiles / "coco_train.json"

    @property
    def enhanced(self) -> Path:
        return self.enhanced_dir if self.enhanced_dir is not None else self.data / "enhanced"

    @property
    def enhanced_index(self) -> Path:
        return self.enhanced / "index.csv"

    def experiment(self, exp: str) -> Path:
        """Checkpoints, loss log and predictions of one experiment."""
        return self.data / "experiments" / exp

    def checkpoint(self, exp: str) -> Path:
        """The trained model of one experiment (:data:`CHECKPOINT_FILE` in its folder)."""
        return self.experiment(exp) / CHECKPOINT_FILE

    @property
    def stamps(self) -> Path:
        return self.data / ".stamps"

    def stamps_of(self, step: str) -> Path:
        """Where the stamp of a step lives: beside the outputs it describes (step 01/02 with the prepared data,
        step 03 beside the enhanced samples, later steps in the data folder)."""
        if step in ("01", "02"):
            return self.prepared / ".stamps"
        if step == "03":
            return self.enhanced.parent / ".stamps"
        return self.stamps

    @property
    def reports(self) -> Path:
        return self.reports_dir if self.reports_dir is not None else self.root / "reports" / self.name

    @property
    def figures(self) -> Path:
        return self.reports / "figures"

    @property
    def tables(self) -> Path:
        return self.reports / "tables"

    @property
    def metrics(self) -> Path:
        return self.reports / "metrics"


def safe_name(name: str, *, empty: str = "area") -> str:
    """A name usable in file names and tile ids (other characters become ``_``; ``empty`` for an empty name)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)) or empty


#: the stack's file name in the aligned folder
STACK_FILE = "aligned.nc"
#: the file name of a trained model in its folder (an experiment's, a fold's, a fine-tuned model's)
CHECKPOINT_FILE = "checkpoint.pt"


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX), or as an absolute path when it lies outside."""
    path = Path(path).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
