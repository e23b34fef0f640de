"""A post-event scene, its DEM and its rivers, read window by window on the scene's grid (any size).

The factor channels are computed per window exactly as step 01 computes them for the whole image
(docs/methods.md, "Data preparation"; Yang et al. 2022, sections 2.2 and 3.4), so a window gives the values the
scene-wide layers hold there:

* :class:`DemSource` -- the DEM on its work grid (its own when projected and north-up, read by windows; else
  warped once to the image CRS and held in memory, DEM-sized -- a DEM is usually far coarser than the image),
  read for a window plus a margin of :data:`DEM_MARGIN` DEM pixels (clipped at the DEM's own edges, where
  the slope is extrapolated as for the whole DEM); slope by Horn's method on that grid; both resampled
  bilinearly onto the window of the image grid (rioxarray, :func:`landslide_utils.inputs.grids.resample`).
* the river levels -- :class:`landslide_utils.inputs.terrain.RiverRings`: the lines' ring buffers rasterised on the
  window (level of a pixel = the ring holding its centre; local and exact, no scene-wide distance transform).
* :class:`SceneImage` -- the image bands (alpha excluded) and the valid-pixel mask (nodata, alpha and non-finite
  values are invalid; so are pixels without elevation or slope when factors are used).

:func:`open_scene` checks the files first and raises :class:`landslide_utils.inputs.findings.InputError` naming each file
and what to do: a missing or unreadable file, no CRS, a geographic or rotated image grid, fewer than three image
bands, a CRS pair that cannot be transformed, a DEM that does not cover the image, rivers without lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.transform import Affine, array_bounds
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window

from landslide_utils.inputs.factor_rasters import aspect_classes, curvature
from landslide_utils.inputs.findings import Finding, InputError, error_reason, utm_epsg
from landslide_utils.inputs.grids import resample
from landslide_utils.inputs.terrain import RiverRings, linear_unit_m, slope_degrees

__all__ = ["DemSource", "SceneImage", "Scene", "open_scene", "DEM_MARGIN"]

#: DEM pixels read beyond a window on each side (Horn's 3 x 3 window and the bilinear resampling need 2)
DEM_MARGIN = 3


class DemSource:
    """A DEM read by windows on its work grid (step 01's grid for slope), resampled onto any image-grid window.

    Args:
        path: the DEM GeoTIFF (one band, metres).
        image_crs: the image's CRS (the work grid's CRS when the DEM must be warped).
    """

    def __init__(self, path: str | Path, *, image_crs: CRS) -> None:
        self.path = Path(path)
        self.src = rasterio.open(self.path)
        src = self.src
        rotated = src.transform.b != 0 or src.transform.d != 0
        self.warp = bool(src.crs.is_geographic or rotated)
        if self.warp:
            self.crs = CRS.from_user_input(image_crs)
            self.transform, self.width, self.height = calculate_default_transform(
                src.crs, self.crs, src.width, src.height, *src.bounds)
        else:
            self.crs, self.transform, self.width, self.height = src.crs, src.transform, src.width, src.height
        unit = linear_unit_m(self.crs)
        self.xres, self.yres = abs(self.transform.a) * unit, abs(self.transform.e) * unit
        self._warped: np.ndarray | None = None
        if self.warp:  # warped once, whole: GDAL's resampling of a window would differ in the last digits
            dem = src.read(1, masked=True).astype(np.float64).filled(np.nan)
            dem[~np.isfinite(dem)] = np.nan
            self._warped = resample(dem.astype(np.float32), src_transform=src.transform, src_crs=src.crs,
                                    transform=self.transform, shape=(self.height, self.width), crs=self.crs,
                                    resampling=Resampling.bilinear, nodata=np.nan)

    def close(self) -> None:
        self.src.close()

    def __enter__(self) -> "DemSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work_window(self, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
        """Rows r0:r1, cols c0:c1 of the work grid covering ``bounds`` (work CRS) plus the margin, clipped."""
        inv = ~self.transform
        xs, ys = (bounds[0], bounds[2], bounds[0], bounds[2]), (bounds[1], bounds[1], bounds[3], bounds[3])
        cols, rows = zip(*(inv @ (x, y) for x, y in zip(xs, ys)))
        c0 = max(int(math.floor(min(cols))) - DEM_MARGIN, 0)
        c1 = min(int(math.ceil(max(cols))) + DEM_MARGIN, self.width)
        r0 = max(int(math.floor(min(rows))) - DEM_MARGIN, 0)
        r1 = min(int(math.ceil(max(rows))) + DEM_MARGIN, self.height)
        if r0 >= r1 or c0 >= c1:
            return None
        return r0, r1, c0, c1

    def _read_work(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """float64 elevations of work-grid rows r0:r1, cols c0:c1 (NaN = no value)."""
        if not self.warp:
            band = self.src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
            dem = band.astype(np.float64).filled(np.nan)  # integer DEMs (SRTM int16, nodata -32768) too
        else:
            dem = self._warped[r0:r1, c0:c1].astype(np.float64)
        dem[~np.isfinite(dem)] = np.nan
        return dem

    def _work_for(self, *, transform: Affine, shape: tuple[int, int], crs: CRS,
                  min_size: int) -> tuple[np.ndarray, Affine] | None:
        """The DEM work window (with its margin) under an image-grid window, and its transform; None when the
        DEM does not reach the window or gives it fewer than ``min_size`` pixels a side."""
        bounds = array_bounds(shape[0], shape[1], transform)  # (west, south, east, north)
        if CRS.from_user_input(crs) != self.crs:
            bounds = transform_bounds(crs, self.crs, *bounds, densify_pts=21)
        win = self._work_window(bounds)
        if win is None:
            return None
        r0, r1, c0, c1 = win
        work = self._read_work(r0, r1, c0, c1)
        if min(work.shape) < min_size:
            return None
        return work, self.transform @ Affine.translation(c0, r0)

    def on_grid(self, *, transform: Affine, shape: tuple[int, int], crs: CRS) -> tuple[np.ndarray, np.ndarray]:
        """``(dem, slope)`` float32 on the image-grid window ``transform`` / ``shape`` (NaN = no value)."""
        found = self._work_for(transform=transform, shape=shape, crs=crs, min_size=2)
        if found is None:
            return np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
        work, wt = found
        work_slope = slope_degrees(work, xres=self.xres, yres=self.yres)
        dem, slope = (resample(arr.astype(np.float32), src_transform=wt, src_crs=self.crs, transform=transform,
                               shape=shape, crs=crs, resampling=Resampling.bilinear, nodata=np.nan)
                      for arr in (work, work_slope))
        return dem, slope

    def terrain_on_grid(self, *, transform: Affine, shape: tuple[int, int], crs: CRS,
                        flat_slope_deg: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """``(aspect class uint8 0..8 / 255 = none, curvature float32 1/100 m)`` on an image-grid window: both
        computed on the DEM's work grid like the slope (Gao et al. 2021's aspect classes and the curvature of
        Zevenbergen & Thorne 1987), the classes resampled by nearest neighbour, the curvature bilinearly."""

        found = self._work_for(transform=transform, shape=shape, crs=crs, min_size=3)
        if found is None:
            return np.full(shape, 255, np.uint8), np.full(shape, np.nan, np.float32)
        work, wt = found
        metres = Affine(self.xres, 0.0, 0.0, 0.0, -self.yres, 0.0)
        work_aspect = aspect_classes(work, transform=metres, flat_slope_deg=flat_slope_deg)
        work_curv = curvature(work, transform=metres).astype(np.float32)
        grid = {"src_transform": wt, "src_crs": self.crs, "transform": transform, "shape": shape, "crs": crs}
        aspect = resample(work_aspect.astype(np.uint8), resampling=Resampling.nearest, nodata=255, **grid)
        curv = resample(work_curv, resampling=Resampling.bilinear, nodata=np.nan, **grid)
        return aspect, curv


class SceneImage:
    """The post-event image read by windows: its non-alpha bands as float32 and the valid-pixel mask."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.src = rasterio.open(self.path)
        self.bands = [i for i, ci in enumerate(self.src.colorinterp, start=1) if ci != ColorInterp.alpha]
        self.is_float = np.dtype(self.src.dtypes[0]).kind == "f"

    @property
    def crs(self) -> CRS:
        return self.src.crs

    @property
    def transform(self) -> Affine:
        return self.src.transform

    @property
    def shape(self) -> tuple[int, int]:
        return self.src.height, self.src.width

    def close(self) -> None:
        self.src.close()

    def band_means(self, *, bands: int, size: int = 256) -> np.ndarray | None:
        """The mean of each of the first ``bands`` bands over the valid pixels of a decimated read (at most
        ``size`` x ``size`` pixels: GDAL picks them from its overviews or by skipping); None when none is valid."""
        h, w = self.shape
        scale = max(1.0, max(h, w) / size)
        shape = (max(1, round(h / scale)), max(1, round(w / scale)))
        data = self.src.read(self.bands[:bands], out_shape=(bands, *shape), out_dtype=np.float32)
        valid = self.src.dataset_mask(out_shape=shape) > 0
        if self.is_float:
            valid &= np.isfinite(data).all(axis=0)
        if not valid.any():
            return None
        return data[:, valid].mean(axis=1)

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """``(image (C, h, w) float32, valid (h, w) bool)`` of a window inside the image."""
        data = self.src.read(self.bands, window=window, out_dtype=np.float32)
        valid = self.src.dataset_mask(window=window) > 0
        if self.is_float:
            valid &= np.isfinite(data).all(axis=0)
        return data, valid


@dataclass
class Scene:
    """An opened scene: the image, and the DEM and river rings when factor channels are needed."""

    image: SceneImage
    dem: DemSource | None = None
    rings: RiverRings | None = None
    findings: list[Finding] = field(default_factory=list)

    def close(self) -> None:
        self.image.close()
        if self.dem is not None:
            self.dem.close()

    def __enter__(self) -> "Scene":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def window(self, row_off: int, col_off: int, height: int, width: int) -> dict[str, Any]:
        """Arrays of one window: ``image``, ``valid`` and, with a DEM, ``factors`` (dem, slope, river level)."""
        win = Window(col_off, row_off, width, height)
        image, valid = self.image.read(win)
        out: dict[str, Any] = {"image": image, "valid": valid}
        if self.dem is not None and self.rings is not None:
            tr = rasterio.windows.transform(win, self.image.transform)
            dem, slope = self.dem.on_grid(transform=tr, shape=(height, width), crs=self.image.crs)
            levels = self.rings.levels(shape=(height, width), transform=tr)
            out["factors"] = np.stack([dem, slope, levels.astype(np.float32)])
            out["valid"] = valid & np.isfinite(dem) & np.isfinite(slope)
        return out


def _open_raster(path: Path, what: str, errors: list[Finding]) -> rasterio.DatasetReader | None:
    if not path.exists():
        errors.append(Finding("error", str(path), f"no such {what} file; check the path"))
        return None
    if path.is_dir():
        errors.append(Finding("error", str(path), f"is a folder, not a {what} GeoTIFF"))
        return None
    try:
        return rasterio.open(path)
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is reported, naming the file
        errors.append(Finding("error", str(path), f"cannot be read as a raster ({error_reason(exc)}); re-export it "
                                                  "(gdal_translate -of GTiff in.tif out.tif)"))
        return None


def _image_problems(img_path: Path, errors: list[Finding]) -> tuple[Any, Any, float | None]:
    """The scene image's problems (no CRS, geographic, rotated, fewer than 3 bands, complex values) appended to
    ``errors``; its CRS, bounds and pixel size (None when it cannot be opened)."""
    src = _open_raster(img_path, "image", errors)
    if src is None:
        return None, None, None
    with src:
        bands = [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha]
        if src.crs is None:
            errors.append(Finding("error", str(img_path), "has no CRS; assign it (gdal_edit.py -a_srs EPSG:<code> "
                                                          f"{img_path})"))
        elif src.crs.is_geographic:
            lon, lat = (src.bounds.left + src.bounds.right) / 2, (src.bounds.bottom + src.bounds.top) / 2
            errors.append(Finding("error", str(img_path), f"is in the geographic CRS {src.crs.to_string()} "
                                  "(degrees): areas in m2 and the factor channels need metres; reproject it, e.g. "
                                  f"gdalwarp -t_srs EPSG:{utm_epsg(lon, lat)} -r bilinear {img_path} "
                                  "image_utm.tif"))
        if src.transform.b != 0 or src.transform.d != 0:
            errors.append(Finding("error", str(img_path), "its grid is rotated; warp it to a north-up grid "
                                                          f"(gdalwarp {img_path} north_up.tif)"))
        if len(bands) < 3:
            errors.append(Finding("error", str(img_path), f"has {len(bands)} image band(s); the models need RGB "
                                                          "(3 bands, red-green-blue first)"))
        if np.dtype(src.dtypes[0]).kind == "c":
            errors.append(Finding("error", str(img_path), "holds complex numbers, not image values"))
        img_crs, img_bounds = src.crs, src.bounds
    return img_crs, img_bounds, abs(src.transform.a)


def _dem_problems(dem_path: Path, *, img_path: Path, img_crs: Any, img_bounds: Any, errors: list[Finding]) -> None:
    """The DEM's problems (no CRS, several bands, a CRS that cannot be aligned, too small a cover of the image)
    appended to ``errors``."""
    dsrc = _open_raster(dem_path, "DEM", errors)
    if dsrc is not None:
        with dsrc:
            if dsrc.crs is None:
                errors.append(Finding("error", str(dem_path), "has no CRS; assign it (gdal_edit.py -a_srs "
                                                              f"EPSG:<code> {dem_path})"))
            elif dsrc.count != 1:
                errors.append(Finding("error", str(dem_path), f"has {dsrc.count} bands; a DEM has one "
                                                              "(elevation in metres). Is it the image?"))
            elif img_crs is not None and not img_crs.is_geographic:
                try:
                    west, south, east, north = transform_bounds(img_crs, dsrc.crs, *img_bounds, densify_pts=21)
                except Exception as exc:  # noqa: BLE001 - pyproj / GDAL errors alike
                    errors.append(Finding("error", str(dem_path), f"its CRS {dsrc.crs.to_string()} cannot be "
                                          f"aligned with the image's {img_crs.to_string()} ({error_reason(exc)}); "
                                          "reproject the DEM to the image CRS (gdalwarp -t_srs)"))
                else:
                    b = dsrc.bounds
                    tol_x, tol_y = abs(dsrc.transform.a) / 2, abs(dsrc.transform.e) / 2
                    if west < b.left - tol_x or east > b.right + tol_x or south < b.bottom - tol_y \
                            or north > b.top + tol_y:
                        iw = max(0.0, min(east, b.right) - max(west, b.left))
                        ih = max(0.0, min(north, b.top) - max(south, b.bottom))
                        share = 100 * iw * ih / max((east - west) * (north - south), 1e-12)
                        errors.append(Finding("error", str(dem_path), f"covers {share:.1f} % of the image "
                                              f"{img_path}; supply a DEM covering the whole scene with a margin "
                                              "of a few DEM pixels (e.g. gdalwarp -te <image bounds>)"))


def _river_rings(riv_path: Path, *, img_crs: Any, img_pixel: float | None, factors: Any,
                 errors: list[Finding]) -> RiverRings | None:
    """The river rings of the scene (distance-from-river levels, Yang et al. 2022, section 3.4), or None with the
    river file's problems (missing, unreadable, no CRS, not lines, not transformable) appended to ``errors``."""
    if not riv_path.exists():
        errors.append(Finding("error", str(riv_path), "no such river file; check the path"))
    else:
        try:
            gdf = gpd.read_file(riv_path)
        except Exception as exc:  # noqa: BLE001
            errors.append(Finding("error", str(riv_path), f"cannot be read as vector data ({error_reason(exc)}); give "
                                                          "a GeoPackage, GeoJSON or Shapefile of river lines"))
            gdf = None
        if gdf is not None:
            kinds = set(gdf.geom_type.dropna()) if len(gdf) else set()
            if gdf.crs is None:
                errors.append(Finding("error", str(riv_path), "has no CRS; assign it (ogr2ogr -a_srs "
                                                              "EPSG:<code> fixed.gpkg in.gpkg)"))
            elif not kinds or not kinds <= {"LineString", "MultiLineString"}:
                errors.append(Finding("error", str(riv_path), f"holds {', '.join(sorted(kinds)) or 'no'} "
                                      "geometries; the river factor needs river lines (LineString)"))
            elif img_crs is not None and not img_crs.is_geographic and factors is not None:
                try:
                    return RiverRings(gdf, buffer_m=factors.river_buffer_m, ring_edges_m=factors.river_ring_edges_m,
                                      crs=img_crs, tolerance_m=0.1 * img_pixel * linear_unit_m(img_crs))
                except Exception as exc:  # noqa: BLE001
                    errors.append(Finding("error", str(riv_path), f"its lines cannot be brought to the image "
                                          f"CRS {img_crs.to_string()} ({error_reason(exc)})"))
    return None


def open_scene(image: str | Path, *, dem: str | Path | None = None, rivers: str | Path | None = None,
               needs_factors: bool = False, factors: Any = None, what_needs: str = "the model") -> Scene:
    """Check and open a scene for window-by-window prediction.

    Args:
        image: the post-event GeoTIFF (at least 3 bands, RGB first; alpha and nodata are respected).
        dem: the DEM GeoTIFF (any CRS; warped when geographic or rotated), needed with ``needs_factors``.
        rivers: river lines (GeoPackage, GeoJSON, Shapefile; any CRS), needed with ``needs_factors``.
        needs_factors: the model was trained on ``rgb+factors`` (Yang et al. 2022, Experiments II/IV/VI/VIII).
        factors: a :class:`landslide_utils.config.schema.FactorSpec` (river buffer and ring edges).
        what_needs: names the model in messages (e.g. the checkpoint path).

    Raises:
        InputError: every problem found, naming the file and the fix.
    """
    errors: list[Finding] = []
    img_path = Path(image)
    img_crs, img_bounds, img_pixel = _image_problems(img_path, errors)
    if needs_factors:
        for flag, given in (("--dem", dem), ("--rivers", rivers)):
            if given is None:
                errors.append(Finding("error", None, f"{what_needs} was trained on rgb+factors (DEM, slope, distance "
                                                     f"from river): give {flag}"))
    if needs_factors and dem is not None:
        _dem_problems(Path(dem), img_path=img_path, img_crs=img_crs, img_bounds=img_bounds, errors=errors)
    rings = None
    if needs_factors and rivers is not None:
        rings = _river_rings(Path(rivers), img_crs=img_crs, img_pixel=img_pixel, factors=factors, errors=errors)
    if errors:
        raise InputError(errors)
    scene = Scene(SceneImage(img_path))
    if needs_factors:
        scene.dem = DemSource(Path(dem), image_crs=scene.image.crs)  # type: ignore[arg-type]
        scene.rings = rings
    return scene
