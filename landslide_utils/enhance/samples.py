"""Background enhancement (BE): new training samples with complicated backgrounds.

Yang et al. (2022), section 3.3, enrich the training set with two operations that surround landslides with
landslide-like background objects (rivers, roads, bare land, buildings) taken from non-landslide tiles:

* **Splicing** (section 3.3.1, after the Mosaic idea of YOLOv4): one landslide tile and three different
  non-landslide tiles become the four quadrants of one sample of the tile size. ``resize`` (the paper) halves
  every source; ``crop`` (an assumption, docs/methods.md, "Background enhancement") cuts a random half-size
  window of each source instead and keeps the ground resolution.
* **Modified CutMix** (section 3.3.2, after Yun et al. 2019): the bounding box B1 of one random landslide of a
  landslide tile S1 replaces a box B2 of the same size at a random place in a non-landslide tile S2; the label
  is every landslide pixel of B1 shifted by B2 - B1.

Both act on the image, the factor channels (DEM, slope, river level), the valid mask and the instance labels
together, so a BE sample is a tile like any other (:mod:`landslide_utils.tiles.tile`). Labels exist only on valid
pixels, instance ids of a sample are consecutive (1..K) and distinct.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.transform import Affine
from tqdm import tqdm

from landslide_utils.config.data_schema import EnhanceSpec
from landslide_utils.enhance.resize import nearest_index, resize_area
from landslide_utils.files.atomic import write_text
from landslide_utils.tiles.tile import CATEGORICAL_FACTORS, TileData, read_tile, write_tile

__all__ = [
    "EnhanceError",
    "splice",
    "cutmix",
    "generate_enhanced",
    "enhance_from_index",
    "load_enhanced",
    "enhancement_counts",
    "INDEX_COLUMNS",
    "QUADRANT_NAMES",
]

QUADRANT_NAMES: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
INDEX_COLUMNS: tuple[str, ...] = (
    "sample_id", "method", "source_tiles", "landslide_quadrant", "offset_row", "offset_col", "instance_id",
    "path", "landslide_pixels", "n_instances", "splice_mode", "windows", "b1", "b2",
)
_INT_COLUMNS = ("landslide_quadrant", "offset_row", "offset_col", "instance_id")
_SPLICE_TRIES = 20  # a resized splice whose landslides all vanish is drawn again this many times at most

Box = tuple[int, int, int, int]  # (r0, c0, r1, c1), end exclusive
TileSource = TileData | str | Path


class EnhanceError(ValueError):
    """Background enhancement cannot run on the given tiles; the message says why and what to do."""


# ----------------------------------------------------------------------------------------------- helpers
def _landslide_mask(tile: TileData) -> np.ndarray:
    return (tile.instances > 0) & tile.valid


def _relabel(instances: np.ndarray) -> np.ndarray:
    """Map the nonzero ids to 1..K (in increasing order of the old ids)."""
    ids = np.unique(instances[instances > 0])
    out = np.zeros(instances.shape, np.int32)
    m = instances > 0
    out[m] = np.searchsorted(ids, instances[m]) + 1
    return out


def _sample_transform(tile: TileData, scale: float) -> Affine:
    """A location-free transform keeping the ground pixel size (times ``scale``) of the source tile.

    The sample lies in a local frame with its lower-left corner at (0, 0) (never the identity, which GDAL
    would not store).
    """
    a, e = abs(tile.transform.a) or 1.0, abs(tile.transform.e) or 1.0
    return Affine(a * scale, 0.0, 0.0, 0.0, -e * scale, tile.shape[0] * e * scale)


def _check_same(tiles: Sequence[TileData], what: str) -> None:
    ref = tiles[0]
    for t in tiles[1:]:
        if t.shape != ref.shape or t.image.shape[0] != ref.image.shape[0]:
            raise EnhanceError(
                f"{what}: tiles of different sizes ({ref.image.shape} and {t.image.shape}); background "
                "enhancement combines tiles of one size and band count - retile with a single tile_size"
            )
        if t.factor_names != ref.factor_names:
            raise EnhanceError(
                f"{what}: tiles with different factors ({', '.join(ref.factor_names)} and "
                f"{', '.join(t.factor_names)}); they come from different runs of step 01 - rerun step 01 so that "
                "every tile is cut from the same layers"
            )


def _box(mask: np.ndarray) -> Box:
    rows, cols = np.nonzero(mask)
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


# ------------------------------------------------------------------------------------------ operations
def splice(
    landslide: TileData,
    backgrounds: Sequence[TileData],
    *,
    rng: np.random.Generator,
    mode: Literal["resize", "crop"] = "resize",
) -> tuple[TileData, dict[str, Any]]:
    """Splice one landslide tile and three non-landslide tiles into one 2 x 2 sample (Yang et al. 2022, 3.3.1).

    The quadrants have sizes ``H//2`` / ``H - H//2`` rows and ``W//2`` / ``W - W//2`` columns, so odd tiles work;
    the landslide tile takes a random quadrant, the backgrounds fill the others in reading order.

    Args:
        landslide: a tile with at least one valid landslide pixel.
        backgrounds: exactly three tiles without landslides, of the same size.
        rng: the random generator (all randomness comes from it).
        mode: ``resize`` - each source is resized to its quadrant (image and continuous factors: DEM, slope,
            curvature, ... by area averaging; class codes - river level, aspect, lithology
            (:data:`~landslide_utils.tiles.tile.CATEGORICAL_FACTORS`) -, instances and valid mask by nearest
            neighbour; vanished instances are dropped).
            ``crop`` - a random quadrant-size window of each source (pixels copied exactly); the landslide
            window is placed around a random pixel of a random landslide, so it always holds a landslide.

    Returns:
        The sample (crs None, transform with the ground pixel size, doubled in ``resize`` mode) and an info
        dict: ``mode``, ``landslide_quadrant`` (0..3 = top-left, top-right, bottom-left, bottom-right),
        ``quadrant_sources`` (per quadrant, 0 = landslide tile, 1..3 = backgrounds), ``boxes`` (per quadrant,
        its box in the sample), ``windows`` (per source, the window taken from it), ``n_instances``.
    """
    if mode not in ("resize", "crop"):
        raise ValueError(f"unknown splice mode {mode!r}; valid: 'resize', 'crop'")
    if len(backgrounds) != 3:
        raise EnhanceError(f"splicing needs exactly three background tiles, got {len(backgrounds)}")
    _check_same([landslide, *backgrounds], "splice")
    if not landslide.has_landslide:
        raise EnhanceError("splice: the landslide tile has no valid landslide pixel")
    if any(b.has_landslide for b in backgrounds):
        raise EnhanceError("splice: a background tile contains landslides; pass non-landslide tiles")
    h, w = landslide.shape
    hs, ws = (h // 2, h - h // 2), (w // 2, w - w // 2)
    boxes = [(0, 0, hs[0], ws[0]), (0, ws[0], hs[0], w), (hs[0], 0, h, ws[0]), (hs[0], ws[0], h, w)]
    q_land = int(rng.integers(4))
    order = [q for q in range(4) if q != q_land]
    quadrant_sources = [0] * 4
    for k, q in enumerate(order, start=1):
        quadrant_sources[q] = k
    sources = [landslide, *backgrounds]
    image = np.zeros_like(landslide.image, dtype=np.float32)
    factors = np.zeros((landslide.factors.shape[0], h, w), np.float32)
    instances = np.zeros((h, w), np.int32)
    valid = np.zeros((h, w), bool)
    windows: list[Box] = [(0, 0, h, w)] * 4
    for q, (r0, c0, r1, c1) in enumerate(boxes):
        k = quadrant_sources[q]
        src, qh, qw = sources[k], r1 - r0, c1 - c0
        if mode == "resize":
            ri, ci = nearest_index(h, qh), nearest_index(w, qw)
            image[:, r0:r1, c0:c1] = resize_area(src.image, qh, qw)
            cat = np.array([n in CATEGORICAL_FACTORS for n in src.factor_names], bool)
            factors[~cat, r0:r1, c0:c1] = resize_area(src.factors[~cat], qh, qw)
            factors[cat, r0:r1, c0:c1] = src.factors[cat][:, ri][:, :, ci]
            v = src.valid[np.ix_(ri, ci)]
            inst = src.instances[np.ix_(ri, ci)]
        else:
            if k == 0:  # window around a random pixel of a random landslide
                lm = _landslide_mask(src)
                ids = np.unique(src.instances[lm])
                pr, pc = np.nonzero(lm & (src.instances == rng.choice(ids)))
                j = int(rng.integers(len(pr)))
                wr = int(rng.integers(max(0, pr[j] - qh + 1), min(pr[j], h - qh) + 1))
                wc = int(rng.integers(max(0, pc[j] - qw + 1), min(pc[j], w - qw) + 1))
            else:
                wr, wc = int(rng.integers(h - qh + 1)), int(rng.integers(w - qw + 1))
            windows[k] = (wr, wc, wr + qh, wc + qw)
            sl = (slice(wr, wr + qh), slice(wc, wc + qw))
            image[:, r0:r1, c0:c1] = src.image[(slice(None), *sl)]
            factors[:, r0:r1, c0:c1] = src.factors[(slice(None), *sl)]
            v, inst = src.valid[sl], src.instances[sl]
        valid[r0:r1, c0:c1] = v
        if k == 0:
            instances[r0:r1, c0:c1] = np.where(v, inst, 0)
    instances = _relabel(instances)
    tile = TileData(image=image, factors=factors, instances=instances, valid=valid,
                    transform=_sample_transform(landslide, 2.0 if mode == "resize" else 1.0), crs=None,
                    factor_names=landslide.factor_names, image_names=landslide.image_names)
    info = {"mode": mode, "landslide_quadrant": q_land, "quadrant_sources": quadrant_sources,
            "boxes": boxes, "windows": windows, "n_instances": int(instances.max(initial=0))}
    return tile, info


def cutmix(source: TileData, target: TileData, *, rng: np.random.Generator,
           factors_from: Literal["landslide", "background"] = "landslide") -> tuple[TileData, dict[str, Any]]:
    """Modified CutMix (Yang et al. 2022, 3.3.2, after Yun et al. 2019): paste one landslide's box elsewhere.

    B1 is the bounding box (over valid pixels) of one randomly chosen landslide instance of ``source`` (S1);
    B2 is a box of the same size at a uniformly random position inside ``target`` (S2). Every channel of B1
    (image, factors, valid) replaces B2. The label is every landslide pixel inside B1 - the chosen instance and
    the visible parts of any other instance cut by the box - shifted by B2 - B1 and relabelled 1..K; the
    target has no landslides, so the label is 0 outside B2.

    ``factors_from`` (``enhance.cutmix_factors``; the paper is silent): ``landslide`` pastes B1's factor channels
    (DEM, slope, river level) with its image, as "all channels" reads; ``background`` keeps S2's factors under
    the pasted image, so no DEM/slope step appears at the box edge (such an edge never occurs at test time).

    Returns:
        The sample (crs None, transform with the ground pixel size) and an info dict: ``instance_id`` (the
        chosen id in S1), ``b1`` and ``b2`` as (r0, c0, r1, c1) with exclusive ends, ``offset_row``,
        ``offset_col`` (B2 - B1), ``n_instances``.
    """
    _check_same([source, target], "cutmix")
    lm = _landslide_mask(source)
    if not lm.any():
        raise EnhanceError("cutmix: the source tile S1 has no valid landslide pixel")
    if target.has_landslide:
        raise EnhanceError("cutmix: the target tile S2 contains landslides; pass a non-landslide tile")
    h, w = source.shape
    chosen = int(rng.choice(np.unique(source.instances[lm])))
    r0, c0, r1, c1 = _box(lm & (source.instances == chosen))
    bh, bw = r1 - r0, c1 - c0
    t0, u0 = int(rng.integers(h - bh + 1)), int(rng.integers(w - bw + 1))
    b1, b2 = (r0, c0, r1, c1), (t0, u0, t0 + bh, u0 + bw)
    s1 = (slice(r0, r1), slice(c0, c1))
    s2 = (slice(t0, t0 + bh), slice(u0, u0 + bw))
    image = target.image.astype(np.float32, copy=True)
    factors = target.factors.astype(np.float32, copy=True)
    valid = target.valid.astype(bool, copy=True)
    instances = np.zeros((h, w), np.int32)
    image[(slice(None), *s2)] = source.image[(slice(None), *s1)]
    if factors_from == "landslide":
        factors[(slice(None), *s2)] = source.factors[(slice(None), *s1)]
    elif factors_from != "background":
        raise ValueError(f"unknown factors_from {factors_from!r}; valid: 'landslide', 'background'")
    valid[s2] = source.valid[s1]
    instances[s2] = np.where(lm[s1], source.instances[s1], 0)
    instances = _relabel(instances)
    tile = TileData(image=image, factors=factors, instances=instances, valid=valid,
                    transform=_sample_transform(source, 1.0), crs=None, factor_names=target.factor_names,
                    image_names=target.image_names)
    info = {"instance_id": chosen, "b1": b1, "b2": b2, "offset_row": t0 - r0, "offset_col": u0 - c0,
            "n_instances": int(instances.max(initial=0))}
    return tile, info


# ------------------------------------------------------------------------------------------ generation
class _Loader:
    """Reads tiles on demand and keeps the last few (so thousands of tiles never sit in memory at once)."""

    def __init__(self, tiles: Sequence[tuple[str, TileSource]], cache_size: int) -> None:
        self.tiles, self.cache_size = tiles, max(cache_size, 0)
        self.cache: OrderedDict[int, TileData] = OrderedDict()

    def __call__(self, i: int) -> TileData:
        src = self.tiles[i][1]
        if isinstance(src, TileData):
            return src
        if i in self.cache:
            self.cache.move_to_end(i)
            return self.cache[i]
        tile = read_tile(src)
        if self.cache_size:
            self.cache[i] = tile
            if len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return tile


def _shape_of(src: TileSource) -> tuple[int, int, int]:
    if isinstance(src, TileData):
        return (src.image.shape[0], *src.shape)
    try:
        with rasterio.open(src) as ds:
            names = list(ds.descriptions)
            if "dem" not in names:
                raise EnhanceError(f"{src}: not a tile of this project (no band named dem); rerun step 01 to "
                                   "regenerate the tiles")
            return (names.index("dem"), ds.height, ds.width)  # the image bands come before the factors
    except RasterioIOError as exc:
        raise EnhanceError(f"{src}: cannot read tile ({exc}); rerun step 01 to regenerate the tiles") from exc


def _fmt_box(b: Box) -> str:
    return ",".join(str(int(v)) for v in b)


def _one_sample(method: str, load: _Loader, land: np.ndarray, back: np.ndarray, rng: np.random.Generator,
                spec: EnhanceSpec) -> tuple[TileData, dict[str, Any], dict[str, Any], list[int]]:
    row: dict[str, Any] = {c: None for c in INDEX_COLUMNS}
    if method == "splice":
        for _ in range(_SPLICE_TRIES):
            li = int(rng.choice(land))
            bi = [int(b) for b in rng.choice(back, 3, replace=False)]
            names = ", ".join(str(load.tiles[k][0]) for k in [li, *bi])
            try:
                sample, info = splice(load(li), [load(b) for b in bi], rng=rng, mode=spec.splice_mode)
            except EnhanceError as exc:
                raise EnhanceError(f"tiles {names}: {exc}") from exc
            if info["n_instances"] > 0:
                break
        else:  # every landslide vanished in each resized draw: a crop window always keeps one
            sample, info = splice(load(li), [load(b) for b in bi], rng=rng, mode="crop")
        row.update(landslide_quadrant=info["landslide_quadrant"], splice_mode=info["mode"],
                   windows=";".join(_fmt_box(b) for b in info["windows"]))
        return sample, info, row, [li, *bi]
    li, bi0 = int(rng.choice(land)), int(rng.choice(back))
    try:
        sample, info = cutmix(load(li), load(bi0), rng=rng, factors_from=spec.cutmix_factors)
    except EnhanceError as exc:
        raise EnhanceError(f"tiles {load.tiles[li][0]}, {load.tiles[bi0][0]}: {exc}") from exc
    row.update(offset_row=info["offset_row"], offset_col=info["offset_col"],
               instance_id=info["instance_id"], b1=_fmt_box(info["b1"]), b2=_fmt_box(info["b2"]))
    return sample, info, row, [li, bi0]


def generate_enhanced(
    tiles: Sequence[tuple[str, TileSource]],
    spec: EnhanceSpec,
    *,
    out_dir: str | Path,
    n_original: int | None = None,
    has_landslide: Sequence[bool] | None = None,
    progress: bool = True,
    cache_size: int = 8,
) -> pd.DataFrame:
    """Write background-enhanced samples of a training set (Yang et al. 2022, section 3.3).

    N = ``spec.n_samples`` if set, else ``round(spec.ratio * n_original)`` (the paper: 600 from 531 tiles);
    ``round(N * spec.splice_share)`` of them are spliced (:func:`splice`), the rest CutMix (:func:`cutmix`), in
    a random order (Python's ``round``: halves go to the even number). A resized splice whose landslides all
    vanish is drawn again (up to 20 times). Every draw comes from ``np.random.default_rng(spec.seed)``: the same seed and tiles give
    byte-identical files. Samples go to ``out_dir/be_00000.tif`` ... with ``out_dir/index.csv`` (columns
    :data:`INDEX_COLUMNS`); older ``be_*.tif`` files not in the new index are removed.

    Args:
        tiles: ``(tile_id, tile)`` pairs of the training set; a tile is a :class:`TileData` or the path of a
            tile file (read lazily, a few cached).
        spec: the profile's ``enhance`` section.
        out_dir: the folder of the samples (created).
        n_original: number of original training tiles for ``ratio`` (default ``len(tiles)``).
        has_landslide: per tile, whether it holds landslides (e.g. from the tile index); read from the tiles
            when not given.
        progress: show a tqdm progress bar.
        cache_size: how many read tiles to keep in memory.

    Raises:
        EnhanceError: no landslide tiles; fewer than three non-landslide tiles while splicing; no
            non-landslide tile while using CutMix; tiles of different sizes.
    """
    out_dir = Path(out_dir)
    n_tiles = len(tiles)
    n_total = spec.n_samples if spec.n_samples is not None else round(spec.ratio * (n_original or n_tiles))
    n_splice = round(n_total * spec.splice_share)
    n_cut = n_total - n_splice
    load = _Loader(tiles, cache_size)
    shapes = [_shape_of(src) for _, src in tiles]
    for (tid, _), s in zip(tiles, shapes):
        if s != shapes[0]:
            raise EnhanceError(
                f"tiles of different sizes: {tiles[0][0]} has (bands, rows, cols) {shapes[0]}, {tid} has {s}; "
                "background enhancement combines tiles of one size - retile with a single tile_size"
            )
    if has_landslide is None:
        flags = np.array([load(i).has_landslide for i in range(n_tiles)], bool)
    else:
        if len(has_landslide) != n_tiles:
            raise EnhanceError(f"has_landslide has {len(has_landslide)} entries for {n_tiles} tiles")
        flags = np.asarray(has_landslide, bool)
    land, back = np.flatnonzero(flags), np.flatnonzero(~flags)
    if n_total > 0 and len(land) == 0:
        raise EnhanceError("the training set has no landslide tiles; background enhancement needs at least one "
                           "(check the training areas and the inventory)")
    if n_splice > 0 and len(back) < 3:
        raise EnhanceError(f"splicing needs at least three non-landslide tiles, got {len(back)}; use more "
                           "training area or set enhance.splice_share to 0")
    if n_cut > 0 and len(back) < 1:
        raise EnhanceError("CutMix needs at least one non-landslide tile, got 0; use more training area")

    rng = np.random.default_rng(spec.seed)
    methods = np.array(["splice"] * n_splice + ["cutmix"] * n_cut)[rng.permutation(n_total)]
    rows, written = [], set()
    for i, method in enumerate(tqdm(methods, desc="background enhancement", unit="sample", disable=not progress)):
        try:
            sample, info, row, src_ids = _one_sample(str(method), load, land, back, rng, spec)
        except EnhanceError as exc:
            raise EnhanceError(f"sample {i}: {exc}; if the tile index is stale, rerun step 01 (tiling)") from exc
        name = f"be_{i:05d}"
        write_tile(out_dir / f"{name}.tif", sample)
        written.add(f"{name}.tif")
        row.update(sample_id=name, method=str(method), source_tiles=";".join(str(tiles[k][0]) for k in src_ids),
                   path=f"{name}.tif", landslide_pixels=int(_landslide_mask(sample).sum()),
                   n_instances=info["n_instances"])
        rows.append(row)
    df = _typed(pd.DataFrame(rows, columns=list(INDEX_COLUMNS)))
    write_text(out_dir / "index.csv", df.to_csv(index=False))
    for old in out_dir.glob("be_*.tif"):
        if old.name not in written:
            old.unlink()
    return df


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in _INT_COLUMNS:
        df[c] = pd.array(df[c], dtype="Int64")
    df["landslide_pixels"] = df["landslide_pixels"].astype("int64")
    df["n_instances"] = df["n_instances"].astype("int64")
    for c in ("sample_id", "method", "source_tiles", "path", "splice_mode", "windows", "b1", "b2"):
        df[c] = df[c].astype("string")
    return df


def enhance_from_index(
    index_gdf: pd.DataFrame,
    tiles_dir: str | Path,
    spec: EnhanceSpec,
    *,
    out_dir: str | Path,
    progress: bool = True,
) -> pd.DataFrame:
    """Background enhancement of the training tiles (``split == 'train'``) listed in a tile index.

    Args:
        index_gdf: the tile index (``tiles/index.gpkg``; columns ``tile_id``, ``split``, ``has_landslide``,
            ``path`` relative to ``tiles_dir``).
        tiles_dir: the tiles folder.
        spec: the profile's ``enhance`` section.
        out_dir: where the samples and ``index.csv`` go.

    The backgrounds are the training tiles without landslide; when the index has tiles of split ``background``
    (the landslide-free windows of a chip dataset's training chips, :mod:`landslide_utils.chips.study_tiles`) those
    are the backgrounds instead. The number of samples follows the training tiles either way.
    """
    missing = {"tile_id", "split", "has_landslide", "path"} - set(index_gdf.columns)
    if missing:
        raise EnhanceError(f"the tile index lacks columns {sorted(missing)}; rerun step 01 (tiling)")
    train = index_gdf[index_gdf["split"] == "train"].sort_values("tile_id")
    windows = index_gdf[index_gdf["split"] == "background"].sort_values("tile_id")
    flags = train["has_landslide"].astype(bool)
    used = pd.concat([train[flags], windows]) if len(windows) else train
    tiles = [(str(t), Path(tiles_dir) / str(p)) for t, p in zip(used["tile_id"], used["path"])]
    return generate_enhanced(tiles, spec, out_dir=out_dir, n_original=len(train),
                             has_landslide=used["has_landslide"].astype(bool).tolist(), progress=progress)


def load_enhanced(out_dir: str | Path) -> pd.DataFrame:
    """Read ``out_dir/index.csv`` written by :func:`generate_enhanced` (paths are relative to ``out_dir``)."""
    path = Path(out_dir) / "index.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no background-enhanced samples; run step 03 (enhance) first")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = set(INDEX_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: not an enhancement index (missing columns {sorted(missing)}); rerun step 03")
    for c in _INT_COLUMNS:
        df[c] = pd.to_numeric(df[c])
    df["landslide_pixels"] = pd.to_numeric(df["landslide_pixels"])
    df["n_instances"] = pd.to_numeric(df["n_instances"])
    return _typed(df)


def enhancement_counts(index_df: pd.DataFrame) -> pd.DataFrame:
    """Samples and landslide pixels per BE method (rows ``splice``, ``cutmix``, ``total``)."""
    rows = []
    for name, part in [(m, index_df[index_df["method"] == m]) for m in ("splice", "cutmix")] + [("total", index_df)]:
        lp = part["landslide_pixels"].astype("int64")
        rows.append({"method": name, "samples": len(part), "landslide_pixels": int(lp.sum()),
                     "mean_landslide_pixels": float(lp.mean()) if len(part) else 0.0,
                     "samples_without_landslide": int((lp == 0).sum()),
                     "instances": int(part["n_instances"].astype("int64").sum()) if "n_instances" in part else None})
    return pd.DataFrame(rows).set_index("method")
