"""Aligned layers of a tiny scene (random values of every layer), for the tiling and COCO tests.

:func:`make_aligned` writes ``dem.tif``, ``slope.tif``, ``river_level.tif``, ``instances.tif``, ``valid.tif``,
``image.tif`` (3-band uint8) and ``areas.gpkg`` into a folder and returns the
:class:`landslide_utils.inputs.layers.AlignedLayers` plus the source arrays, so that tests can compare stitched tiles
with the sources exactly. Instances are axis-aligned rectangles with ids 1..n.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.crs import CRS
from rasterio.transform import from_origin
from shapely.geometry import box

from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import write_geotiff
from landslide_utils.inputs.aligned import AlignedLayers

X0, Y0, RES = 370000.0, 3003000.0, 2.0
EPSG = "EPSG:32648"


def tiling_profile(tile_size: int) -> Profile:
    """A minimal profile: only ``tiling.tile_size`` matters to the tiling."""
    files = {k: Path(f"{k}.tif") for k in ("image_t1", "dem", "rivers", "inventory")}
    return Profile.model_validate({"name": "t", "data": {"source": "files", "files": files},
                                   "tiling": {"tile_size": tile_size}, "training": {"steps": 1}})


def make_aligned(folder: str | Path, *, height: int, width: int, split_col: int | None = None, seed: int = 0,
                 n_instances: int = 6, areas=None) -> tuple[AlignedLayers, gpd.GeoDataFrame, dict]:  # noqa: ANN001
    """Write the layers; areas default to train = columns [0, split_col), test = the rest (whole scene if None)."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    tr = from_origin(X0, Y0, RES, RES)
    src = {
        "image": rng.integers(0, 256, size=(3, height, width), dtype=np.uint8),
        "dem": rng.uniform(1000, 2000, size=(height, width)).astype(np.float32),
        "slope": rng.uniform(0, 70, size=(height, width)).astype(np.float32),
        "river_level": rng.integers(0, 6, size=(height, width), dtype=np.uint8),
        "instances": np.zeros((height, width), np.int32),
        "valid": np.ones((height, width), np.uint8),
    }
    for k in range(1, n_instances + 1):
        r, c = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(1, max(2, height // 3)), rng.integers(1, max(2, width // 3))
        src["instances"][r : r + h, c : c + w] = k
    grid = {"transform": tr, "crs": EPSG}
    write_geotiff(folder / "image.tif", src["image"], **grid)
    for k in ("dem", "slope", "river_level", "instances", "valid"):
        write_geotiff(folder / f"{k}.tif", src[k], **grid)
    if areas is None:
        x_split = X0 + (split_col if split_col is not None else 0) * RES
        x_end, y_end = X0 + width * RES, Y0 - height * RES
        if split_col is None or split_col <= 0 or split_col >= width:
            areas = gpd.GeoDataFrame({"name": ["test"], "split": ["test"]},
                                     geometry=[box(X0, y_end, x_end, Y0)], crs=EPSG)
        else:
            areas = gpd.GeoDataFrame({"name": ["train_a", "test"], "split": ["train", "test"]},
                                     geometry=[box(X0, y_end, x_split, Y0), box(x_split, y_end, x_end, Y0)], crs=EPSG)
    aligned = AlignedLayers(
        image=folder / "image.tif", image_bands=(1, 2, 3),
        **{k: folder / f"{k}.tif" for k in ("dem", "slope", "river_level", "instances", "valid")},
        areas=folder / "areas.gpkg", inventory=folder / "inventory.gpkg", crs=CRS.from_user_input(EPSG),
        transform=tr, width=width, height=height,
    )
    return aligned, areas, src
