"""Cut the aligned layers into tiles on a regular grid over each area, and stitch tiles back together.

Yang et al. (2022) cut the imagery of the two training areas and the test area into 1024 x 1024 tiles
(section 2.2, Figure 3). Here each area's bounding box is snapped to the image pixel grid and covered by a regular
grid of ``tiling.tile_size`` starting at its top-left pixel. Edge tiles are padded; padding and pixels outside the
area polygon have ``valid = 0`` and zero values in every band (so no pixel of one area leaks into another).
The tile format is :mod:`landslide_utils.tiles.tile`; the index (``index.gpkg``) is described in docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.enums import ColorInterp
from rasterio.features import rasterize
from rasterio.transform import Affine
from rasterio.windows import Window
from shapely.geometry import box

from landslide_utils.config.channels import image_band_names
from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import infrared_bands
from landslide_utils.files.atomic import write_vector
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.paths import safe_name
from landslide_utils.tiles.tile import FACTOR_NAMES, TileData, write_tile

__all__ = ["INDEX_COLUMNS", "area_pixel_bounds", "make_tiles", "read_index", "typed_index", "tile_footprint", "paste", "stitch", "area_window", "split_counts"]

INDEX_COLUMNS: tuple[str, ...] = ("tile_id", "split", "area", "has_landslide", "landslide_pixels", "valid_pixels",
                                  "path", "row_off", "col_off", "tile_size")
_INT_COLUMNS = ("landslide_pixels", "valid_pixels", "row_off", "col_off", "tile_size")


def area_pixel_bounds(bounds: tuple[float, float, float, float], transform: Affine,
                      shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(row0, col0, row1, col1) of the image pixels touched by ``bounds`` (xmin, ymin, xmax, ymax), clipped to the
    image; None when the box misses the image. The grid must be north-up."""
    xmin, ymin, xmax, ymax = bounds
    inv = ~transform
    c_a, r_a = inv @ (xmin, ymax)
    c_b, r_b = inv @ (xmax, ymin)
    eps = 1e-6
    col0, col1 = math.floor(min(c_a, c_b) + eps), math.ceil(max(c_a, c_b) - eps)
    row0, row1 = math.floor(min(r_a, r_b) + eps), math.ceil(max(r_a, r_b) - eps)
    row0, col0 = max(row0, 0), max(col0, 0)
    row1, col1 = min(row1, shape[0]), min(col1, shape[1])
    if row1 <= row0 or col1 <= col0:
        return None
    return row0, col0, row1, col1


def tile_footprint(transform: Affine, size: int):  # noqa: ANN201 - a shapely Polygon
    """The footprint of a ``size`` x ``size`` tile whose upper-left pixel has ``transform``, as a box."""
    x0, y0 = transform @ (0, 0)
    x1, y1 = transform @ (size, size)
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _image_bands(src: rasterio.DatasetReader) -> list[int]:
    return [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha]


def _read_into(src: rasterio.DatasetReader, bands: list[int] | int, win: Window, out: np.ndarray) -> None:
    data = src.read(bands, window=win)
    out[..., : data.shape[-2], : data.shape[-1]] = data


def make_tiles(
    profile: Profile,
    aligned: AlignedLayers,
    areas_gdf: gpd.GeoDataFrame,
    *,
    out_dir: str | Path,
    image_path: str | Path | None = None,
    splits: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """Cut every area into tiles and write them and the tile index.

    Args:
        profile: gives ``tiling.tile_size``.
        aligned: the layers on the image grid (:func:`landslide_utils.inputs.layers.align_layers`).
        areas_gdf: areas with ``name``, ``split`` and polygon geometry in the image CRS.
        out_dir: tiles go to ``out_dir/<split>/<tile_id>.tif``, the index to ``out_dir/index.gpkg``.
        image_path: another image on the same grid to tile instead of ``aligned.image`` (e.g.
            ``aligned.image_t2`` for the multi-temporal test, into another ``out_dir``).
        splits: only tile the areas of these splits (default: all).

    Returns:
        The tile index (columns :data:`INDEX_COLUMNS` + footprint geometry). Tiles without any valid pixel
        (entirely outside a non-rectangular area polygon) are not written.
    """
    out_dir = Path(out_dir)
    ts = profile.tiling.tile_size
    shape = aligned.shape
    image_path = Path(image_path) if image_path is not None else aligned.image
    if areas_gdf.crs is not None and aligned.crs is not None and areas_gdf.crs != aligned.crs:
        areas_gdf = areas_gdf.to_crs(aligned.crs)
    safe = [safe_name(n) for n in areas_gdf["name"]]
    if len(set(safe)) != len(safe):
        raise ValueError(f"area names {list(areas_gdf['name'])} are not unique once made file-name safe; rename them")
    rows: list[dict] = []
    geoms = []
    with (rasterio.open(image_path) as img, rasterio.open(aligned.dem) as dem, rasterio.open(aligned.slope) as slope,
          rasterio.open(aligned.river_level) as river, rasterio.open(aligned.instances) as inst,
          rasterio.open(aligned.valid) as val, contextlib.ExitStack() as stack):
        if (img.height, img.width) != shape or img.transform != aligned.transform:
            raise ValueError(f"{image_path}: not on the image grid of the aligned layers ({shape}, "
                             f"{aligned.transform}); align it first (step 01)")
        bands = list(aligned.image_bands) if image_path == aligned.image else _image_bands(img)
        extra = {k: stack.enter_context(rasterio.open(p)) for k, p in aligned.extra.items()}
        factor_names = FACTOR_NAMES + tuple(extra)
        image_names = image_band_names(bands, infrared_bands(profile) if image_path == aligned.image else (None, None))
        for name, split, geom in zip(areas_gdf["name"], areas_gdf["split"], areas_gdf.geometry):
            if splits is not None and split not in splits:
                continue
            pb = area_pixel_bounds(geom.bounds, aligned.transform, shape)
            if pb is None:
                continue
            row0, col0, row1, col1 = pb
            for i in range(math.ceil((row1 - row0) / ts)):
                for j in range(math.ceil((col1 - col0) / ts)):
                    r, c = row0 + i * ts, col0 + j * ts
                    h, w = min(ts, row1 - r), min(ts, col1 - c)
                    win = Window(c, r, w, h)
                    tr = aligned.transform @ Affine.translation(c, r)
                    inside = rasterize([(geom, 1)], out_shape=(ts, ts), transform=tr, fill=0, all_touched=False,
                                       dtype="uint8").astype(bool)
                    inside[h:, :] = False
                    inside[:, w:] = False
                    image = np.zeros((len(bands), ts, ts), np.float32)
                    _read_into(img, bands, win, image)
                    factors = np.zeros((len(factor_names), ts, ts), np.float32)
                    for k, src in enumerate((dem, slope, river, *extra.values())):
                        _read_into(src, 1, win, factors[k])
                    instances = np.zeros((ts, ts), np.int32)
                    _read_into(inst, 1, win, instances)
                    valid = np.zeros((ts, ts), np.uint8)
                    _read_into(val, 1, win, valid)
                    valid_b = (valid > 0) & inside
                    if not valid_b.any():
                        continue
                    image[:, ~inside] = 0
                    factors[:, ~inside] = 0
                    factors[~np.isfinite(factors)] = 0
                    image[~np.isfinite(image)] = 0
                    instances[~inside] = 0
                    tile_id = f"{safe_name(name)}_r{i:03d}_c{j:03d}"
                    rel = f"{split}/{tile_id}.tif"
                    write_tile(out_dir / rel, TileData(image=image, factors=factors, instances=instances,
                                                       valid=valid_b, transform=tr, crs=aligned.crs,
                                                       factor_names=factor_names, image_names=image_names))
                    lpix = int(((instances > 0) & valid_b).sum())
                    rows.append({"tile_id": tile_id, "split": split, "area": name, "has_landslide": lpix > 0,
                                 "landslide_pixels": lpix, "valid_pixels": int(valid_b.sum()), "path": rel,
                                 "row_off": r, "col_off": c, "tile_size": ts})
                    geoms.append(tile_footprint(tr, ts))
    index = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(INDEX_COLUMNS)), geometry=geoms, crs=aligned.crs)
    index = typed_index(index)
    write_vector(out_dir / "index.gpkg", index, layer="tiles")
    _remove_stale_tiles(out_dir, index)
    return index


def _remove_stale_tiles(out_dir: Path, index: gpd.GeoDataFrame) -> None:
    """Delete the train/test tiles of an earlier run that the new index does not list."""
    keep = {out_dir / p for p in index["path"]}
    for split_dir in {out_dir / s for s in ("train", "test")}:
        for stale in split_dir.glob("*.tif") if split_dir.is_dir() else ():
            if stale not in keep:
                stale.unlink()


def typed_index(index: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The tile index with the column types of :data:`INDEX_COLUMNS` (text, bool, int64), changed in place."""
    for c in ("tile_id", "split", "area", "path"):
        index[c] = index[c].astype(str)
    index["has_landslide"] = index["has_landslide"].astype(bool)
    for c in _INT_COLUMNS:
        index[c] = index[c].astype(np.int64)
    return index


def read_index(path: str | Path) -> gpd.GeoDataFrame:
    """Read a tile index (``tiles/index.gpkg``) with its column types restored.

    Raises:
        FileNotFoundError: no index there (run step 01). ValueError: columns missing.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "index.gpkg"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no tile index; run step 01 (prepare data) first")
    index = gpd.read_file(path)
    missing = set(INDEX_COLUMNS) - set(index.columns)
    if missing:
        raise ValueError(f"{path}: not a tile index (missing columns {sorted(missing)}); rerun step 01")
    return typed_index(index)


def paste(out: np.ndarray, window: Window, *, row_off: int, col_off: int, data: np.ndarray,
          valid: np.ndarray | None = None) -> None:
    """Copy a tile's pixels into the array of an image-grid window, clipped to the window.

    Args:
        out: ``(..., window.height, window.width)`` array, changed in place.
        window: the image-grid window ``out`` covers (:func:`area_window`).
        row_off, col_off: the tile's upper-left pixel on the image grid (index columns of the same names).
        data: ``(..., h, w)`` tile array.
        valid: ``(h, w)`` bool; when given only valid pixels are copied (the padding of one tile never
            overwrites another's pixels).
    """
    wr0, wc0 = int(window.row_off), int(window.col_off)
    th, tw = data.shape[-2:]
    ra, rb = max(row_off, wr0), min(row_off + th, wr0 + int(window.height))
    ca, cb = max(col_off, wc0), min(col_off + tw, wc0 + int(window.width))
    if ra >= rb or ca >= cb:
        return
    src = data[..., ra - row_off: rb - row_off, ca - col_off: cb - col_off]
    target = out[..., ra - wr0: rb - wr0, ca - wc0: cb - wc0]
    if valid is None:
        target[...] = src
    else:
        m = valid[ra - row_off: rb - row_off, ca - col_off: cb - col_off]
        target[..., m] = src[..., m]


def stitch(
    index_gdf: pd.DataFrame,
    tiles_dir: str | Path,
    *,
    band: str | Callable[[pd.Series], np.ndarray],
    window: Window,
    fill: float = 0,
    dtype: np.dtype | type | None = None,
    only_valid: bool = True,
) -> np.ndarray:
    """Reassemble tiles into an image-grid window (with :func:`paste`, as the test-area evaluation does).

    Args:
        index_gdf: tile index rows to use (e.g. one split).
        tiles_dir: folder the index's ``path`` column is relative to.
        band: a band name of the tile files (``red``, ``dem``, ``instance_id``, ``valid`` ...) or a getter
            ``f(row) -> (tile_size, tile_size)`` or ``(C, tile_size, tile_size)`` array (e.g. a prediction).
        window: the image-grid window to fill (:func:`area_window`).
        fill: value of pixels no tile covers.
        dtype: output dtype (default: float32 for band names, the getter's dtype otherwise).
        only_valid: copy only the tile pixels with ``valid = 1`` (padding of one area never overwrites another).

    Returns:
        ``(height, width)`` or ``(C, height, width)`` array of the window.
    """
    tiles_dir = Path(tiles_dir)
    out: np.ndarray | None = None
    for _, row in index_gdf.iterrows():
        path = tiles_dir / str(row["path"])
        with rasterio.open(path) as src:
            names = list(src.descriptions)
            valid = src.read(names.index("valid") + 1) > 0.5 if only_valid else None
            if isinstance(band, str):
                if band not in names:
                    raise ValueError(f"{path}: no band {band!r}; bands are {names}")
                data = src.read(names.index(band) + 1)
        if not isinstance(band, str):
            data = np.asarray(band(row))
        if out is None:
            default = np.dtype(np.float32) if isinstance(band, str) else data.dtype
            dt = np.dtype(dtype) if dtype is not None else default
            out = np.full(data.shape[:-2] + (int(window.height), int(window.width)), fill, dtype=dt)
        paste(out, window, row_off=int(row["row_off"]), col_off=int(row["col_off"]), data=data, valid=valid)
    if out is None:
        out = np.full((int(window.height), int(window.width)), fill,
                      dtype=np.dtype(dtype) if dtype is not None else np.float32)
    return out


def area_window(index_gdf: pd.DataFrame, split_or_area: str, *, shape: tuple[int, int] | None = None) -> Window:
    """The image-grid window covering the tiles of a split (``train``/``test``) or of one area (by name).

    Args:
        shape: (rows, cols) of the image to clip the window to (tiles may reach past the image edge).
    """
    sel = index_gdf[(index_gdf["split"] == split_or_area) | (index_gdf["area"] == split_or_area)]
    if len(sel) == 0:
        choices = sorted(set(index_gdf["split"]) | set(index_gdf["area"]))
        raise ValueError(f"no tiles for {split_or_area!r}; choose one of {choices}")
    r0, c0 = int(sel["row_off"].min()), int(sel["col_off"].min())
    r1 = int((sel["row_off"] + sel["tile_size"]).max())
    c1 = int((sel["col_off"] + sel["tile_size"]).max())
    if shape is not None:
        r1, c1 = min(r1, shape[0]), min(c1, shape[1])
    return Window(c0, r0, c1 - c0, r1 - r0)


def split_counts(index: pd.DataFrame, *, aligned: AlignedLayers | None = None,
                areas: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Tiles per split: ``landslide_tiles``, ``non_landslide_tiles``, ``tiles``; with ``aligned`` and ``areas`` also
    ``landslides`` (inventory landslides with a valid pixel in the split's areas) and ``area_km2`` (valid area).

    Rows: each split present (train first), then ``total``.
    """
    splits = [s for s in ("train", "test") if s in set(index["split"])]
    splits += sorted(set(index["split"]) - set(splits))
    table = pd.DataFrame(index=pd.Index(splits + ["total"], name="split"))
    for s in splits:
        sel = index[index["split"] == s]
        table.loc[s, "landslide_tiles"] = int(sel["has_landslide"].sum())
        table.loc[s, "non_landslide_tiles"] = int((~sel["has_landslide"].astype(bool)).sum())
    table.loc["total"] = table.loc[splits].sum()
    table["tiles"] = table["landslide_tiles"] + table["non_landslide_tiles"]
    if aligned is not None and areas is not None:
        with rasterio.open(aligned.instances) as src:
            inst = src.read(1)
        with rasterio.open(aligned.valid) as src:
            valid = src.read(1) > 0
        px_km2 = abs(aligned.transform.a * aligned.transform.e) / 1e6
        all_ids: set[int] = set()
        for s in splits:
            geoms = list(areas.geometry[areas["split"] == s])
            mask = rasterize([(g, 1) for g in geoms], out_shape=aligned.shape, transform=aligned.transform,
                             fill=0, dtype="uint8").astype(bool) & valid if geoms else np.zeros(aligned.shape, bool)
            ids = set(np.unique(inst[mask]).tolist()) - {0}
            all_ids |= ids
            table.loc[s, "landslides"] = len(ids)
            table.loc[s, "area_km2"] = round(float(mask.sum()) * px_km2, 6)
        table.loc["total", "landslides"] = len(all_ids)
        table.loc["total", "area_km2"] = table.loc[splits, "area_km2"].sum()
    for c in table.columns:
        if c != "area_km2":
            table[c] = table[c].astype(np.int64)
    return table
