"""Fault lines and lithology of the synthetic study area (``data.synthetic.geology``).

Gao et al. (2021) feed an FC-DenseNet nine influencing factors, among them the distance to faults and the
lithology in three units (:data:`LITHOLOGY_UNITS`: soft rock, soft and hard rock interbedded, hard rock); in
their area landslides are more frequent on the weak units and near faults. With ``geology: true``,
:func:`landslide_utils.synthetic.generate` also writes ``faults.geojson`` (LineString features, column ``name``)
and ``lithology.gpkg`` (layer ``lithology``, Polygon features, column ``lithology``), in the scene's CRS.

**The geology is drawn after the landslides, conditioned on them.** The landslides (and every other layer) must
stay exactly what they are without the option, so they cannot depend on the geology; instead the geology is
placed where the landslides already are. Statistically the scene then shows the association Gao et al. observe
(more landslides per area on soft rock and near faults); causally it is reversed, and nothing else in the scene
(terrain, slopes, colours) knows about the geology. The association is recorded in ``synthetic.json``
(``geology``: share of the landslides per unit and within the fault buffer against the area share).

- **Faults**: 2 or 3 lines, picked among 48 random candidates: gently bent lines right across the scene, their
  strikes scattered (sigma 20 degrees) around one regional strike. They are picked one after another, at random
  with a probability proportional to the gain of each candidate: the landslide centroids it brings within
  :func:`fault_buffer_m` that no picked fault covers yet, minus those its new buffer area would hold at the
  scene's mean density. Only candidates with a positive gain can be picked (any, when none has one), so the
  faults run through landslide clusters without being the best possible lines.
- **Lithology**: 12 to 30 Voronoi cells of random points, clipped to the scene bounds (they tile the scene: no
  gap, no overlap). Every cell is scored by the log of its landslide density (centroids per area, relative to
  the scene's, with half a landslide added above and below) plus normal noise (sigma 1); the best scored
  cells (a random 25-40 % of them) are soft rock, the worst (another 25-40 %) hard rock, the rest soft and hard.

Distances scale with the scene (:func:`fault_buffer_m`), so small scenes work too. The random numbers come from
``default_rng([seed, 7951])``, a stream of its own, never from the other layers' streams.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Polygon, box

__all__ = ["LITHOLOGY_UNITS", "fault_buffer_m", "make_geology", "geology_stats"]

#: Lithology units of Gao et al. (2021), from weak to strong.
LITHOLOGY_UNITS = ("soft rock", "soft and hard", "hard rock")
_STREAM = 7951  # second entry of the seed list of this module's random stream
_CANDIDATES = 48


def fault_buffer_m(bounds: tuple[float, float, float, float], pixel_size_m: float) -> float:
    """Distance (metres) within which a landslide counts as near a fault: 7 % of the scene's shorter side,
    at least 3 pixels, at most 500 m (143 m for the quick profile's 3 x 2 km scene)."""
    short = min(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return float(min(max(0.07 * short, 3 * pixel_size_m), 500.0))


def _candidate(rng: np.random.Generator, bounds, strike: float, scene) -> LineString | None:
    xmin, ymin, xmax, ymax = bounds
    diag = math.hypot(xmax - xmin, ymax - ymin)
    x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
    ang = strike + rng.normal(0, math.radians(20))
    ux, uy = math.cos(ang), math.sin(ang)
    t = np.linspace(-diag, diag, 17)
    amp, period, phase = rng.uniform(0.0, 0.04) * diag, rng.uniform(0.6, 1.5) * diag, rng.uniform(0, 2 * np.pi)
    off = amp * np.sin(2 * np.pi * t / period + phase)  # gentle bends
    line = scene.intersection(LineString(np.c_[x + t * ux - off * uy, y + t * uy + off * ux]))
    parts = [g for g in getattr(line, "geoms", [line]) if isinstance(g, LineString) and not g.is_empty]
    if not parts:
        return None
    best = max(parts, key=lambda g: g.length)
    return best if best.length > 0.3 * min(xmax - xmin, ymax - ymin) else None


def _faults(rng: np.random.Generator, bounds, cx: np.ndarray, cy: np.ndarray, buf: float) -> list[LineString]:
    scene = box(*bounds)
    strike = rng.uniform(0, np.pi)
    cands = [c for c in (_candidate(rng, bounds, strike, scene) for _ in range(_CANDIDATES)) if c is not None]
    pts = shapely.points(cx, cy)
    hits = [shapely.distance(c, pts) <= buf for c in cands]
    zones = [c.buffer(buf).intersection(scene) for c in cands]
    n, area = len(cx), scene.area
    covered, taken, picked = np.zeros(n, bool), Polygon(), []
    for _ in range(int(rng.integers(2, 4))):
        gain = np.array([(h & ~covered).sum() - n * z.difference(taken).area / area if i not in picked else -np.inf
                         for i, (h, z) in enumerate(zip(hits, zones))])
        pos = np.where(gain > 0, gain, 0.0)
        free = np.isfinite(gain)
        w = pos if pos.sum() > 0 else free.astype(float)
        i = int(rng.choice(len(cands), p=w / w.sum()))
        picked.append(i)
        covered |= hits[i]
        taken = taken.union(zones[i])
    return [cands[i] for i in picked]


def _lithology(rng: np.random.Generator, bounds, cx: np.ndarray, cy: np.ndarray) -> tuple[list, list[str]]:
    scene = box(*bounds)
    xmin, ymin, xmax, ymax = bounds
    k = int(rng.integers(12, 31))
    seeds = MultiPoint(np.c_[rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k)])
    cells = [c.intersection(scene) for c in shapely.voronoi_polygons(seeds, extend_to=scene).geoms]
    cells = [c for c in cells if isinstance(c, Polygon) and c.area > 0]
    n, area = len(cx), scene.area
    counts = np.array([shapely.contains_xy(c, cx, cy).sum() for c in cells], float)
    expect = np.array([n * c.area / area for c in cells])
    score = np.log((counts + 0.5) / (expect + 0.5)) + rng.normal(0, 1.0, len(cells))
    order = np.argsort(-score, kind="stable")
    n_soft = max(1, round(rng.uniform(0.25, 0.4) * len(cells)))
    n_hard = max(1, min(round(rng.uniform(0.25, 0.4) * len(cells)), len(cells) - n_soft - 1))
    units = np.full(len(cells), LITHOLOGY_UNITS[1], object)
    units[order[:n_soft]] = LITHOLOGY_UNITS[0]
    units[order[len(cells) - n_hard:]] = LITHOLOGY_UNITS[2]
    return cells, [str(u) for u in units]


def make_geology(seed: int, bounds: tuple[float, float, float, float], pixel_size_m: float,
                 slides: list[dict]) -> tuple[list[LineString], list[Polygon], list[str]]:
    """Fault lines, lithology cells and their units, conditioned on the landslides' centroids (module doc)."""
    rng = np.random.default_rng([seed, _STREAM])
    cen = np.array([[s["geometry"].centroid.x, s["geometry"].centroid.y] for s in slides]).reshape(-1, 2)
    buf = fault_buffer_m(bounds, pixel_size_m)
    faults = _faults(rng, bounds, cen[:, 0], cen[:, 1], buf)
    cells, units = _lithology(rng, bounds, cen[:, 0], cen[:, 1])
    return faults, cells, units


def geology_stats(bounds, pixel_size_m: float, slides: list[dict], faults: list[LineString],
                  cells: list[Polygon], units: list[str]) -> dict:
    """The association for ``synthetic.json``: per unit and within the fault buffer, the share of the scene's
    area, of the landslides (by centroid) and their ratio (the frequency ratio; above 1: more landslides than the
    area's share)."""
    scene = box(*bounds)
    area = scene.area
    cen = np.array([[s["geometry"].centroid.x, s["geometry"].centroid.y] for s in slides]).reshape(-1, 2)
    n = max(len(cen), 1)
    row = lambda a, k: {"area_share": round(a / area, 4), "landslide_share": round(k / n, 4),  # noqa: E731
                        "frequency_ratio": round((k / n) / (a / area), 3) if a > 0 else None}
    per_unit = {}
    for u in LITHOLOGY_UNITS:
        sel = [c for c, v in zip(cells, units) if v == u]
        k = int(sum(shapely.contains_xy(c, cen[:, 0], cen[:, 1]).sum() for c in sel))
        per_unit[u] = {"cells": len(sel), **row(sum(c.area for c in sel), k)}
    buf = fault_buffer_m(bounds, pixel_size_m)
    zone = shapely.union_all([f.buffer(buf) for f in faults]).intersection(scene)
    near = int((shapely.distance(shapely.union_all(faults), shapely.points(cen)) <= buf).sum()) if len(cen) else 0
    return {"faults": len(faults), "fault_buffer_m": round(buf, 2), "lithology_cells": len(cells),
            "units": per_unit, "near_faults": row(zone.area, near),
            "note": "drawn after the landslides and conditioned on them (synthetic/geology.py): the association "
                    "is statistical, the causation reversed"}
