"""Influencing factors of Gao et al. (2021, IEEE JSTARS): the nine rasters behind their FC-DenseNet besides the image.

Elevation and slope come from :mod:`landslide_utils.inputs.terrain` (Horn's slope); this module adds the other factors,
each as a numpy raster on a north-up grid given by its rasterio ``Affine`` (pixel sizes in metres: a projected
CRS is assumed):

* :func:`aspect_degrees` / :func:`aspect_classes` — Horn's (1981) aspect, as ``gdaldem aspect`` computes it, and
  its nine classes (flat, N, NE, E, SE, S, SW, W, NW; :data:`ASPECT_CLASSES`).
* :func:`curvature` — the ArcGIS "Curvature" of Zevenbergen & Thorne (1987), in 1/100 m, positive where convex.
* :func:`ndvi` / :func:`mndwi` — the normalised difference vegetation index and the modified normalised
  difference water index (Xu 2006).
* :func:`distance_to_lines` — distance in metres from each pixel centre to the nearest river or fault line.
* :func:`rasterize_classes` — categorical polygons (lithology) as class codes 1..K.

Borders follow :func:`landslide_utils.inputs.terrain.slope_degrees`: the DEM is extended by one cell beyond its edges
(linearly for the gradients; quadratically for the curvature, which needs second differences), so that a plane
(a quadric for the curvature) has its exact value everywhere, border included; a cell whose 3 x 3 window
touches NaN is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy import ndimage

from landslide_utils.inputs.grids import grid_coords
from landslide_utils.inputs.terrain import horn_sums, slope_degrees

__all__ = [
    "ASPECT_CLASSES",
    "ASPECT_NODATA",
    "aspect_classes",
    "aspect_degrees",
    "curvature",
    "distance_to_lines",
    "mndwi",
    "ndvi",
    "rasterize_classes",
    "unit_name",
]

#: names of the aspect classes in code order 0..8 (:func:`aspect_classes`)
ASPECT_CLASSES: tuple[str, ...] = ("flat", "N", "NE", "E", "SE", "S", "SW", "W", "NW")
#: the code of :func:`aspect_classes` where the DEM (or a cell of its 3 x 3 window) has no value
ASPECT_NODATA = 255

_BLOCK_POINTS = 1 << 20  # pixel centres per block of exact distances (memory of a few tens of MB)
_PAD_PX = 256  # distance transform margin around the raster, in pixels (lines just outside are rasterised too)
_COARSE_PX = 16  # lattice step of the lower bounds that pick the pixels needing an exact distance


def _north_up(transform: Affine) -> tuple[float, float]:
    """Signed pixel width (transform.a) and height (transform.e) of a grid without rotation."""
    if not isinstance(transform, Affine):
        raise TypeError(f"transform must be a rasterio Affine (e.g. dataset.transform), got {type(transform).__name__}")
    if transform.b != 0 or transform.d != 0:
        raise ValueError("the grid's geotransform is rotated; warp the raster to a north-up grid (gdalwarp)")
    if transform.a == 0 or transform.e == 0:
        raise ValueError(f"the geotransform has a zero pixel size (a={transform.a}, e={transform.e})")
    return float(transform.a), float(transform.e)


def _dem(dem: np.ndarray, *, min_cells: int, what: str) -> np.ndarray:
    dem = np.asarray(dem)
    if dem.ndim != 2 or min(dem.shape) < min_cells:
        raise ValueError(f"{what} needs a 2-D DEM of at least {min_cells} x {min_cells} cells, got shape {dem.shape}")
    return dem.astype(np.float64, copy=True)


def _horn_gradients(z: np.ndarray, transform: Affine) -> tuple[np.ndarray, np.ndarray]:
    """dz/d(east) and dz/d(north) in m/m by Horn's 3 x 3 differences, borders extended linearly."""
    a, e = _north_up(transform)
    across, down = horn_sums(z)
    dcol = across / 8.0  # change per column to the right
    drow = down / 8.0  # change per row down
    # a column moves `a` metres east, a row `e` metres north (e < 0 on a north-up grid)
    return dcol / a, drow / e


def aspect_degrees(dem: np.ndarray, *, transform: Affine) -> np.ndarray:
    """Aspect in degrees clockwise from north (0 <= aspect < 360) by Horn's method, as ``gdaldem aspect``.

    The aspect is the azimuth of the steepest descent (the direction the slope faces: a hillside rising to the
    north faces south, 180°). With the 3 x 3 window ``z1 z2 z3 / z4 z5 z6 / z7 z8 z9``::

        dz/dx = ((z3 + 2 z6 + z9) - (z1 + 2 z4 + z7)) / (8 transform.a)
        dz/dy = ((z1 + 2 z2 + z3) - (z7 + 2 z8 + z9)) / (8 |transform.e|)      (y to the north)
        aspect = atan2(-dz/dx, -dz/dy) in degrees, taken modulo 360

    On square pixels this is gdaldem's value (gdaldem leaves the pixel size out of its aspect, so on
    non-square pixels it differs from the true azimuth computed here). A cell whose gradient is exactly zero
    (flat) has no aspect: NaN, as gdaldem's nodata (-9999 unless ``-zero_for_flat``). Borders are extended
    linearly like :func:`~landslide_utils.inputs.terrain.slope_degrees` (a plane has its exact aspect at the
    border too; gdaldem leaves the border nodata without ``-compute_edges``); a cell whose window touches NaN
    is NaN.

    Args:
        dem: (rows, cols) elevations in metres, NaN where no value.
        transform: north-up geotransform of the DEM (rasterio ``Affine``, pixel sizes in metres); a negative
            ``e`` (rows going south, the usual case) and a positive one are both handled.

    Returns:
        (rows, cols) float32 aspect in degrees, NaN where flat or undefined.

    Raises:
        ValueError: the DEM is not 2-D with at least 2 x 2 cells, or the transform is rotated.
    """
    z = _dem(dem, min_cells=2, what="aspect")
    gx, gy = _horn_gradients(z, transform)
    with np.errstate(invalid="ignore"):
        aspect = np.degrees(np.arctan2(-gx, -gy))
    aspect = np.where(aspect < 0, aspect + 360.0, aspect)
    aspect[aspect == 0] = 0.0  # no -0.0
    aspect[(gx == 0) & (gy == 0)] = np.nan
    aspect[np.isnan(z)] = np.nan
    out = aspect.astype(np.float32)
    out[out >= 360.0] = 0.0  # -0.0 + 360 rounds to 360 in float32; gdaldem writes 0 there too
    return out


def aspect_classes(dem: np.ndarray, *, transform: Affine, flat_slope_deg: float = 1.0) -> np.ndarray:
    """Aspect in nine classes (Gao et al. 2021): codes 0..8 named by :data:`ASPECT_CLASSES`.

    0 = flat (Horn slope < ``flat_slope_deg``, or a zero gradient, where the aspect is undefined); 1 = N
    (aspect in [337.5°, 360°) or [0°, 22.5°)), 2 = NE ([22.5°, 67.5°)), 3 = E, 4 = SE, 5 = S, 6 = SW, 7 = W,
    8 = NW (45° sectors centred on the directions, lower edge included). 255 (:data:`ASPECT_NODATA`) where
    the DEM is NaN or a cell of its 3 x 3 window is (no slope there either).

    For a frequency-ratio table pass ``classes=dict(enumerate(ASPECT_CLASSES))`` to
    :func:`landslide_utils.analysis.importance.frequency_ratio` (code 0 is a class here).

    Args:
        dem: (rows, cols) elevations in metres, NaN where no value.
        transform: north-up geotransform of the DEM (pixel sizes in metres).
        flat_slope_deg: slopes below this many degrees are the class "flat".

    Returns:
        (rows, cols) uint8 codes 0..8, 255 where no value.

    Raises:
        ValueError: a bad DEM or transform (see :func:`aspect_degrees`), or ``flat_slope_deg`` outside [0, 90).
    """
    if not 0 <= flat_slope_deg < 90:
        raise ValueError(f"flat_slope_deg must be in [0, 90) degrees, got {flat_slope_deg}")
    aspect = aspect_degrees(dem, transform=transform).astype(np.float64)
    a, e = _north_up(transform)
    slope = slope_degrees(np.asarray(dem, dtype=np.float64), xres=abs(a), yres=abs(e))
    codes = np.full(aspect.shape, ASPECT_NODATA, dtype=np.uint8)
    defined = np.isfinite(aspect)
    sector = np.floor(np.mod(aspect[defined] + 22.5, 360.0) / 45.0).astype(np.int64) % 8
    codes[defined] = (sector + 1).astype(np.uint8)
    has_slope = np.isfinite(slope)
    codes[has_slope & ~defined] = 0  # zero gradient: flat
    with np.errstate(invalid="ignore"):
        codes[has_slope & (slope < flat_slope_deg)] = 0
    return codes


def _extend_quadratic(z: np.ndarray, axis: int) -> np.ndarray:
    """``z`` with one more cell at both ends of ``axis``, extrapolated by the parabola through the last three."""
    z = np.moveaxis(z, axis, 0)
    before = 3 * z[0] - 3 * z[1] + z[2]
    after = 3 * z[-1] - 3 * z[-2] + z[-3]
    return np.moveaxis(np.concatenate([before[None], z, after[None]], axis=0), 0, axis)


def curvature(dem: np.ndarray, *, transform: Affine) -> np.ndarray:
    """Curvature as the ArcGIS "Curvature" tool computes it (Zevenbergen & Thorne 1987), in 1/100 m.

    With the 3 x 3 window ``z1 z2 z3 / z4 z5 z6 / z7 z8 z9``, pixel width ``Lx`` and height ``Ly``::

        D = ((z4 + z6) / 2 - z5) / Lx^2
        E = ((z2 + z8) / 2 - z5) / Ly^2
        curvature = -2 (D + E) * 100

    Positive = upwardly convex (ridges, crests), negative = upwardly concave (valleys, hollows), 0 = planar;
    z = c (x^2 + y^2) gives -400 c everywhere. At the borders the DEM is extended by one cell along each axis
    with the parabola through the last three cells (so the border repeats the second difference next to it,
    and a quadric surface has its exact curvature everywhere, in the spirit of the linear extension of
    :func:`~landslide_utils.inputs.terrain.slope_degrees`). A cell whose 3 x 3 window touches NaN is NaN (and at the
    border, one whose extrapolation uses a NaN).

    Args:
        dem: (rows, cols) elevations in metres, NaN where no value.
        transform: north-up geotransform of the DEM (pixel sizes in metres).

    Returns:
        (rows, cols) float32 curvature in 1/100 m^-1, NaN where undefined.

    Raises:
        ValueError: the DEM is not 2-D with at least 3 x 3 cells, or the transform is rotated.
    """
    z = _dem(dem, min_cells=3, what="curvature")
    a, e = _north_up(transform)
    lx2, ly2 = a * a, e * e
    zx = _extend_quadratic(z, axis=1)
    zy = _extend_quadratic(z, axis=0)
    d = ((zx[:, :-2] + zx[:, 2:]) / 2.0 - z) / lx2
    ee = ((zy[:-2, :] + zy[2:, :]) / 2.0 - z) / ly2
    curv = -2.0 * (d + ee) * 100.0
    nan = np.isnan(z)
    if nan.any():
        curv[ndimage.binary_dilation(nan, structure=np.ones((3, 3), bool))] = np.nan
    return curv.astype(np.float32)


def _normalised_difference(p: np.ndarray, q: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"{names[0]} and {names[1]} bands differ in shape: {p.shape} vs {q.shape}; read them from "
                         "the same grid (same window)")
    den = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (p - q) / den
    out[(den == 0) | ~np.isfinite(out)] = np.nan
    return out.astype(np.float32)


def ndvi(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """Normalised difference vegetation index (NIR - Red) / (NIR + Red), in [-1, 1] for reflectances >= 0.

    Args:
        red: red band (reflectance or digital numbers, any dtype).
        nir: near-infrared band of the same shape.

    Returns:
        float32 NDVI, NaN where NIR + Red = 0 or a band is NaN.
    """
    return _normalised_difference(nir, red, ("nir", "red"))


def mndwi(green: np.ndarray, swir: np.ndarray) -> np.ndarray:
    """Modified normalised difference water index (Green - SWIR) / (Green + SWIR) (Xu 2006).

    Args:
        green: green band.
        swir: short-wave-infrared band (Landsat TM band 5 / OLI band 6) of the same shape.

    Returns:
        float32 MNDWI, NaN where Green + SWIR = 0 or a band is NaN.
    """
    return _normalised_difference(green, swir, ("green", "swir"))


def _geometries(geoms: object) -> np.ndarray:
    if isinstance(geoms, shapely.Geometry):
        geoms = [geoms]
    elif hasattr(geoms, "geometry"):  # GeoDataFrame / GeoSeries
        geoms = list(geoms.geometry)
    items = list(geoms)  # type: ignore[call-overload]
    if not items:
        raise ValueError("no geometry given: distance_to_lines needs at least one line (check that the layer is "
                         "not empty and that any filter kept some features)")
    arr = np.asarray([g for g in items if g is not None and not g.is_empty], dtype=object)
    if arr.size == 0:
        raise ValueError(f"all {len(items)} geometries are empty or None; give at least one non-empty line")
    return arr


def _segments(geoms: np.ndarray) -> np.ndarray:
    """The geometries as single segments (lines) or single parts (points, polygons), for a nearest-neighbour tree."""
    parts = shapely.get_parts(geoms)
    while True:  # nested collections
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
    is_line = np.isin(shapely.get_type_id(parts), (1, 2))  # LineString, LinearRing
    coords, idx = shapely.get_coordinates(parts[is_line], return_index=True)
    same = idx[1:] == idx[:-1]
    segs = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1)) if same.any() \
        else np.empty(0, dtype=object)
    return np.concatenate([segs, parts[~is_line]])


def distance_to_lines(geoms: Sequence[object], *, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Distance in metres from each pixel centre to the nearest line (rivers, faults; Gao et al. 2021).

    The lines are rasterised (``all_touched=True``) and the Euclidean distance transform of the other pixels
    (``scipy.ndimage.distance_transform_edt`` with the pixel sizes as sampling) gives the distance from each
    pixel centre to the nearest touched pixel's centre: exact to about one pixel -- within ``h`` = half a pixel
    diagonal of the true distance (a touched pixel is 0). The lines are rasterised on the grid extended by a
    margin of 256 pixels (at most the raster's size) on every side, so lines just outside the raster count.
    Lines beyond the margin are unseen by the transform: their parts there go into an STRtree of short
    segments, and a pixel centre gets its exact distance to them (shapely) when that is shorter than the
    transform value by more than ``h`` (exact distances on a coarse lattice of pixel centres bound the others
    from below, so only pixels that may be nearer such a line are queried). Every distance is thus within
    ``h`` of the exact one, and if no line touches the extended grid every distance is exact (one query per
    pixel centre). The exact distances are computed in blocks of rows, so a large raster with far-away lines
    stays within memory (the distance transform itself needs about 16 bytes per pixel of the extended grid).

    Args:
        geoms: shapely geometries (lines; polygons count as their area, points as points) in the raster's CRS,
            one geometry, or a GeoDataFrame / GeoSeries already in that CRS.
        shape: (rows, cols) of the grid.
        transform: north-up geotransform of the grid (coordinates in metres).

    Returns:
        (rows, cols) float32 distances in metres.

    Raises:
        ValueError: no (non-empty) geometry, a bad shape, or a rotated transform.
    """
    arr = _geometries(geoms)
    rows, cols = (int(s) for s in shape)
    if rows <= 0 or cols <= 0:
        raise ValueError(f"shape must be (rows, cols) with both positive, got {tuple(shape)}")
    a, e = _north_up(transform)
    pad = min(_PAD_PX, max(rows, cols))
    touched = rasterize(((g, 1) for g in arr), out_shape=(rows + 2 * pad, cols + 2 * pad),
                        transform=transform @ Affine.translation(-pad, -pad), fill=0, all_touched=True,
                        dtype="uint8")
    if touched.any():
        dist = ndimage.distance_transform_edt(touched == 0, sampling=(abs(e), abs(a)))[pad:pad + rows,
                                                                                        pad:pad + cols]
        dist = np.ascontiguousarray(dist)
    else:
        dist = np.full((rows, cols), np.inf)
    del touched
    # lines beyond the extended grid: exact distances where they may be nearer than the transform says
    x0, x1 = sorted((transform.c - pad * a, transform.c + (cols + pad) * a))
    y0, y1 = sorted((transform.f - pad * e, transform.f + (rows + pad) * e))
    outside = shapely.difference(arr, shapely.box(x0, y0, x1, y1))
    outside = outside[~shapely.is_empty(outside)]
    if outside.size:
        tree = shapely.STRtree(_segments(outside))
        _correct_beyond(dist, tree, transform, half_diag=0.5 * float(np.hypot(a, e)))
    return dist.astype(np.float32)


def _nearest(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact distance from the points (x, y) to the nearest geometry of ``tree``."""
    idx, d = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    out = np.full(len(x), np.inf)
    out[idx[0]] = d
    return out


def _correct_beyond(dist: np.ndarray, tree: shapely.STRtree, transform: Affine, *, half_diag: float) -> None:
    """Lower ``dist`` in place to the exact distance to the geometries of ``tree`` where that is shorter by more
    than ``half_diag``.

    The distance to the geometries is 1-Lipschitz: computed exactly on a coarse lattice of pixel centres (one
    per ``_COARSE_PX`` x ``_COARSE_PX`` cell), it bounds from below the distance at every pixel of the cell, and
    only the pixels whose bound is below their current value minus ``half_diag`` get an exact query.
    """
    rows, cols = dist.shape
    a, e = transform.a, transform.e
    s = _COARSE_PX
    qr = np.minimum(np.arange(0, rows, s) + s // 2, rows - 1)  # the lattice: rows / cols of the cell centres
    qc = np.minimum(np.arange(0, cols, s) + s // 2, cols - 1)
    centres = grid_coords(transform, (rows, cols))
    xs, ys = centres["x"], centres["y"]
    coarse = np.empty((len(qr), len(qc)))
    step = max(1, _BLOCK_POINTS // len(qc))
    for i0 in range(0, len(qr), step):
        gx, gy = np.meshgrid(xs[qc], ys[qr[i0:i0 + step]])
        coarse[i0:i0 + step] = _nearest(tree, gx.ravel(), gy.ravel()).reshape(gx.shape)
    col_cell = np.arange(cols) // s
    dx = (np.arange(cols) - qc[col_cell]) * abs(a)
    step = max(1, _BLOCK_POINTS // cols)
    for r0 in range(0, rows, step):
        r = np.arange(r0, min(rows, r0 + step))
        dy = (r - qr[r // s]) * abs(e)
        bound = coarse[r // s][:, col_cell] - np.hypot(dy[:, None], dx[None, :])
        block = dist[r0:r0 + len(r)]
        rr, cc = np.nonzero(bound < block - half_diag)
        if rr.size == 0:
            continue
        exact = _nearest(tree, xs[cc], ys[r[rr]])
        cur = block[rr, cc]
        block[rr, cc] = np.where(exact < cur - half_diag, exact, cur)


def unit_name(value: object) -> str:
    """A class value as its name: whole numbers as integers (``3.0`` -> ``"3"``, as a unit code column read as
    floats), anything else as ``str``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def rasterize_classes(
    gdf: "object",
    *,
    column: str,
    shape: tuple[int, int],
    transform: Affine,
    classes: Sequence[str] | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Categorical polygons (lithology units) as class codes 1..K on a grid; 0 where no polygon.

    A pixel takes the class of the polygon holding its centre (``rasterize`` without ``all_touched``); where
    polygons overlap, the later row wins. Values are compared as strings (``str(value)``), so integer unit
    codes may be named ``"1"``, ``"2"``...; rows whose value is missing (None / NaN) or whose geometry is empty
    are skipped.

    Args:
        gdf: GeoDataFrame of polygons, already in the grid's CRS.
        column: the column naming each polygon's class.
        shape: (rows, cols) of the grid.
        transform: north-up geotransform of the grid.
        classes: class names in code order 1..K (e.g. weak to strong rock); default: the column's unique values
            sorted (numerically when they are numbers).

    Returns:
        ((rows, cols) uint8 codes 0..K, the K class names in code order).

    Raises:
        ValueError: the column is missing (naming the available ones), a value is not among ``classes`` (naming
            the unknown values), ``classes`` repeats a name, or there are more than 255 classes.
    """
    columns = [str(c) for c in getattr(gdf, "columns", [])]
    if column not in getattr(gdf, "columns", []):
        raise ValueError(f"no column {column!r} in the polygons; available columns: {', '.join(columns) or 'none'}")
    _north_up(transform)
    values = gdf[column]
    keep = values.notna().to_numpy() & np.asarray([g is not None and not g.is_empty for g in gdf.geometry], bool)
    raw = values[keep]
    names_of_rows = [unit_name(v) for v in raw]
    if classes is None:
        uniq = list(dict.fromkeys(raw.tolist()))
        try:
            uniq = sorted(uniq)
        except TypeError:  # mixed types
            uniq = sorted(uniq, key=str)
        names = tuple(dict.fromkeys(unit_name(v) for v in uniq))
    else:
        names = tuple(str(c) for c in classes)
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"classes name {', '.join(map(repr, dup))} more than once; give each class once")
        unknown = sorted(set(names_of_rows) - set(names))
        if unknown:
            raise ValueError(f"values of column {column!r} not among the classes: "
                             f"{', '.join(map(repr, unknown[:20]))}{' ...' if len(unknown) > 20 else ''}; "
                             f"add them to classes (given: {', '.join(map(repr, names))})")
    if len(names) > 255:
        raise ValueError(f"{len(names)} classes do not fit uint8 codes 1..255; merge classes first")
    code = {n: i + 1 for i, n in enumerate(names)}
    out = np.zeros(tuple(int(s) for s in shape), dtype=np.uint8)
    pairs = [(g, code[n]) for g, n in zip(gdf.geometry[keep], names_of_rows)]
    if pairs and out.size:
        rasterize(pairs, out=out, transform=transform, all_touched=False)
    return out, names
