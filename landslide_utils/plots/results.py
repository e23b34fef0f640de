"""Figures of step 04 (one experiment): training curve, error map of the test area (Yang et al. 2022,
Figure 16: true positives, false extraction = FP, missed extraction = FN) and sample tiles with ground truth
and predictions of one or several experiments (Figure 18)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from rasterio.windows import from_bounds
from scipy import ndimage

from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.display import rgb_display
from landslide_utils.tiles.tile import read_tile
from landslide_utils.tiles.tiling import read_index

__all__ = ["plot_training_curve", "plot_training_curves", "plot_error_map", "plot_sample_tiles", "ERROR_COLOURS", "ERROR_LABELS"]

# codes of error_map.tif: 0 invalid, 1 true negative, 2 true positive, 3 false extraction, 4 missed extraction
ERROR_COLOURS = ["#ffffff", "#e8e8e8", "#2ca02c", "#d62728", "#1f77b4"]
ERROR_LABELS = ["outside test area", "background", "true positive", "false extraction (FP)",
                "missed extraction (FN)"]
_MODEL_NAMES = {"maskrcnn": "Mask R-CNN", "unet": "U-Net", "pspnet": "PSPNet"}


def _save(fig: Figure, save: Path | None) -> Figure:
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _need(path: Path, what: str) -> Path:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: not found; {what}")
    return Path(path)


def _scale_bar(ax, width_m: float, *, x0: float = 0.0, y0: float = 0.0, height_m: float | None = None) -> None:
    """A scale bar of a round length (metres) in the lower-left corner of axes whose units are metres."""
    nice = [1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]
    length = max([n for n in nice if n <= width_m / 4] or [nice[0]])
    h = height_m if height_m is not None else width_m
    px, py = x0 + 0.04 * width_m, y0 + 0.06 * h
    ax.add_patch(Rectangle((px - 0.015 * width_m, py - 0.035 * h), length + 0.03 * width_m, 0.11 * h,
                           facecolor="white", alpha=0.8, edgecolor="none", zorder=5))
    ax.plot([px, px + length], [py, py], color="black", lw=3, zorder=6, solid_capstyle="butt")
    ax.text(px + length / 2, py + 0.015 * h, f"{length} m", ha="center", va="bottom", fontsize=8, zorder=6)


def plot_training_curve(loss_csv: str | Path, *, title: str | None = None, save: Path | None = None) -> Figure:
    """Training loss per step (thin) and its running mean (thick) from ``loss.csv`` of step 04."""
    df = pd.read_csv(_need(Path(loss_csv), "train the experiment first (train_experiment)"))
    fig, ax = plt.subplots(figsize=(6.4, 3.6), constrained_layout=True)
    ax.plot(df["step"], df["loss"], lw=0.8, alpha=0.45, color="tab:blue", label="loss per step")
    if len(df) > 1:
        win = min(len(df), max(5, len(df) // 20))
        ax.plot(df["step"], df["loss"].rolling(win, min_periods=1).mean(), lw=2, color="tab:blue",
                label=f"running mean ({win} steps)")
    val_csv = Path(loss_csv).with_name("validation.csv")
    if val_csv.is_file():  # training.eval_every: the validation loss and AP beside the training loss
        val = pd.read_csv(val_csv)
        ax.plot(val["step"], val["val_loss"], "o-", lw=1.2, ms=3, color="tab:orange", label="validation loss")
        ap = ax.twinx()
        ap.plot(val["step"], val["val_ap"], "s--", lw=1.2, ms=3, color="tab:green", label="validation AP")
        ap.set_ylabel("validation AP", color="tab:green")
        ap.set_ylim(0, 1)
        ap.legend(fontsize=8, loc="upper center")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    secs = float(df["seconds"].iloc[-1]) if len(df) else 0.0
    ax.set_title(title or f"Training loss ({len(df)} steps, {secs:.0f} s)")
    return _save(fig, save)


def plot_training_curves(loss_csvs: dict[str, Path], *, ncols: int = 4, save: Path | None = None) -> Figure:
    """Small multiples of :func:`plot_training_curve`: one panel per experiment (name → ``loss.csv``), loss per
    step and its running mean, and the validation AP where ``validation.csv`` lies beside the log
    (``training.eval_every``), each panel titled with its steps, seconds and best validation AP; a missing log is an
    empty panel."""
    n = max(len(loss_csvs), 1)
    cols = min(ncols, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), constrained_layout=True, squeeze=False)
    for ax in axes.flat[len(loss_csvs):]:
        ax.axis("off")
    for ax, (name, path) in zip(axes.flat, loss_csvs.items()):
        if not Path(path).is_file():
            ax.set_title(f"{name}: no loss log", fontsize=8)
            ax.axis("off")
            continue
        df = pd.read_csv(path)
        ax.plot(df["step"], df["loss"], lw=0.6, alpha=0.4, color="tab:blue")
        if len(df) > 1:
            win = min(len(df), max(5, len(df) // 20))
            ax.plot(df["step"], df["loss"].rolling(win, min_periods=1).mean(), lw=1.6, color="tab:blue")
        secs = float(df["seconds"].iloc[-1]) if len(df) else 0.0
        title = f"{name}\n{len(df)} steps, {secs:.0f} s"
        val_csv = Path(path).with_name("validation.csv")
        if val_csv.is_file():  # training.eval_every: validation AP on a second axis (0-1)
            val = pd.read_csv(val_csv)
            if len(val):
                ap = ax.twinx()
                ap.plot(val["step"], val["val_ap"], "s--", lw=1.0, ms=2.5, color="tab:green")
                ap.set_ylim(0, 1)
                ap.tick_params(labelsize=7, colors="tab:green")
                best = val.loc[val["val_ap"].idxmax()]
                title += f"\nbest val. AP {best['val_ap']:.2f} at step {int(best['step'])}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.supxlabel("training step", fontsize=9)
    fig.supylabel("loss (blue); validation AP where measured (green, right axis)", fontsize=9)
    return _save(fig, save)


def plot_error_map(error_map_tif: str | Path, *, title: str, save: Path | None = None) -> Figure:
    """The test-area error map (``error_map.tif``): TP green, false extraction (FP) red, missed extraction
    (FN) blue, background grey, as Yang et al. (2022) Figure 16; axes in metres, legend with pixel shares."""
    with rasterio.open(_need(Path(error_map_tif), "evaluate the experiment first (evaluate_test_area)")) as src:
        codes = src.read(1)
        px = abs(src.transform.a)
        py = abs(src.transform.e)
        mosaic = src.crs is None  # chip datasets: the test chips side by side, no map coordinates
    h, w = codes.shape
    wm, hm = w * px, h * py
    fig, ax = plt.subplots(figsize=(7.5, 7.5 * h / max(w, 1) + 1.2), constrained_layout=True)
    ax.imshow(codes, cmap=ListedColormap(ERROR_COLOURS), vmin=-0.5, vmax=4.5, interpolation="nearest",
              extent=(0, wm, 0, hm))
    valid = max(int((codes > 0).sum()), 1)
    handles = [Patch(facecolor=ERROR_COLOURS[k], edgecolor="0.5",
                     label=f"{ERROR_LABELS[k]} ({100 * (codes == k).sum() / valid:.1f} %)") for k in (2, 3, 4, 1)]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8,
              frameon=False)
    if mosaic:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("the test chips side by side (no map coordinates)")
    else:
        ax.set_xlabel("m east of the test window's west edge")
        ax.set_ylabel("m north of its south edge")
        _scale_bar(ax, wm, height_m=hm)
    ax.set_title(title)
    return _save(fig, save)


def _rgb(image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return rgb_display(image, valid)


def _boxes(ax, mask: np.ndarray, colour: str, min_px: int = 4) -> None:
    """Boxes around groups of error pixels (fragments closer than ~4 pixels form one group)."""
    lab, _ = ndimage.label(ndimage.binary_dilation(mask, iterations=2))
    lab[~mask] = 0
    for k, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None or (lab[sl] == k).sum() < min_px:
            continue
        r, c = sl
        ax.add_patch(Rectangle((c.start - 0.5, r.start - 0.5), c.stop - c.start, r.stop - r.start, fill=False,
                               edgecolor=colour, lw=1.2))


def plot_sample_tiles(
    profile: Profile,
    experiment: Experiment | Sequence[Experiment],
    *,
    n: int = 5,
    root: Path = Path("."),
    save: Path | None = None,
) -> Figure:
    """The ``n`` test tiles with the most landslide pixels: image, ground truth (yellow outline), and the
    prediction of each experiment (TP green, false extraction red with red boxes, missed extraction blue with
    blue boxes), as Yang et al. (2022) Figure 18. Reads ``prediction.tif`` of each experiment.

    Raises:
        FileNotFoundError: tile index or a prediction raster is missing (run step 01 / evaluate first).
    """
    exps = [experiment] if isinstance(experiment, Experiment) else list(experiment)
    paths = StudyPaths.of(profile, Path(root))

    index = read_index(paths.tile_index)
    test = index[(index["split"] == "test") & (index["landslide_pixels"] > 0)]
    test = test.sort_values(["landslide_pixels", "tile_id"], ascending=[False, True]).head(n)
    if len(test) == 0:
        raise ValueError(f"{paths.tile_index}: no test tile holds a landslide; nothing to show")
    preds = [_need(paths.experiment(e.name) / "prediction.tif",
                   f"evaluate experiment {e.name} first (evaluate_test_area)") for e in exps]
    ncol = 2 + len(exps)
    fig, axes = plt.subplots(len(test), ncol, figsize=(2.3 * ncol, 2.3 * len(test) + 0.6), squeeze=False,
                             constrained_layout=True)
    for i, row in enumerate(test.itertuples()):
        tile = read_tile(paths.tiles / row.path)
        truth = (tile.instances > 0) & tile.valid
        rgb = _rgb(tile.image, tile.valid)
        h, w = truth.shape
        left, top = tile.transform.c, tile.transform.f
        bounds = (left, top + h * tile.transform.e, left + w * tile.transform.a, top)
        axes[i, 0].imshow(rgb, interpolation="nearest")
        axes[i, 0].set_ylabel(str(row.tile_id), fontsize=8)
        _tile_scale(axes[i, 0], w, abs(tile.transform.a))
        axes[i, 1].imshow(rgb, interpolation="nearest")
        if truth.any():
            axes[i, 1].contour(truth.astype(float), levels=[0.5], colors="yellow", linewidths=1.2)
        for j, p in enumerate(preds):
            with rasterio.open(p) as src:
                win = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
                pred = src.read(1, window=win)
            pred = (pred == 1) & tile.valid
            over = rgb.copy()
            for m, col in ((pred & truth, (0.17, 0.63, 0.17)), (pred & ~truth, (0.84, 0.15, 0.16)),
                           (~pred & truth, (0.12, 0.47, 0.71))):
                over[m] = 0.45 * over[m] + 0.55 * np.asarray(col)
            ax = axes[i, 2 + j]
            ax.imshow(over, interpolation="nearest")
            _boxes(ax, pred & ~truth, "#d62728")
            _boxes(ax, ~pred & truth, "#1f77b4")
    titles = ["image", "ground truth"] + [
        f"Exp. {e.name}: {_MODEL_NAMES.get(e.model, e.model)}\n{e.channels}, {e.training_data}" for e in exps]
    for j, t in enumerate(titles):
        axes[0, j].set_title(t, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.legend(handles=[Patch(color="yellow", label="ground truth"),
                        Patch(color=ERROR_COLOURS[2], label="true positive"),
                        Patch(color=ERROR_COLOURS[3], label="false extraction"),
                        Patch(color=ERROR_COLOURS[4], label="missed extraction")],
               loc="lower center", ncol=4, fontsize=8, bbox_to_anchor=(0.5, -0.03), frameon=False)
    return _save(fig, save)


def _tile_scale(ax, width_px: int, pixel_m: float) -> None:
    """Scale bar on an image drawn in pixel coordinates."""
    nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    width_m = width_px * pixel_m
    length = max([n for n in nice if n <= width_m / 3] or [nice[0]])
    L = length / pixel_m
    x0, y0 = 0.05 * width_px, 0.92 * width_px
    ax.plot([x0, x0 + L], [y0, y0], color="white", lw=4, solid_capstyle="butt")
    ax.plot([x0, x0 + L], [y0, y0], color="black", lw=2, solid_capstyle="butt")
    ax.text(x0 + L / 2, y0 - 0.03 * width_px, f"{length} m", ha="center", va="bottom", fontsize=7,
            color="black", bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "edgecolor": "none"})
