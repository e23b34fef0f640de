"""Check the input files of a study area before anything is computed or written (step 01, docs/methods.md,
"Inputs of a study area").

The same checks serve the embedded synthetic area and the user's own GeoTIFFs and vector files.
:func:`check_inputs` opens every file of an :class:`InputPaths` and returns :class:`Finding` objects (errors,
warnings, notes) whose messages name the file and say what to do; errors raise :class:`InputError`.
:func:`inspect_inputs` is its engine: it also keeps what it read (the image grid, the DEM footprint, the vectors
in the image CRS) in an :class:`Inspection`, which :func:`landslide_utils.inputs.layers.align_layers` then aligns.

Checked are exactly the layers Yang et al. (2022) stack for landslide extraction (their section 2.2): the
post-event RGB image (and optionally the second-date image), the DEM from which slope is derived, the river
lines that give the distance-from-river level (their section 3.4), the landslide inventory and the train/test
areas (section 2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioError
from rasterio.transform import Affine
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping
from shapely.geometry import shape as to_shape

from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import infrared_bands
from landslide_utils.inputs.factor_rasters import unit_name
from landslide_utils.paths import safe_name

__all__ = [
    "InputPaths",
    "Finding",
    "InputError",
    "Inspection",
    "inspect_inputs",
    "inspect_options",
    "check_inputs",
]


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


#: elevations on Earth lie within this range (m; the Dead Sea shore is at -430 m, Everest at 8849 m)
ELEVATION_RANGE_M: tuple[float, float] = (-1000.0, 9000.0)
#: image values beyond these are fill values, not brightness or reflectance (-9999, -32768, 3.4e38 ...)
IMAGE_VALUE_LIMITS: tuple[float, float] = (-1000.0, 1e20)
_RE_EXPORT = "re-export or re-download it (e.g. gdal_translate -of GTiff in.tif out.tif)"


def _nodata_hint(path: Path, value: float, nodata: float | None) -> str:
    shown = f"{value:g}"
    if nodata is None:
        return (f"if {shown} marks empty pixels (voids), declare it as nodata: gdal_edit.py -a_nodata {shown} {path}")
    return (f"its declared nodata is {nodata:g}, so {shown} counts as data; if it marks empty pixels too, turn them "
            f"into nodata (gdal_calc.py -A {path} --outfile fixed.tif --NoDataValue={nodata:g} "
            f"--calc=\"where(A=={shown},{nodata:g},A)\")")


def error_reason(exc: BaseException) -> str:
    """The first line of an exception's message, or of its cause's when GDAL only points there."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "previous exception" in text and exc.__cause__ is not None:
        return error_reason(exc.__cause__)
    return text


def _scan(src: rasterio.DatasetReader, path: Path, bands: list[int], insp: Inspection) -> dict | None:
    """Read every block of ``bands`` (a file damaged anywhere is found here, not later) and gather what the
    plausibility checks need: the range of the valid values, the most extreme value, valid and all-zero pixels."""
    lo, hi = np.inf, -np.inf
    n_valid = n_zero = 0
    for _, win in src.block_windows(1):
        try:
            block = src.read(bands, window=win, masked=True)
        except (RasterioError, OSError, ValueError) as exc:
            insp.add("error", path, f"is damaged: its pixels in rows {win.row_off}-{win.row_off + win.height - 1} "
                                    f"cannot be read ({error_reason(exc)}); {_RE_EXPORT}")
            return None
        data = np.ma.masked_invalid(block.astype(np.float64, copy=False))
        valid = ~np.ma.getmaskarray(data)
        if valid.any():
            vals = data.compressed()
            lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
        n_valid += int(valid.all(axis=0).sum())
        n_zero += int((valid.all(axis=0) & np.all(data.filled(1.0) == 0, axis=0)).sum())
    return {"min": lo, "max": hi, "valid": n_valid, "zero": n_zero}


def _open_raster(path: Path, insp: Inspection, kind: Literal["image", "dem"]) -> dict | None:
    """Metadata of a raster after reading all of it, or None (with an error finding) when it cannot be used.

    Errors: not readable; named ``.tif`` but another format; no CRS; damaged blocks anywhere in the file; values
    that cannot be elevations (a DEM) or brightness (an image) because they are undeclared fill values; a DEM
    without any valid value or too small for a slope. Warnings: no declared nodata (stronger when a share of the
    image is 0 in every band, the usual fill), a constant DEM."""
    try:
        with rasterio.open(path) as src:
            meta = {
                "crs": src.crs, "transform": src.transform, "width": src.width, "height": src.height,
                "count": src.count, "dtype": src.dtypes[0], "nodata": src.nodata, "bounds": src.bounds,
                "colorinterp": list(src.colorinterp), "mask_flags": list(src.mask_flag_enums),
                "driver": src.driver, "descriptions": list(src.descriptions),
            }
            if meta["driver"] != "GTiff" and path.suffix.lower() in (".tif", ".tiff"):
                insp.add("error", path, f"is named {path.suffix} but is not a GeoTIFF: its content is a "
                                        f"{meta['driver']} file; convert it with georeferencing (gdal_translate "
                                        f"-of GTiff -a_srs EPSG:<code> -a_ullr <ulx> <uly> <lrx> <lry> {path} out.tif)")
                return None
            if meta["crs"] is None:
                what = "" if meta["driver"] == "GTiff" else f" (a {meta['driver']} file, not a GeoTIFF)"
                insp.add("error", path, f"has no CRS{what}; assign one with gdal_edit.py -a_srs EPSG:<code> {path}")
                return None
            if np.dtype(meta["dtype"]).kind == "c":
                insp.add("error", path, f"stores complex numbers ({meta['dtype']}), not "
                                        f"{'elevations' if kind == 'dem' else 'image brightness'}; convert it "
                                        "(e.g. gdal_translate -ot Float32) to real values")
                return None
            if kind == "dem" and meta["count"] != 1:
                insp.add("error", path, f"has {meta['count']} bands; a DEM has one band of elevations (is it the "
                                        "image?). Extract the elevation band: gdal_translate -b 1 in.tif dem.tif")
                return None
            bands = [1] if kind == "dem" else [i for i, ci in enumerate(meta["colorinterp"], start=1)
                                               if ci != ColorInterp.alpha] or [1]
            stats = _scan(src, path, bands, insp)
    except (RasterioError, OSError, ValueError) as exc:
        insp.add("error", path, f"cannot be read as a GeoTIFF ({error_reason(exc)}); the file is corrupt or "
                                "not a raster; re-export it (e.g. gdal_translate -of GTiff in.tif out.tif)")
        return None
    if stats is None:
        return None
    masked = any({"alpha", "per_dataset", "nodata"} & {f.name for f in flags} for flags in meta["mask_flags"])
    declared = meta["nodata"] is not None or masked
    nodata = meta["nodata"]
    if kind == "dem":
        lo_ok, hi_ok = ELEVATION_RANGE_M
        if meta["width"] < 3 or meta["height"] < 3:
            insp.add("error", path, f"is {meta['width']} x {meta['height']} pixels; the slope (Horn's 3 x 3 "
                                    "window) needs a DEM of at least 3 x 3 pixels covering the image")
            return None
        if stats["valid"] == 0:
            insp.add("error", path, "has no valid elevation: every pixel is nodata or NaN; supply a DEM with values "
                                    "over the image")
            return None
        bad = [v for v in (stats["min"], stats["max"]) if not lo_ok <= v <= hi_ok]
        if bad:
            insp.add("error", path, f"holds values that are not elevations in metres (e.g. {bad[0]:g}; elevations "
                                    f"lie between {lo_ok:g} and {hi_ok:g} m); {_nodata_hint(path, bad[0], nodata)}. "
                                    "A DEM in feet must be converted to metres")
            return None
        if stats["min"] == stats["max"]:
            insp.add("warning", path, f"is constant ({stats['min']:g} m everywhere): the slope is 0 everywhere and "
                                      "the terrain factors carry no information; check that it is the right file")
    else:
        lo_ok, hi_ok = IMAGE_VALUE_LIMITS
        if stats["valid"] == 0:
            insp.add("error", path, "has no valid pixel: every pixel is nodata, masked or NaN; check its nodata "
                                    "value and alpha band")
            return None
        bad = [v for v in (stats["min"], stats["max"]) if not lo_ok < v < hi_ok]
        if bad:
            insp.add("error", path, f"holds values that are no image brightness (e.g. {bad[0]:g}), the usual mark "
                                    f"of empty pixels; {_nodata_hint(path, bad[0], nodata)}")
            return None
    if not declared and np.dtype(meta["dtype"]).kind != "f":
        level = "info" if insp.source == "synthetic" else "warning"  # the synthetic area has no empty pixels
        share = stats["zero"] / max(meta["width"] * meta["height"], 1)
        if kind == "image" and share >= 0.01:
            insp.add(level, path, f"has no nodata value, alpha band or mask, but {100 * share:.1f} % of its pixels "
                                  "are 0 in every band (the usual fill outside a scene); they are treated as valid "
                                  f"dark ground. If they are empty, declare it: gdal_edit.py -a_nodata 0 {path}")
        else:
            insp.add(level, path, "has no nodata value, alpha band or mask; every pixel is treated as valid. If some "
                                  f"pixels are empty, declare their value with gdal_edit.py -a_nodata <value> {path}")
    return meta


def _raster_box(meta: dict, crs: CRS):  # noqa: ANN202 - shapely Polygon in ``crs``
    """The raster's footprint (densified bounds) in ``crs``."""
    b = meta["bounds"]
    poly = box(b.left, b.bottom, b.right, b.top)
    if meta["crs"] == crs:
        return poly
    poly = shapely.segmentize(poly, max(b.right - b.left, b.top - b.bottom) / 64.0)
    return to_shape(transform_geom(meta["crs"], crs, mapping(poly)))


def _check_image(path: Path, insp: Inspection) -> None:
    meta = _open_raster(path, insp, "image")
    if meta is None:
        return
    crs, tr = meta["crs"], meta["transform"]
    if crs.is_geographic:
        b = meta["bounds"]
        epsg = utm_epsg((b.left + b.right) / 2, (b.bottom + b.top) / 2)
        insp.add("error", path, f"is in a geographic CRS ({crs.to_string()}); the image defines the grid and must be "
                                f"in a projected CRS in metres. Reproject it, e.g. gdalwarp -t_srs EPSG:{epsg} "
                                f"-r bilinear {path} image_utm.tif (EPSG:{epsg} = the UTM zone of its centre)")
        return
    if tr.b != 0 or tr.d != 0:
        insp.add("error", path, "has a rotated geotransform; warp it to a north-up grid (gdalwarp -t_srs <its CRS>)")
        return
    bands = tuple(i for i, ci in enumerate(meta["colorinterp"], start=1) if ci != ColorInterp.alpha)
    if len(bands) < 3:
        insp.add("error", path, f"has {len(bands)} image band(s); an image with at least 3 bands (red, green, blue "
                                "first) is needed")
        return
    problem = _band_order_problem(meta, bands, path)
    if problem:
        insp.add("error", path, problem)
        return
    insp.image_path, insp.image_crs, insp.image_transform = path, crs, tr
    insp.width, insp.height, insp.image_bands = meta["width"], meta["height"], bands
    insp.image_dtype = str(meta["dtype"])
    insp.image_band_names = tuple(meta["descriptions"][i - 1] for i in bands)


_COLOUR_NAMES = {ColorInterp.red: "red", ColorInterp.green: "green", ColorInterp.blue: "blue"}


def band_colours(meta: dict, bands: tuple[int, ...]) -> list[str | None]:
    """The colour each band says it holds: its colour interpretation (red, green, blue), else a description that
    is exactly a colour's name; None where neither says."""
    out: list[str | None] = []
    for i in bands:
        name = _COLOUR_NAMES.get(meta["colorinterp"][i - 1])
        desc = (meta["descriptions"][i - 1] or "").strip().lower()
        out.append(name or (desc if desc in ("red", "green", "blue") else None))
    return out


def _band_order_problem(meta: dict, bands: tuple[int, ...], path: Path) -> str | None:
    """Why the image's bands cannot be read as red, green, blue first: its band labels (colour interpretation or
    descriptions) place red, green and blue elsewhere; None when they agree or say nothing."""
    colours = band_colours(meta, bands)
    where = {c: bands[k] for k, c in enumerate(colours) if c is not None}
    if set(where) != {"red", "green", "blue"} or colours[:3] == ["red", "green", "blue"]:
        return None
    first = ", ".join(c or "unlabelled" for c in colours[:3])
    order = " ".join(f"-b {where[c]}" for c in ("red", "green", "blue"))
    return (f"its bands 1-3 are labelled {first} (colour interpretation or band descriptions), but the study reads "
            f"bands 1-3 as red, green, blue; write the bands in that order, e.g. gdal_translate {order} "
            f"{path} image_rgb.tif")


def _check_other_raster(key: str, path: Path, insp: Inspection) -> None:
    meta = _open_raster(path, insp, "dem" if key == "dem" else "image")
    if meta is None or insp.image_crs is None:
        return
    if key == "image_t2":
        bands = [ci for ci in meta["colorinterp"] if ci != ColorInterp.alpha]
        if len(bands) < 3:
            insp.add("error", path, f"has {len(bands)} image band(s); the second-date image needs at least 3 bands "
                                    "(red, green, blue first), like the post-event image")
            return
        names = [meta["descriptions"][i] for i, ci in enumerate(meta["colorinterp"]) if ci != ColorInterp.alpha]
        same_rgb = all(names[:3]) and tuple(names[:3]) == tuple(insp.image_band_names[:3])
        if len(bands) != len(insp.image_bands) and same_rgb:
            insp.add("info", path, f"has {len(bands)} image bands, the post-event image {insp.image_path} "
                                   f"{len(insp.image_bands)}; both start with the bands {', '.join(names[:3])} "
                                   "(their descriptions), which the models read")
        elif len(bands) != len(insp.image_bands):
            insp.add("warning", path, f"has {len(bands)} image bands, the post-event image {insp.image_path} "
                                      f"{len(insp.image_bands)}; the models read the first three of each (red, "
                                      "green, blue), so check that both start with the same bands")
        if str(meta["dtype"]) != insp.image_dtype:
            insp.add("warning", path, f"stores {meta['dtype']} values, the post-event image {insp.image_dtype}; the "
                                      "models normalise both with the post-event image's statistics, so give both "
                                      "the same value range (e.g. gdal_translate -ot Byte -scale)")
    try:
        foot = _raster_box(meta, insp.image_crs)
    except Exception as exc:  # noqa: BLE001 - PROJ errors come in several types
        insp.add("error", path, f"cannot be transformed to the image CRS ({exc}); check its CRS")
        return
    if not foot.intersects(insp.image_box) or foot.intersection(insp.image_box).area <= 0:
        ib = tuple(round(v, 2) for v in insp.image_box.bounds)
        fb = tuple(round(v, 2) for v in foot.bounds)
        insp.add("error", path, f"does not overlap the image {insp.image_path} (its bounds {fb} vs the image's {ib} in "
                                f"{insp.image_crs.to_string()}); check that both cover the same area and that their "
                                "CRSs are right")
        return
    if key == "dem":
        insp.dem_path, insp.dem_footprint = path, foot
        if meta["crs"].is_geographic:
            insp.add("info", path, f"is in a geographic CRS ({meta['crs'].to_string()}); it is reprojected to the "
                                   "image CRS before the slope is computed")
    else:
        insp.image_t2_path, insp.image_t2_footprint = path, foot


def _feature(gdf: gpd.GeoDataFrame, i: int) -> str:
    ident = f"feature {i + 1}"
    for col in ("landslide_id", "id", "name"):
        if col in gdf.columns:
            return f"{ident} ({col} {gdf[col].iloc[i]})"
    return ident


def _list(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def _layers(path: Path) -> list[str]:
    """The layer names of a vector file (one for GeoJSON; a GeoPackage may hold several)."""
    import pyogrio

    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - read_file reports an unreadable file
        return []


def _read_vector(path: Path, insp: Inspection, kinds: tuple[str, ...], what: str) -> gpd.GeoDataFrame | None:
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
                                f"{_list([_feature(gdf, i) for i in missing])}; delete them or draw their geometry")
        return None
    wrong = sorted(set(gdf.geom_type) - set(kinds))
    if wrong:
        insp.add("error", path, f"holds {', '.join(wrong)} geometries; {what} must be {' or '.join(kinds)}")
        return None
    bad = [f"{_feature(gdf, i)}: {shapely.is_valid_reason(g)}" for i, g in enumerate(gdf.geometry) if not g.is_valid]
    if bad:
        insp.add("error", path, f"invalid {what}: {_list(bad)}. Repair them with shapely make_valid or QGIS "
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


def _areas_from_file(path: Path, insp: Inspection) -> gpd.GeoDataFrame | None:
    gdf = _read_vector(path, insp, ("Polygon", "MultiPolygon"), "areas")
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


def _check_areas(paths: InputPaths, insp: Inspection, profile_areas) -> None:  # noqa: ANN001
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
        areas = _areas_from_file(paths.areas, insp)
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


def _rivers_near(path: Path, insp: Inspection, reach_m: float | None) -> None:
    """Warn when no river line comes within the outermost distance ring of the image."""
    if reach_m is None:
        return
    gap = float(insp.rivers.distance(insp.image_box).min())
    if gap > reach_m:
        insp.add("warning", path, f"its nearest river line is {gap / 1000:.1f} km from the image, beyond the "
                                  f"outermost distance ring ({reach_m:g} m): every pixel gets the farthest river "
                                  "level. Check the file's CRS and that the rivers are those of this area")


def _faults_near(path: Path, insp: Inspection) -> None:
    """Warn when no fault line comes within the image's own diagonal of it (another CRS, another area?)."""
    gap = float(insp.faults.distance(insp.image_box).min())
    b = insp.image_box.bounds
    diag = float(np.hypot(b[2] - b[0], b[3] - b[1]))
    if gap > diag:
        insp.add("warning", path, f"its nearest fault line is {gap / 1000:.1f} km from the image, farther than the "
                                  "image is wide: every fault distance is large and nearly alike. Check the file's "
                                  "CRS and that the faults are those of this area")


def _check_infrared(insp: Inspection, bands: dict[str, int]) -> None:
    """``factors.nir_band`` / ``swir_band`` must name an image band beyond red, green and blue."""
    for key, band in bands.items():
        if band <= 3:
            insp.add("error", insp.image_path, f"key 'factors.{key}': band {band} is one of the first three bands, "
                                               "which the study reads as red, green and blue; name the infrared "
                                               "band (4 or higher)")
        elif band not in insp.image_bands:
            insp.add("error", insp.image_path, f"key 'factors.{key}': the image has no band {band} (its bands: "
                                               f"{', '.join(map(str, insp.image_bands))}, alpha left out); name "
                                               "the band that holds it, or remove the key")


def _check_lithology(path: Path, insp: Inspection, column: str, units: tuple[str, ...] | None) -> None:
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


def inspect_inputs(paths: InputPaths, *, profile_areas=None, tile_size: int | None = None,  # noqa: ANN001
                   river_reach_m: float | None = None, infrared: dict[str, int] | None = None,
                   lithology_column: str = "lithology", lithology_units: tuple[str, ...] | None = None) -> Inspection:
    """Run every input check and keep what was read (the engine of :func:`check_inputs`); writes nothing.

    ``tile_size`` (the profile's ``tiling.tile_size``) adds the checks of the tile size against the image and the
    areas; ``river_reach_m`` (the outermost ring edge of ``factors.river_ring_edges_m``) the check that some river
    line comes that close to the image; ``infrared`` (``{"nir_band": 4, ...}``) the check that the image has
    those bands; ``lithology_column`` / ``lithology_units`` the checks of the lithology polygons' units."""
    insp = Inspection(source=paths.source, tile_size=tile_size)
    present = {}
    for key, path in paths.items():
        if Path(path).is_dir():
            insp.add("error", path, f"is a folder, not a file ({key}); data.files.{key} must name a file")
            continue
        if Path(path).exists():
            present[key] = Path(path)
            continue
        hint = ("delete the inputs folder and rerun step 01 to regenerate the synthetic area"
                if paths.source == "synthetic" else f"check data.files.{key} in the profile (relative paths are "
                                                    "resolved against the profile's folder)")
        insp.add("error", path, f"file not found ({key}); {hint}")
    if "image_t1" in present:
        _check_image(present["image_t1"], insp)
    for key in ("image_t2", "dem"):
        if key in present:
            _check_other_raster(key, present[key], insp)
    if "rivers" in present:
        rivers = _read_vector(present["rivers"], insp, ("LineString", "MultiLineString"), "river lines")
        if rivers is not None and len(rivers) == 0:
            insp.add("warning", present["rivers"], "has no river lines; every pixel gets the farthest river level")
        insp.rivers = rivers
    if "faults" in present:
        insp.faults = _read_vector(present["faults"], insp, ("LineString", "MultiLineString"), "fault lines")
        if insp.faults is not None and len(insp.faults) == 0:
            insp.add("error", present["faults"], "has no fault lines; give the faults of the area, or leave "
                                                 "data.files.faults out (no fault_distance channel then)")
    if "lithology" in present:
        insp.lithology = _read_vector(present["lithology"], insp, ("Polygon", "MultiPolygon"), "lithology polygons")
        if insp.lithology is not None and len(insp.lithology) == 0:
            insp.add("error", present["lithology"], "has no polygons; give the lithology map, or leave "
                                                    "data.files.lithology out (no lithology channel then)")
        elif insp.lithology is not None:
            _check_lithology(present["lithology"], insp, lithology_column, lithology_units)
        insp.lithology_path = present["lithology"]
    if infrared and insp.image_crs is not None:
        _check_infrared(insp, infrared)
    if "inventory" in present:
        path = present["inventory"]
        inv = _read_vector(path, insp, ("Polygon", "MultiPolygon"), "landslide polygons")
        if inv is not None and len(inv) == 0:
            insp.add("error", path, "the inventory has no polygons; give one polygon per landslide")
        elif inv is not None and not inv.intersects(insp.image_box).any():
            insp.add("error", path, f"none of its {len(inv)} polygons overlaps the image {insp.image_path}; "
                                    "check the inventory's CRS")
        elif inv is not None and insp.image_box is not None:
            share = inv.geometry.union_all().intersection(insp.image_box).area / insp.image_box.area
            if share >= INVENTORY_MAX_SHARE:
                insp.add("error", path, f"its polygons cover {100 * share:.0f} % of the image {insp.image_path}; "
                                        "landslides cover a small share of a scene: is it the areas file (or "
                                        "another polygon layer)? Give one polygon per landslide in "
                                        "data.files.inventory")
        insp.inventory, insp.inventory_path = inv, path
    if insp.image_crs is not None and tile_size and tile_size > max(insp.width, insp.height):
        insp.add("error", None, f"key 'tiling.tile_size': a tile of {tile_size} pixels is larger than the whole image "
                                f"{insp.image_path} ({insp.width} x {insp.height} pixels); choose a tile size of at "
                                f"most {min(insp.width, insp.height)}")
        tile_size = insp.tile_size = None
    if insp.rivers is not None and len(insp.rivers) and insp.image_box is not None:
        _rivers_near(present["rivers"], insp, river_reach_m)
    if insp.faults is not None and len(insp.faults) and insp.image_box is not None:
        _faults_near(present["faults"], insp)
    if insp.inventory is not None and len(insp.inventory):
        wkb = insp.inventory.geometry.normalize().to_wkb()
        n_dup = int(pd.Series(wkb).duplicated().sum())
        if n_dup:
            insp.add("warning", insp.inventory_path, f"{n_dup} polygon(s) repeat another polygon exactly (the "
                                                     "inventory given twice?); each landslide counts once, the "
                                                     "repeats are hidden. Delete the repeats")
    if insp.image_crs is not None and ("areas" in present or paths.areas is None):
        _check_areas(paths, insp, profile_areas)
    return insp


def inspect_options(profile: Profile | None) -> dict:
    """The keyword arguments of :func:`inspect_inputs` that come from a profile (areas, tile size, river rings)."""
    if profile is None:
        return {}

    nir, swir = infrared_bands(profile)
    infrared = {k: v for k, v in (("nir_band", nir), ("swir_band", swir)) if v is not None}
    return {"profile_areas": profile.areas, "tile_size": profile.tiling.tile_size,
            "river_reach_m": float(profile.factors.river_ring_edges_m[-1]), "infrared": infrared,
            "lithology_column": profile.factors.lithology_column, "lithology_units": profile.factors.lithology_units}


def check_inputs(paths: InputPaths, *, profile: Profile | None = None, raise_errors: bool = True) -> list[Finding]:
    """Check every input file before anything is computed or written.

    Checks: files exist and open (a corrupt GeoTIFF: "re-export it"); rasters and vectors have a CRS; the
    image has >= 3 bands and a projected, north-up grid; nodata is known (else a warning: no pixel is treated
    as nodata); the DEM and the second image overlap the image; the DEM covers every area; rivers are lines;
    the inventory has valid polygons on the image; the areas have a ``split`` of train/test with at least one
    of each, lie on the image and train and test do not overlap. Vectors in another CRS are reprojected.

    Args:
        paths: from :func:`landslide_utils.inputs.layers.load_inputs`.
        profile: gives the area bounds (``areas``) when the profile has them, and the river settings.
        raise_errors: raise :class:`InputError` when any finding is an error (else only return them).

    Returns:
        The findings (warnings and notes; errors too when ``raise_errors`` is False).
    """
    insp = inspect_inputs(paths, **inspect_options(profile))
    if raise_errors:
        insp.raise_if_errors()
    return list(insp.findings)
