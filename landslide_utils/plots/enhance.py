"""Galleries of background-enhanced samples, as Figures 10 (splicing) and 11 (modified CutMix) of Yang et al.
(2022): the source tiles beside the new sample, with landslide outlines, crop windows and the boxes B1/B2."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from landslide_utils.enhance.samples import QUADRANT_NAMES
from landslide_utils.tiles.tile import TileData, read_tile

__all__ = ["plot_splice_gallery", "plot_cutmix_gallery", "rgb_stretch", "display_range"]

OUTLINE = "#ffe600"  # landslide outlines
B1_COLOUR = "#ff2d2d"
B2_COLOUR = "#00e5ff"
QUAD_COLOUR = "#ff3cf0"
INVALID_GREY = 0.82


def display_range(tiles: list[TileData], *, low: float = 2.0, high: float = 98.0) -> tuple[float, float]:
    """One (low, high) percentile range over the RGB values of the valid pixels of several tiles.

    A range shared by the panels of a row keeps a pasted patch the same colour as in its source tile, and
    one range for all bands keeps the hue (landslide colour matters, Yang et al. 2022 section 3.3).
    """
    vals = [t.image[:3][:, t.valid].ravel() for t in tiles if t.valid.any()]
    if not vals:
        return 0.0, 255.0
    lo, hi = np.percentile(np.concatenate(vals), [low, high])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def rgb_stretch(tile: TileData, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """(H, W, 3) display RGB in 0..1: linear stretch of the raw values (default: the tile's own 2-98 %
    percentiles over valid pixels); invalid pixels light grey."""
    lo, hi = value_range or display_range([tile])
    img = tile.image[:3].astype(np.float64)
    if img.shape[0] < 3:
        img = np.repeat(img[:1], 3, axis=0)
    out = np.clip((img - lo) / (hi - lo), 0, 1)
    out[:, ~tile.valid] = INVALID_GREY
    return out.transpose(1, 2, 0)


def _outlines(ax, instances: np.ndarray, colour: str = OUTLINE) -> None:
    ids = np.unique(instances[instances > 0])
    masks = [instances == i for i in ids] if len(ids) <= 60 else [instances > 0]
    for m in masks:
        if m.any() and not m.all():
            ax.contour(m.astype(float), levels=[0.5], colors=[colour], linewidths=1.3)


def _box(ax, box: tuple[int, int, int, int], colour: str, *, ls: str = "-") -> None:
    r0, c0, r1, c1 = box
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec=colour, lw=1.8, ls=ls))


def _nice(x: float) -> float:
    e = 10 ** np.floor(np.log10(x))
    return float(max(m * e for m in (1, 2, 5) if m * e <= x))


def _scalebar(ax, tile: TileData) -> None:
    if tile.crs is not None and tile.crs.is_geographic:
        return
    px = abs(tile.transform.a) or 1.0
    metres = _nice(tile.shape[1] * px / 4)
    label = f"{metres:g} m" if metres < 1000 else f"{metres / 1000:g} km"
    bar = AnchoredSizeBar(ax.transData, metres / px, label, loc="lower right", color="white", frameon=True,
                          size_vertical=max(tile.shape[0] / 80, 0.5), pad=0.25, borderpad=0.3,
                          fontproperties={"size": 7})
    bar.patch.set(facecolor="black", alpha=0.45, edgecolor="none")
    ax.add_artist(bar)


def _show(ax, tile: TileData, title: str, value_range: tuple[float, float], *, outlines: bool = True) -> None:
    ax.imshow(rgb_stretch(tile, value_range), interpolation="nearest")
    if outlines:
        _outlines(ax, np.where(tile.valid, tile.instances, 0))
    _scalebar(ax, tile)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def _parse_box(s: str) -> tuple[int, int, int, int]:
    r0, c0, r1, c1 = (int(v) for v in str(s).split(","))
    return r0, c0, r1, c1


def _tile_loader(tiles_dir: Path, tile_index_gdf: pd.DataFrame):
    paths = dict(zip(tile_index_gdf["tile_id"].astype(str), tile_index_gdf["path"].astype(str)))

    def load(tile_id: str) -> TileData:
        if tile_id not in paths:
            raise KeyError(f"tile {tile_id!r} is not in the tile index; rerun step 03 after retiling")
        return read_tile(Path(tiles_dir) / paths[tile_id])

    return load


def _empty(message: str, save: Path | None) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _finish(fig: Figure, handles: list, title: str, save: Path | None) -> Figure:
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def plot_splice_gallery(
    index_df: pd.DataFrame,
    enhanced_dir: str | Path,
    tiles_dir: str | Path,
    tile_index_gdf: pd.DataFrame,
    *,
    n: int = 3,
    save: Path | None = None,
) -> Figure:
    """Figure 10 of Yang et al. (2022): the landslide tile, three non-landslide tiles and the spliced sample.

    One row per sample (the first ``n`` splice samples of ``index_df``); landslide outlines in yellow, the
    windows cut in ``crop`` mode in cyan, the quadrant borders of the sample in magenta.
    """
    rows = index_df[index_df["method"] == "splice"].head(n)
    if rows.empty:
        return _empty("no spliced samples (enhance.splice_share is 0)", save)
    load = _tile_loader(Path(tiles_dir), tile_index_gdf)
    fig, axes = plt.subplots(len(rows), 5, figsize=(13, 2.9 * len(rows) + 0.6), squeeze=False,
                             layout="constrained")
    crop = False
    for ax_row, (_, row) in zip(axes, rows.iterrows()):
        ids = str(row["source_tiles"]).split(";")
        windows = str(row["windows"]).split(";") if pd.notna(row.get("windows")) else []
        crop = crop or row.get("splice_mode") == "crop"
        srcs = [load(tid) for tid in ids]
        sample = read_tile(Path(enhanced_dir) / str(row["path"]))
        vr = display_range([*srcs, sample])
        for k, (ax, tid, src) in enumerate(zip(ax_row[:4], ids, srcs)):
            _show(ax, src, ("landslide tile\n" if k == 0 else f"non-landslide tile {k}\n") + tid, vr)
            if row.get("splice_mode") == "crop" and len(windows) == 4:
                _box(ax, _parse_box(windows[k]), B2_COLOUR, ls="--")
        q = int(row["landslide_quadrant"])
        _show(ax_row[4], sample, f"spliced sample {row['sample_id']}\nlandslide {QUADRANT_NAMES[q]}", vr)
        h, w = sample.shape
        ax_row[4].axhline(h // 2 - 0.5, color=QUAD_COLOUR, lw=1.2, ls="--")
        ax_row[4].axvline(w // 2 - 0.5, color=QUAD_COLOUR, lw=1.2, ls="--")
    handles = [Line2D([], [], color=OUTLINE, lw=2, label="landslide outline"),
               Line2D([], [], color=QUAD_COLOUR, lw=1.5, ls="--", label="quadrant border")]
    if crop:
        handles.insert(1, Line2D([], [], color=B2_COLOUR, lw=1.5, ls="--", label="cropped window"))
    return _finish(fig, handles, "Background enhancement by splicing (Yang et al. 2022, section 3.3.1)", save)


def plot_cutmix_gallery(
    index_df: pd.DataFrame,
    enhanced_dir: str | Path,
    tiles_dir: str | Path,
    tile_index_gdf: pd.DataFrame,
    *,
    n: int = 3,
    save: Path | None = None,
) -> Figure:
    """Figure 11 of Yang et al. (2022): S1 with B1, S2 with B2, the CutMix sample and its label.

    One row per sample (the first ``n`` CutMix samples of ``index_df``); B1 (the chosen landslide's bounding
    box) in red, B2 in cyan, landslide outlines in yellow.
    """
    rows = index_df[index_df["method"] == "cutmix"].head(n)
    if rows.empty:
        return _empty("no CutMix samples (enhance.splice_share is 1)", save)
    load = _tile_loader(Path(tiles_dir), tile_index_gdf)
    fig, axes = plt.subplots(len(rows), 4, figsize=(10.5, 2.9 * len(rows) + 0.6), squeeze=False,
                             layout="constrained")
    cmap = ListedColormap(["black", *plt.get_cmap("tab20").colors])
    for ax_row, (_, row) in zip(axes, rows.iterrows()):
        s1_id, s2_id = str(row["source_tiles"]).split(";")[:2]
        s1, s2 = load(s1_id), load(s2_id)
        sample = read_tile(Path(enhanced_dir) / str(row["path"]))
        if pd.notna(row.get("b1")):
            b1 = _parse_box(row["b1"])
        else:  # recompute from the chosen instance
            rr, cc = np.nonzero((s1.instances == int(row["instance_id"])) & s1.valid)
            b1 = (int(rr.min()), int(cc.min()), int(rr.max()) + 1, int(cc.max()) + 1)
        dr, dc = int(row["offset_row"]), int(row["offset_col"])
        b2 = (b1[0] + dr, b1[1] + dc, b1[2] + dr, b1[3] + dc)
        vr = display_range([s1, s2, sample])
        _show(ax_row[0], s1, f"S1 landslide tile\n{s1_id} (instance {int(row['instance_id'])})", vr)
        _box(ax_row[0], b1, B1_COLOUR)
        _show(ax_row[1], s2, f"S2 non-landslide tile\n{s2_id}", vr)
        _box(ax_row[1], b2, B2_COLOUR)
        _show(ax_row[2], sample, f"CutMix sample {row['sample_id']}\noffset B2 - B1 = ({dr}, {dc}) px", vr)
        _box(ax_row[2], b2, B2_COLOUR, ls="--")
        lab = np.where(sample.instances > 0, (sample.instances - 1) % 20 + 1, 0).astype(float)
        lab[~sample.valid] = np.nan
        ax = ax_row[3]
        cm = cmap.with_extremes(bad=(INVALID_GREY,) * 3)
        ax.imshow(lab, cmap=cm, vmin=0, vmax=20, interpolation="nearest")
        _box(ax, b2, B2_COLOUR, ls="--")
        ax.set_title(f"label of the sample\n{int(row['n_instances'])} instance(s)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [Line2D([], [], color=OUTLINE, lw=2, label="landslide outline"),
               Line2D([], [], color=B1_COLOUR, lw=2, label="B1 (cut from S1)"),
               Line2D([], [], color=B2_COLOUR, lw=2, label="B2 (replaced in S2)")]
    return _finish(fig, handles, "Background enhancement by a modified CutMix (Yang et al. 2022, section 3.3.2)",
                   save)
