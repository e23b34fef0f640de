"""Terrain factors of Yang et al. (2022), sections 2.2 and 3.4: slope from the DEM and distance-from-river levels.

* :func:`slope_degrees` — slope in degrees with Horn's (1981) 3 x 3 weighted finite differences, the formula
  of ``gdaldem slope`` and ArcGIS. Computed on the DEM's own (projected, north-up) grid; the caller resamples
  the result onto the image grid afterwards (docs/methods.md, "Data preparation").
* :class:`RiverRings` / :func:`river_levels` — the river lines buffered by ``buffer_m`` (30 m in the paper)
  are the river surface (level 0); the distance of a pixel centre from the river surface is cut into rings
  0-200, 200-500, 500-1000, 1000-2000 and > 2000 m (levels 1..5), by rasterising the lines' buffers of radius
  ``buffer_m + edge`` -- exact for every pixel centre and local to any window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.transform import Affine

from landslide_utils.config.data_schema import FactorSpec

__all__ = ["horn_sums", "slope_degrees", "RiverRings", "river_levels", "linear_unit_m", "river_level_labels"]


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


def horn_sums(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weighted differences of Horn's (1981) 3 x 3 stencil, the one stencil behind slope
    (:func:`slope_degrees`) and aspect (:func:`landslide_utils.inputs.factor_rasters.aspect_degrees`).

    With the window ``a b c / d e f / g h i`` around each cell: ``(c + 2f + i) - (a + 2d + g)`` (the change
    across the columns, left to right) and ``(g + 2h + i) - (a + 2b + c)`` (the change down the rows); divided
    by 8 times the pixel size they are the gradients. The grid is extended linearly by one cell (``2 e - inner``)
    so that a plane has its exact gradient at the border too; NaN propagates to every window it touches.
    """
    p = np.pad(z, 1, mode="reflect", reflect_type="odd")  # linear extrapolation: 2*edge - inner
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    return (c + 2 * f + i) - (a + 2 * d + g), (g + 2 * h + i) - (a + 2 * b + c)


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
    across, down = horn_sums(z)
    dzdx = across / (8.0 * xres)
    dzdy = down / (8.0 * yres)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    slope[np.isnan(z)] = np.nan
    return slope.astype(np.float32)


def _pixel_size(transform: Affine) -> tuple[float, float]:
    if transform.b != 0 or transform.d != 0:
        raise ValueError("the grid's geotransform is rotated; warp the raster to a north-up grid (gdalwarp)")
    return abs(transform.a), abs(transform.e)


def _quad_segs(radius: float, tolerance: float) -> int:
    """Segments per quarter circle so that a buffer's chords stay within ``tolerance`` of the true arc."""
    if radius <= tolerance:
        return 8
    theta = 2.0 * math.acos(1.0 - tolerance / radius)
    return int(min(max(8, math.ceil((math.pi / 2) / theta)), 1024))


class RiverRings:
    """The river lines buffered once per river level, rasterised on any window of any grid (Yang et al. 2022,
    section 3.4 and Figure 14).

    Level 0 = the river surface (pixel centre within ``buffer_m`` of a line); level k (1..K) = pixel centre at a
    distance from the river surface in ``(edges[k-2], edges[k-1]]`` (with edges[-1] = 0), i.e. within
    ``buffer_m + edges[k-1]`` of a line; level K + 1 = farther. With the paper's edges:
    0 | 0-200 | 200-500 | 500-1000 | 1000-2000 | > 2000 m.

    Each level's zone is the union of the lines' buffers of radius ``buffer_m + edge``; a pixel gets the smallest
    level whose zone holds its centre (``rasterize`` without ``all_touched``). The level of a pixel therefore
    depends only on its centre: a window gives exactly the levels the whole grid gives there, with no
    scene-wide distance transform and memory in proportion to the window. The buffers approximate their round
    caps by chords within ``tolerance_m`` (default a tenth of the finest pixel the caller names).

    Args:
        rivers: a GeoDataFrame / GeoSeries (reprojected to ``crs`` when it has another CRS) or a sequence of
            shapely line geometries in ``crs``.
        buffer_m: half-width of the river surface (m).
        ring_edges_m: increasing ring edges (m).
        crs: the grid's CRS (its linear unit converts metres to map units; default metres).
        tolerance_m: largest gap between a buffer's chords and its true arc (m).
    """

    def __init__(self, rivers: "object", *, buffer_m: float = 30.0,
                 ring_edges_m: Sequence[float] = (200.0, 500.0, 1000.0, 2000.0),
                 crs: CRS | str | None = None, tolerance_m: float = 0.1) -> None:
        edges = np.asarray(ring_edges_m, dtype=np.float64)
        if edges.ndim != 1 or len(edges) == 0 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
            raise ValueError(f"ring_edges_m must be positive and strictly increasing, got {tuple(ring_edges_m)}")
        if not buffer_m > 0:
            raise ValueError(f"buffer_m must be positive, got {buffer_m}")
        unit = linear_unit_m(crs)
        if hasattr(rivers, "geometry"):
            if crs is not None and getattr(rivers, "crs", None) is not None and \
                    CRS.from_user_input(crs) != rivers.crs:
                rivers = rivers.to_crs(crs)
            geoms = [g for g in rivers.geometry if g is not None and not g.is_empty]
        else:
            geoms = [g for g in rivers if g is not None and not g.is_empty]
        self.n_levels = len(edges) + 2  # 0 .. K + 1
        self.beyond = len(edges) + 1
        radii = [buffer_m / unit] + [(buffer_m + e) / unit for e in edges]
        tol = tolerance_m / unit
        arr = np.asarray(geoms, dtype=object)
        #: zones[k]: the buffers of every line at level k's radius (k = 0 .. K)
        self.zones = [shapely.buffer(arr, r, quad_segs=_quad_segs(r, tol)) if len(arr) else arr for r in radii]
        self.tree = shapely.STRtree(self.zones[-1]) if len(arr) else None

    def levels(self, *, shape: tuple[int, int], transform: Affine) -> np.ndarray:
        """(rows, cols) uint8 levels on the grid ``transform`` (north-up) of shape ``shape``."""
        rows, cols = shape
        out = np.full(shape, self.beyond, dtype=np.uint8)
        if self.tree is None or rows == 0 or cols == 0:
            return out
        xres, yres = _pixel_size(transform)
        x0, y1 = transform.c, transform.f
        x1, y0 = x0 + cols * transform.a, y1 + rows * transform.e
        rect = (min(x0, x1) - xres, min(y0, y1) - yres, max(x0, x1) + xres, max(y0, y1) + yres)
        hits = self.tree.query(shapely.box(*rect))
        if len(hits) == 0:
            return out
        for level in range(self.beyond - 1, -1, -1):  # outermost ring first, the river surface last
            parts = shapely.clip_by_rect(self.zones[level][hits], *rect)
            parts = [g for g in parts if not g.is_empty]
            if parts:
                rasterize(((g, level) for g in parts), out=out, transform=transform, all_touched=False)
        return out


def river_levels(
    rivers_gdf: "object",
    *,
    shape: tuple[int, int],
    transform: Affine,
    buffer_m: float = 30.0,
    ring_edges_m: Sequence[float] = (200.0, 500.0, 1000.0, 2000.0),
    crs: CRS | str | None = None,
) -> np.ndarray:
    """Distance-from-river levels on a whole grid: :class:`RiverRings` rasterised once (Yang et al. 2022, sec. 3.4).

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
    rings = RiverRings(rivers_gdf, buffer_m=buffer_m, ring_edges_m=ring_edges_m, crs=crs,
                       tolerance_m=0.1 * min(_pixel_size(transform)) * linear_unit_m(crs))
    return rings.levels(shape=shape, transform=transform)


def river_level_labels(spec: FactorSpec) -> list[str]:
    """Names of the river levels: 0 = river surface, then rings of distance from it (metres)."""
    edges = [0.0, *spec.river_ring_edges_m]
    labels = [f"0: river surface (<= {spec.river_buffer_m:g} m of the line)"]
    for i in range(len(edges) - 1):
        labels.append(f"{i + 1}: {edges[i]:g}-{edges[i + 1]:g} m")
    labels.append(f"{len(edges)}: > {edges[-1]:g} m")
    return labels
