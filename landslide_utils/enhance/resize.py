"""Resizing of (C, H, W) arrays for background enhancement's splicing (Yang et al. 2022, sec. 3.3.1, Figure 10):
area averaging for continuous values, nearest neighbour (by index) for class codes."""

from __future__ import annotations

import numpy as np

__all__ = ["resize_area", "nearest_index"]


def _area_1d(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Adaptive average along ``axis`` (windows as torch's adaptive pooling / ``interpolate(mode='area')``)."""
    n_in = x.shape[axis]
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)  # ceil
    cs = np.cumsum(x, axis=axis, dtype=np.float64)
    cs = np.concatenate([np.zeros_like(np.take(cs, [0], axis=axis)), cs], axis=axis)
    shape = [1] * x.ndim
    shape[axis] = n_out
    return (np.take(cs, end, axis=axis) - np.take(cs, start, axis=axis)) / (end - start).reshape(shape)


def resize_area(arr: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Area-average resize of a (C, H, W) array; an exact 2 x 2 block mean when the size halves evenly."""
    c, h, w = arr.shape
    if h == 2 * out_h and w == 2 * out_w:
        return arr.reshape(c, out_h, 2, out_w, 2).mean(axis=(2, 4), dtype=np.float64).astype(np.float32)
    out = _area_1d(_area_1d(arr, out_h, axis=1), out_w, axis=2)
    return out.astype(np.float32)


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output pixel for nearest-neighbour resizing (pixel centres, as PIL/'nearest-exact')."""
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)
