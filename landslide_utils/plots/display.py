"""Display of image bands, shared by every figure: true colour for 8-bit imagery, otherwise one linear 2–98 %
stretch common to the three bands (a per-band stretch would change the hue, and a landslide's colour is what
tells it from its confusers, Yang et al. 2022 section 3.3)."""

from __future__ import annotations

import numpy as np

__all__ = ["rgb_display", "INVALID_GREY"]

INVALID_GREY = 0.82


def rgb_display(
    image: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    value_range: tuple[float, float] | None = None,
    percentiles: tuple[float, float] = (2.0, 98.0),
) -> np.ndarray:
    """(H, W, 3) float in 0..1 for ``imshow`` from a (C, H, W) image (the first three bands are RGB).

    Args:
        image: band values as stored (uint8, or floats holding 8-bit values, or 16-bit/reflectance values).
        valid: pixels to show; the others are light grey and do not count in the stretch.
        value_range: an explicit (low, high) for the linear stretch (e.g. shared by several panels).
        percentiles: the stretch used when the values do not fit 0..255.
    """
    a = np.asarray(image, dtype=np.float64)[:3]
    if a.shape[0] < 3:
        a = np.repeat(a[:1], 3, axis=0)
    ok = np.isfinite(a).all(axis=0) if valid is None else (np.asarray(valid, bool) & np.isfinite(a).all(axis=0))
    vals = a[:, ok]
    if value_range is not None:
        lo, hi = value_range
    elif vals.size == 0 or (vals.min() >= 0 and vals.max() <= 255):
        lo, hi = 0.0, 255.0
    else:
        lo, hi = np.percentile(vals, percentiles)
    out = np.clip((np.nan_to_num(a) - lo) / max(float(hi - lo), 1e-12), 0, 1)
    out[:, ~ok] = INVALID_GREY
    return out.transpose(1, 2, 0)
