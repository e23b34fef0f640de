"""Terrain factors of Yang et al. (2022), sections 2.2 and 3.4: slope from the DEM and distance-from-river levels.

* :func:`slope_degrees` — slope in degrees with Horn's (1981) 3 x 3 weighted finite differences, the formula
  of ``gdaldem slope`` and ArcGIS. Computed on the DEM's own (projected, north-up) grid; the caller resamples
  the result onto the image grid afterwards (docs/methods.md, "Data preparation").
* :func:`river_distance_m` / :func:`river_levels` — the river lines buffered by ``buffer_m`` (30 m in the paper)
  are the river surface (level 0); the Euclidean distance from the river surface is cut into rings
  0-200, 200-500, 500-1000, 1000-2000 and > 2000 m (levels 1..5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy import ndimage

__all__ = ["slope_degrees", "river_distance_m", "river_levels", "linear_unit_m"]


def linear_unit_m(crs: CRS | str | None) -> float:
    """Metres per unit of a projected CRS (1.0 for metre-based CRSs, also when ``crs`` is None).

    Raises:
        ValueError: the CRS is geographic (degrees), where distances in metres have no fixed scale.
    """
    if crs is None:
        return 1.0
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        raise ValueError(f"CRS {crs.to_string()} is geographic (degrees); reproject to a projected CRS first")
    return float(crs.linear_units_factor[1])


def slope_degrees(
    dem: np.ndarray,
    *,
    xres: float,
    yres: float,
    nodata_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Slope in degrees by Horn's method, as ``gdaldem slope`` and ArcGIS compute it.

    With the 3 x 3 window ``a b c / d e f / g h i`` around a cell::

        dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 xres)
        dz/dy = ((g + 2h + i) - (a + 2b + c)) / (8 yres)
        slope = atan(sqrt(dz/dx^2 + dz/dy^2))

    Edges are handled by extending the DEM linearly by one cell (``2 e - inner``), so a plane has its exact
    slope everywhere, border included. Nodata (``nodata_mask`` True, or NaN in ``dem``) propagates: a cell whose
    window touches nodata is NaN, like gdaldem without ``-compute_edges``.

    Args:
        dem: (rows, cols) elevations in metres on a north-up grid.
        xres: pixel width in metres (> 0).
        yres: pixel height in metres (> 0; the sign of the geotransform's e does not matter).
        nodata_mask: optional (rows, cols) bool, True where the DEM has no value.

    Returns:
        (rows, cols) float32 slope in degrees, NaN where undefined.
    """
    if dem.ndim != 2 or min(dem.shape) < 2:
        raise ValueError(f"slope needs a 2-D DEM of at least 2 x 2 cells, got shape {dem.shape}")
    if not (xres > 0 and yres > 0):
        raise ValueError(f"xres and yres must be positive pixel sizes in metres, got {xres}, {yres}")
    z = dem.astype(np.float64, copy=True)
    if nodata_mask is not None:
        if nodata_mask.shape != dem.shape:
            raise ValueError(f"nodata_mask shape {nodata_mask.shape} differs from the DEM's {dem.shape}")
        z[nodata_mask] = np.nan
    p = np.pad(z, 1, mode="reflect", reflect_type="odd")  # linear extrapolation: 2*edge - inner
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * xres)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * yres)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    slope[np.isnan(z)] = np.nan
    return slope.astype(np.float32)


def _pixel_size(transform: Affine) -> tuple[float, float]:
    if transform.b != 0 or transform.d != 0:
        raise ValueError("the grid's geotransform is rotated; warp the raster to a north-up grid (gdalwarp)")
    return abs(transform.a), abs(transform.e)


def river_distance_m(
    rivers: "object",
    *,
    shape: tuple[int, int],
    transform: Affine,
    buffer_m: float = 30.0,
    max_distance_m: float = 2000.0,
    crs: CRS | str | None = None,
    max_cells: int = 64_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) of every pixel centre from the river surface (the lines buffered by ``buffer_m``).

    The buffered lines are rasterised (pixel centre inside = river surface) and an exact Euclidean distance
    transform in metres (``scipy.ndimage.distance_transform_edt`` with the pixel size as sampling) measures the
    distance from each pixel centre to the nearest river-surface pixel centre. Rivers outside the grid count up
    to ``max_distance_m`` beyond its edge (the grid is padded for them). Should the padded grid exceed
    ``max_cells``, distances are computed on a grid coarser by a power of two and read back at the nearest
    coarse cell (the river surface itself stays at full resolution).

    Args:
        rivers: a GeoDataFrame / GeoSeries / sequence of shapely line geometries in the grid's CRS.
        shape: (rows, cols) of the grid.
        transform: north-up geotransform of the grid.
        buffer_m: half-width of the river surface in metres.
        max_distance_m: distances beyond this only need to be known as "beyond" (the last ring edge).
        crs: the grid's CRS; its linear unit converts metres to map units (default: metres).
        max_cells: largest grid for the distance transform.

    Returns:
        ``(distance, surface)``: float32 distances in metres (0 on the river surface, ``inf`` without any river)
        and the bool river-surface mask.
    """
    rows, cols = shape
    xres, yres = _pixel_size(transform)
    unit = linear_unit_m(crs)
    if hasattr(rivers, "geometry"):
        if crs is not None and getattr(rivers, "crs", None) is not None and CRS.from_user_input(crs) != rivers.crs:
            rivers = rivers.to_crs(crs)
        geoms = [g for g in rivers.geometry if g is not None and not g.is_empty]
    else:
        geoms = [g for g in rivers if g is not None and not g.is_empty]
    buf = buffer_m / unit
    surfaces = [g.buffer(buf) for g in geoms]
    if surfaces:
        surface = rasterize(((s, 1) for s in surfaces), out_shape=shape, transform=transform, fill=0,
                            all_touched=False, dtype="uint8").astype(bool)
    else:
        surface = np.zeros(shape, dtype=bool)
    if not surfaces:
        return np.full(shape, np.inf, dtype=np.float32), surface

    # Padding (in pixels) on each side for rivers outside the grid, at most max_distance_m beyond the edge.
    x0, y0 = transform.c, transform.f
    x1, y1 = x0 + cols * transform.a, y0 + rows * transform.e
    margin = (max_distance_m + buffer_m) / unit
    ux0, uy0, ux1, uy1 = shapely.total_bounds(np.asarray(surfaces, dtype=object))
    left = min(max(x0 - ux0, 0.0), margin) / xres
    right = min(max(ux1 - x1, 0.0), margin) / xres
    top = min(max(uy1 - y0, 0.0), margin) / yres
    bottom = min(max(y1 - uy0, 0.0), margin) / yres
    factor = 1
    while True:
        pl, pr, pt, pb = (int(math.ceil(v / factor)) + 1 if v > 0 else 0 for v in (left, right, top, bottom))
        crow, ccol = int(math.ceil(rows / factor)) + pt + pb, int(math.ceil(cols / factor)) + pl + pr
        if crow * ccol <= max_cells or factor >= 1024:
            break
        factor *= 2
    if factor == 1 and (pl, pr, pt, pb) == (0, 0, 0, 0):
        work = surface
    else:
        wt = transform @ Affine.translation(-pl * factor, -pt * factor) @ Affine.scale(factor)
        work = rasterize(((s, 1) for s in surfaces), out_shape=(crow, ccol), transform=wt, fill=0,
                         all_touched=factor > 1, dtype="uint8").astype(bool)
    if not work.any():
        dist_work = np.full(work.shape, np.inf)
    else:
        dist_work = ndimage.distance_transform_edt(~work, sampling=(yres * unit * factor, xres * unit * factor))
    if work is surface:
        dist = dist_work.astype(np.float32)
    else:
        rr = np.arange(rows) // factor + pt
        cc = np.arange(cols) // factor + pl
        dist = dist_work[np.ix_(rr, cc)].astype(np.float32)
        dist[surface] = 0.0
        # Fine pixels off the surface inside a coarse river cell are "just beside" the river.
        dist[(~surface) & (dist == 0)] = np.float32(min(xres, yres) * unit)
    return dist, surface


def river_levels(
    rivers_gdf: "object",
    *,
    shape: tuple[int, int],
    transform: Affine,
    buffer_m: float = 30.0,
    ring_edges_m: Sequence[float] = (200.0, 500.0, 1000.0, 2000.0),
    crs: CRS | str | None = None,
) -> np.ndarray:
    """Distance-from-river levels on a grid (Yang et al. 2022, section 3.4 and Figure 14).

    Level 0 = the river surface (pixel centre within ``buffer_m`` of a river line); level k (1..len(edges))
    = distance from the river surface in ``(edges[k-2], edges[k-1]]`` (with edges[-1] = 0); the last level
    = beyond the last edge. With the paper's edges: 0 | 0-200 | 200-500 | 500-1000 | 1000-2000 | > 2000 m.

    Args:
        rivers_gdf: river lines in the grid's CRS (reprojected first when ``crs`` is given and differs).
        shape: (rows, cols) of the grid.
        transform: north-up geotransform of the grid.
        buffer_m: half-width of the river surface (m).
        ring_edges_m: increasing ring edges (m).
        crs: the grid's CRS.

    Returns:
        (rows, cols) uint8 levels 0..len(ring_edges_m) + 1.
    """
    edges = np.asarray(ring_edges_m, dtype=np.float64)
    if edges.ndim != 1 or len(edges) == 0 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
        raise ValueError(f"ring_edges_m must be positive and strictly increasing, got {tuple(ring_edges_m)}")
    dist, surface = river_distance_m(rivers_gdf, shape=shape, transform=transform, buffer_m=buffer_m,
                                     max_distance_m=float(edges[-1]), crs=crs)
    levels = (1 + np.digitize(dist, edges, right=True)).astype(np.uint8)
    levels[surface] = 0
    return levels
