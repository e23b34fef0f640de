"""What an input check finds: the input files of a study area, a finding (error, warning or note naming the file
and the fix), the error that stops a run, and the inspection that keeps what the checks read (step 01,
docs/input_checks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
from rasterio.crs import CRS
from rasterio.transform import Affine
from shapely.geometry import box

__all__ = ["InputPaths", "Finding", "InputError", "Inspection", "INVENTORY_MAX_SHARE", "utm_epsg", "error_reason", "listed"]


@dataclass(frozen=True)
class InputPaths:
    """The input files of a study area (docs/methods.md, "Inputs of a study area"), as listed by
    :func:`landslide_utils.inputs.layers.load_inputs`.

    ``areas`` is None when the profile gives the areas as bounds; ``image_t2`` is None without a second date.
    """

    image_t1: Path
    dem: Path
    rivers: Path
    inventory: Path
    image_t2: Path | None = None
    areas: Path | None = None
    source: Literal["synthetic", "files"] = "files"
    faults: Path | None = None
    lithology: Path | None = None

    def items(self) -> list[tuple[str, Path]]:
        """(key, path) of every given file, in checking order."""
        keys = ("image_t1", "image_t2", "dem", "rivers", "inventory", "areas", "faults", "lithology")
        return [(k, getattr(self, k)) for k in keys if getattr(self, k) is not None]


@dataclass(frozen=True)
class Finding:
    """One result of the input checks: ``level`` error / warning / info, the file concerned, and what to do."""

    level: Literal["error", "warning", "info"]
    file: str | None
    message: str

    def __post_init__(self) -> None:
        if self.file is not None and not isinstance(self.file, str):
            object.__setattr__(self, "file", str(self.file))

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{self.level.upper()}: {where}{self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {"level": self.level, "file": self.file, "message": self.message}


class InputError(ValueError):
    """Input files that cannot be used. The message lists every problem, naming the file and the fix.

    Attributes:
        findings: the error findings.
    """

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = [f for f in findings if f.level == "error"] or list(findings)
        lines = "\n".join(f"  - {f.file}: {f.message}" if f.file else f"  - {f.message}" for f in self.findings)
        super().__init__(f"{len(self.findings)} problem(s) with the input files; nothing was written:\n{lines}")


@dataclass
class Inspection:
    """What :func:`inspect_inputs` learnt: findings, the image grid, and the vectors in the image CRS."""

    findings: list[Finding] = field(default_factory=list)
    source: Literal["synthetic", "files"] = "files"
    image_path: Path | None = None
    image_crs: CRS | None = None
    image_transform: Affine | None = None
    width: int = 0
    height: int = 0
    image_bands: tuple[int, ...] = ()
    image_band_names: tuple[str | None, ...] = ()
    image_dtype: str = ""
    image_t2_path: Path | None = None
    image_t2_footprint: object = None  # shapely polygon in the image CRS
    tile_size: int | None = None
    dem_path: Path | None = None
    dem_footprint: object = None  # shapely polygon in the image CRS
    rivers: gpd.GeoDataFrame | None = None
    inventory: gpd.GeoDataFrame | None = None
    inventory_path: Path | None = None
    areas: gpd.GeoDataFrame | None = None
    areas_source: str | None = None
    faults: gpd.GeoDataFrame | None = None
    lithology: gpd.GeoDataFrame | None = None
    lithology_path: Path | None = None

    def add(self, level: Literal["error", "warning", "info"], file: Path | str | None, message: str) -> None:
        self.findings.append(Finding(level, str(file) if file is not None else None, message))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InputError(self.errors)

    @property
    def image_box(self):  # noqa: ANN201 - shapely Polygon
        if self.image_transform is None:
            return None
        x0, y0 = self.image_transform @ (0, 0)
        x1, y1 = self.image_transform @ (self.width, self.height)
        return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


#: an inventory whose polygons cover this share of the image or more is not a landslide inventory
INVENTORY_MAX_SHARE = 0.5


def utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def error_reason(exc: BaseException) -> str:
    """The first line of an exception's message, or of its cause's when GDAL only points there."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "previous exception" in text and exc.__cause__ is not None:
        return error_reason(exc.__cause__)
    return text


def listed(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return "; ".join(items[:n]) + more
