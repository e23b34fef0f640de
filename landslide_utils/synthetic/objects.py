"""Objects of the embedded synthetic study area: landslides and confusers (steps 3 and 4 of
``docs/methods.md``, "Synthetic study area").

Used by :func:`landslide_utils.synthetic.generate`. Every object is a polygon placed without overlap (a gap of
at least two pixels, kept by :class:`Registry`; :func:`prepared` speeds up the repeated predicates):

- :func:`make_lines`: river surfaces, gravel bars beside the main river and roads along the valleys.
- :func:`place_landslides`: rejection sampling on a suitability map rising with slope (Yang et al. 2022,
  Figure 13), falling with the distance from rivers (Figure 14) and with elevation (Figure 12); log-normal
  areas; oval, tongue and debris-flow outlines oriented downslope; a colour class (grey, brown, reddish).
- :func:`place_blocks`: bare fields and buildings (in villages near roads) on flat valley floors.

:data:`SCAR_COLOURS` gives the RGB of each landslide colour class (the renderer paints the scars with it).

The confusers share the landslides' colours on different terrain, like the false positives Yang et al. (2022)
report (bare land, roads, buildings, river banks).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.ops import substring

from landslide_utils.config.data_schema import SyntheticSpec, synthetic_bounds
from landslide_utils.synthetic.terrain import Grid, smooth_noise

__all__ = ["SCAR_COLOURS", "Registry", "prepared", "make_lines", "place_landslides", "place_blocks"]

_SHAPES = ("oval", "tongue", "debris_flow")
_SHAPE_P = (0.4, 0.4, 0.2)
SCAR_COLOURS = {"grey": (172, 168, 158), "brown": (168, 142, 112), "reddish": (172, 122, 96)}  # scar colour -> RGB
_COLOUR_P = (0.4, 0.35, 0.25)


def prepared(g):
    """Prepare a geometry in place for fast repeated predicates and return it."""
    shapely.prepare(g)
    return g


# ------------------------------------------------------------------------------- objects (non-overlap)
class Registry:
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


def place_landslides(rng: np.random.Generator, spec: SyntheticSpec, dem: Grid, terr: dict,
                     barrier, reg: Registry) -> list[dict]:
    """Rejection sampling on the suitability map (slope, distance from rivers, elevation; Yang et al. 2022,
    Figures 12-14), then a log-normal area, a shape oriented downslope and the validity/overlap checks.

    ``spec.factor_dependence`` d weakens the link to the factors: the suitability is raised to the power d (1:
    the map as it is, 0: uniform over the scene) and a scar on gentle ground (median slope under 15°) is refused
    with probability d (always at d = 1, never at d = 0). At d = 1 the random stream is today's, so scenes made
    before the key existed are unchanged."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    p = spec.pixel_size_m
    inner = prepared(box(xmin + p, ymin + p, xmax - p, ymax - p))
    elev, slope = terr["elev"], terr["slope"]
    e_n = (elev - elev.min()) / max(float(np.ptp(elev)), 1e-6)
    suit = np.clip((slope - 10) / 35, 0, 1) ** 1.5 * (0.15 + 0.85 * np.exp(-terr["d_any"] / 350.0)) * (1 - 0.7 * e_n)
    dependence = spec.factor_dependence
    if dependence < 1:
        suit = (suit / (float(suit.max()) or 1.0)) ** dependence  # 0 ** 0 = 1: uniform at d = 0
    if spec.landslide_free_share > 0:
        # coseismic landslides cluster (shaking, rock strength): a smooth random field switches them off over
        # about landslide_free_share of the scene, leaving stretches of valley with river, road, fields and
        # buildings but no landslide, the non-landslide tiles background enhancement draws on
        field = smooth_noise(rng, suit.shape, sigma=max(suit.shape) / 8)
        suit = suit * np.clip(field - np.quantile(field, spec.landslide_free_share), 0, None)
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
            if (np.median(dem.sample(slope, xy[:, 0], xy[:, 1])) < 15  # scars lie on slopes, not floors
                    and (dependence >= 1 or rng.random() < dependence)):
                continue
            if barrier.intersects(g) or not reg.free(g):
                continue
            reg.add(g)
            colour = str(rng.choice(list(SCAR_COLOURS), p=_COLOUR_P))
            out.append({"geometry": g, "shape": shape, "colour": colour, "cx": x, "cy": y, "ux": ux, "uy": uy,
                        "umin": float(uv[:, 0].min()), "ulen": float(np.ptp(uv[:, 0]))})
    return out


def _rect(cx: float, cy: float, w: float, h: float, ang: float) -> Polygon:
    c, s = math.cos(ang), math.sin(ang)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return Polygon([(round(cx + a * c - b * s, 2), round(cy + a * s + b * c, 2)) for a, b in pts])


def place_blocks(rng: np.random.Generator, spec: SyntheticSpec, dem: Grid, terr: dict, roads: list[Polygon],
                 barrier, reg: Registry) -> list[dict]:
    """Bare fields and buildings on flat ground, clear of everything placed before."""
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    p = spec.pixel_size_m
    scene = prepared(box(xmin, ymin, xmax, ymax))
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


def make_lines(rng: np.random.Generator, spec: SyntheticSpec, dem: Grid, rivers: list[dict]) -> list[dict]:
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
