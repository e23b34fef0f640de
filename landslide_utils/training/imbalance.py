"""Class imbalance of the training data and the landslide-tile augmentation of Chen et al. (2022, Remote Sens.
14, 5517), sec. 3.3 and 4.1.

The imbalance ratio IR = non-landslide pixels / landslide pixels of the training set (valid pixels only; their
eq. 3). Chen et al. lower it by adding augmented copies of the landslide tiles only (their Table 2: IR 8 -> 3.1);
``training.landslide_augmentation: chen2022`` adds three copies of every original training tile that holds a
landslide pixel, one per operation of their Figure 6:

1. left-right flip + 3 x 3 mean filter;
2. up-down flip + a random gamma stretch (gamma drawn uniformly from [0.7, 1.5]);
3. "mirror" flip -- here both flips (a 180 degree turn, which keeps any tile shape) + Gaussian noise.

The paper gives neither the gamma range nor the noise level: the gamma is applied to each image channel scaled
to [0, 1] by its own minimum and maximum over the tile's valid pixels, the noise has a standard deviation of 5 %
of that range. Filter, gamma and noise touch the image bands only; the flips move every channel and the targets.
The draws of a copy are a function of (``seed``, the tile's position in the training list, the operation), so a
step is reproducible from its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from landslide_utils.tiles.tile import read_tile

__all__ = ["CHEN2022_OPERATIONS", "augment_variant", "pixel_counts", "landslide_copies", "imbalance_ratio",
           "imbalance_table"]

#: the copies ``landslide_augmentation: chen2022`` adds per landslide tile (variant code -> operation)
CHEN2022_OPERATIONS: dict[int, str] = {1: "left-right flip + 3x3 mean filter",
                                       2: "up-down flip + random gamma (0.7-1.5)",
                                       3: "both flips + Gaussian noise (5 % of the range)"}
GAMMA_RANGE = (0.7, 1.5)
NOISE_SHARE = 0.05


def _range(band: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    v = band[valid & np.isfinite(band)]
    return (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)


def augment_variant(code: int, channels: np.ndarray, instances: np.ndarray, valid: np.ndarray, *, image_bands: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One of the copies of :data:`CHEN2022_OPERATIONS` (code 0 = the tile itself) of a tile's raw channels
    (C, H, W), instance ids and valid mask; the first ``image_bands`` channels are image bands."""
    if code == 0:
        return channels, instances, valid
    if code not in CHEN2022_OPERATIONS:
        raise ValueError(f"unknown augmentation variant {code}; valid: 0 (none), {', '.join(map(str, CHEN2022_OPERATIONS))}")
    axes = {1: (-1,), 2: (-2,), 3: (-2, -1)}[code]
    x = np.flip(channels, axis=axes).astype(np.float32, copy=True)
    inst = np.ascontiguousarray(np.flip(instances, axis=axes))
    ok = np.ascontiguousarray(np.flip(valid, axis=axes))
    gamma = rng.uniform(*GAMMA_RANGE)
    for c in range(min(image_bands, x.shape[0])):
        band = x[c]
        lo, hi = _range(band, ok)
        if code == 1:
            filled = np.where(ok & np.isfinite(band), band, (lo + hi) / 2)
            band[...] = ndimage.uniform_filter(filled, size=3, mode="nearest")
        elif code == 2 and hi > lo:
            band[...] = lo + (hi - lo) * np.clip((band - lo) / (hi - lo), 0, 1) ** gamma
        elif code == 3:
            band += rng.normal(0.0, NOISE_SHARE * max(hi - lo, 1e-6), band.shape).astype(np.float32)
    return x, inst, ok


def pixel_counts(paths: Sequence[str | Path]) -> list[tuple[int, int]]:
    """(landslide, non-landslide) valid pixels of each tile."""
    out = []
    for p in paths:
        tile = read_tile(p)
        landslide = int(((tile.instances > 0) & tile.valid).sum())
        out.append((landslide, int(tile.valid.sum()) - landslide))
    return out


def landslide_copies(originals: Sequence[str | Path], *,
                     counts: Sequence[tuple[int, int]] | None = None) -> tuple[list[Path], list[int]]:
    """(paths, variant codes) of the copies ``chen2022`` adds: three per original tile with a landslide pixel.
    ``counts``: the tiles' :func:`pixel_counts`, when the caller has them (the tiles are not read again)."""
    paths: list[Path] = []
    codes: list[int] = []
    counts = pixel_counts(originals) if counts is None else counts
    if len(counts) != len(originals):
        raise ValueError(f"{len(counts)} pixel counts for {len(originals)} tiles")
    for p, (pos, _) in zip(originals, counts):
        if pos > 0:
            for code in CHEN2022_OPERATIONS:
                paths.append(Path(p))
                codes.append(code)
    return paths, codes


def imbalance_ratio(landslide_pixels: int, background_pixels: int) -> float:
    """IR = non-landslide / landslide pixels (Chen et al. 2022, eq. 3); inf without landslide pixels."""
    return background_pixels / landslide_pixels if landslide_pixels else float("inf")


def imbalance_table(originals: Sequence[str | Path]) -> pd.DataFrame:
    """Landslide and non-landslide pixels and IR of the original training tiles, before and after adding the
    ``chen2022`` copies of the landslide tiles (rows ``before``, ``after``; cf. Chen et al. 2022, Table 2)."""
    counts = pixel_counts(originals)
    pos = sum(c[0] for c in counts)
    neg = sum(c[1] for c in counts)
    k = len(CHEN2022_OPERATIONS)
    pos_after = pos + k * sum(c[0] for c in counts if c[0] > 0)
    neg_after = neg + k * sum(c[1] for c in counts if c[0] > 0)
    tiles = len(counts)
    with_ls = sum(1 for c in counts if c[0] > 0)
    return pd.DataFrame(
        {"tiles": [tiles, tiles + k * with_ls], "landslide_pixels": [pos, pos_after],
         "non_landslide_pixels": [neg, neg_after],
         "IR": [imbalance_ratio(pos, neg), imbalance_ratio(pos_after, neg_after)]},
        index=pd.Index(["before", "after"], name="training set"))
