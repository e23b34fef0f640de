"""Checks of the vector layers of a study area (Yang et al. 2022, section 2.2: the landslide inventory, the
train/test areas, the river lines; Gao et al. 2021: faults and lithology): readable, of the right geometry,
in reach of the image, areas inside it and not overlapping.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import box

from landslide_utils.inputs.factor_rasters import unit_name
from landslide_utils.inputs.findings import InputPaths, Inspection, listed
from landslide_utils.paths import safe_name

__all__ = ["read_vector", "areas_from_file", "check_areas", "rivers_near", "faults_near", "check_lithology"]


def _feature(gdf: gpd.GeoDataFrame, i: int) -> str:
    ident = f"feature {i + 1}"
    for col in ("landslide_id", "id", "name"):
        if col in gdf.columns:
            return f"{ident} ({col} {gdf[col].iloc[i]})"
    return ident


def _layers(path: Path) -> list[str]:
    """The layer names of a vector file (one for GeoJSON; a GeoPackage may hold several)."""

    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - read_file reports an unreadable file
        return []


def read_vector(path: Path, insp: Inspection, kinds: tuple[str, ...], what: str) -> gpd.GeoDataFrame | None:
    """Read a vector file and check CRS, geometry kind and validity; returns it in the image CRS."""
    try:
        layers = _layers(path)
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio/fiona raise many types
        insp.add("error", path, f"cannot be read as a vector file ({str(exc).splitlines()[0]}); re-export it as "
                                "GeoPackage or GeoJSON")
        return None
    if len(layers) > 1:
        insp.add("warning", path, f"has {len(layers)} layers ({', '.join(layers[:5])}); only the first, "
                                  f"'{layers[0]}', is read as the {what}. Save the layer you mean as a file of its own")
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        insp.add("error", path, f"has no geometry column (a plain table?); the {what} must be a vector file "
                                "(GeoPackage, GeoJSON, Shapefile) with a CRS")
        return None
    if gdf.crs is None:
        insp.add("error", path, "has no CRS; define it (QGIS: Layer > Set Layer CRS; geopandas: "
                                "gdf.set_crs('EPSG:<code>')) and save it again")
        return None
    missing = [i for i, g in enumerate(gdf.geometry) if g is None or g.is_empty]
    if missing:
        insp.add("error", path, f"{len(missing)} {what} without geometry: "
                                f"{listed([_feature(gdf, i) for i in missing])}; delete them or draw their geometry")
        return None
    wrong = sorted(set(gdf.geom_type) - set(kinds))
    if wrong:
        insp.add("error", path, f"holds {', '.join(wrong)} geometries; {what} must be {' or '.join(kinds)}")
        return None
    bad = [f"{_feature(gdf, i)}: {shapely.is_valid_reason(g)}" for i, g in enumerate(gdf.geometry) if not g.is_valid]
    if bad:
        insp.add("error", path, f"invalid {what}: {listed(bad)}. Repair them with shapely make_valid or QGIS "
                                "Fix geometries")
        return None
    if insp.image_crs is None:
        return None
    if gdf.crs != insp.image_crs:
        try:
            src_crs = gdf.crs.to_string()
            gdf = gdf.to_crs(insp.image_crs)
        except Exception as exc:  # noqa: BLE001
            insp.add("error", path, f"cannot be reprojected to the image CRS ({exc}); check its CRS")
            return None
        insp.add("info", path, f"reprojected from {src_crs} to the image CRS {insp.image_crs.to_string()}")
    return gdf.reset_index(drop=True)


def areas_from_file(path: Path, insp: Inspection) -> gpd.GeoDataFrame | None:
    gdf = read_vector(path, insp, ("Polygon", "MultiPolygon"), "areas")
    if gdf is None:
        return None
    if "split" not in gdf.columns:
        insp.add("error", path, "has no 'split' column; add one with the value train or test for each polygon")
        return None
    split = gdf["split"].astype(str).str.strip().str.lower()
    bad = sorted(set(split) - {"train", "test"})
    if bad:
        insp.add("error", path, f"column 'split' holds {bad}; each area must be 'train' or 'test'")
        return None
    default = pd.Series([f"area_{i + 1}" for i in range(len(gdf))])
    names = gdf["name"].astype("string").fillna(default) if "name" in gdf.columns else default
    return gpd.GeoDataFrame({"name": names.astype(str).to_numpy(), "split": split.to_numpy()},
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


def check_areas(paths: InputPaths, insp: Inspection, profile_areas) -> None:  # noqa: ANN001
    if profile_areas:
        src = "the profile's 'areas'"
        if insp.image_crs is None:
            return
        areas = gpd.GeoDataFrame({"name": [a.name for a in profile_areas], "split": [a.split for a in profile_areas]},
                                 geometry=[box(*a.bounds) for a in profile_areas], crs=insp.image_crs)
    elif paths.areas is None:
        insp.add("error", None, "no train/test areas: give 'areas' (bounds in the image CRS) in the profile or "
                                "data.files.areas (a polygon file with a 'split' column of train/test)")
        return
    else:
        src = str(paths.areas)
        areas = areas_from_file(paths.areas, insp)
        if areas is None:
            return
    insp.areas_source = src
    dup = sorted(set(areas["name"][areas["name"].duplicated()]))
    if dup:
        insp.add("error", src, f"area names {dup} occur more than once; names must be unique")

    safe = pd.Series([safe_name(n) for n in areas["name"]])
    clash = sorted(set(areas["name"][safe.duplicated(keep=False).to_numpy()]) - set(dup))
    if clash:
        insp.add("error", src, f"area names {clash} become the same file name once characters other than letters, "
                               "digits, '_', '-' and '.' are replaced by '_'; rename them")
    for s in ("train", "test"):
        if s not in set(areas["split"]):
            insp.add("error", src, f"there is no '{s}' area; mark at least one polygon with split = {s} "
                                   "(the study needs train and test areas)")
    image = insp.image_box
    px = abs(insp.image_transform.a * insp.image_transform.e)
    for name, geom in zip(areas["name"], areas.geometry):
        on_image = geom.intersection(image).area
        if on_image <= 0:
            insp.add("error", src, f"area '{name}' does not overlap the image {insp.image_path}; check its "
                                   "coordinates and CRS")
            continue
        if geom.area - on_image > px:
            insp.add("warning", src, f"{100 * (1 - on_image / geom.area):.1f} % of area '{name}' lies outside the "
                                     "image; that part is left out")
        if insp.dem_footprint is not None:
            part = geom.intersection(image)
            outside = part.difference(insp.dem_footprint).area / part.area
            if outside > 0.01:
                insp.add("error", insp.dem_path, f"does not cover area '{name}' ({100 * outside:.1f} % of it lies "
                                                 "outside the DEM); supply a DEM that covers every area")
        if insp.image_t2_footprint is not None:
            part = geom.intersection(image)
            outside = part.difference(insp.image_t2_footprint).area / part.area
            if outside > 0.01:
                insp.add("error", insp.image_t2_path, f"does not cover area '{name}' ({100 * outside:.1f} % of it "
                                                      "lies outside); the multi-temporal test needs the second-date "
                                                      "image over every area: supply one that covers them, or "
                                                      "leave data.files.image_t2 out")
        if insp.tile_size:
            _padding_check(name, geom.intersection(image), insp)
    train, test = areas[areas["split"] == "train"], areas[areas["split"] == "test"]
    for a, ga in zip(train["name"], train.geometry):
        for b, gb in zip(test["name"], test.geometry):
            overlap = ga.intersection(gb).area
            if overlap > px:
                insp.add("error", src, f"train area '{a}' overlaps test area '{b}' ({overlap:.0f} m²); train and "
                                       "test areas must be disjoint for a fair test")
    insp.areas = areas


def _padding_check(name: str, geom, insp: Inspection) -> None:  # noqa: ANN001 - a shapely geometry
    """Warn when the tiles of an area would be mostly padding (an area smaller than the tile size)."""
    px = abs(insp.image_transform.a)
    ts = insp.tile_size
    x0, y0, x1, y1 = geom.bounds
    w, h = max(1, round((x1 - x0) / px)), max(1, round((y1 - y0) / abs(insp.image_transform.e)))
    n = math.ceil(w / ts) * math.ceil(h / ts)
    share = 1.0 - (geom.area / abs(insp.image_transform.a * insp.image_transform.e)) / (n * ts * ts)
    if share > 0.5:
        insp.add("warning", insp.areas_source, f"area '{name}' spans {w} x {h} pixels, so its {n} tile(s) of "
                                               f"{ts} x {ts} pixels are {100 * share:.0f} % padding (pixels no "
                                               "model learns from); choose a tiling.tile_size of at most "
                                               f"{max(16, min(w, h))} or a larger area")


def rivers_near(path: Path, insp: Inspection, reach_m: float | None) -> None:
    """Warn when no river line comes within the outermost distance ring of the image."""
    if reach_m is None:
        return
    gap = float(insp.rivers.distance(insp.image_box).min())
    if gap > reach_m:
        insp.add("warning", path, f"its nearest river line is {gap / 1000:.1f} km from the image, beyond the "
                                  f"outermost distance ring ({reach_m:g} m): every pixel gets the farthest river "
                                  "level. Check the file's CRS and that the rivers are those of this area")


def faults_near(path: Path, insp: Inspection) -> None:
    """Warn when no fault line comes within the image's own diagonal of it (another CRS, another area?)."""
    gap = float(insp.faults.distance(insp.image_box).min())
    b = insp.image_box.bounds
    diag = float(np.hypot(b[2] - b[0], b[3] - b[1]))
    if gap > diag:
        insp.add("warning", path, f"its nearest fault line is {gap / 1000:.1f} km from the image, farther than the "
                                  "image is wide: every fault distance is large and nearly alike. Check the file's "
                                  "CRS and that the faults are those of this area")


def check_lithology(path: Path, insp: Inspection, column: str, units: tuple[str, ...] | None) -> None:
    """The lithology polygons carry ``factors.lithology_column`` with values among ``factors.lithology_units``."""

    if column not in insp.lithology.columns:
        cols = [str(c) for c in insp.lithology.columns if c != insp.lithology.geometry.name]
        insp.add("error", path, f"has no column {column!r} (key 'factors.lithology_column'); its columns: "
                                f"{', '.join(cols) or 'none'}")
        return
    if units:
        found = {unit_name(v) for v in insp.lithology[column].dropna()}
        unknown = sorted(found - set(units))
        if unknown:
            insp.add("error", path, f"column {column!r} holds units not in key 'factors.lithology_units': "
                                    f"{', '.join(map(repr, unknown[:10]))}; add them there or correct the file")
