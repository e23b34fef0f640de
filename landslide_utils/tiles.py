"""The tile: the unit every later step reads (factor analysis, enhancement, training, evaluation).

One tile is one georeferenced, compressed float32 GeoTIFF whose bands are, in order and named in the band
descriptions:

    image bands (``red``, ``green``, ``blue``, then any further image bands ``band4`` ...),
    ``dem`` (m), ``slope`` (degrees), ``river_level`` (0..5, Yang et al. 2022 section 3.4),
    ``instance_id`` (0 = background, 1..N = landslides), ``valid`` (1 = real pixel, 0 = padding or nodata).

Background-enhanced samples (Yang et al. 2022, section 3.3) use the same format, so any training set can mix
them with original tiles. float32 keeps instance ids exact up to 2**24.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.transform import Affine

from .io import write_geotiff

__all__ = ["TileData", "FACTOR_NAMES", "read_tile", "write_tile", "tile_channels"]

FACTOR_NAMES: tuple[str, ...] = ("dem", "slope", "river_level")
_RGB = ("red", "green", "blue")


@dataclass
class TileData:
    """Arrays of one tile (or one background-enhanced sample).

    Attributes:
        image: (C_img, H, W) float32 image values as in the source (e.g. 0..255 for uint8 imagery).
        factors: (3, H, W) float32: DEM (m), slope (deg), river level (0..5).
        instances: (H, W) int32 instance ids, 0 = background.
        valid: (H, W) bool, False on padding and nodata.
        transform: affine transform of the tile (identity-like for synthetic samples without a location).
        crs: CRS of the tile, or None for samples that have no location (BE samples).
    """

    image: np.ndarray
    factors: np.ndarray
    instances: np.ndarray
    valid: np.ndarray
    transform: Affine = field(default_factory=Affine.identity)
    crs: CRS | None = None

    def __post_init__(self) -> None:
        h, w = self.instances.shape
        if self.image.ndim != 3 or self.image.shape[1:] != (h, w):
            raise ValueError(f"image shape {self.image.shape} does not match instances {(h, w)}")
        if self.factors.shape != (len(FACTOR_NAMES), h, w):
            raise ValueError(f"factors shape {self.factors.shape} should be {(len(FACTOR_NAMES), h, w)}")
        if self.valid.shape != (h, w):
            raise ValueError(f"valid shape {self.valid.shape} does not match instances {(h, w)}")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.instances.shape)  # type: ignore[return-value]

    @property
    def has_landslide(self) -> bool:
        return bool((self.instances[self.valid] > 0).any())

    def band_names(self) -> list[str]:
        n = self.image.shape[0]
        img = list(_RGB[:n]) + [f"band{i + 1}" for i in range(3, n)]
        return img + list(FACTOR_NAMES) + ["instance_id", "valid"]

    def stack(self) -> np.ndarray:
        """All bands as one (B, H, W) float32 array in file order."""
        return np.concatenate(
            [
                self.image.astype(np.float32),
                self.factors.astype(np.float32),
                self.instances[None].astype(np.float32),
                self.valid[None].astype(np.float32),
            ]
        )


def write_tile(path: str | Path, tile: TileData) -> Path:
    """Write a tile as one float32 GeoTIFF (atomically)."""
    return write_geotiff(path, tile.stack(), transform=tile.transform, crs=tile.crs, band_names=tile.band_names())


def read_tile(path: str | Path) -> TileData:
    """Read a tile written by :func:`write_tile`.

    Raises:
        ValueError: the file is missing, corrupt, or not a tile (names the file).
    """
    path = Path(path)
    try:
        with rasterio.open(path) as src:
            arr = src.read()
            names = list(src.descriptions)
            transform, crs = src.transform, src.crs
    except RasterioIOError as exc:
        raise ValueError(f"{path}: cannot read tile ({exc}); rerun step 01 to regenerate the tiles") from exc
    if len(names) < 3 + len(FACTOR_NAMES) + 2 or names[-2:] != ["instance_id", "valid"]:
        raise ValueError(f"{path}: not a tile written by landslide_utils (band names {names})")
    n_img = len(names) - len(FACTOR_NAMES) - 2
    return TileData(
        image=arr[:n_img],
        factors=arr[n_img : n_img + len(FACTOR_NAMES)],
        instances=np.rint(arr[-2]).astype(np.int32),
        valid=arr[-1] > 0.5,
        transform=transform,
        crs=crs,
    )


def tile_channels(tile: TileData, channels: str) -> np.ndarray:
    """The model input of a tile for a channel set (``rgb`` or ``rgb+factors``), (C, H, W) float32.

    Yang et al. (2022) stack DEM, slope and distance-from-river level behind RGB for Experiments II/IV/VI/VIII.
    """
    rgb = tile.image[:3].astype(np.float32)
    if channels == "rgb":
        return rgb
    if channels == "rgb+factors":
        return np.concatenate([rgb, tile.factors.astype(np.float32)])
    raise ValueError(f"unknown channel set {channels!r}; valid: 'rgb', 'rgb+factors'")
