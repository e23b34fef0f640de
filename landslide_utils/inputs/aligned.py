"""The aligned layers of a study area: the files step 01 writes on the image grid, reopened as one record
(Yang et al. 2022, section 2: the image, DEM, slope, river levels and the landslide inventory on one grid)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

from landslide_utils.inputs.findings import Finding
from landslide_utils.paths import STACK_FILE

__all__ = ["AlignedLayers"]


@dataclass(frozen=True)
class AlignedLayers:
    """Layers on the image grid written by :func:`align_layers` (all share ``crs``, ``transform``, shape).

    Attributes:
        image: the post-event image itself (it defines the grid; not copied).
        image_bands: 1-based indexes of the image's non-alpha bands (RGB first).
        dem, slope: float32 GeoTIFFs (m, degrees), NaN = no value.
        river_level: uint8 levels 0..5. instances: int32 ids (0 = background, i = inventory row i - 1).
        valid: uint8 1 = usable pixel. areas / inventory: GeoPackages in the image CRS (the inventory gains
        ``instance_id``). image_t2: the second-date image on the same grid (the original file when it already
        matched the grid), or None. extra: the further influencing factors of Gao et al. (2021) the inputs allow
        (:mod:`landslide_utils.inputs.factor_alignment`), name -> float32 GeoTIFF; lithology_units: names of the
        lithology codes 1..K.
    """

    image: Path
    image_bands: tuple[int, ...]
    dem: Path
    slope: Path
    river_level: Path
    instances: Path
    valid: Path
    areas: Path
    inventory: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    image_t2: Path | None = None
    findings: tuple[Finding, ...] = field(default=())
    extra: dict[str, Path] = field(default_factory=dict)
    lithology_units: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def stack(self) -> Path:
        """The layers as one georeferenced xarray Dataset (``aligned.nc``, :mod:`landslide_utils.inputs.stack`)."""
        return self.valid.parent / STACK_FILE

    @classmethod
    def load(cls, out_dir: str | Path) -> "AlignedLayers":
        """Reopen the layers written by :func:`align_layers` into ``out_dir`` (reads ``layers.json``)."""
        out_dir = Path(out_dir)
        meta_path = out_dir / "layers.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path}: no aligned layers here; run step 01 (prepare data) first")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with rasterio.open(out_dir / "valid.tif") as src:
            crs, transform, width, height = src.crs, src.transform, src.width, src.height
        return cls(
            image=Path(meta["image"]),
            image_bands=tuple(meta["image_bands"]),
            **{k: out_dir / f"{k}.tif" for k in ("dem", "slope", "river_level", "instances", "valid")},
            areas=out_dir / "areas.gpkg",
            inventory=out_dir / "inventory.gpkg",
            crs=crs,
            transform=transform,
            width=width,
            height=height,
            image_t2=Path(meta["image_t2"]) if meta.get("image_t2") else None,
            findings=tuple(Finding(**f) for f in meta.get("findings", [])),
            extra={k: out_dir / f"{k}.tif" for k in meta.get("extra_factors", [])},
            lithology_units=tuple(meta.get("lithology_units", [])),
        )
