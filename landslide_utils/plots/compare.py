"""Comparison figures: measured metrics beside the published ones (Yang et al. 2022, Tables 6/7) and the
error maps of several experiments side by side (cf. the paper's Figure 16)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from landslide_utils.evaluation.metrics import PAPER_METRICS
from landslide_utils.plots.results import ERROR_COLOURS, ERROR_LABELS

__all__ = ["plot_metric_bars", "plot_error_maps_side_by_side"]



def plot_metric_bars(table: pd.DataFrame, *, title: str, save: Path | None = None) -> Figure:
    """Grouped bars per metric: each experiment measured (solid) and published (hatched), in percent."""
    exps = list(table.index)
    fig, axes = plt.subplots(1, len(PAPER_METRICS), figsize=(4.2 * len(PAPER_METRICS), 3.8), sharey=True,
                             constrained_layout=True)
    colours = plt.cm.tab10(np.arange(len(exps)))
    x = np.arange(len(exps))
    for ax, m in zip(axes, PAPER_METRICS):
        ax.bar(x - 0.2, table[m], width=0.4, color=colours, label="this run")
        ax.bar(x + 0.2, table[f"{m}_paper"], width=0.4, color=colours, alpha=0.35, hatch="//",
               edgecolor="0.3", label="paper")
        ax.set_xticks(x)
        ax.set_xticklabels(exps)
        ax.set_title({"miou": "mIoU", "f1": "F1"}.get(m, m.capitalize()))
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("%")
    axes[0].legend(handles=[Patch(color="0.4", label="this run"),
                            Patch(facecolor="0.8", hatch="//", edgecolor="0.3", label="paper")],
                   loc="lower left", fontsize=8)
    fig.suptitle(title)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def plot_error_maps_side_by_side(maps: dict[str, Path], *, save: Path | None = None) -> Figure:
    """Error maps (``error_map.tif`` of step 04) of several experiments in one row; missing ones are named."""
    n = max(len(maps), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4.8), constrained_layout=True, squeeze=False)
    cmap = ListedColormap(ERROR_COLOURS)
    for ax, (name, path) in zip(axes[0], maps.items()):
        ax.set_title(f"Experiment {name}")
        ax.set_xticks([])
        ax.set_yticks([])
        if not Path(path).exists():
            ax.text(0.5, 0.5, f"{name}: not run", ha="center", va="center", transform=ax.transAxes)
            continue
        with rasterio.open(path) as src:
            arr = src.read(1)
            b = src.bounds
        x0, y0 = b.left, b.bottom
        ax.imshow(arr, cmap=cmap, vmin=-0.5, vmax=4.5, interpolation="nearest",
                  extent=(0, b.right - x0, 0, b.top - y0))
        ax.set_xlabel("m")
    fig.legend(handles=[Patch(color=c, label=l) for c, l in zip(ERROR_COLOURS[1:], ERROR_LABELS[1:])],
               loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.06), frameon=False)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig
