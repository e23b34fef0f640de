"""Checks of the rasters of a study area (the post-event and second-date images, the DEM; Yang et al. 2022,
section 2.2): readable, georeferenced, plausible values, declared nodata, band order, a grid the others can be
aligned to. Each problem becomes a :class:`~landslide_utils.inputs.findings.Finding` naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import RasterioError
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping
from shapely.geometry import shape as to_shape

from landslide_utils.inputs.findings import Inspection, error_reason, utm_epsg

__all__ = ["ELEVATION_RANGE_M", "IMAGE_VALUE_LIMITS", "RE_EXPORT", "open_raster", "raster_box", "check_image", "band_colours", "check_other_raster", "check_infrared"]


#: elevations on Earth lie within this range (m; the Dead Sea shore is at -430 m, Everest at 8849 m)
ELEVATION_RANGE_M: tuple[float, float] = (-1000.0, 9000.0)


#: image values beyond these are fill values, not brightness or reflectance (-9999, -32768, 3.4e38 ...)
IMAGE_VALUE_LIMITS: tuple[float, float] = (-1000.0, 1e20)


RE_EXPORT = "re-export or re-download it (e.g. gdal_translate -of GTiff in.tif out.tif)"


def _nodata_hint(path: Path, value: float, nodata: float | None) -> str:
    shown = f"{value:g}"
    if nodata is None:
        return (f"if {shown} marks empty pixels (voids), declare it as nodata: gdal_edit.py -a_nodata {shown} {path}")
    return (f"its declared nodata is {nodata:g}, so {shown} counts as data; if it marks empty pixels too, turn them "
            f"into nodata (gdal_calc.py -A {path} --outfile fixed.tif --NoDataValue={nodata:g} "
            f"--calc=\"where(A=={shown},{nodata:g},A)\")")


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
                                    f"cannot be read ({error_reason(exc)}); {RE_EXPORT}")
            return None
        data = np.ma.masked_invalid(block.astype(np.float64, copy=False))
        valid = ~np.ma.getmaskarray(data)
        if valid.any():
            vals = data.compressed()
            lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
        n_valid += int(valid.all(axis=0).sum())
        n_zero += int((valid.all(axis=0) & np.all(data.filled(1.0) == 0, axis=0)).sum())
    return {"min": lo, "max": hi, "valid": n_valid, "zero": n_zero}


def open_raster(path: Path, insp: Inspection, kind: Literal["image", "dem"]) -> dict | None:
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


def raster_box(meta: dict, crs: CRS):  # noqa: ANN202 - shapely Polygon in ``crs``
    """The raster's footprint (densified bounds) in ``crs``."""
    b = meta["bounds"]
    poly = box(b.left, b.bottom, b.right, b.top)
    if meta["crs"] == crs:
        return poly
    poly = shapely.segmentize(poly, max(b.right - b.left, b.top - b.bottom) / 64.0)
    return to_shape(transform_geom(meta["crs"], crs, mapping(poly)))


def check_image(path: Path, insp: Inspection) -> None:
    meta = open_raster(path, insp, "image")
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


def check_other_raster(key: str, path: Path, insp: Inspection) -> None:
    meta = open_raster(path, insp, "dem" if key == "dem" else "image")
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
        foot = raster_box(meta, insp.image_crs)
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


def check_infrared(insp: Inspection, bands: dict[str, int]) -> None:
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
