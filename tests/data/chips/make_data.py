"""Tiny chip datasets in the three layouts that ``landslide_utils.chips.formats`` reads (docs/methods.md, "Chip datasets").

* ``folders/``: ``images/`` with a PNG (RGB, 24 x 20), a JPEG (RGB, 16 x 16) and a GeoTIFF (RGBA, 40 x 36, alpha 0
  on its first four rows), ``masks/`` with a single-band PNG, an RGB PNG (landslide in the red channel only) and
  a single-band GeoTIFF; every mask has a landslide square whose position the tests know (:data:`SQUARES`).
* ``bijie/``: ``landslide/{image,mask,dem}/`` with two chips (uint16 DEM PNGs holding a plane of known slope) and
  ``non-landslide/{image,dem}/`` with one chip.
* ``landslide4sense/``: ``img/image_1.h5``, ``img/image_2.h5`` (12 x 12 x 14 float32: band k holds k + 1, the
  slope band 30, the DEM band 1000 + row) and ``mask/mask_1.h5``, ``mask/mask_2.h5`` (uint8).

Run ``python tests/data/chips/make_data.py OUT`` to write them into ``OUT``; the tests write them into a
temporary folder with :func:`make_chips`.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import rasterio

#: (row0, col0, size) of the landslide square of each folders/ chip
SQUARES = {"a": (4, 6, 5), "b": (2, 2, 3), "c": (10, 12, 8)}
#: the Bijie DEM planes rise by DEM_GRADIENT metres per metre eastwards, at PIXEL_SIZE_M
PIXEL_SIZE_M = 2.0
DEM_GRADIENT = 0.5
BIJIE_SLOPE_DEG = math.degrees(math.atan(DEM_GRADIENT))


def _write(path: Path, arr: np.ndarray, driver: str, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = arr if arr.ndim == 3 else arr[None]
    with rasterio.open(path, "w", driver=driver, width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=arr.dtype, **kw) as dst:
        dst.write(arr)


def _image(h: int, w: int, seed: int, bands: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 230, size=(bands, h, w), dtype=np.uint8)


def _mask(h: int, w: int, square: tuple[int, int, int], value: int = 255) -> np.ndarray:
    r, c, s = square
    m = np.zeros((h, w), np.uint8)
    m[r:r + s, c:c + s] = value
    return m


def _dem(h: int, w: int) -> np.ndarray:
    cols = np.arange(w, dtype=np.float64)[None].repeat(h, 0)
    return (1200 + DEM_GRADIENT * PIXEL_SIZE_M * cols).round().astype(np.uint16)


def make_folders(out: Path) -> Path:
    root = out / "folders"
    _write(root / "images/a.png", _image(24, 20, 1), "PNG")
    _write(root / "masks/a.png", _mask(24, 20, SQUARES["a"]), "PNG")
    _write(root / "images/b.jpg", _image(16, 16, 2), "JPEG")
    rgb = np.zeros((3, 16, 16), np.uint8)
    rgb[0] = _mask(16, 16, SQUARES["b"])
    _write(root / "masks/b.png", rgb, "PNG")
    rgba = _image(36, 40, 3, bands=4)
    rgba[3] = 255
    rgba[3, :4] = 0
    _write(root / "images/c.tif", rgba, "GTiff", photometric="RGB", alpha="YES")
    _write(root / "masks/c.tif", _mask(36, 40, SQUARES["c"], value=1), "GTiff")
    return root


def make_bijie(out: Path) -> Path:
    root = out / "bijie"
    for k, name in enumerate(("df001", "df002")):
        _write(root / f"landslide/image/{name}.png", _image(20, 24, 10 + k), "PNG")
        _write(root / f"landslide/mask/{name}.png", _mask(20, 24, (3 + k, 4, 6)), "PNG")
        _write(root / f"landslide/dem/{name}.png", _dem(20, 24), "PNG")
    _write(root / "non-landslide/image/n001.png", _image(20, 24, 20), "PNG")
    _write(root / "non-landslide/dem/n001.png", _dem(20, 24), "PNG")
    return root


def make_landslide4sense(out: Path, size: int = 12) -> Path:
    import h5py

    root = out / "landslide4sense"
    (root / "img").mkdir(parents=True, exist_ok=True)
    (root / "mask").mkdir(parents=True, exist_ok=True)
    for n in (1, 2):
        img = np.zeros((size, size, 14), np.float32)
        for k in range(12):
            img[..., k] = k + 1
        img[..., 12] = 30.0
        img[..., 13] = 1000.0 + np.arange(size, dtype=np.float32)[:, None]
        mask = np.zeros((size, size), np.uint8)
        mask[n:n + 4, 2:6] = 1
        with h5py.File(root / f"img/image_{n}.h5", "w") as f:
            f["img"] = img
        with h5py.File(root / f"mask/mask_{n}.h5", "w") as f:
            f["mask"] = mask
    return root


def make_study_bijie(out: str | Path, *, n: int = 8, size: int = 40, negatives: int = 2) -> Path:
    """A Bijie-layout dataset big enough for a whole (smoke-budget) study: ``n`` landslide chips of ``size`` x
    ``size + 8`` pixels, each with a bright blob in its upper-left quarter (so every chip has landslide-free
    windows of half its size), and ``negatives`` non-landslide chips; DEMs as :func:`make_bijie`."""
    root = Path(out) / "bijie_study"
    h, w = size, size + 8
    yy, xx = np.mgrid[:h, :w]
    for k in range(n):
        img = _image(h, w, 100 + k)
        r = 3 + k % 4
        blob = (yy - (4 + r)) ** 2 + (xx - (5 + r)) ** 2 <= r * r
        img[:, blob] = np.array([200, 170, 120], np.uint8)[:, None]
        _write(root / f"landslide/image/ls{k:03d}.png", img, "PNG")
        _write(root / f"landslide/mask/ls{k:03d}.png", (blob * 255).astype(np.uint8), "PNG")
        _write(root / f"landslide/dem/ls{k:03d}.png", _dem(h, w), "PNG")
    for k in range(negatives):
        _write(root / f"non-landslide/image/nl{k:03d}.png", _image(h, w, 200 + k), "PNG")
        _write(root / f"non-landslide/dem/nl{k:03d}.png", _dem(h, w), "PNG")
    return root


def make_chips(out: str | Path) -> dict[str, Path]:
    """Write the three tiny datasets under ``out``; returns their roots by format name."""
    out = Path(out)
    return {"folders": make_folders(out), "bijie": make_bijie(out), "landslide4sense": make_landslide4sense(out)}


if __name__ == "__main__":
    print(make_chips(sys.argv[1] if len(sys.argv) > 1 else "chips_demo"))
