"""Factor analysis: landslide area density per class of elevation, slope and distance from river.

Yang et al. (2022), section 3.4 and Figures 12–14: the density of a class is the landslide area inside the class
divided by the total area of the class, over the valid pixels of the study areas.

* :func:`stack_density` (step 02) computes it over the aligned stack (:func:`landslide_utils.inputs.stack.open_aligned`)
  as xarray operations: ``groupby_bins`` of elevation and slope, ``groupby`` of the river level, block of rows by
  block of rows (no scene-sized array beyond one variable's block).
* :func:`factor_density` computes the same tables from tiles (the factor layers travel in them), for a tile set
  without its stack; over the tiles of step 01 the two give identical tables (areas that overlap each other are
  counted once by the stack, once per area by the tiles).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from landslide_utils.config.data_schema import FactorSpec
from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import atomic_path
from landslide_utils.inputs.stack import open_aligned
from landslide_utils.inputs.terrain import river_level_labels
from landslide_utils.paths import StudyPaths
from landslide_utils.tiles.tile import read_tile

__all__ = ["FactorTables", "analyse_study", "factor_density", "stack_density", "slope_share", "write_tables"]

COLUMNS = ["class", "class_area_m2", "landslide_area_m2", "density"]


@dataclass
class FactorTables:
    """The three density tables and the share of landslide area on 20–50° slopes."""

    elevation: pd.DataFrame
    slope: pd.DataFrame
    river: pd.DataFrame
    share_20_50: float
    landslide_area_m2: float
    study_area_m2: float


def _table(cls: dict[int, float], ls: dict[int, float], labels: dict[int, str]) -> pd.DataFrame:
    keys = sorted(cls)
    area = np.array([cls[k] for k in keys], dtype=float)
    land = np.array([ls.get(k, 0.0) for k in keys], dtype=float)
    dens = np.divide(land, area, out=np.zeros_like(land), where=area > 0)
    return pd.DataFrame({"class": [labels[k] for k in keys], "class_area_m2": area,
                         "landslide_area_m2": land, "density": dens})


def _accumulate(store: dict[int, float], keys: np.ndarray, weight: float) -> None:
    if keys.size == 0:
        return
    uniq, counts = np.unique(keys, return_counts=True)
    for k, c in zip(uniq.tolist(), counts.tolist()):
        store[int(k)] += c * weight


def factor_density(tile_paths: list[Path], *, spec: FactorSpec) -> FactorTables:
    """Density tables over the valid pixels of the given tiles (Yang et al. 2022, Figures 12b/13b/14b).

    Elevation bins are ``spec.elevation_bin_m`` wide, aligned to multiples of the width; slope bins are
    ``spec.slope_bin_deg`` wide from 0° to the maximum slope present; river levels are the six levels of
    the data preparation. Empty classes inside the range are kept (area 0, density 0).

    Raises:
        ValueError: no tile, or no valid pixel, or no landslide pixel in the tiles.
    """
    if not tile_paths:
        raise ValueError("no tiles to analyse; run step 01 (data preparation) first")
    e_cls: dict[int, float] = defaultdict(float)
    e_ls: dict[int, float] = defaultdict(float)
    s_cls: dict[int, float] = defaultdict(float)
    s_ls: dict[int, float] = defaultdict(float)
    r_cls: dict[int, float] = defaultdict(float)
    r_ls: dict[int, float] = defaultdict(float)
    in_20_50 = 0.0
    total_ls = 0.0
    total = 0.0
    for path in tile_paths:
        t = read_tile(path)
        px = abs(t.transform.a * t.transform.e) or 1.0
        dem, slope, river = t.factors[:3]
        ok = t.valid & np.isfinite(dem) & np.isfinite(slope)
        land = ok & (t.instances > 0)
        e_idx = np.floor(dem / spec.elevation_bin_m).astype(np.int64)
        s_idx = np.floor(np.clip(slope, 0, 90) / spec.slope_bin_deg).astype(np.int64)
        r_idx = np.rint(river).astype(np.int64)
        for store_c, store_l, idx in ((e_cls, e_ls, e_idx), (s_cls, s_ls, s_idx), (r_cls, r_ls, r_idx)):
            _accumulate(store_c, idx[ok], px)
            _accumulate(store_l, idx[land], px)
        in_20_50 += float(((slope >= 20) & (slope < 50) & land).sum()) * px
        total_ls += float(land.sum()) * px
        total += float(ok.sum()) * px
    return _finish(e_cls, e_ls, s_cls, s_ls, r_cls, r_ls, in_20_50=in_20_50, total_ls=total_ls, total=total,
                   spec=spec, what="the tiles")


def _finish(e_cls: dict[int, float], e_ls: dict[int, float], s_cls: dict[int, float], s_ls: dict[int, float],
            r_cls: dict[int, float], r_ls: dict[int, float], *, in_20_50: float, total_ls: float, total: float,
            spec: FactorSpec, what: str) -> FactorTables:
    """The tables from the areas per class index (elevation and slope bins, river levels)."""
    if total == 0:
        raise ValueError(f"{what} hold no valid pixel; check the image nodata and the areas")
    if total_ls == 0:
        raise ValueError(f"{what} hold no landslide pixel; check that the inventory overlaps the areas")
    # fill empty classes inside the observed ranges so the plots show gaps honestly
    for k in range(min(e_cls), max(e_cls) + 1):
        e_cls.setdefault(k, 0.0)
    for k in range(0, max(s_cls) + 1):  # slope classes always start at 0 degrees
        s_cls.setdefault(k, 0.0)
    n_levels = len(spec.river_ring_edges_m) + 2
    for k in range(n_levels):
        r_cls.setdefault(k, 0.0)
    w, sw = spec.elevation_bin_m, spec.slope_bin_deg
    e_labels = {k: f"{k * w:g}-{(k + 1) * w:g}" for k in e_cls}
    s_labels = {k: f"{k * sw:g}-{(k + 1) * sw:g}" for k in s_cls}
    r_names = river_level_labels(spec)
    r_labels = {k: r_names[k] if 0 <= k < len(r_names) else str(k) for k in r_cls}
    return FactorTables(
        elevation=_table(e_cls, e_ls, e_labels),
        slope=_table(s_cls, s_ls, s_labels),
        river=_table(r_cls, r_ls, r_labels),
        share_20_50=in_20_50 / total_ls,
        landslide_area_m2=total_ls,
        study_area_m2=total,
    )


def _sums_by_bin(counts: xr.Dataset, values: xr.DataArray, width: float, *, upper: float | None = None
                 ) -> dict[int, tuple[int, int]]:
    """Pixel counts (``ok``, ``land``) per bin ``[k * width, (k + 1) * width)`` of ``values`` (NaN: no bin), by
    ``groupby_bins``; keys are the bin indexes k. ``upper`` clips the values first (slopes at 90°)."""
    if upper is not None:
        values = values.clip(0, upper)
    lo, hi = float(values.min()), float(values.max())
    k0, k1 = int(np.floor(lo / width)), int(np.floor(hi / width))
    edges = np.arange(k0, k1 + 2, dtype=np.float64) * width
    ks = np.arange(k0, k1 + 1)
    summed = counts.groupby_bins(values.rename("bin_value"), edges, right=False, labels=ks).sum().fillna(0)
    dim = next(iter(summed.dims))
    return {int(k): (int(o), int(la)) for k, o, la in zip(summed[dim].values, summed["ok"].values,
                                                          summed["land"].values) if o > 0}


def stack_density(ds: xr.Dataset, *, spec: FactorSpec, block_rows: int = 1024) -> FactorTables:
    """Density tables over the valid pixels of the study areas of an aligned stack (Yang et al. 2022, Figures
    12b/13b/14b), by xarray: ``groupby_bins`` of ``elevation`` (bins ``spec.elevation_bin_m`` wide, aligned to
    multiples of the width) and of ``slope`` (``spec.slope_bin_deg`` wide from 0°), ``groupby`` of
    ``river_level``. Pixels count where ``valid`` is 1, ``area`` is not 0 and elevation and slope are finite;
    landslide pixels where ``instances`` is also above 0. Empty classes inside the range are kept.

    Args:
        ds: the stack (:func:`landslide_utils.inputs.stack.open_aligned`).
        spec: the profile's ``factors``.
        block_rows: rows loaded at a time.

    Raises:
        ValueError: the stack lacks a layer, or holds no valid or no landslide pixel in its areas.
    """
    need = ("elevation", "slope", "river_level", "instances", "valid", "area")
    missing = [v for v in need if v not in ds]
    if missing:
        raise ValueError(f"the aligned stack lacks {', '.join(missing)}; rerun step 01")
    tr = ds.rio.transform()
    px = abs(tr.a * tr.e) or 1.0
    stores = {k: defaultdict(float) for k in ("e_cls", "e_ls", "s_cls", "s_ls", "r_cls", "r_ls")}
    in_20_50 = total_ls = total = 0.0
    for r0 in range(0, ds.sizes["y"], block_rows):
        blk = ds[list(need)].isel(y=slice(r0, r0 + block_rows)).load()
        ok = (blk.valid > 0) & (blk.area > 0) & np.isfinite(blk.elevation) & np.isfinite(blk.slope)
        if not bool(ok.any()):
            continue
        land = ok & (blk.instances > 0)
        counts = xr.Dataset({"ok": ok.astype(np.int64), "land": land.astype(np.int64)})
        by_bin = {"e": _sums_by_bin(counts, blk.elevation.where(ok), spec.elevation_bin_m),
                  "s": _sums_by_bin(counts, blk.slope.where(ok), spec.slope_bin_deg, upper=90.0)}
        levels = counts.groupby(blk.river_level.where(ok).rename("level")).sum()
        by_bin["r"] = {int(k): (int(o), int(la)) for k, o, la in
                       zip(levels["level"].values, levels["ok"].values, levels["land"].values)}
        for key, sums in by_bin.items():
            for k, (o, la) in sums.items():
                stores[f"{key}_cls"][k] += o * px
                if la:
                    stores[f"{key}_ls"][k] += la * px
        slope = blk.slope.where(land)
        in_20_50 += float(((slope >= 20) & (slope < 50)).sum()) * px
        total_ls += float(land.sum()) * px
        total += float(ok.sum()) * px
    return _finish(stores["e_cls"], stores["e_ls"], stores["s_cls"], stores["s_ls"], stores["r_cls"], stores["r_ls"],
                   in_20_50=in_20_50, total_ls=total_ls, total=total, spec=spec, what="the study areas")


def slope_share(tables: FactorTables) -> float:
    """Share of landslide area on 20–50° slopes (Yang et al. 2022 report 80.35 % for Ludian)."""
    return tables.share_20_50


def write_tables(tables: FactorTables, *, out_dir: Path) -> dict[str, Path]:
    """Write ``factor_density_{elevation,slope,river}.csv`` atomically; return their paths."""
    out: dict[str, Path] = {}
    for name in ("elevation", "slope", "river"):
        path = Path(out_dir) / f"factor_density_{name}.csv"
        with atomic_path(path, suffix=".csv") as tmp:
            getattr(tables, name)[COLUMNS].to_csv(tmp, index=False, float_format="%.6g")
        out[name] = path
    return out


def analyse_study(profile: Profile, *, root: Path = Path(".")) -> FactorTables:
    """Step 02: density tables over the aligned stack of the study (:func:`stack_density`), written to
    ``reports/<profile>/tables/``.

    Raises:
        FileNotFoundError: step 01 has not run (no aligned stack).
        ValueError: a chip dataset (no study area).
    """

    if profile.data.source == "chips":
        raise ValueError(f"{profile.source_path}: factor analysis needs a study area, and data.source is 'chips' "
                         "(chips are cut around landslides, so densities would measure their sampling); the runner "
                         "skips step 02 for chip datasets")
    paths = StudyPaths.of(profile, Path(root))
    with open_aligned(profile, root=root) as ds:
        tables = stack_density(ds, spec=profile.factors)
    write_tables(tables, out_dir=paths.tables)
    return tables
