"""Density plots in the style of Yang et al. (2022), Figures 12b, 13b and 14b: the area of each factor class
(bars) and the landslide area density of the class (line, right axis)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_density", "plot_all_densities"]


def plot_density(table: pd.DataFrame, *, title: str, xlabel: str, ax: plt.Axes | None = None) -> plt.Axes:
    """One factor: class area (km², grey bars) and landslide density (%, red line) per class."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    x = range(len(table))
    ax.bar(x, table["class_area_m2"] / 1e6, color="0.75", label="class area")
    ax.set_ylabel("class area (km²)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(table["class"], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax2 = ax.twinx()
    ax2.plot(list(x), table["density"] * 100, color="tab:red", marker="o", label="landslide density")
    ax2.set_ylabel("landslide area density (%)", color="tab:red")
    ax2.tick_params(axis="y", colors="tab:red")
    ax2.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, ["class area", "landslide density"], loc="upper left", fontsize=8, frameon=False)
    return ax


def plot_all_densities(tables, *, save: Path | None = None) -> Figure:
    """The three factors side by side (elevation, slope, distance from river)."""
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6), constrained_layout=True)
    plot_density(tables.elevation, title="Elevation (cf. paper Fig. 12b)", xlabel="elevation (m)", ax=axes[0])
    plot_density(tables.slope, title="Slope (cf. paper Fig. 13b)", xlabel="slope (°)", ax=axes[1])
    river = tables.river.copy()
    river["class"] = [c.split(":")[0] + ":" + c.split(":")[1].replace(" (", "\n(") for c in river["class"]]
    plot_density(river, title="Distance from river (cf. paper Fig. 14b)", xlabel="river level", ax=axes[2])
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=150, bbox_inches="tight")
    return fig
