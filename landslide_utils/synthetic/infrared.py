"""Near-infrared and short-wave-infrared bands of the synthetic post-event image (``data.synthetic.infrared_bands``).

Gao et al. (2021) map landslides with an FC-DenseNet on nine influencing factors, among them NDVI
``(NIR - R) / (NIR + R)`` and MNDWI ``(G - SWIR) / (G + SWIR)``. With ``infrared_bands: true``,
:func:`landslide_utils.synthetic.generate` adds band 4 (``nir``) and band 5 (``swir``) to ``image_t1.tif``
(uint8 like the RGB bands; the image has no alpha band and no nodata, so the file is simply red, green, blue,
nir, swir). ``image_t2.tif`` keeps its three RGB bands.

:class:`InfraredPainter` is the ``on_chunk`` callback of :func:`.render.render_images`: it receives the land
cover of every row chunk (cover fractions, confuser and landslide ids, building shadows) and the textures and
shading the RGB was painted with, and paints the two bands the same way (same composition order, same
textures, same shading, same mixed edge pixels of the scars), with its own reflectances (DN before shading and
texture, chosen so the indices come out as in the field):

==================== =========== =========== ============= ==============
land cover           NIR (DN)    SWIR (DN)   NDVI          MNDWI
==================== =========== =========== ============= ==============
forest               150         62          0.61          0.02
shrub                160         92          0.34          0.03
alpine grass         165         120         0.15          0.02
meadow               175         96          0.31          0.12
crops (3 tones)      175-185     95-112      0.13 to 0.29  0.10 to 0.14
landslide scars      178-184     193-196     0.03          -0.08 to -0.23
bare fields          162-170     188-192     0.04 to 0.05  -0.25 to -0.31
roads, gravel bars   152-178     168-205     0.01 to 0.04  -0.06 to -0.19
buildings            170-178     180-190     -0.01 to 0.02 -0.03 to -0.35
river surface        40          14          -0.44         0.75
==================== =========== =========== ============= ==============

(the indices of each class's base colours; shading and texture multiply all bands alike), so vegetation is
bright in NIR and moderate in SWIR, scars, bare soil, fields, roads and buildings are moderate in NIR and bright
in SWIR, and water is dark in both. Building shadows darken both bands like the RGB. Every object gets a small
random gain (as its RGB does), every pixel sensor noise (sigma 1.5 DN per band). The random numbers come from
streams of their own (``default_rng([seed, 7937])`` for the object gains, ``default_rng([seed, 7937, chunk])``
for the noise), never from the RGB's, so the RGB and every other output are the same with or without these
bands.
"""

from __future__ import annotations

import numpy as np

__all__ = ["InfraredPainter", "IR_BAND_NAMES"]

IR_BAND_NAMES = ("nir", "swir")  #: descriptions of bands 4 and 5 of image_t1.tif
_STREAM = 7937  # second entry of the seed lists of this module's random streams (the RGB's chunks use 7919)
# (NIR, SWIR) in DN before texture and shading
_SHRUB, _FOREST, _ALPINE, _MEADOW = (160, 92), (150, 62), (165, 120), (175, 96)
_CROP_TONES = np.array([(185, 100), (180, 95), (175, 112)], np.float32)  # same order as the RGB crop tones
_CONF_IR = {("river_surface", "grey-brown"): (40, 14), ("gravel_bar", "grey"): (178, 205),
            ("road", "grey"): (152, 168), ("road", "brown"): (160, 182),
            ("field", "brown"): (162, 188), ("field", "reddish"): (170, 192),
            ("building", "grey"): (178, 190), ("building", "reddish"): (170, 180)}
_SCAR_IR = {"grey": (182, 196), "brown": (178, 193), "reddish": (184, 195)}
_NOISE_DN = 1.5


class InfraredPainter:
    """Paints NIR and SWIR (:attr:`bands`, (2, H, W) uint8) from the chunks :func:`.render.render_images` hands
    to its ``on_chunk`` callback."""

    def __init__(self, seed: int, shape: tuple[int, int], confusers: list[dict], slides: list[dict]) -> None:
        self.seed = seed
        self.bands = np.zeros((2, *shape), np.uint8)
        rng = np.random.default_rng([seed, _STREAM])
        gain = lambda m: (rng.uniform(0.92, 1.08, (m, 1)) * rng.uniform(0.97, 1.03, (m, 2))).astype(np.float32)  # noqa
        self.c_ir = np.zeros((len(confusers) + 1, 2), np.float32)
        for i, c in enumerate(confusers, start=1):
            self.c_ir[i] = _CONF_IR[(c["kind"], c["colour"])]
        self.c_ir[1:] *= gain(len(confusers))
        self.l_ir = np.zeros((len(slides) + 1, 2), np.float32)
        for i, s in enumerate(slides, start=1):
            self.l_ir[i] = _SCAR_IR[s["colour"]]
        self.l_ir[1:] *= gain(len(slides))

    def __call__(self, lc: dict) -> None:
        col = lambda c: np.asarray(c, np.float32).reshape(2, 1, 1)  # noqa: E731
        ir = col(_SHRUB) + (col(_FOREST) - col(_SHRUB)) * lc["forest"]
        ir += (_CROP_TONES[lc["tone"]].transpose(2, 0, 1) - ir) * lc["crop"]
        ir += (col(_ALPINE) - ir) * lc["alpine"]
        ir += (col(_MEADOW) - ir) * lc["meadow"]
        ir *= lc["veg_tex"]
        cid, lid = lc["cid"], lc["lid"]
        under = ir[:, lid > 0]
        m = cid > 0
        if m.any():
            ir[:, m] = (self.c_ir[cid[m]] * lc["conf_tex"][:, None]).T
        ir[:, lc["shadow"]] *= 0.55
        m = lid > 0
        if m.any():
            scar = self.l_ir[lid[m]].T * lc["scar_tex"] * lc["sf"][m]
            ir[:, m] = scar * (1 - lc["keep"]) + under * lc["keep"]
        ir += np.random.default_rng([self.seed, _STREAM, lc["ci"]]).normal(0, _NOISE_DN, ir.shape).astype(np.float32)
        self.bands[:, lc["r0"]:lc["r1"]] = np.rint(np.clip(ir, 0, 255))
