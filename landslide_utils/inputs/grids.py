"""Arrays on a georeferenced pixel grid as rioxarray DataArrays, and resampling between grids through rioxarray.

Every layer the study puts on the image grid (DEM, slope, the further terrain factors, the second-date image) is
resampled here, by :meth:`rioxarray` ``rio.reproject`` / ``rio.reproject_match`` (GDAL's warper underneath):
bilinear for continuous values, nearest neighbour for classes and labels (docs/architecture.md, "Geospatial
correctness"). The coordinates are the pixel centres of the grid's affine transform, which is also written to the
``spatial_ref`` coordinate, so a DataArray carries its CRS, transform and nodata value wherever it goes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import Affine

__all__ = ["grid_coords", "raster", "resample", "match"]


def grid_coords(transform: Affine, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The ``x`` and ``y`` pixel-centre coordinates of a north-up grid (``transform``, ``shape`` = rows, cols)."""
    if transform.b != 0 or transform.d != 0:
        raise ValueError(f"a rotated grid ({transform}) has no x/y coordinate axes; warp it north-up first")
    rows, cols = shape
    return {"x": transform.c + transform.a * (np.arange(cols) + 0.5),
            "y": transform.f + transform.e * (np.arange(rows) + 0.5)}


def raster(data: Any, *, transform: Affine, crs: Any, nodata: float | int | None = None,
           name: str | None = None, band: list[str] | None = None, band_dim: str = "band") -> xr.DataArray:
    """A 2-D ``(y, x)`` array, or a 3-D ``(band, y, x)`` one when ``band`` names its bands, as a DataArray with
    the grid's coordinates, CRS, transform and nodata (the ``_FillValue`` attribute) written by rioxarray. A
    rotated grid gets no x/y coordinates (rioxarray then takes the written transform as it is)."""
    data_shape = np.shape(data)
    dims: tuple[str, ...] = ("y", "x") if band is None else (band_dim, "y", "x")
    rotated = transform.b != 0 or transform.d != 0  # no coordinate axes: rioxarray uses the written transform
    coords: dict[str, Any] = {} if rotated else grid_coords(transform, data_shape[-2:])
    if band is not None:
        coords[band_dim] = list(band)
    da = xr.DataArray(data, dims=dims, coords=coords, name=name)
    if nodata is not None:
        da = da.rio.write_nodata(nodata, encoded=False)
    return da.rio.write_crs(CRS.from_user_input(crs)).rio.write_transform(transform)


def resample(data: np.ndarray, *, src_transform: Affine, src_crs: Any, transform: Affine, shape: tuple[int, int],
             crs: Any, resampling: Resampling, nodata: float | int) -> np.ndarray:
    """``data`` (2-D, on ``src_transform`` / ``src_crs``) resampled onto the grid ``transform`` / ``shape`` /
    ``crs`` by ``rio.reproject``; pixels the source does not reach, or reaches only with nodata, get ``nodata``.

    rioxarray takes the source transform from the coordinates (the pixel centres of ``src_transform``; a rotated
    source's transform as written); a source must therefore be at least 2 x 2 pixels.
    """
    if min(data.shape) < 2:
        raise ValueError(f"a source of {data.shape} pixels is too small to resample (2 x 2 at least)")
    src = raster(data, transform=src_transform, crs=src_crs, nodata=nodata)
    with warnings.catch_warnings():  # a rotated source: rioxarray says it keeps the written transform, as meant
        warnings.filterwarnings("ignore", message="Transform that is non-rectilinear or with rotation found")
        out = src.rio.reproject(CRS.from_user_input(crs), shape=shape, transform=transform, resampling=resampling,
                                nodata=nodata)
    return np.asarray(out.values)


def match(source: xr.DataArray, *, transform: Affine, shape: tuple[int, int], crs: Any, resampling: Resampling,
          nodata: float | int | None = None) -> xr.DataArray:
    """``source`` (a DataArray with CRS, e.g. from ``rioxarray.open_rasterio``) on the grid ``transform`` /
    ``shape`` / ``crs`` by ``rio.reproject_match``. Source pixels equal to the source's nodata are ignored; pixels
    the source does not reach get ``nodata`` (default: the source's nodata)."""
    template = raster(np.broadcast_to(np.uint8(0), shape), transform=transform, crs=crs)
    return source.rio.reproject_match(template, resampling=resampling, nodata=nodata)
