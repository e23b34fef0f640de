"""The tile: the unit every later step reads (factor analysis, enhancement, training, evaluation).

One tile is one georeferenced, compressed float32 GeoTIFF whose bands are, in order and named in the band
descriptions:

    image bands (``red``, ``green``, ``blue``, then any further image bands: ``nir`` and ``swir`` where the
    study names them, else ``band4`` ...),
    ``dem`` (m), ``slope`` (degrees), ``river_level`` (0..5, Yang et al. 2022 section 3.4), then the further
    influencing factors of Gao et al. (2021) that the study's inputs allow, named as in
    :data:`landslide_utils.config.channels.FACTOR_CHANNELS` (``aspect`` class 0..8, ``curvature`` 1/100 m, ``ndvi``,
    ``mndwi``, ``river_distance`` m, ``fault_distance`` m, ``lithology`` code),
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

from landslide_utils.config.channels import FACTOR_NEEDS, IMAGE_CHANNELS, channel_names
from landslide_utils.files.atomic import write_geotiff

__all__ = ["TileData", "FACTOR_NAMES", "CATEGORICAL_FACTORS", "read_tile", "write_tile", "tile_channels"]

FACTOR_NAMES: tuple[str, ...] = ("dem", "slope", "river_level")
#: factors whose values are class codes: resampled by nearest neighbour, never averaged
CATEGORICAL_FACTORS: frozenset[str] = frozenset({"river_level", "aspect", "lithology"})
_RGB = ("red", "green", "blue")


@dataclass
class TileData:
    """Arrays of one tile (or one background-enhanced sample).

    Attributes:
        image: (C_img, H, W) float32 image values as in the source (e.g. 0..255 for uint8 imagery).
        factors: (F, H, W) float32: DEM (m), slope (deg), river level (0..5), then further factors.
        instances: (H, W) int32 instance ids, 0 = background.
        valid: (H, W) bool, False on padding and nodata.
        transform: affine transform of the tile (identity-like for synthetic samples without a location).
        crs: CRS of the tile, or None for samples that have no location (BE samples).
        factor_names: names of the factor bands (the first three are always :data:`FACTOR_NAMES`).
        image_names: names of the image bands (default red, green, blue, band4, ...).
    """

    image: np.ndarray
    factors: np.ndarray
    instances: np.ndarray
    valid: np.ndarray
    transform: Affine = field(default_factory=Affine.identity)
    crs: CRS | None = None
    factor_names: tuple[str, ...] = FACTOR_NAMES
    image_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        h, w = self.instances.shape
        if self.image.ndim != 3 or self.image.shape[1:] != (h, w):
            raise ValueError(f"image shape {self.image.shape} does not match instances {(h, w)}")
        self.factor_names = tuple(self.factor_names)
        if self.factor_names[:3] != FACTOR_NAMES:
            raise ValueError(f"the first factors must be {FACTOR_NAMES}, got {self.factor_names}")
        if self.factors.shape != (len(self.factor_names), h, w):
            raise ValueError(f"factors shape {self.factors.shape} should be {(len(self.factor_names), h, w)}")
        n = self.image.shape[0]
        if self.image_names is None:
            self.image_names = tuple(list(_RGB[:n]) + [f"band{i + 1}" for i in range(3, n)])
        self.image_names = tuple(self.image_names)
        if len(self.image_names) != n:
            raise ValueError(f"{len(self.image_names)} image band names for {n} image bands")
        if self.valid.shape != (h, w):
            raise ValueError(f"valid shape {self.valid.shape} does not match instances {(h, w)}")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.instances.shape)  # type: ignore[return-value]

    @property
    def has_landslide(self) -> bool:
        return bool((self.instances[self.valid] > 0).any())

    def band_names(self) -> list[str]:
        return list(self.image_names or ()) + list(self.factor_names) + ["instance_id", "valid"]

    def channel(self, name: str) -> np.ndarray | None:
        """One named image band or factor, (H, W) float32, or None when the tile does not carry it. An image
        band is also found by its number (``band4`` = the fourth image band, even when it is named ``nir``)."""
        names = list(self.image_names or ())
        if name in names:
            return self.image[names.index(name)].astype(np.float32)
        if name in self.factor_names:
            return self.factors[self.factor_names.index(name)].astype(np.float32)
        if name.startswith("band") and name[4:].isdigit() and 1 <= int(name[4:]) <= self.image.shape[0]:
            return self.image[int(name[4:]) - 1].astype(np.float32)
        return None

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
    if len(names) < 3 + len(FACTOR_NAMES) + 2 or names[-2:] != ["instance_id", "valid"] or "dem" not in names:
        raise ValueError(f"{path}: not a tile written by landslide_utils (band names {names})")
    n_img = names.index("dem")
    return TileData(
        image=arr[:n_img],
        factors=arr[n_img:-2],
        instances=np.rint(arr[-2]).astype(np.int32),
        valid=arr[-1] > 0.5,
        transform=transform,
        crs=crs,
        factor_names=tuple(names[n_img:-2]),
        image_names=tuple(names[:n_img]),
    )


def tile_channels(tile: TileData, channels: str) -> np.ndarray:
    """The model input of a tile for a channel set or list (:func:`landslide_utils.config.channels.channel_names`),
    (C, H, W) float32.

    Yang et al. (2022) stack DEM, slope and distance-from-river level behind RGB for Experiments II/IV/VI/VIII
    (``rgb+factors``); Gao et al. (2021) nine influencing factors (``rgb+factors9``).

    Raises:
        ValueError: an unknown channel set, or a channel the tile does not carry (names what would give it).
    """
    names = channel_names(channels)
    if names == ("red", "green", "blue"):
        return tile.image[:3].astype(np.float32)
    if names == ("red", "green", "blue") + FACTOR_NAMES:  # every tile starts its factors with these three
        return np.concatenate([tile.image[:3].astype(np.float32), tile.factors[:3].astype(np.float32)])
    out = []
    for name in names:
        band = tile.channel(name)
        if band is None:
            need = FACTOR_NEEDS.get(name, "an image band of that number" if name not in IMAGE_CHANNELS else
                                    "the profile's factors.nir_band / factors.swir_band")
            raise ValueError(f"the tile has no {name!r} channel (it carries {', '.join(tile.band_names()[:-2])}): "
                             f"it needs {need}; rerun step 01 after adding it, or choose other channels")
        out.append(band)
    return np.stack(out)
