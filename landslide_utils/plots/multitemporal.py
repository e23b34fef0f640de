"""Multi-temporal panels in the manner of Yang et al. (2022), Figure 19: the first-date and second-date images of
the test area and the second-date extraction before and after fine-tuning (red outlines over the image)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import rasterio
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from rasterio.windows import from_bounds

from landslide_utils.plots.display import rgb_display

__all__ = ["plot_multitemporal_panels"]


def _rgb(path: Path, bounds) -> np.ndarray:
    with rasterio.open(path) as src:
        win = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
        arr = src.read([1, 2, 3], window=win, boundless=True, fill_value=0)
    return rgb_display(arr)


def plot_multitemporal_panels(
    *, image_t1: Path, image_t2: Path, before: Path, after: Path | None = None, truth: Path | None = None,
    save: Path | None = None,
) -> Figure:
    """Panels over the test area: t1 image, t2 image (+ ground truth outline), t2 extraction before and after.

    Args:
        image_t1, image_t2: the two dates (GeoTIFF, same CRS).
        before, after: ``prediction.tif`` of the second date before / after fine-tuning (1 = landslide).
        truth: ``ground_truth.tif`` of the second date, outlined in yellow where given.
    """
    with rasterio.open(before) as src:
        b = src.bounds
        pred_before = src.read(1)
    extent = (0, b.right - b.left, 0, b.top - b.bottom)
    panels = [("first date (post-event)", _rgb(image_t1, b), None),
              ("second date", _rgb(image_t2, b), None),
              ("second date: Experiment IV model", _rgb(image_t2, b), pred_before)]
    if after is not None and Path(after).exists():
        with rasterio.open(after) as src:
            panels.append(("second date: fine-tuned model", _rgb(image_t2, b), src.read(1)))
    gt = None
    if truth is not None and Path(truth).exists():
        with rasterio.open(truth) as src:
            gt = src.read(1)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 5), constrained_layout=True)
    for ax, (title, rgb, pred) in zip(np.atleast_1d(axes), panels):
        ax.imshow(rgb, extent=extent, interpolation="nearest")
        if gt is not None and pred is not None:
            ax.contour(np.flipud(gt == 1), levels=[0.5], colors="yellow", linewidths=0.6,
                       extent=extent, origin="lower")
        if pred is not None:
            ax.contour(np.flipud(pred == 1), levels=[0.5], colors="red", linewidths=0.8, extent=extent,
                       origin="lower")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("m")
    handles = [Line2D([], [], color="red", label="extracted landslides")]
    if gt is not None:
        handles.append(Line2D([], [], color="yellow", label="inventory (ground truth)"))
    fig.legend(handles=handles, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.05), frameon=False)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig
