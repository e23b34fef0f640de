"""A tiny real-input study area, written as the files a user brings (docs/methods.md, "Inputs of a study area").

* ``image_t1.tif``: 96 x 96 x 3 uint8 in EPSG:32648 (UTM 48N), 2 m pixels, nodata 0 (a 4 x 4 nodata corner);
* ``dem.tif``: float32 in EPSG:4326 (geographic!) covering the image with a margin; the values are the plane
  ``z = Z0 + GX (x - X0) + GY (y - Y0)`` of the UTM coordinates, so the slope is known: atan(hypot(GX, GY));
* ``rivers.geojson``: one river line in EPSG:4326 running north-south through x = X0 + 100 m;
* ``inventory.gpkg``: five landslide polygons (``landslide_id``) in EPSG:32648;
* ``areas.geojson``: two train areas (left half, top and bottom) and one test area (right half), EPSG:32648;
* ``profile.yaml``: a profile with ``data.source: files`` pointing at them (tile size 32).

Run ``python tests/data/tiny_files/make_data.py`` to (re)write them into this folder; the tests write them into a
temporary folder with :func:`make_inputs`.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

CRS = "EPSG:32648"
X0, Y0 = 370000.0, 3003000.0
RES = 2.0
SIZE = 96
Z0, GX, GY = 1500.0, 0.3, -0.2
SLOPE_DEG = math.degrees(math.atan(math.hypot(GX, GY)))
RIVER_X = X0 + 100.0
LANDSLIDES = [(X0 + 30, Y0 - 30, 9.0), (X0 + 60, Y0 - 150, 12.0), (X0 + 130, Y0 - 40, 10.0),
              (X0 + 160, Y0 - 120, 14.0), (X0 + 120, Y0 - 170, 7.0)]


def plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elevation (m) of the test plane at UTM coordinates."""
    return Z0 + GX * (x - X0) + GY * (y - Y0)


def write_raster(path: Path, arr: np.ndarray, *, transform, crs, nodata=None) -> Path:  # noqa: ANN001
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                       dtype=arr.dtype, transform=transform, crs=crs, nodata=nodata) as dst:
        dst.write(arr)
    return path


def make_image(path: Path, *, seed: int = 0, crs: str | None = CRS, bands: int = 3, nodata: float | None = 0) -> Path:
    rng = np.random.default_rng(seed)
    img = rng.integers(1, 256, size=(bands, SIZE, SIZE), dtype=np.uint8)
    if nodata is not None:
        img[:, :4, :4] = 0
    return write_raster(path, img, transform=from_origin(X0, Y0, RES, RES), crs=crs, nodata=nodata)


def make_dem_geographic(path: Path, *, margin_m: float = 40.0, xmax_m: float | None = None,
                        offset_m: float = 0.0) -> Path:
    """The plane on a geographic (EPSG:4326) grid of about 5 m covering the image (+ margin)."""
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    to_utm = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    xmax = X0 + SIZE * RES + margin_m if xmax_m is None else xmax_m
    xs = np.array([X0 - margin_m, xmax]) + offset_m
    ys = np.array([Y0 - SIZE * RES - margin_m, Y0 + margin_m]) + offset_m
    lons, lats = to_ll.transform(np.repeat(xs, 2), np.tile(ys, 2))
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    d = 5.0 / 111_000.0
    w, h = int(math.ceil((lon1 - lon0) / d)), int(math.ceil((lat1 - lat0) / d))
    tr = from_origin(lon0, lat1, d, d)
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    lon, lat = tr @ (cols, rows)
    x, y = to_utm.transform(lon, lat)
    return write_raster(path, plane(x - offset_m, y - offset_m).astype(np.float32), transform=tr,
                        crs="EPSG:4326", nodata=-9999.0)


def make_rivers(path: Path) -> Path:
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    ys = np.linspace(Y0 + 300, Y0 - SIZE * RES - 300, 20)
    lon, lat = to_ll.transform(np.full_like(ys, RIVER_X), ys)
    gdf = gpd.GeoDataFrame({"name": ["river"]}, geometry=[LineString(zip(lon, lat))], crs="EPSG:4326")
    gdf.to_file(path, driver="GeoJSON")
    return path


def make_inventory(path: Path, polygons=None) -> Path:  # noqa: ANN001
    geoms = polygons if polygons is not None else [Point(x, y).buffer(r) for x, y, r in LANDSLIDES]
    gdf = gpd.GeoDataFrame({"landslide_id": np.arange(1, len(geoms) + 1, dtype=np.int64)}, geometry=geoms, crs=CRS)
    gdf.to_file(path, driver="GPKG")
    return path


def make_areas(path: Path, splits=("train", "train", "test")) -> Path:  # noqa: ANN001
    half = SIZE * RES / 2
    geoms = [box(X0, Y0 - half, X0 + half, Y0), box(X0, Y0 - 2 * half, X0 + half, Y0 - half),
             box(X0 + half, Y0 - 2 * half, X0 + 2 * half, Y0)]
    gdf = gpd.GeoDataFrame({"name": ["train_a", "train_b", "test"], "split": list(splits)}, geometry=geoms, crs=CRS)
    gdf.to_file(path, driver="GeoJSON")
    return path


def write_profile(folder: Path, *, name: str = "tiny", tile_size: int = 32, areas_file: bool = True,
                  extra: str = "") -> Path:
    text = (f"name: {name}\nseed: 0\ndevice: cpu\ndata:\n  source: files\n  files:\n"
            "    image_t1: image_t1.tif\n    dem: dem.tif\n    rivers: rivers.geojson\n"
            "    inventory: inventory.gpkg\n" + ("    areas: areas.geojson\n" if areas_file else "")
            + f"tiling:\n  tile_size: {tile_size}\ntraining:\n  steps: 1\n" + extra)
    path = folder / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def make_inputs(folder: str | Path) -> dict[str, Path]:
    """Write every input file and the profile into ``folder``; returns their paths by key."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "image_t1": make_image(folder / "image_t1.tif"),
        "dem": make_dem_geographic(folder / "dem.tif"),
        "rivers": make_rivers(folder / "rivers.geojson"),
        "inventory": make_inventory(folder / "inventory.gpkg"),
        "areas": make_areas(folder / "areas.geojson"),
        "profile": write_profile(folder),
    }


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    for k, p in make_inputs(here).items():
        print(k, p.relative_to(here))
