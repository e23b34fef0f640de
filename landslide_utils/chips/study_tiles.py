"""Step 01 for chip datasets: image/mask chips -> the study's tiles, so steps 03-05 and the sweeps run unchanged.

A chip dataset (:mod:`landslide_utils.chips.formats`) has no map: its chips are unrelated patches, often cut around
landslides. Each chip is cut into tiles of ``tiling.tile_size`` from its top-left pixel (a chip larger than a
tile gives several, a smaller one is padded; padding has ``valid = 0``), and the chips of a split are laid side by
side on a *mosaic* grid, a local pixel frame without CRS, ``_GAP`` invalid pixels apart. Index offsets
(``row_off``, ``col_off``) place each tile on that mosaic, so the test-area evaluation of
:mod:`landslide_utils.evaluation.test_area` stitches the test chips into one mosaic whose confusion counts are the sums over
the chips, and whose landslides (the 8-connected components of each chip's mask, numbered over the whole
dataset) never touch another chip's. The tile index's ``area`` column names the chip of each tile.

Factor channels: ``dem`` and ``slope`` from the chip's DEM (Bijie: Horn slope at ``pixel_size_m``;
Landslide4Sense: its own slope and DEM bands), zeros without a DEM; ``river_level`` is 0 everywhere (chip
datasets have no river network; the per-channel statistics give a constant channel std 1, so it adds nothing).
Background windows: chips are usually cut around a landslide, so few grid tiles of a chip are free of landslide
and most of those are edge slivers. For background enhancement (Yang et al. 2022, section 3.3) each training
chip also gives up to ``_MAX_BACKGROUNDS`` non-overlapping windows of tile size that hold no landslide pixel and
no invalid pixel, as tiles of split ``background``: never trained on or tested, they are the backgrounds that
:func:`landslide_utils.enhance.samples.enhance_from_index` splices and pastes into.

A manifest ``chips.json`` beside the index records the chips, their place on the mosaic, their landslide ids and
which factor channels are real.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.transform import Affine
from scipy import ndimage
from tqdm import tqdm

from landslide_utils.chips.formats import Chip, ChipError, ChipRef, chip_size, inspect_chips, list_chips, read_chip
from landslide_utils.config.data_schema import ChipsSpec, ExtraTestSpec
from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import write_json, write_vector
from landslide_utils.notices import notify
from landslide_utils.paths import safe_name
from landslide_utils.tiles.tile import TileData, write_tile
from landslide_utils.tiles.tiling import INDEX_COLUMNS, split_counts, tile_footprint, typed_index

__all__ = ["MANIFEST", "ChipSplit", "split_chips", "tile_chip_dataset", "read_manifest", "chip_counts", "padding_share", "factor_skip_reason", "format_has_dem", "background_windows", "extra_test_split"]

MANIFEST = "chips.json"
_GAP = 16  # invalid pixels between chips on the mosaic: predicted polygons of two chips never merge
_EIGHT = np.ones((3, 3), bool)
_MAX_BACKGROUNDS = 4  # landslide-free windows per training chip (background enhancement's backgrounds)


def background_windows(landslide: np.ndarray, valid: np.ndarray, *, size: int,
                       limit: int = _MAX_BACKGROUNDS) -> list[tuple[int, int]]:
    """Upper-left (row, col) of up to ``limit`` non-overlapping ``size`` x ``size`` windows without a landslide
    or invalid pixel, scanned row by row on a grid of ``size // 8`` pixels (first found, first kept)."""
    h, w = landslide.shape
    if h < size or w < size:
        return []
    bad = (landslide | ~valid).astype(np.int64)
    ii = np.pad(bad.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    free = (ii[size:, size:] - ii[:-size, size:] - ii[size:, :-size] + ii[:-size, :-size]) == 0
    step = max(1, size // 8)
    taken: list[tuple[int, int]] = []
    for r in sorted({*range(0, h - size + 1, step), h - size}):
        for c in sorted({*range(0, w - size + 1, step), w - size}):
            if len(taken) >= limit:
                return taken
            if free[r, c] and all(abs(r - a) >= size or abs(c - b) >= size for a, b in taken):
                taken.append((r, c))
    return taken


@dataclass(frozen=True)
class ChipSplit:
    """The chips of a study, each with its split (``train`` or ``test``) and the dataset root it came from."""

    refs: tuple[ChipRef, ...]
    splits: tuple[str, ...]
    roots: tuple[Path, ...]


def format_has_dem(fmt: str) -> bool:
    """Whether chips of a format carry terrain (Bijie: a DEM per chip; Landslide4Sense: slope and DEM bands)."""
    return fmt in ("bijie", "landslide4sense")


def factor_skip_reason(profile: Profile) -> str | None:
    """Why the factor experiments (channels ``rgb+factors``) cannot run on this profile's data, or None."""
    chips = profile.data.chips
    if profile.data.source == "chips" and chips is not None and not format_has_dem(chips.format):
        return (f"the {chips.format} chip format has no DEM, so the factor channels (DEM, slope, river level) do "
                "not exist; the factor experiments are skipped (use a dataset with DEMs, e.g. the bijie or "
                "landslide4sense format)")
    return None


def padding_share(sizes: list[tuple[int, int]], tile_size: int) -> float:
    """The share of the tiles' pixels that are padding when chips of ``sizes`` (height, width) are cut into tiles
    of ``tile_size`` from their top-left pixel (0 for no chips)."""
    ts = int(tile_size)
    covered = sum(h * w for h, w in sizes)
    tiled = sum(math.ceil(h / ts) * math.ceil(w / ts) * ts * ts for h, w in sizes)
    return 1.0 - covered / tiled if tiled else 0.0


def _content_problems(rows: list[dict], records: list[dict], chips: ChipSplit) -> list[str]:
    """What the chips' pixels make impossible: a split without any valid pixel, training without a landslide."""
    problems = []
    for split in sorted(set(chips.splits)):
        if not any(r["split"] == split for r in rows):
            problems.append(f"no {split} chip has a valid pixel (alpha 0, nodata or NaN everywhere); check the "
                            "images' alpha band and nodata value")
    if not problems and "train" in chips.splits and not any(r["landslide_pixels"] for r in records
                                                             if r["split"] == "train"):
        problems.append("no train chip has a landslide pixel (every mask is 0 where the image is valid): there is "
                        "nothing to learn from. Check the masks (landslide = any non-zero value)")
    return problems


def split_chips(spec: ChipsSpec) -> ChipSplit:
    """List (and check) the chips of ``spec.train`` and ``spec.test``; without ``test`` hold out a seeded
    ``test_fraction`` of the train chips, stratified by negative (mask-less) and landslide chips.

    Raises:
        ChipError: a layout problem of either dataset, or too few chips to split.
    """
    train = list_chips(spec.train, format=spec.format)
    inspect_chips(train, root=spec.train, bands=list(spec.bands) if spec.bands else None)
    if spec.test is not None:
        test = list_chips(spec.test, format=spec.format)
        inspect_chips(test, root=spec.test, bands=list(spec.bands) if spec.bands else None)
        taken = {safe_name(r.name, empty="chip") for r in train}
        if any(safe_name(r.name, empty="chip") in taken for r in test):  # datasets that number their files alike: keep both apart
            test = [replace(r, name=f"test/{r.name}") for r in test]
        refs = tuple(train + test)
        return ChipSplit(refs, tuple(["train"] * len(train) + ["test"] * len(test)),
                         tuple([Path(spec.train)] * len(train) + [Path(spec.test)] * len(test)))
    if len(train) < 2:
        raise ChipError(Path(spec.train), [f"{len(train)} chip: a train/test split needs at least 2 chips; add "
                                           "chips or give a test dataset (data.chips.test)"])
    rng = np.random.default_rng(spec.split_seed)
    is_test = np.zeros(len(train), bool)
    for negative in (False, True):
        members = np.flatnonzero([(r.mask is None) == negative for r in train])
        if members.size == 0:
            continue
        n_test = min(members.size - 1, max(1, round(spec.test_fraction * members.size))) if members.size > 1 \
            else 0
        is_test[rng.permutation(members)[:n_test]] = True
    if not is_test.any():
        is_test[rng.integers(len(train))] = True
    return ChipSplit(tuple(train), tuple("test" if t else "train" for t in is_test), tuple([Path(spec.train)] * len(train)))


def _shelves(blocks: list[tuple[int, int]], *, top: int) -> tuple[list[tuple[int, int]], int]:
    """Upper-left (row, col) of each block (height, width) on shelves about as wide as the blocks are tall in
    total (a roughly square mosaic), starting at row ``top``; and the row below the last shelf."""
    if not blocks:
        return [], top
    width = max(max(w for _, w in blocks), int(math.sqrt(sum((h + _GAP) * (w + _GAP) for h, w in blocks))))
    out, row, col, shelf = [], top, _GAP, 0
    for h, w in blocks:
        if col > _GAP and col + w > width:
            row, col, shelf = row + shelf + _GAP, _GAP, 0
        out.append((row, col))
        col += w + _GAP
        shelf = max(shelf, h)
    return out, row + shelf + _GAP


def _components(chip: Chip) -> tuple[np.ndarray, int]:
    """Landslide instances of a chip: the 8-connected components of its mask over valid pixels."""
    labels, n = ndimage.label(chip.landslide & chip.valid, structure=_EIGHT)
    return labels.astype(np.int32), int(n)


def _factors(chip: Chip) -> np.ndarray:
    h, w = chip.landslide.shape
    out = np.zeros((3, h, w), np.float32)
    if chip.dem is not None:
        out[0] = chip.dem
    if chip.slope is not None:
        out[1] = chip.slope
    out[~np.isfinite(out)] = 0
    return out


def _mosaic_layout(chips: ChipSplit, *, ts: int) -> tuple[list[tuple[int, int]], dict[int, tuple[int, int]]]:
    """Each chip's size (headers only) and its place on the mosaic frame: train chips, then test chips, on
    shelves of whole tiles, a gap apart. Chips much smaller than a tile are reported (the tiles would be padding)."""
    problems: list[str] = []
    sizes: list[tuple[int, int]] = []
    for ref in chips.refs:  # headers only: the layout first, then one chip at a time
        try:
            sizes.append(chip_size(ref))
        except OSError as exc:  # a file gone or damaged since the dataset was inspected
            problems.append(str(exc))
            sizes.append((0, 0))
    if problems:
        raise ChipError(chips.roots[0], problems)
    share = padding_share(sizes, ts)
    if share > 0.5:
        notify(f"{chips.roots[0]}: the chips are smaller than the tiles ({ts} x {ts} pixels): {100 * share:.0f} % "
               "of the tiles' pixels are padding (no model learns from them); choose a tiling.tile_size close to "
               f"the chips' size (the smallest chip is {min(min(s) for s in sizes)} pixels wide)")
    blocks: dict[str, list[int]] = {"train": [], "test": []}
    for i, s in enumerate(chips.splits):
        blocks[s].append(i)
    place: dict[int, tuple[int, int]] = {}
    top = _GAP  # the mosaic starts a gap in: no tile at (0, 0), whose transform GDAL would not store
    for s in ("train", "test"):
        spots, top = _shelves([(math.ceil(sizes[i][0] / ts) * ts, math.ceil(sizes[i][1] / ts) * ts)
                               for i in blocks[s]], top=top)
        place.update(zip(blocks[s], spots))
    return sizes, place


def _grid_tiles(chip: Chip, *, image: np.ndarray, factors: np.ndarray, inst: np.ndarray, ts: int,
                origin: tuple[int, int], base: Affine, name: str, split: str, area: str,
                stage: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    """The chip cut on a grid of ``ts`` pixels from its upper-left corner (the last row and column padded, tiles
    without a valid pixel left out), written into ``stage``; their index rows and footprints."""
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    r0, c0 = origin
    h, w = chip.landslide.shape
    for a in range(math.ceil(h / ts)):
        for b in range(math.ceil(w / ts)):
            sl = (slice(a * ts, min(h, (a + 1) * ts)), slice(b * ts, min(w, (b + 1) * ts)))
            th, tw = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            valid = np.zeros((ts, ts), bool)
            valid[:th, :tw] = chip.valid[sl]
            if not valid.any():
                continue
            img = np.zeros((image.shape[0], ts, ts), np.float32)
            img[:, :th, :tw] = image[(slice(None), *sl)]
            fac = np.zeros((3, ts, ts), np.float32)
            fac[:, :th, :tw] = factors[(slice(None), *sl)]
            ids = np.zeros((ts, ts), np.int32)
            ids[:th, :tw] = inst[sl]
            fac[:, ~valid] = 0
            ids[~valid] = 0
            row, col = r0 + a * ts, c0 + b * ts
            tr = base @ Affine.translation(col, row)
            tile_id = f"{name}_r{a:03d}_c{b:03d}"
            rel = f"{split}/{tile_id}.tif"
            write_tile(stage / rel, TileData(image=img, factors=fac, instances=ids, valid=valid, transform=tr))
            lpix = int((ids > 0).sum())
            rows.append({"tile_id": tile_id, "split": split, "area": area, "has_landslide": lpix > 0,
                         "landslide_pixels": lpix, "valid_pixels": int(valid.sum()), "path": rel,
                         "row_off": row, "col_off": col, "tile_size": ts})
            geoms.append(tile_footprint(tr, ts))
    return rows, geoms


def _background_tiles(chip: Chip, *, image: np.ndarray, factors: np.ndarray, ts: int, origin: tuple[int, int],
                      base: Affine, name: str, area: str, stage: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    """The landslide-free windows of a train chip (:func:`background_windows`) as background tiles."""
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    r0, c0 = origin
    for k, (a, b) in enumerate(background_windows(chip.landslide, chip.valid, size=ts)):
        sl = (slice(a, a + ts), slice(b, b + ts))
        row, col = r0 + a, c0 + b
        tr = base @ Affine.translation(col, row)
        tile_id = f"{name}_bg{k}"
        rel = f"background/{tile_id}.tif"
        write_tile(stage / rel, TileData(image=image[(slice(None), *sl)].copy(),
                                         factors=factors[(slice(None), *sl)].copy(),
                                         instances=np.zeros((ts, ts), np.int32), valid=np.ones((ts, ts), bool),
                                         transform=tr))
        rows.append({"tile_id": tile_id, "split": "background", "area": area, "has_landslide": False,
                     "landslide_pixels": 0, "valid_pixels": ts * ts, "path": rel, "row_off": row,
                     "col_off": col, "tile_size": ts})
        geoms.append(tile_footprint(tr, ts))
    return rows, geoms


def tile_chip_dataset(
    chips: ChipSplit,
    *,
    fmt: str,
    tile_size: int,
    out_dir: str | Path,
    pixel_size_m: float | None,
    bands: tuple[str, ...] | None = None,
    progress: bool = True,
    label: str = "chips",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Cut every chip into tiles and write tiles, index (``index.gpkg``) and manifest (:data:`MANIFEST`).

    The tiles are written into a staging folder that replaces ``out_dir`` only when every chip was read, so a
    damaged chip leaves the tiles of the last good run in place.

    Returns:
        The tile index (columns :data:`landslide_utils.tiles.tiling.INDEX_COLUMNS`, ``area`` = chip name, footprints on
        the mosaic frame without CRS) and the manifest.

    Raises:
        ChipError: files that cannot be read (every one is named).
    """
    out_dir = Path(out_dir)
    ts = int(tile_size)
    px = float(pixel_size_m) if pixel_size_m else 1.0
    base = Affine(px, 0.0, 0.0, 0.0, -px, 0.0)
    names = [safe_name(r.name, empty="chip") for r in chips.refs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ChipError(chips.roots[0], [f"chips {', '.join(dup[:5])} have the same name once made file-name safe "
                                         "(train and test datasets with the same file names?); rename them"])
    stage = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(stage, ignore_errors=True)
    rows, geoms, problems, records = [], [], [], []
    next_id = 1
    sizes, place = _mosaic_layout(chips, ts=ts)
    bar = tqdm(total=len(chips.refs), desc=f"tile {label}", unit="chip", disable=not progress)
    for i, (ref, split) in enumerate(zip(chips.refs, chips.splits)):
        bar.update(1)
        try:
            chip = read_chip(ref, bands=list(bands) if bands else None, pixel_size_m=pixel_size_m)
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
            continue
        if problems:  # a damaged chip was found: check the rest, write nothing more
            continue
        inst, n = _components(chip)
        h, w = chip.landslide.shape
        inst = np.where(inst > 0, inst + next_id - 1, 0).astype(np.int32)
        factors = _factors(chip)
        image = np.where(chip.valid, chip.image, 0).astype(np.float32)
        image[~np.isfinite(image)] = 0
        r0, c0 = place[i]
        grid_rows, grid_geoms = _grid_tiles(chip, image=image, factors=factors, inst=inst, ts=ts, origin=(r0, c0),
                                            base=base, name=names[i], split=split, area=ref.name, stage=stage)
        back_rows, back_geoms = (_background_tiles(chip, image=image, factors=factors, ts=ts, origin=(r0, c0),
                                                   base=base, name=names[i], area=ref.name, stage=stage)
                                 if split == "train" else ([], []))
        rows += grid_rows + back_rows
        geoms += grid_geoms + back_geoms
        n_tiles, n_back = len(grid_rows), len(back_rows)
        records.append({"name": ref.name, "split": split, "image": ref.image.name, "height": h, "width": w,
                        "row_off": r0, "col_off": c0, "tiles": n_tiles, "background_windows": n_back, "landslides": n,
                        "first_id": next_id, "last_id": next_id + n - 1,
                        "valid_pixels": int(chip.valid.sum()), "landslide_pixels": int((inst > 0).sum()),
                        "negative": ref.mask is None})
        next_id += n
    bar.close()
    if not problems:
        problems = _content_problems(rows, records, chips)
    if problems:
        shutil.rmtree(stage, ignore_errors=True)
        raise ChipError(chips.roots[0], problems)
    frame = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    index = typed_index(gpd.GeoDataFrame(frame, geometry=geoms, crs=None))
    manifest = {"format": fmt, "tile_size": ts, "pixel_size_m": pixel_size_m, "bands": list(bands) if bands else None,
                "factors": ["dem", "slope"] if format_has_dem(fmt) else [], "mosaic_gap_px": _GAP,
                "datasets": sorted({str(r) for r in chips.roots}), "chips": records}
    write_vector(stage / "index.gpkg", index, layer="tiles")
    write_json(stage / MANIFEST, manifest)
    if out_dir.exists():  # the COCO annotations beside the tiles are rewritten by step 01 after this
        shutil.rmtree(out_dir)
    stage.rename(out_dir)
    return index, manifest


def read_manifest(tiles_dir: str | Path) -> dict[str, Any] | None:
    """The chip manifest of a tiles folder, or None for the tiles of a scene."""

    path = Path(tiles_dir) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def chip_counts(index: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """Per split: chips, landslide / non-landslide tiles, tiles, background windows (training chips), landslides
    (connected components) and the valid area (km², or million pixels when the pixel size is unknown)."""

    table = split_counts(index[index["split"] != "background"])
    chips = pd.DataFrame(manifest["chips"])
    px_km2 = (manifest["pixel_size_m"] or 1.0) ** 2 / 1e6
    for s in table.index:
        sel = chips if s == "total" else chips[chips["split"] == s]
        table.loc[s, "chips"] = len(sel)
        table.loc[s, "background_windows"] = int(sel["background_windows"].sum())
        table.loc[s, "landslides"] = int(sel["landslides"].sum())
        table.loc[s, "area_km2"] = round(float(sel["valid_pixels"].sum()) * px_km2, 6)
    for c in ("chips", "landslides", "background_windows"):
        table[c] = table[c].astype(np.int64)
    return table[["chips", "landslide_tiles", "non_landslide_tiles", "tiles", "background_windows", "landslides",
                  "area_km2"]]


def extra_test_split(spec: ExtraTestSpec) -> ChipSplit:
    """Every chip of an extra test dataset, as test chips."""
    refs = list_chips(spec.path, format=spec.format)
    inspect_chips(refs, root=spec.path, bands=list(spec.bands) if spec.bands else None)
    return ChipSplit(tuple(refs), tuple(["test"] * len(refs)), tuple([Path(spec.path)] * len(refs)))
