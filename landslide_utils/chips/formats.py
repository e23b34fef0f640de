"""Chip datasets: public landslide data that come as image/mask pairs rather than as a scene.

Three layouts are read (``format``):

* ``folders`` — ``images/`` and ``masks/`` with the same file stems. Images are PNG, JPEG or GeoTIFF with three
  or more bands (an alpha band marks invalid pixels); sizes may differ between chips. Masks are single-band or
  RGB: any non-zero value is landslide (a JPEG mask: any value of at least half the range, e.g. 128 of 255, since
  JPEG compression leaves small non-zero values around edges). Masks without an image are named in a warning.
* ``bijie`` — the Bijie landslide dataset (Ji et al. 2020): ``landslide/{image,mask,dem}/`` and
  ``non-landslide/{image,dem}/``, one file per chip in each folder with the same stem. The DEM gives the
  elevation channel and, by Horn's method at the dataset's pixel size, the slope channel. Non-landslide chips
  have no mask: they are negative chips (every pixel background).
* ``landslide4sense`` — the Landslide4Sense benchmark (Ghorbanzadeh et al. 2022): ``img/image_N.h5`` (dataset
  ``img``, H x W x 14: Sentinel-2 B1-B12, then ALOS PALSAR slope and DEM) and ``mask/mask_N.h5`` (dataset
  ``mask``, H x W). ``bands`` selects the image bands (default RGB = B4, B3, B2); slope and DEM become the
  factor channels.

:func:`list_chips` finds the chips of a dataset and checks its layout, :func:`inspect_chips` opens every file
and checks sizes and band counts without reading pixels, :func:`read_chip` reads one chip. Every problem names
its file; a dataset with many problems lists the first few and the count. PNG and JPEG files are decoded to their
end by Pillow too, since GDAL reads a truncated PNG without a word.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import h5py
import numpy as np
import rasterio
from PIL import Image
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from landslide_utils.config.data_schema import CHIP_FORMATS, L4S_BANDS
from landslide_utils.inputs.terrain import slope_degrees
from landslide_utils.notices import notify

__all__ = ["ChipError", "ChipRef", "Chip", "FORMATS", "IMAGE_SUFFIXES", "L4S_RGB", "list_chips", "inspect_chips", "read_chip", "band_indices", "chip_size"]

ChipFormat = Literal["folders", "bijie", "landslide4sense"]
FORMATS: tuple[str, ...] = CHIP_FORMATS
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
L4S_RGB: tuple[str, ...] = ("B4", "B3", "B2")
_SHOWN = 5


class ChipError(ValueError):
    """A chip dataset that cannot be used: the message names the dataset, each file (the first few) and the fix."""

    def __init__(self, root: Path, problems: list[str]) -> None:
        self.problems = list(problems)
        more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        lines = "\n".join(f"  - {p}" for p in problems[:_SHOWN])
        super().__init__(f"chip dataset {root}: {len(problems)} problem(s):\n{lines}{more}")


@dataclass(frozen=True)
class ChipRef:
    """Where one chip's files are. ``mask`` is None for a negative chip (no landslide anywhere); ``dem`` is
    None when the dataset has no DEM; Landslide4Sense keeps image, slope and DEM in ``image``."""

    name: str
    format: str
    image: Path
    mask: Path | None
    dem: Path | None = None


@dataclass
class Chip:
    """The arrays of one chip: ``image`` (C, H, W) float32 as stored, ``landslide`` (H, W) bool, ``valid`` (H, W)
    bool (False under an alpha of 0 or a nodata value), ``dem`` and ``slope`` (H, W) float32 or None."""

    ref: ChipRef
    image: np.ndarray
    landslide: np.ndarray
    valid: np.ndarray
    dem: np.ndarray | None = None
    slope: np.ndarray | None = None


def _by_stem(folder: Path, suffixes: tuple[str, ...], problems: list[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in suffixes:
            continue
        if p.stem in found:
            problems.append(f"{p}: two files with the stem {p.stem!r} ({found[p.stem].name}, {p.name}); keep one")
            continue
        found[p.stem] = p
    return found


def _need_dir(path: Path, problems: list[str], what: str) -> bool:
    if path.is_dir():
        return True
    problems.append(f"{path}: folder not found ({what})")
    return False


def _pairs(images: Path, others: dict[str, Path], problems: list[str], *, kind: str, fix: str) -> dict[str, Path]:
    imgs = _by_stem(images, IMAGE_SUFFIXES, problems)
    for stem, p in imgs.items():
        if stem not in others:
            problems.append(f"{p}: no {kind} with the stem {stem!r} in {fix}")
    return imgs


def _orphans(others: dict[str, Path], imgs: dict[str, Path], kind: str, images: Path) -> None:
    """Warn about masks (or DEMs) without an image: they are not used, which is rarely what was meant."""
    lone = [p for stem, p in others.items() if stem not in imgs]
    if lone:

        shown = ", ".join(p.name for p in lone[:_SHOWN]) + (f" and {len(lone) - _SHOWN} more" if len(lone) > _SHOWN
                                                            else "")
        notify(f"{lone[0].parent}: {len(lone)} {kind}(s) without an image of the same stem in {images} are not "
               f"used: {shown}")


def list_chips(root: str | Path, *, format: ChipFormat) -> list[ChipRef]:  # noqa: A002 - the profile key's name
    """The chips of the dataset at ``root`` in layout ``format`` (see the module docstring), sorted by name.

    Raises:
        ChipError: a missing folder, an image without its mask (or DEM), two files of one stem, no chips.
    """
    root = Path(root)
    if format not in FORMATS:
        raise ChipError(root, [f"unknown format {format!r}; use one of {', '.join(FORMATS)} (key data.chips.format)"])
    if not root.is_dir():
        raise ChipError(root, [f"{root}: dataset folder not found; check the path (relative paths are relative "
                               "to the profile file)"])
    problems: list[str] = []
    refs: list[ChipRef] = []
    if format == "folders":
        if _need_dir(root / "images", problems, "images/ with the chips") and \
                _need_dir(root / "masks", problems, "masks/ with one mask per image, same file stem"):
            masks = _by_stem(root / "masks", IMAGE_SUFFIXES, problems)
            imgs = _pairs(root / "images", masks, problems, kind="mask", fix=f"{root / 'masks'}")
            _orphans(masks, imgs, "mask", root / "images")
            refs = [ChipRef(s, format, p, masks[s]) for s, p in imgs.items() if s in masks]
    elif format == "bijie":
        pos = root / "landslide"
        if all(_need_dir(pos / d, problems, f"landslide/{d}/ of the Bijie layout") for d in ("image", "mask", "dem")):
            masks = _by_stem(pos / "mask", IMAGE_SUFFIXES, problems)
            dems = _by_stem(pos / "dem", IMAGE_SUFFIXES, problems)
            imgs = _pairs(pos / "image", masks, problems, kind="mask", fix=str(pos / "mask"))
            _orphans(masks, imgs, "mask", pos / "image")
            for s, p in imgs.items():
                if s not in dems:
                    problems.append(f"{p}: no DEM with the stem {s!r} in {pos / 'dem'}")
            refs = [ChipRef(f"landslide/{s}", format, p, masks[s], dems[s]) for s, p in imgs.items()
                    if s in masks and s in dems]
        neg = root / "non-landslide"
        if neg.exists() and all(_need_dir(neg / d, problems, f"non-landslide/{d}/ of the Bijie layout")
                                for d in ("image", "dem")):
            dems = _by_stem(neg / "dem", IMAGE_SUFFIXES, problems)
            imgs = _pairs(neg / "image", dems, problems, kind="DEM", fix=str(neg / "dem"))
            refs += [ChipRef(f"non-landslide/{s}", format, p, None, dems[s]) for s, p in imgs.items() if s in dems]
    else:
        if _need_dir(root / "img", problems, "img/image_N.h5") and \
                _need_dir(root / "mask", problems, "mask/mask_N.h5, one per image"):
            def numbered(folder: Path, prefix: str) -> dict[str, Path]:
                out = {}
                for p in sorted(folder.glob(f"{prefix}_*.h5")):
                    m = re.fullmatch(rf"{prefix}_(\d+)\.h5", p.name)
                    if m:
                        out[m.group(1)] = p
                return out

            imgs, masks = numbered(root / "img", "image"), numbered(root / "mask", "mask")
            for n, p in imgs.items():
                if n not in masks:
                    problems.append(f"{p}: no mask_{n}.h5 in {root / 'mask'} (unlabelled images cannot train or "
                                    "test; leave them out)")
            refs = [ChipRef(f"image_{n}", format, p, masks[n]) for n, p in sorted(imgs.items(), key=lambda kv: int(kv[0]))
                    if n in masks]
    if problems:
        raise ChipError(root, problems)
    if not refs:
        raise ChipError(root, [f"{root}: no chips found in the {format} layout ({'/'.join(IMAGE_SUFFIXES)} "
                               "files; see docs/methods.md for the layouts)"])
    return refs


def band_indices(bands: list[str] | tuple[str, ...] | None) -> list[int]:
    """0-based positions of Landslide4Sense band names (default RGB = B4, B3, B2).

    Raises:
        ValueError: an unknown band name (the message lists the valid ones).
    """
    names = list(bands) if bands else list(L4S_RGB)
    bad = [b for b in names if b not in L4S_BANDS]
    if bad:
        raise ValueError(f"unknown Landslide4Sense band(s) {', '.join(map(repr, bad))} (key data.chips.bands); "
                         f"valid: {', '.join(L4S_BANDS)}")
    return [L4S_BANDS.index(b) for b in names]


def _open_raster(path: Path):  # noqa: ANN202 - a rasterio dataset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as exc:
        raise OSError(f"{path}: cannot be opened as an image ({exc}); re-download it or remove the chip") from None


def _raster_shape(path: Path) -> tuple[int, int, int]:
    with _open_raster(path) as src:
        return src.count, src.height, src.width


def _h5(path: Path, key: str):  # noqa: ANN202 - an h5py dataset inside an open file

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise OSError(f"{path}: cannot be opened as HDF5 ({exc}); re-download it or remove the chip") from None
    if key not in f:
        found = ", ".join(f.keys()) or "nothing"
        f.close()
        raise OSError(f"{path}: no dataset {key!r} (the Landslide4Sense layout has '{key}'); found {found}")
    return f


def _read_h5(path: Path, key: str) -> np.ndarray:
    """Every value of dataset ``key`` of an HDF5 file; a damaged file is an error naming it."""
    with _h5(path, key) as f:
        try:
            return np.asarray(f[key][()])
        except (OSError, RuntimeError) as exc:
            raise OSError(f"{path}: unreadable dataset {key!r} ({exc}); the file is damaged, re-download it or "
                          "remove the chip") from None


def inspect_chips(refs: list[ChipRef], *, root: str | Path, bands: list[str] | None = None) -> None:
    """Open every file of every chip and check band counts and that mask and DEM have the image's size (headers
    only; pixels are read by :func:`read_chip`).

    Raises:
        ChipError: every problem found, naming the file.
    """
    problems: list[str] = []
    need = len(L4S_BANDS) if refs and refs[0].format == "landslide4sense" else 3  # slope and DEM are always read
    for ref in refs:
        try:
            if ref.format == "landslide4sense":
                with _h5(ref.image, "img") as f:
                    shape = f["img"].shape
                if len(shape) != 3 or shape[2] < need:
                    problems.append(f"{ref.image}: dataset 'img' has shape {shape}; expected H x W x 14 (bands "
                                    f"{', '.join(L4S_BANDS)})")
                    continue
                with _h5(ref.mask, "mask") as f:
                    mshape = f["mask"].shape
                if tuple(mshape[:2]) != tuple(shape[:2]) or (len(mshape) == 3 and mshape[2] != 1) or len(mshape) > 3:
                    problems.append(f"{ref.mask}: mask of shape {mshape} does not fit the image's {shape[:2]}")
                continue
            count, h, w = _raster_shape(ref.image)
            if count < 3:
                problems.append(f"{ref.image}: {count} band(s); an image needs at least 3 (red, green, blue)")
            for what, p in (("mask", ref.mask), ("DEM", ref.dem)):
                if p is None:
                    continue
                c2, h2, w2 = _raster_shape(p)
                if (h2, w2) != (h, w):
                    problems.append(f"{p}: {what} of {w2} x {h2} pixels, its image {ref.image.name} has {w} x {h}; "
                                    f"give the {what} the image's size")
                elif what == "DEM" and c2 != 1:
                    problems.append(f"{p}: DEM with {c2} bands; a DEM has one band of elevations")
        except OSError as exc:
            problems.append(str(exc))
    if problems:
        raise ChipError(Path(root), problems)


def chip_size(ref: ChipRef) -> tuple[int, int]:
    """(height, width) of a chip from its image's header (no pixels read).

    Raises:
        OSError: the image cannot be opened (the message names it).
    """
    if ref.format == "landslide4sense":
        with _h5(ref.image, "img") as f:
            return tuple(int(v) for v in f["img"].shape[:2])  # type: ignore[return-value]
    _, h, w = _raster_shape(ref.image)
    return h, w


def _verify_complete(path: Path) -> None:
    """Decode a PNG or JPEG to its end with Pillow: GDAL returns the pixels of a truncated PNG without a word
    (the missing rows as zeros), Pillow refuses it."""

    try:
        with Image.open(path) as im:
            im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise OSError(f"{path}: damaged image ({exc}); re-download it or remove the chip") from None


def _read_all(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(bands, H, W) values and the valid mask (alpha > 0 and not nodata) of a raster; errors name the file."""

    with _open_raster(path) as src:
        try:
            data = src.read()
        except RasterioIOError as exc:
            raise OSError(f"{path}: unreadable pixels ({exc}); the file is damaged, re-download it or remove "
                          "the chip") from None
        interp = list(src.colorinterp)
        nodata = src.nodata
        driver = src.driver
    if driver in ("PNG", "JPEG"):
        _verify_complete(path)
    valid = np.ones(data.shape[1:], bool)
    if len(interp) > 1 and interp[-1] == ColorInterp.alpha:
        valid &= data[-1] > 0
        data = data[:-1]
    if nodata is not None:
        valid &= ~np.all(data == nodata, axis=0)
    return data, valid


def read_chip(ref: ChipRef, *, bands: list[str] | None = None, pixel_size_m: float | None = None) -> Chip:
    """Read one chip: image bands as stored (float32), the landslide mask (any non-zero value that is not the mask's
    nodata), the valid mask (the image's and the mask's),
    and for Bijie and Landslide4Sense the DEM and slope (Bijie: Horn slope of the DEM at ``pixel_size_m``).

    Raises:
        OSError: an unreadable or damaged file (the message names it).
        ValueError: a Bijie chip without ``pixel_size_m`` (the slope needs the pixel size).
    """
    if ref.format == "landslide4sense":
        idx = band_indices(bands)
        img = _read_h5(ref.image, "img").astype(np.float32)
        if img.ndim != 3 or img.shape[-1] != len(L4S_BANDS):
            raise OSError(f"{ref.image}: dataset 'img' has shape {img.shape}; a Landslide4Sense image is H x W x "
                          f"{len(L4S_BANDS)} (bands {', '.join(L4S_BANDS)}): check the dataset's format")
        mask = _read_h5(ref.mask, "mask")
        mask = mask[..., 0] if mask.ndim == 3 else mask
        image = np.moveaxis(img[..., idx], -1, 0)
        valid = np.all(np.isfinite(img), axis=-1)
        return Chip(ref, image, mask != 0, valid, dem=img[..., L4S_BANDS.index("dem")],
                    slope=img[..., L4S_BANDS.index("slope")])
    data, valid = _read_all(ref.image)
    image = data.astype(np.float32)
    if ref.mask is not None:
        m, mvalid = _read_all(ref.mask)
        lossy = ref.mask.suffix.lower() in (".jpg", ".jpeg")  # compression noise around the edges is no landslide
        half = np.iinfo(m.dtype).max // 2 + 1 if m.dtype.kind in "ui" else 0.5
        landslide = (np.any(m >= half, axis=0) if lossy else np.any(m != 0, axis=0)) & mvalid
        valid &= mvalid  # the mask's nodata (or alpha) pixels are unlabelled: neither landslide nor background
    else:
        landslide = np.zeros(valid.shape, bool)
    dem = slope = None
    if ref.dem is not None:
        if pixel_size_m is None or pixel_size_m <= 0:
            raise ValueError(f"{ref.dem}: the slope of a chip's DEM needs the pixel size; set data.chips.pixel_size_m")
        d, dvalid = _read_all(ref.dem)
        dem = d[0].astype(np.float32)
        valid &= dvalid
        slope = slope_degrees(dem, xres=pixel_size_m, yres=pixel_size_m, nodata_mask=~dvalid)
    return Chip(ref, image, landslide, valid, dem=dem, slope=slope)
