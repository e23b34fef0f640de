"""Density plots in the style of Yang et al. (2022), Figures 12b, 13b and 14b: the area of each factor class
(bars) and the landslide area density of the class (line, right axis); and Gao et al. (2021)'s factor analyses:
the random-forest importance of the influencing factors and the frequency ratio of landslides per class."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

__all__ = ["plot_density", "plot_all_densities", "plot_factor_importance", "plot_frequency_ratios",
           "plot_factor_histograms"]


def plot_density(
    table: pd.DataFrame, *, title: str, xlabel: str, ax: plt.Axes | None = None, min_share: float = 0.01,
    legend: bool = True,
) -> plt.Axes:
    """One factor: class area (km², grey bars) and landslide density (%, red line) per class.

    Classes covering less than ``min_share`` of the analysed area give unreliable densities (a handful of
    pixels); they are drawn as hollow markers off the line.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(table))
    area = table["class_area_m2"].to_numpy(dtype=float)
    big = area >= min_share * area.sum()
    ax.bar(x, table["class_area_m2"] / 1e6, color="0.75", label="class area")
    ax.set_ylabel("class area (km²)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(table["class"], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax2 = ax.twinx()
    dens = table["density"].to_numpy(dtype=float) * 100
    ax2.plot(x[big], dens[big], color="tab:red", marker="o", label="landslide density")
    if (~big).any():
        ax2.plot(x[~big], dens[~big], linestyle="none", marker="o", markerfacecolor="none",
                 markeredgecolor="tab:red", label=f"density of a class < {min_share:.0%} of the area")
    ax2.set_ylabel("landslide area density (%)", color="tab:red")
    ax2.tick_params(axis="y", colors="tab:red")
    ax2.set_ylim(bottom=0)
    if legend:
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8, frameon=False)
    return ax


def plot_all_densities(tables, *, save: Path | None = None) -> Figure:
    """The three factors side by side (elevation, slope, distance from river)."""
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6), constrained_layout=True)
    plot_density(tables.elevation, title="Elevation (cf. paper Fig. 12b)", xlabel="elevation (m)", ax=axes[0],
                 legend=False)
    plot_density(tables.slope, title="Slope (cf. paper Fig. 13b)", xlabel="slope (°)", ax=axes[1], legend=False)
    river = tables.river.copy()
    river["class"] = [c.split(":")[0] + ":" + c.split(":")[1].replace(" (", "\n(") for c in river["class"]]
    plot_density(river, title="Distance from river (cf. paper Fig. 14b)", xlabel="river level", ax=axes[2],
                 legend=False)
    handles = [Patch(color="0.75", label="class area (left axis)"),
               Line2D([], [], color="tab:red", marker="o", label="landslide area density (right axis)"),
               Line2D([], [], color="tab:red", marker="o", markerfacecolor="none", linestyle="none",
                      label="density of a class covering < 1 % of the area (unreliable)")]
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.1), frameon=False)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _save(fig: Figure, save: Path | None) -> None:
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")


def plot_factor_importance(importance: pd.DataFrame, *, save: Path | None = None) -> Figure:
    """Horizontal bars of the random-forest (Gini) importance per factor, largest on top (cf. Gao et al. 2021,
    the factor-importance figure); ``importance`` from :func:`landslide_utils.analysis.importance.
    study_factor_analysis` (columns factor, label, importance)."""
    t = importance.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(t) + 1.2), constrained_layout=True)
    ax.barh(t["label"], t["importance"], color="tab:blue")
    ax.set_xlabel("random-forest importance (mean decrease in Gini impurity; sums to 1)")
    ax.set_title("Influencing factors: importance for telling landslide pixels apart")
    ax.set_xlim(0, max(0.05, float(t["importance"].max()) * 1.15))
    _save(fig, save)
    return fig


def plot_frequency_ratios(ratios: dict[str, pd.DataFrame], *, labels: dict[str, str],
                          save: Path | None = None) -> Figure:
    """One panel per factor: the frequency ratio of landslides per class (bars; the dashed line at 1 marks the
    study area's average), class names below (natural-breaks ranges or categories). Classes without pixels are
    left empty. Gao et al. (2021), frequency-ratio analysis."""
    names = list(ratios)
    cols = 3
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(15, 3.4 * rows), constrained_layout=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        t = ratios[name]
        x = np.arange(len(t))
        fr = t["frequency_ratio"].to_numpy(dtype=float)
        ax.bar(x, np.nan_to_num(fr), color=np.where(fr > 1, "tab:red", "0.6"))
        ax.axhline(1.0, color="k", linestyle="--", linewidth=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels(t["class"], rotation=35, ha="right", fontsize=7)
        ax.set_title(labels.get(name, name), fontsize=10)
        ax.set_ylabel("frequency ratio")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Frequency ratio of landslides per factor class (> 1, red: landslides more frequent than on "
                 "average)")
    _save(fig, save)
    return fig


def plot_factor_histograms(ds: "object", *, bins: int = 40, save: Path | None = None) -> Figure:
    """Elevation and slope of the landslide pixels against all pixels of the study areas, read from the aligned
    stack with xarray (``DataArray.plot.hist``, each normalised to a density): where the landslide histogram lies
    above the other, landslides are more frequent than the area alone would give (the densities of step 02)."""
    ok = (ds["valid"] > 0) & (ds["area"] > 0)
    land = ok & (ds["instances"] > 0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
    for ax, name, label in zip(axes, ("elevation", "slope"), ("elevation (m)", "slope (degrees)")):
        values = ds[name].where(ok)
        edges = np.linspace(float(values.min()), float(values.max()), bins + 1)
        values.plot.hist(ax=ax, bins=edges, density=True, color="0.7", label="study areas")
        ds[name].where(land).plot.hist(ax=ax, bins=edges, density=True, histtype="step", color="#d62728",
                                       linewidth=1.8, label="landslides")
        ax.set_xlabel(label)
        ax.set_ylabel("share per unit")
        ax.set_title(f"{name}: landslides against the study areas")
        ax.legend(frameon=False)
    _save(fig, save)
    return fig
