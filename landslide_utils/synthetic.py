"""The embedded synthetic study area, a stand-in for Ludian, Yunnan (METHODS.md section 3).

Yang et al. (2022) map landslides of the 2014 Ludian earthquake from a post-event image, a second-date image,
a DEM, OpenStreetMap rivers and an inventory. :func:`generate` writes the same inputs for a synthetic area, as
real GeoTIFF and vector files in a projected CRS, so the code path for real data runs end to end:

1. **Rivers**: a meandering main river across the scene and ``n_tributaries`` side rivers joining it.
2. **Terrain** (on the DEM's own, coarser and shifted grid): valley walls rising with the distance from the
   main river and the tributaries (flat valley floors of varying width, tributary floors rising upstream),
   smooth noise on the slopes and a regional gradient. ``relief_m`` is the elevation range unless that would
   make the terrain implausibly steep for a small scene (95th percentile of slope above 50 degrees); then the
   relief is reduced (recorded in ``synthetic.json``).
3. **Landslides**: rejection sampling on a suitability map computed from the generated DEM, rising with slope
   (Yang et al. 2022, Figure 13), falling with the distance from rivers (Figure 14) and with elevation
   (Figure 12); log-normal areas; oval, tongue (teardrop elongated downslope) and debris-flow shapes oriented
   downslope; grey, brown and reddish scars with noise and downslope streaks. Valid, non-overlapping, inside
   the scene, clear of water, gravel bars and roads.
4. **Confusers** sharing landslide colours on different terrain: muddy river surface, gravel bars, roads along
   the valleys, bare fields and buildings on flat valley floors (also written to ``confusers.gpkg``).
5. **Second date** (``image_t2.tif``): a seasonal colour shift of the whole scene (drier vegetation, clearer
   water) and a share ``revegetated_share`` of landslides partly covered by young vegetation.

Everything is deterministic from ``seed`` (NumPy Generators only); rasters are byte-identical for a seed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy.ndimage import distance_transform_edt, gaussian_filter
from shapely import affinity
from shapely.geometry import LineString, Polygon, box
from shapely.ops import substring

from .config import AreaSpec, Profile, SyntheticSpec, synthetic_bounds
from .io import write_geotiff, write_json, write_vector

__all__ = ["generate", "generate_from_profile", "SYNTHETIC_FILES", "DEM_NODATA"]

SYNTHETIC_FILES: dict[str, str] = {
    "image_t1": "image_t1.tif", "image_t2": "image_t2.tif", "dem": "dem.tif", "rivers": "rivers.geojson",
    "inventory": "inventory.gpkg", "areas": "areas.geojson", "confusers": "confusers.gpkg",
    "meta": "synthetic.json",
}
DEM_NODATA = -9999.0
_DEM_MARGIN = 3  # DEM cells beyond the image extent on every side
_SHAPES = ("oval", "tongue", "debris_flow")
_SHAPE_P = (0.4, 0.4, 0.2)
_COLOURS = {"grey": (172, 168, 158), "brown": (168, 142, 112), "reddish": (172, 122, 96)}
_COLOUR_P = (0.4, 0.35, 0.25)
# vegetation palette (August, rainy season): dense forest, shrub, alpine grass, flat-ground meadow/crops
_FOREST, _SHRUB, _ALPINE, _MEADOW = (36, 64, 34), (78, 98, 52), (122, 124, 82), (92, 122, 58)
_YOUNG_VEG = (104, 128, 66)
_SUN_AZ, _SUN_ALT = 315.0, 45.0


@dataclass(frozen=True)
class _Grid:
    """A north-up raster grid: upper-left corner, square cell size, shape."""

    x0: float
    y0: float
    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0)

    def xs(self) -> np.ndarray:
        return self.x0 + (np.arange(self.width) + 0.5) * self.res

    def ys(self, r0: int = 0, r1: int | None = None) -> np.ndarray:
        return self.y0 - (np.arange(r0, self.height if r1 is None else r1) + 0.5) * self.res

    def sample(self, arr: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Nearest-cell values of ``arr`` at world points."""
        c = np.clip(((np.asarray(x) - self.x0) / self.res).astype(int), 0, self.width - 1)
        r = np.clip(((self.y0 - np.asarray(y)) / self.res).astype(int), 0, self.height - 1)
        return arr[r, c]


class _Resampler:
    """Separable bilinear resampling of a coarse grid onto the pixel centres ``xs`` x ``ys`` (cheap, exact)."""

    def __init__(self, grid: _Grid, xs: np.ndarray, ys: np.ndarray) -> None:
        fc = (xs - grid.x0) / grid.res - 0.5
        fr = (grid.y0 - ys) / grid.res - 0.5
        self.c0 = np.clip(np.floor(fc).astype(int), 0, grid.width - 2)
        self.tc = np.clip(fc - self.c0, 0, 1).astype(np.float32)
        r0 = np.clip(np.floor(fr).astype(int), 0, grid.height - 2)
        self.tr = np.clip(fr - r0, 0, 1).astype(np.float32)[:, None]
        self.rlo, rhi = int(r0.min()), int(r0.max()) + 2
        self.r0 = r0 - self.rlo
        self.rsl = slice(self.rlo, rhi)

    def __call__(self, arr: np.ndarray) -> np.ndarray:
        a = arr[self.rsl].astype(np.float32, copy=False)
        tmp = a[:, self.c0] * (1 - self.tc) + a[:, self.c0 + 1] * self.tc
        return tmp[self.r0] * (1 - self.tr) + tmp[self.r0 + 1] * self.tr


def _prep(g):
    """Prepare a geometry in place for fast repeated predicates and return it."""
    shapely.prepare(g)
    return g


def _horn(z: np.ndarray, res: float) -> tuple[np.ndarray, np.ndarray]:
    """Horn's (1981) gradient: (dz/dx east, dz/dy north) of a north-up grid."""
    p = np.pad(z, 1, mode="edge")
    dzdx = ((p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])) / (8 * res)
    dzds = ((p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])) / (8 * res)
    return dzdx, -dzds


def _hillshade(dzdx: np.ndarray, dzdy: np.ndarray, az: float = _SUN_AZ, alt: float = _SUN_ALT) -> np.ndarray:
    """Cosine of the sun's incidence angle (0..1); azimuth clockwise from north, in degrees."""
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, -dzdy)
    a, h = math.radians(az), math.radians(alt)
    return np.clip(math.sin(h) * np.cos(slope) + math.cos(h) * np.sin(slope) * np.cos(a - aspect), 0, 1)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation."""
    n = gaussian_filter(rng.standard_normal(shape), min(sigma, min(shape) / 4), mode="wrap")
    n -= n.mean()
    return (n / (n.std() + 1e-12)).astype(np.float32)


class _NoiseBank:
    """Value noise at physical scales (metres) over the image extent; finer than 2 pixels -> white noise."""

    def __init__(self, rng: np.random.Generator, img: _Grid, scales: dict[str, float]) -> None:
        self.img, self.grids = img, {}
        for name, scale in scales.items():
            if scale < 2 * img.res:
                self.grids[name] = None
                continue
            res = scale / 2
            w = int(math.ceil(img.width * img.res / res)) + 3
            h = int(math.ceil(img.height * img.res / res)) + 3
            g = _Grid(img.x0 - res, img.y0 + res, res, w, h)
            self.grids[name] = (g, _smooth_noise(rng, (h, w), 1.0))

    def chunk(self, name: str, ys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        item = self.grids[name]
        if item is None:
            return rng.standard_normal((len(ys), self.img.width), dtype=np.float32)
        g, arr = item
        return _Resampler(g, self.img.xs(), ys)(arr)


# ----------------------------------------------------------------------------------------------- rivers
def _make_rivers(rng: np.random.Generator, spec: SyntheticSpec, dem: _Grid) -> list[dict]:
    """A meandering main river across the scene (west-east) and tributaries from the north and south edges
    joining it at an angle pointing downstream; they never cross each other."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    wm, hm = xmax - xmin, ymax - ymin
    east = bool(rng.random() < 0.5)
    xs = np.linspace(dem.x0 + dem.res / 2, dem.x0 + (dem.width - 0.5) * dem.res, 400)
    y = ymin + hm * rng.uniform(0.42, 0.58) + hm * rng.uniform(-0.08, 0.08) * ((xs - xmin) / wm - 0.5)
    for k in range(3):
        lam = wm * rng.uniform(0.4, 1.1) / (k + 1) ** 0.8
        y = y + hm * rng.uniform(0.025, 0.06) / (k + 1) * np.sin(2 * np.pi * xs / lam + rng.uniform(0, 2 * np.pi))
    pts = np.column_stack([xs, y]) if east else np.column_stack([xs, y])[::-1]
    main = LineString(pts)
    rivers = [{"name": "main", "kind": "main", "width_m": float(rng.uniform(18, 28)), "geometry": main}]
    n = spec.n_tributaries
    first = int(rng.integers(2))
    margin = 0.5 * _DEM_MARGIN * dem.res
    upstream = -1.0 if east else 1.0
    for k in range(n):
        north = (k + first) % 2 == 0
        for _attempt in range(30):
            xj = xmin + wm * (0.08 + 0.84 * (k + rng.uniform(0.15, 0.85)) / n)
            jpt = main.interpolate(main.project(shapely.Point(xj, ymin + hm / 2)))
            ys = ymax + margin if north else ymin - margin
            xs0 = xj + upstream * abs(ys - jpt.y) * rng.uniform(0.0, 0.35)
            s, j = np.array([xs0, ys]), np.array([jpt.x, jpt.y])
            t = np.linspace(0, 1, 120)[:, None]
            length = float(np.hypot(*(j - s)))
            normal = np.array([-(j - s)[1], (j - s)[0]]) / length
            off = sum(length * rng.uniform(-a, a) * np.sin(np.pi * m * t) for m, a in ((1, 0.08), (2, 0.04), (3, 0.02)))
            trib = LineString(s + t * (j - s) + off * normal)
            head = substring(trib, 0, trib.length - 2 * dem.res)
            if head.intersects(main) or any(head.intersects(r["geometry"]) for r in rivers[1:]):
                continue
            rivers.append({"name": f"tributary_{k + 1}", "kind": "tributary", "width_m": float(rng.uniform(8, 14)),
                           "geometry": trib})
            break
    return rivers


# ---------------------------------------------------------------------------------------------- terrain
def _make_terrain(rng: np.random.Generator, spec: SyntheticSpec, dem: _Grid, rivers: list[dict]) -> dict:
    """Elevation (m) and derived layers on the DEM grid.

    Valley walls rise with the distance from the main river and the tributaries beyond flat floors of varying
    width (a soft minimum of the two valley systems, tributary floors rising upstream), plus smooth noise on
    the slopes, a regional gradient rising upstream and gullies carved along steepest-descent paths.
    """
    _, ymin, _, ymax = synthetic_bounds(spec)
    hm = ymax - ymin
    shape = (dem.height, dem.width)

    def dist(lines: list) -> np.ndarray:
        if not lines:
            return np.full(shape, 1e6, np.float32)
        m = rasterize([(g, 1) for g in lines], out_shape=shape, transform=dem.transform, all_touched=True,
                      dtype="uint8")
        return (distance_transform_edt(m == 0) * dem.res).astype(np.float32)

    d_main = dist([rivers[0]["geometry"]])
    d_trib = dist([r["geometry"] for r in rivers[1:]])
    cells = lambda metres: max(metres / dem.res, 1.0)  # noqa: E731
    n_floor = _smooth_noise(rng, shape, cells(300))
    w_main = (0.022 * hm + 15) * np.clip(1 + 0.6 * n_floor, 0.35, 2.0)
    w_trib = 0.45 * w_main
    l_main, l_trib = 0.28 * hm, 0.16 * hm
    e_main = 1 - np.exp(-np.maximum(d_main - w_main, 0) / l_main)
    e_trib = 0.55 * (1 - np.exp(-np.maximum(d_main - w_main, 0) / (2 * l_main)))
    e_trib += 0.6 * (1 - np.exp(-np.maximum(d_trib - w_trib, 0) / l_trib))
    k = 0.04
    raw = -k * np.logaddexp(-e_main / k, -e_trib / k)
    d_any = np.minimum(d_main, d_trib)
    ramp = np.clip((d_any - np.where(d_main < d_trib, w_main, w_trib)) / (0.3 * l_main), 0, 1)
    noise = sum(a * _smooth_noise(rng, shape, cells(s)) for a, s in ((0.03, 60), (0.06, 180), (0.09, 500)))
    xy = np.asarray(rivers[0]["geometry"].coords)
    theta = (np.pi if xy[-1, 0] > xy[0, 0] else 0.0) + rng.uniform(-0.6, 0.6)  # rises towards upstream
    xx, yy = np.meshgrid(dem.xs(), dem.ys())
    plane = (np.cos(theta) * xx + np.sin(theta) * yy) / max(dem.width, dem.height) / dem.res
    raw = raw + ramp * noise + 0.12 * (plane - plane.min())
    # gullies: steepest-descent paths from the upper slopes to the valley floors, carved as V-shaped notches
    n_gullies = round(14 * (synthetic_bounds(spec)[2] - synthetic_bounds(spec)[0]) * hm / 1e6) + 2
    gullies = _trace_gullies(rng, dem, raw, ramp, n_gullies)
    if gullies:
        gm = rasterize([(g, 1) for g in gullies], out_shape=shape, transform=dem.transform, all_touched=True,
                       dtype="uint8")
        d_g = distance_transform_edt(gm == 0) * dem.res
        raw = raw - 0.08 * ramp * np.exp(-d_g / float(np.clip(0.035 * hm, 20, 70)))
    raw = gaussian_filter(raw, 0.7)
    raw = raw - raw.min()
    scale = spec.relief_m / max(float(raw.max()), 1e-9)
    gx, gy = _horn(raw * scale, dem.res)
    t95 = float(np.percentile(np.hypot(gx, gy), 95))
    cap = math.tan(math.radians(50.0))
    relief_factor = min(1.0, cap / t95) if t95 > 0 else 1.0
    elev = (spec.base_elevation_m + raw * scale * relief_factor).astype(np.float32)
    gx, gy = _horn(elev.astype(np.float64), dem.res)
    return {"elev": elev, "slope": np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32),
            "dzdx": gx.astype(np.float32), "dzdy": gy.astype(np.float32), "d_any": d_any,
            "shade": _hillshade(gx, gy).astype(np.float32), "relief_factor": relief_factor}


def _bilinear(grid: _Grid, arr: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    fc = np.clip((x - grid.x0) / grid.res - 0.5, 0, grid.width - 1.001)
    fr = np.clip((grid.y0 - y) / grid.res - 0.5, 0, grid.height - 1.001)
    c, r = fc.astype(int), fr.astype(int)
    tc, tr = fc - c, fr - r
    return ((arr[r, c] * (1 - tc) + arr[r, c + 1] * tc) * (1 - tr)
            + (arr[r + 1, c] * (1 - tc) + arr[r + 1, c + 1] * tc) * tr)


def _trace_gullies(rng: np.random.Generator, dem: _Grid, z: np.ndarray, ramp: np.ndarray, n: int) -> list:
    """Steepest-descent paths on ``z`` from random upper-slope cells down to the valley floors."""
    rows, cols = np.nonzero(ramp > 0.8)
    if rows.size == 0 or n <= 0:
        return []
    gx, gy = _horn(z, dem.res)
    norm = np.hypot(gx, gy) + 1e-12
    ux, uy = -gx / norm, -gy / norm
    pick = rng.choice(rows.size, size=min(n, rows.size), replace=False)
    x = dem.xs()[cols[pick]] + rng.uniform(-0.5, 0.5, pick.size) * dem.res
    y = dem.ys()[rows[pick]] + rng.uniform(-0.5, 0.5, pick.size) * dem.res
    pts, active = [np.column_stack([x, y])], np.ones(pick.size, bool)
    for _ in range(2 * max(dem.width, dem.height)):
        dx, dy = _bilinear(dem, ux, x, y), _bilinear(dem, uy, x, y)
        n_ = np.hypot(dx, dy) + 1e-12
        x, y = x + active * 0.7 * dem.res * dx / n_, y + active * 0.7 * dem.res * dy / n_
        pts.append(np.column_stack([x, y]))
        active &= _bilinear(dem, ramp, x, y) > 0.05
        if not active.any():
            break
    path = np.stack(pts, axis=1)
    out = []
    for p in path:
        keep = np.concatenate([[True], np.any(np.abs(np.diff(p, axis=0)) > 1e-9, axis=1)])
        p = p[keep]
        if len(p) >= 4:
            out.append(LineString(p))
    return out


# ------------------------------------------------------------------------------- objects (non-overlap)
class _Registry:
    """Placed polygons with a bounding-box prefilter for the gap test."""

    def __init__(self, gap: float) -> None:
        self.gap, self.geoms, self.boxes = gap, [], np.empty((0, 4))

    def free(self, g: Polygon) -> bool:
        if not len(self.geoms):
            return True
        b = np.array(g.bounds)
        hit = ((self.boxes[:, 0] < b[2] + self.gap) & (self.boxes[:, 2] > b[0] - self.gap)
               & (self.boxes[:, 1] < b[3] + self.gap) & (self.boxes[:, 3] > b[1] - self.gap))
        idx = np.flatnonzero(hit)
        return not any(self.geoms[i].distance(g) < self.gap for i in idx)

    def add(self, g: Polygon) -> None:
        self.geoms.append(g)
        self.boxes = np.vstack([self.boxes, g.bounds])


def _outline(rng: np.random.Generator, shape: str) -> np.ndarray:
    """Unit outline in (u downslope, v across) with ragged edges; head (scarp) at small u."""
    if shape == "oval":
        th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        r = 1 + sum(rng.uniform(0, 0.25) / m * np.cos(m * th + rng.uniform(0, 6.3)) for m in range(2, 7))
        a = rng.uniform(1.3, 2.4)
        uv = np.column_stack([math.sqrt(a) * r * np.cos(th), r * np.sin(th) / math.sqrt(a)])
    else:
        s = np.linspace(0, 1, 40)
        wn = 1 + 0.15 * np.interp(s, np.linspace(0, 1, 9), rng.standard_normal(9))
        if shape == "tongue":
            q, bend = rng.uniform(2.0, 3.5), rng.uniform(-0.15, 0.15)
            w = np.sqrt(s) * (1 - s) ** 0.7
        else:  # debris_flow: source area, narrow channel, widening fan
            q, bend = rng.uniform(4.0, 8.0), rng.uniform(-0.6, 0.6)
            w = (1 - (2 * s - 1) ** 2) ** 0.45 * (0.5 + 0.35 * np.exp(-((s - 0.15) / 0.15) ** 2)
                                                 + 0.6 * np.clip((s - 0.55) / 0.45, 0, 1) ** 1.5)
        w = 0.5 * wn * w / w.max()
        u, vc = q * s, bend * np.sin(np.pi * s)
        uv = np.vstack([np.column_stack([u, vc + w]), np.column_stack([u, vc - w])[-2:0:-1]])
    c = uv.mean(axis=0)
    jag = 1 + 0.05 * np.convolve(np.tile(rng.standard_normal(len(uv)), 3), np.ones(3) / 3, "same")[len(uv):2 * len(uv)]
    return c + (uv - c) * jag[:, None]


def _place_landslides(rng: np.random.Generator, spec: SyntheticSpec, dem: _Grid, terr: dict,
                      barrier, reg: _Registry) -> list[dict]:
    """Rejection sampling on the suitability map (slope, distance from rivers, elevation; Yang et al. 2022,
    Figures 12-14), then a log-normal area, a shape oriented downslope and the validity/overlap checks."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    p = spec.pixel_size_m
    inner = _prep(box(xmin + p, ymin + p, xmax - p, ymax - p))
    elev, slope = terr["elev"], terr["slope"]
    e_n = (elev - elev.min()) / max(float(np.ptp(elev)), 1e-6)
    suit = np.clip((slope - 10) / 35, 0, 1) ** 1.5 * (0.15 + 0.85 * np.exp(-terr["d_any"] / 350.0)) * (1 - 0.7 * e_n)
    smax = float(suit.max()) or 1.0
    amin = max(50.0, 16 * p * p)
    amax = max(min((xmax - xmin) * (ymax - ymin) / 100, 60 * spec.landslide_median_area_m2), 2 * amin)
    out: list[dict] = []
    attempts, limit = 0, 300 * spec.n_landslides + 2000
    while len(out) < spec.n_landslides and attempts < limit:
        cx, cy = rng.uniform(xmin, xmax, 256), rng.uniform(ymin, ymax, 256)
        ok = rng.random(256) * smax < dem.sample(suit, cx, cy)
        for x, y in zip(cx[ok], cy[ok]):
            attempts += 1
            if len(out) >= spec.n_landslides or attempts >= limit:
                break
            gx, gy = float(dem.sample(terr["dzdx"], x, y)), float(dem.sample(terr["dzdy"], x, y))
            norm = math.hypot(gx, gy)
            if norm == 0:
                continue
            ux, uy = -gx / norm, -gy / norm
            shape = str(rng.choice(_SHAPES, p=_SHAPE_P))
            area = float(np.clip(rng.lognormal(math.log(spec.landslide_median_area_m2), spec.landslide_area_sigma),
                                 amin, amax))
            uv = _outline(rng, shape)
            uv = uv - Polygon(uv).centroid.coords[0]
            uv *= math.sqrt(area / Polygon(uv).area)
            xy = np.column_stack([x + uv[:, 0] * ux - uv[:, 1] * uy, y + uv[:, 0] * uy + uv[:, 1] * ux])
            g = shapely.set_precision(Polygon(np.round(xy, 2)), 0.01)
            if not (g.is_valid and g.geom_type == "Polygon") or not inner.contains(g):
                continue
            if np.median(dem.sample(slope, xy[:, 0], xy[:, 1])) < 15:  # scars lie on slopes, not floors
                continue
            if barrier.intersects(g) or not reg.free(g):
                continue
            reg.add(g)
            colour = str(rng.choice(list(_COLOURS), p=_COLOUR_P))
            out.append({"geometry": g, "shape": shape, "colour": colour, "cx": x, "cy": y, "ux": ux, "uy": uy,
                        "umin": float(uv[:, 0].min()), "ulen": float(np.ptp(uv[:, 0]))})
    return out


def _rect(cx: float, cy: float, w: float, h: float, ang: float) -> Polygon:
    c, s = math.cos(ang), math.sin(ang)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return Polygon([(round(cx + a * c - b * s, 2), round(cy + a * s + b * c, 2)) for a, b in pts])


def _place_blocks(rng: np.random.Generator, spec: SyntheticSpec, dem: _Grid, terr: dict, roads: list[Polygon],
                  barrier, reg: _Registry) -> list[dict]:
    """Bare fields and buildings on flat ground, clear of everything placed before."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    p = spec.pixel_size_m
    scene = _prep(box(xmin, ymin, xmax, ymax))
    slope = terr["slope"]
    rows, cols = np.nonzero(slope < 6.0)
    cx_all, cy_all = dem.xs()[cols], dem.ys()[rows]
    inside = (cx_all > xmin) & (cx_all < xmax) & (cy_all > ymin) & (cy_all < ymax)
    cx_all, cy_all = cx_all[inside], cy_all[inside]
    out: list[dict] = []
    if cx_all.size == 0:
        return out

    def flat(g: Polygon, limit: float) -> bool:
        pts = np.vstack([np.asarray(g.exterior.coords), np.asarray(g.centroid.coords)])
        return bool(np.all(dem.sample(slope, pts[:, 0], pts[:, 1]) < limit))

    def try_place(g: Polygon, limit: float, kind: str, colour: str) -> bool:
        if not (scene.contains(g) and flat(g, limit)) or barrier.intersects(g) or not reg.free(g):
            return False
        reg.add(g)
        out.append({"geometry": g, "kind": kind, "colour": colour})
        return True

    placed, tries = 0, 0
    while placed < spec.n_fields and tries < 200 * spec.n_fields:
        tries += 1
        i = rng.integers(cx_all.size)
        a = rng.uniform(max(20, 4 * p), max(50, 6 * p))
        g = _rect(cx_all[i] + rng.uniform(-1, 1) * dem.res, cy_all[i] + rng.uniform(-1, 1) * dem.res, a,
                  a * rng.uniform(1.2, 2.0), rng.uniform(-0.5, 0.5))
        placed += try_place(g, 9.0, "field", str(rng.choice(["brown", "reddish"])))
    # buildings cluster in villages near roads
    if roads:
        near = shapely.distance(shapely.union_all(roads), shapely.points(cx_all, cy_all)) < 80
        if near.any():
            cx_all, cy_all = cx_all[near], cy_all[near]
    def village() -> tuple[float, float, float, int]:  # centre, orientation, failed tries
        j = rng.integers(cx_all.size)
        return cx_all[j], cy_all[j], rng.uniform(0, np.pi), 0

    villages = [village() for _ in range(max(1, spec.n_buildings // 10))]
    placed, tries = 0, 0
    while placed < spec.n_buildings and tries < 200 * spec.n_buildings:
        tries += 1
        v = int(rng.integers(len(villages)))
        vx, vy, ang, fails = villages[v]
        w, h = rng.uniform(max(8, 2 * p), max(18, 3 * p)), rng.uniform(max(6, 2 * p), max(12, 2.5 * p))
        g = _rect(vx + rng.normal(0, 35), vy + rng.normal(0, 35), w, h, ang + rng.choice([0, np.pi / 2])
                  + rng.normal(0, 0.08))
        ok = try_place(g, 10.0, "building", str(rng.choice(["grey", "reddish"], p=[0.6, 0.4])))
        placed += ok
        villages[v] = (vx, vy, ang, 0) if ok else village() if fails > 25 else (vx, vy, ang, fails + 1)
    return out


# ------------------------------------------------------------------------------- water, bars and roads
def _largest(g) -> Polygon | LineString | None:
    parts = [p for p in getattr(g, "geoms", [g]) if not p.is_empty]
    return max(parts, key=lambda p: (p.area, p.length)) if parts else None


def _make_lines(rng: np.random.Generator, spec: SyntheticSpec, dem: _Grid, rivers: list[dict]) -> list[dict]:
    """River surfaces, gravel bars beside the main river and roads along the valleys (confusers)."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    hm, scene = ymax - ymin, box(xmin, ymin, xmax, ymax)
    water = [{"kind": "river_surface", "colour": "grey-brown",
              "geometry": r["geometry"].buffer(r["width_m"] / 2).intersection(scene)} for r in rivers]
    main_water = water[0]["geometry"]
    roads = []
    for i in range(spec.n_roads):
        r = rivers[i % len(rivers)]
        side = float(rng.choice([-1.0, 1.0]))
        rw = rng.uniform(5, 8)
        beside = 28 + rng.uniform(0, 0.02 * hm) if r["kind"] == "main" else rw / 2 + rng.uniform(5, 10)
        off = r["width_m"] / 2 + beside + 25.0 * (i // len(rivers))  # valley floor, clear of the gravel bars
        line = _largest(r["geometry"].simplify(dem.res / 2).offset_curve(side * off, join_style="round"))
        if line is None or line.is_empty:
            continue
        g = line.buffer(rw / 2, cap_style="flat")
        if r["kind"] != "main":
            g = g.difference(main_water.buffer(3))
        g = _largest(g.intersection(scene))
        if g is not None and g.area > 0:
            roads.append({"kind": "road", "colour": str(rng.choice(["grey", "brown"], p=[0.6, 0.4])), "geometry": g})
    road_zone = shapely.union_all([r["geometry"] for r in roads]).buffer(2) if roads else Polygon()
    bars, main = [], rivers[0]
    length = main["geometry"].length
    for _ in range(max(1, round((xmax - xmin) / 500))):
        bl = min(rng.uniform(60, 200), 0.3 * length)
        a, bw = rng.uniform(0, length - bl), rng.uniform(8, 18)
        seg = substring(main["geometry"], a, a + bl)
        g = seg.offset_curve(float(rng.choice([-1, 1])) * (main["width_m"] / 2 + bw / 2)).buffer(bw / 2)
        g = g.difference(main_water).difference(road_zone).intersection(scene)
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon" and part.area > 4 * spec.pixel_size_m ** 2:
                bars.append({"kind": "gravel_bar", "colour": "grey", "geometry": part})
    return [c for c in water + bars + roads if not c["geometry"].is_empty]


# -------------------------------------------------------------------------------------------- rendering
_CONF_STYLE = {  # kind -> (texture amplitude, shading weight, stripe amplitude)
    "river_surface": (0.03, 0.25, 0.0), "gravel_bar": (0.12, 1.0, 0.0), "road": (0.04, 0.8, 0.0),
    "field": (0.06, 1.0, 0.08), "building": (0.03, 0.5, 0.0),
}
_CONF_RGB = {("river_surface", "grey-brown"): (102, 97, 82), ("gravel_bar", "grey"): (166, 162, 152),
             ("road", "grey"): (150, 150, 146), ("road", "brown"): (148, 124, 96),
             ("field", "brown"): (146, 114, 84), ("field", "reddish"): (158, 102, 78),
             ("building", "grey"): (180, 178, 172), ("building", "reddish"): (164, 86, 68)}
_CROP_TONES = np.array([(116, 132, 68), (100, 124, 58), (134, 138, 82)], np.float32)


def _edge_distance(slides: list[dict], lids: np.ndarray, img: _Grid) -> np.ndarray:
    """Distance (pixels, capped at 255) of every landslide pixel to its polygon's edge; 0 elsewhere."""
    out = np.zeros(lids.shape, np.uint8)
    for i, s in enumerate(slides, start=1):
        x0, y0, x1, y1 = s["geometry"].bounds
        c0, c1 = max(int((x0 - img.x0) / img.res) - 1, 0), min(int((x1 - img.x0) / img.res) + 2, img.width)
        r0, r1 = max(int((img.y0 - y1) / img.res) - 1, 0), min(int((img.y0 - y0) / img.res) + 2, img.height)
        sub = lids[r0:r1, c0:c1] == i
        d = np.minimum(distance_transform_edt(np.pad(sub, 1)), 255)[1:-1, 1:-1].astype(np.uint8)
        out[r0:r1, c0:c1][sub] = d[sub]
    return out


def _render(rng: np.random.Generator, seed: int, img: _Grid, dem: _Grid, terr: dict,
            confusers: list[dict], slides: list[dict], reveg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Post-event image (t1) and second-date image (t2) as (3, H, W) uint8, rendered in row chunks."""
    shape, p = (img.height, img.width), img.res
    bank = _NoiseBank(rng, img, {"patch": 250.0, "mid": 40.0, "plot": 25.0, "fine": 8.0, "crown": 5.0,
                                 "cover": 6.0, "rock": 1.5, "speckle": 0.0})
    k, n = len(confusers), len(slides)
    def burn(gs: list) -> np.ndarray:  # object ids 1..len(gs), 0 = none
        dt = "uint16" if len(gs) < 65535 else "uint32"
        return rasterize([(g, i + 1) for i, g in enumerate(gs)], out_shape=shape, transform=img.transform,
                         fill=0, dtype=dt) if gs else np.zeros(shape, np.uint16)

    conf, lids = burn([c["geometry"] for c in confusers]), burn([s["geometry"] for s in slides])
    ldist = _edge_distance(slides, lids, img)
    jit = lambda m: (rng.uniform(0.92, 1.08, (m, 1)) * rng.uniform(0.97, 1.03, (m, 3))).astype(np.float32)  # noqa
    c_rgb = np.zeros((k + 1, 3), np.float32)
    c_par = np.zeros((k + 1, 6), np.float32)  # amp, shade weight, stripe amp, period, cos, sin
    for i, c in enumerate(confusers, start=1):
        c_rgb[i] = _CONF_RGB[(c["kind"], c["colour"])]
        ang = rng.uniform(0, np.pi)
        if c["kind"] == "field":
            xy = np.asarray(c["geometry"].exterior.coords)
            ang = math.atan2(xy[1, 1] - xy[0, 1], xy[1, 0] - xy[0, 0])
        c_par[i] = (*_CONF_STYLE[c["kind"]], max(rng.uniform(2.5, 5.0), 2.5 * p), math.cos(ang), math.sin(ang))
    c_rgb[1:] *= jit(k)
    water_ids = np.array([0] + [c["kind"] == "river_surface" for c in confusers], bool)
    blds = [c["geometry"] for c in confusers if c["kind"] == "building"]
    shadow = rasterize([(affinity.translate(g, 0.4 * math.sqrt(g.area), -0.4 * math.sqrt(g.area)), 1)
                        for g in blds], out_shape=shape, transform=img.transform, dtype="uint8") if blds else None
    l_rgb = np.zeros((n + 1, 3), np.float32)
    l_geo = np.zeros((n + 1, 6), np.float64)  # cx, cy, ux, uy, umin, ulen
    l_tex = np.zeros((n + 1, 10), np.float32)  # 3 periods, 3 phases, head, deposit, reveg threshold, is_reveg
    for i, s in enumerate(slides, start=1):
        l_rgb[i] = _COLOURS[s["colour"]]
        l_geo[i] = (s["cx"], s["cy"], s["ux"], s["uy"], s["umin"], max(s["ulen"], p))
        l_tex[i] = (*np.maximum(rng.uniform(3, 12, 3), 2.5 * p), *rng.uniform(0, 2 * np.pi, 3),
                    rng.uniform(0.1, 0.3), rng.uniform(0.05, 0.2), rng.uniform(0.0, 1.0), reveg[i - 1])
    l_rgb[1:] *= jit(n)
    elev = terr["elev"]
    e_n = (elev - elev.min()) / max(float(np.ptp(elev)), 1e-6)
    col = lambda c: np.asarray(c, np.float32).reshape(3, *([1] * 2))  # noqa: E731
    t1, t2 = np.empty((3, *shape), np.uint8), np.empty((3, *shape), np.uint8)
    step, xs = max(16, 2_000_000 // img.width), img.xs()
    for ci, r0 in enumerate(range(0, img.height, step)):
        r1 = min(img.height, r0 + step)
        ys = img.ys(r0, r1)
        crng = np.random.default_rng([seed, 7919, ci])
        res = _Resampler(dem, xs, ys)
        en, slope, z = res(e_n), res(terr["slope"]), res(elev)
        sf = 0.3 + 0.95 * res(terr["shade"])
        nz = {name: bank.chunk(name, ys, crng) for name in bank.grids}
        # vegetation: forest patches with crisp edges, crops (plots, terraces along contours), alpine grass
        forest = np.clip((0.9 - 1.1 * en + 0.45 * nz["patch"] + 0.2 * nz["mid"] - 0.45) / 0.12, 0, 1)
        crop = np.clip(((0.5 - en) * 3 + 0.8 * nz["mid"] - slope / 30 - 0.2) / 0.1, 0, 1) * (1 - forest)
        alpine = np.clip((en - 0.7) * 3 + 0.3 * nz["patch"], 0, 1) * (1 - forest) * (1 - crop)
        meadow = np.clip((10 - slope) / 6, 0, 1) * (1 - crop)
        tone = _CROP_TONES[(np.floor(nz["plot"] * 1.6).astype(int) % 3)].transpose(2, 0, 1)
        rgb = col(_SHRUB) + (col(_FOREST) - col(_SHRUB)) * forest
        rgb += (tone - rgb) * crop
        rgb += (col(_ALPINE) - rgb) * alpine
        rgb += (col(_MEADOW) - rgb) * meadow
        # terraces: stripes along the contours (3.5 m risers), only where they are >= 3 pixels apart
        spacing_px = 3.5 / np.tan(np.radians(np.maximum(slope, 1.0))) / p
        terrace = crop * np.clip(spacing_px / 3 - 1, 0, 1) * np.clip(slope / 4 - 2, 0, 1) * np.sin(2 * np.pi * z / 3.5)
        rgb *= (1 + (0.12 + 0.16 * forest) * nz["crown"] + 0.04 * nz["speckle"] + 0.05 * nz["fine"]
                + 0.06 * nz["rock"] + 0.06 * terrace) * sf
        cid, lid = conf[r0:r1], lids[r0:r1]
        veg = (cid == 0) & (lid == 0)
        under = rgb[:, lid > 0] if (lid > 0).any() else None
        m = cid > 0
        if m.any():
            kk = cid[m]
            rr, cc = np.nonzero(m)
            a = c_par[kk]
            stripes = np.sin(2 * np.pi * (xs[cc] * a[:, 4] + ys[rr] * a[:, 5]) / a[:, 3]).astype(np.float32)
            tex = 1 + a[:, 0] * (0.5 * nz["fine"][m] + 0.5 * nz["speckle"][m] + 1.5 * nz["mid"][m]) + a[:, 2] * stripes
            rgb[:, m] = (c_rgb[kk] * (tex * (1 - a[:, 1] + a[:, 1] * sf[m]))[:, None]).T
        if shadow is not None:
            rgb[:, (shadow[r0:r1] > 0) & veg] *= 0.55
        rgb2 = rgb.copy()
        rgb2[:, veg] *= np.array([1.14, 1.03, 0.84], np.float32)[:, None]
        rgb2[:, water_ids[cid]] *= np.array([0.8, 0.88, 1.0], np.float32)[:, None]
        m = lid > 0
        if m.any():
            j = lid[m]
            rr, cc = np.nonzero(m)
            g, t = l_geo[j], l_tex[j]
            dx, dy = xs[cc] - g[:, 0], ys[rr] - g[:, 1]
            u, v = dx * g[:, 2] + dy * g[:, 3], -dx * g[:, 3] + dy * g[:, 2]
            un = np.clip((u - g[:, 4]) / g[:, 5], 0, 1).astype(np.float32)
            de = ldist[r0:r1][m].astype(np.float32) * p  # metres to the edge
            streak = sum(w * np.sin(2 * np.pi * v / t[:, q] + t[:, 3 + q]) for q, w in enumerate((0.5, 0.3, 0.2)))
            tex = (1 + 0.13 * streak.astype(np.float32) + 0.06 * nz["crown"][m] + 0.05 * nz["speckle"][m]
                   + 0.08 * nz["rock"][m] + 0.08 * nz["mid"][m] + t[:, 6] * (1 - un) ** 3 - t[:, 7] * un)
            tex *= np.where((un < 0.12) & (de < 2.5 + p), 0.72, 1.0)  # shadowed head scarp
            ls = l_rgb[j].T * tex * sf[m]
            keep = np.clip(0.45 * (1 - de / (2 + 1.5 * p)), 0, 0.45) + np.clip((nz["cover"][m] - 1.9) * 3, 0, 0.9)
            rgb[:, m] = ls * (1 - keep) + under * keep  # mixed edge pixels and remnant vegetation islands
            cover = nz["cover"][m] + 1.2 * np.exp(-de / 6.0) + 0.6 * un - 1.6 * t[:, 8]
            alpha = np.where(t[:, 9] > 0, np.clip(0.15 + 2.5 * cover, 0.15, 0.92), 0.0)[None]
            young = col(_YOUNG_VEG)[:, :, 0] * (1 + 0.15 * nz["crown"][m]) * sf[m]
            rgb2[:, m] = rgb[:, m] * (1 - alpha) + young * alpha
        rgb2 = rgb2 * np.array([1.03, 1.02, 1.0], np.float32)[:, None, None] + 5
        t1[:, r0:r1] = np.rint(np.clip(rgb, 0, 255))
        t2[:, r0:r1] = np.rint(np.clip(rgb2, 0, 255))
    return t1, t2


# ------------------------------------------------------------------------------------------------ entry
def _default_areas(spec: SyntheticSpec) -> list[tuple[str, str, tuple[float, float, float, float]]]:
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    c1, c2 = round(spec.width_px / 3), round(2 * spec.width_px / 3)
    x1, x2 = xmin + c1 * spec.pixel_size_m, xmin + c2 * spec.pixel_size_m
    return [("train_west", "train", (xmin, ymin, x1, ymax)), ("test", "test", (x1, ymin, x2, ymax)),
            ("train_east", "train", (x2, ymin, xmax, ymax))]


def generate(spec: SyntheticSpec, *, seed: int, out_dir: str | Path,
             areas: tuple[AreaSpec, ...] | None = None) -> dict[str, Path]:
    """Write the synthetic study area (METHODS.md section 3) into ``out_dir``.

    Args:
        spec: size, resolution, CRS and object counts (``data.synthetic`` of a profile).
        seed: non-negative seed; the same seed gives byte-identical rasters and identical vectors.
        out_dir: folder to write into (created if missing); files are written atomically.
        areas: train/test areas as bounds (a profile's ``areas``); default: three vertical strips
            ``train_west`` | ``test`` | ``train_east``, the test strip a third of the width (the paper: 43.71 km²
            train vs 21.49 km² test, Yang et al. 2022 section 2.1).

    Returns:
        Paths by key: ``image_t1``, ``image_t2``, ``dem``, ``rivers``, ``inventory``, ``areas``, ``confusers``,
        ``meta`` (``synthetic.json``: seed, spec, object counts, relief actually used, DEM grid offset).

    Raises:
        ValueError: a negative seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0 (got {seed}); change 'seed' in the profile")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    p, d = spec.pixel_size_m, spec.dem_pixel_size_m
    img = _Grid(spec.origin_x, spec.origin_y, p, spec.width_px, spec.height_px)
    wm, hm = spec.width_px * p, spec.height_px * p
    fx, fy = (float(v) for v in rngs[0].uniform(0.2, 0.8, 2))
    dem = _Grid(spec.origin_x - (_DEM_MARGIN + fx) * d, spec.origin_y + (_DEM_MARGIN + fy) * d, d,
                math.ceil(wm / d + 2 * _DEM_MARGIN + fx), math.ceil(hm / d + 2 * _DEM_MARGIN + fy))
    rivers = _make_rivers(rngs[1], spec, dem)
    terr = _make_terrain(rngs[2], spec, dem, rivers)
    main = rivers[0]["geometry"]  # lines run downstream: the main river starts at its higher end
    ends = dem.sample(terr["elev"], *np.asarray(main.coords)[[0, -1]].T)
    if ends[0] < ends[-1]:
        rivers[0]["geometry"] = main.reverse()
    lines = _make_lines(rngs[3], spec, dem, rivers)
    gap = max(2 * p, 3.0)
    barrier = _prep(shapely.union_all([c["geometry"] for c in lines]).buffer(gap))
    reg = _Registry(gap)
    slides = _place_landslides(rngs[4], spec, dem, terr, barrier, reg)
    blocks = _place_blocks(rngs[5], spec, dem, terr, [c["geometry"] for c in lines if c["kind"] == "road"],
                           barrier, reg)
    confusers = lines + blocks
    n = len(slides)
    if n < spec.n_landslides:
        warnings.warn(f"synthetic area: placed {n} of {spec.n_landslides} landslides (no room left on steep "
                      "ground); lower data.synthetic.n_landslides or landslide_median_area_m2, or enlarge the "
                      "scene", stacklevel=2)
    reveg = np.zeros(n, bool)
    reveg[rngs[6].choice(n, size=round(spec.revegetated_share * n), replace=False)] = True
    t1, t2 = _render(rngs[7], seed, img, dem, terr, confusers, slides, reveg)

    paths = {k: out / v for k, v in SYNTHETIC_FILES.items()}
    rgb = ["red", "green", "blue"]
    write_geotiff(paths["image_t1"], t1, transform=img.transform, crs=spec.crs, band_names=rgb)
    write_geotiff(paths["image_t2"], t2, transform=img.transform, crs=spec.crs, band_names=rgb)
    write_geotiff(paths["dem"], terr["elev"], transform=dem.transform, crs=spec.crs, nodata=DEM_NODATA,
                  band_names=["elevation"])
    write_vector(paths["rivers"], gpd.GeoDataFrame(
        [{k: r[k] for k in ("name", "kind", "width_m")} for r in rivers],
        geometry=[r["geometry"] for r in rivers], crs=spec.crs))
    write_vector(paths["inventory"], gpd.GeoDataFrame(
        {"landslide_id": np.arange(1, n + 1, dtype=np.int64),
         "area_m2": np.array([round(s["geometry"].area, 2) for s in slides], float),
         "shape": [s["shape"] for s in slides], "colour": [s["colour"] for s in slides],
         "revegetated_t2": reveg},
        geometry=[s["geometry"] for s in slides], crs=spec.crs), layer="inventory")
    area_rows = ([(a.name, a.split, a.bounds) for a in areas] if areas else _default_areas(spec))
    write_vector(paths["areas"], gpd.GeoDataFrame(
        {"name": [a[0] for a in area_rows], "split": [a[1] for a in area_rows]},
        geometry=[box(*a[2]) for a in area_rows], crs=spec.crs))
    write_vector(paths["confusers"], gpd.GeoDataFrame(
        {"kind": [c["kind"] for c in confusers], "colour": [c["colour"] for c in confusers]},
        geometry=[c["geometry"] for c in confusers], crs=spec.crs), layer="confusers")
    kinds = [c["kind"] for c in confusers]
    write_json(paths["meta"], {
        "seed": seed, "spec": spec.model_dump(mode="json"),
        "counts": {"landslides": n, "revegetated_t2": int(reveg.sum()), "rivers": len(rivers),
                   **{k: kinds.count(k) for k in ("road", "gravel_bar", "field", "building")}},
        "elevation_range_m": [round(float(terr["elev"].min()), 2), round(float(terr["elev"].max()), 2)],
        "relief_factor": round(terr["relief_factor"], 4),
        "dem_grid": {"origin": [dem.x0, dem.y0], "res": d, "shape": [dem.height, dem.width],
                     "offset_cells": [round(fx, 4), round(fy, 4)]},
        "landslide_share": round(float(sum(s["geometry"].area for s in slides)) / (wm * hm), 5),
    })
    return paths


def generate_from_profile(profile: Profile, out_dir: str | Path) -> dict[str, Path]:
    """:func:`generate` with a profile's ``data.synthetic``, ``seed`` and ``areas``.

    Raises:
        ValueError: the profile's data source is not ``synthetic``.
    """
    if profile.data.source != "synthetic" or profile.data.synthetic is None:
        raise ValueError(f"profile '{profile.name}' ({profile.source_path}): data.source is "
                         f"'{profile.data.source}'; only a 'synthetic' profile can generate its inputs")
    return generate(profile.data.synthetic, seed=profile.seed, out_dir=out_dir, areas=profile.areas)
