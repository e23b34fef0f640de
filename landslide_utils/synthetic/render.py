"""Rendering of the synthetic images: post-event (t1) and second date (t2) (steps 4 and 5 of ``docs/methods.md``,
"Synthetic study area").

Used by :func:`landslide_utils.synthetic.generate`. :func:`render_images` paints, in row chunks on the image grid:

- vegetation from the terrain (August, rainy season): forest patches, shrub, alpine grass, crops with
  contour terraces, meadow on flat ground, all shaded by the hillshade;
- confusers in landslide-like colours with their own textures (river surface, gravel bars, roads, striped
  fields, buildings with shadows);
- landslide scars in grey, brown or reddish with noise, downslope streaks, a shadowed head scarp, mixed edge
  pixels and remnant vegetation islands (:func:`_edge_distance` gives the distance to the scar's edge);
- the second date: a seasonal colour shift (drier vegetation, clearer water) and young vegetation partly
  covering the revegetated landslides, as on the second-date image Yang et al. (2022) test on.

Texture noise comes from :class:`_NoiseBank` (value noise at physical scales); every chunk draws from its own
seeded stream, so the images are byte-identical for a seed.

``render_images(..., on_chunk=...)`` hands the land-cover masks and textures of every row chunk to a callback
(the keys are listed in :func:`render_images`), so further bands (:mod:`.infrared`) follow the same land cover
without touching the RGB: the callback only reads, and the RGB expressions are unchanged by it.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from rasterio.features import rasterize
from scipy.ndimage import distance_transform_edt
from shapely import affinity

from landslide_utils.synthetic.objects import SCAR_COLOURS
from landslide_utils.synthetic.terrain import Grid, smooth_noise

__all__ = ["render_images"]

# vegetation palette (August, rainy season): dense forest, shrub, alpine grass, flat-ground meadow/crops
_FOREST, _SHRUB, _ALPINE, _MEADOW = (36, 64, 34), (78, 98, 52), (122, 124, 82), (92, 122, 58)
_YOUNG_VEG = (104, 128, 66)
# confusers: texture style by kind, colour by (kind, colour class); crop tones of the plots
_CONF_STYLE = {  # kind -> (texture amplitude, shading weight, stripe amplitude)
    "river_surface": (0.03, 0.25, 0.0), "gravel_bar": (0.12, 1.0, 0.0), "road": (0.04, 0.8, 0.0),
    "field": (0.06, 1.0, 0.08), "building": (0.03, 0.5, 0.0),
}
_CONF_RGB = {("river_surface", "grey-brown"): (102, 97, 82), ("gravel_bar", "grey"): (166, 162, 152),
             ("road", "grey"): (150, 150, 146), ("road", "brown"): (148, 124, 96),
             ("field", "brown"): (146, 114, 84), ("field", "reddish"): (158, 102, 78),
             ("building", "grey"): (180, 178, 172), ("building", "reddish"): (164, 86, 68)}
_CROP_TONES = np.array([(116, 132, 68), (100, 124, 58), (134, 138, 82)], np.float32)


class _Resampler:
    """Separable bilinear resampling of a coarse grid onto the pixel centres ``xs`` x ``ys`` (cheap, exact)."""

    def __init__(self, grid: Grid, xs: np.ndarray, ys: np.ndarray) -> None:
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


class _NoiseBank:
    """Value noise at physical scales (metres) over the image extent; finer than 2 pixels -> white noise."""

    def __init__(self, rng: np.random.Generator, img: Grid, scales: dict[str, float]) -> None:
        self.img, self.grids = img, {}
        for name, scale in scales.items():
            if scale < 2 * img.res:
                self.grids[name] = None
                continue
            res = scale / 2
            w = int(math.ceil(img.width * img.res / res)) + 3
            h = int(math.ceil(img.height * img.res / res)) + 3
            g = Grid(img.x0 - res, img.y0 + res, res, w, h)
            self.grids[name] = (g, smooth_noise(rng, (h, w), 1.0))

    def chunk(self, name: str, ys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        item = self.grids[name]
        if item is None:
            return rng.standard_normal((len(ys), self.img.width), dtype=np.float32)
        g, arr = item
        return _Resampler(g, self.img.xs(), ys)(arr)


def _edge_distance(slides: list[dict], lids: np.ndarray, img: Grid) -> np.ndarray:
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


# long: one pass over row chunks in which every layer of a chunk (vegetation, confusers, scars, the second date)
# draws from the chunk's noise grids and random stream in a fixed order: the synthetic area's bytes depend on it
def render_images(rng: np.random.Generator, seed: int, img: Grid, dem: Grid, terr: dict,
                  confusers: list[dict], slides: list[dict], reveg: np.ndarray, *,
                  on_chunk: Callable[[dict], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Post-event image (t1) and second-date image (t2) as (3, H, W) uint8, rendered in row chunks.

    ``on_chunk``, if given, is called once per row chunk (after the chunk is painted; it must not modify what
    it gets) with the t1 land cover of rows ``r0:r1``: ``ci`` (chunk index), ``r0``, ``r1``; per pixel
    (rows, W): ``forest``, ``crop``, ``alpine``, ``meadow`` (cover fractions, composed in that order over
    shrub), ``tone`` (crop tone index 0-2), ``veg_tex`` (vegetation texture times shading), ``sf`` (shading),
    ``cid`` (confuser id, 1-based into ``confusers``, 0 none), ``lid`` (landslide id, 1-based into ``slides``),
    ``shadow`` (building shadow cast on vegetation, bool); at the confuser pixels (``cid > 0``, in the order of
    ``np.nonzero``): ``conf_tex`` (texture times shading); at the landslide pixels (``lid > 0``): ``scar_tex``
    (texture before shading, applied as ``colour * scar_tex * sf``) and ``keep`` (share of the vegetation
    underneath kept: mixed edges, remnant islands). Calling it draws nothing from the image's random streams.
    """
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
        l_rgb[i] = SCAR_COLOURS[s["colour"]]
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
        tidx = np.floor(nz["plot"] * 1.6).astype(int) % 3
        tone = _CROP_TONES[tidx].transpose(2, 0, 1)
        rgb = col(_SHRUB) + (col(_FOREST) - col(_SHRUB)) * forest
        rgb += (tone - rgb) * crop
        rgb += (col(_ALPINE) - rgb) * alpine
        rgb += (col(_MEADOW) - rgb) * meadow
        # terraces: stripes along the contours (3.5 m risers), only where they are >= 3 pixels apart
        spacing_px = 3.5 / np.tan(np.radians(np.maximum(slope, 1.0))) / p
        terrace = crop * np.clip(spacing_px / 3 - 1, 0, 1) * np.clip(slope / 4 - 2, 0, 1) * np.sin(2 * np.pi * z / 3.5)
        veg_tex = (1 + (0.12 + 0.16 * forest) * nz["crown"] + 0.04 * nz["speckle"] + 0.05 * nz["fine"]
                   + 0.06 * nz["rock"] + 0.06 * terrace) * sf
        rgb *= veg_tex
        lc = {"ci": ci, "r0": r0, "r1": r1, "forest": forest, "crop": crop, "alpine": alpine, "meadow": meadow,
              "tone": tidx, "veg_tex": veg_tex, "sf": sf}  # the land cover handed to on_chunk
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
            lc["conf_tex"] = tex * (1 - a[:, 1] + a[:, 1] * sf[m])
            rgb[:, m] = (c_rgb[kk] * lc["conf_tex"][:, None]).T
        lc["shadow"] = (shadow[r0:r1] > 0) & veg if shadow is not None else np.zeros(veg.shape, bool)
        if shadow is not None:
            rgb[:, lc["shadow"]] *= 0.55
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
            lc["scar_tex"], lc["keep"] = tex, keep
            rgb[:, m] = ls * (1 - keep) + under * keep  # mixed edge pixels and remnant vegetation islands
            cover = nz["cover"][m] + 1.2 * np.exp(-de / 6.0) + 0.6 * un - 1.6 * t[:, 8]
            alpha = np.where(t[:, 9] > 0, np.clip(0.15 + 2.5 * cover, 0.15, 0.92), 0.0)[None]
            young = col(_YOUNG_VEG)[:, :, 0] * (1 + 0.15 * nz["crown"][m]) * sf[m]
            rgb2[:, m] = rgb[:, m] * (1 - alpha) + young * alpha
        rgb2 = rgb2 * np.array([1.03, 1.02, 1.0], np.float32)[:, None, None] + 5
        t1[:, r0:r1] = np.rint(np.clip(rgb, 0, 255))
        t2[:, r0:r1] = np.rint(np.clip(rgb2, 0, 255))
        if on_chunk is not None:
            on_chunk({**lc, "cid": cid, "lid": lid})
    return t1, t2
