"""Figures of the convergence study: validation learning curves per model and setting, with the seeds' band.

The curves come from :func:`landslide_utils.sweeps.convergence.learning_curves` (validation tiles only).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from landslide_utils.sweeps.convergence import curve_summary

__all__ = ["plot_validation_curves", "CURVE_LABELS"]

#: axis labels of the curve columns
CURVE_LABELS = {"val_ap": "validation AP", "val_f1": "validation F1 (validation-optimal threshold)",
                "val_loss": "validation loss", "step": "training step", "seconds": "training seconds (CPU)"}


def plot_validation_curves(curves: pd.DataFrame, *, metric: str = "val_ap", x: str = "step",
                           save: Path | None = None) -> Figure:
    """One panel per experiment: the seed mean of ``metric`` against ``x`` (``step`` or ``seconds``, the mean
    training seconds at each evaluation) per setting, with the band between the lowest and highest seed and each
    seed as a thin line.

    Raises:
        ValueError: no curves (the sweep trained without ``training.eval_every``) or an unknown ``x``.
    """
    if curves.empty:
        raise ValueError("no validation curves: the sweep's runs were trained without training.eval_every")
    if x not in ("step", "seconds"):
        raise ValueError(f"x is 'step' or 'seconds', got {x!r}")
    experiments = list(dict.fromkeys(curves["experiment"]))
    fig, axes = plt.subplots(1, len(experiments), figsize=(4.6 * len(experiments), 3.8), squeeze=False,
                             constrained_layout=True, sharey=True)
    colours = {s: f"C{i}" for i, s in enumerate(dict.fromkeys(curves["setting"]))}
    for ax, experiment in zip(axes[0], experiments):
        runs = curves[curves["experiment"] == experiment]
        summary = curve_summary(runs, metric=metric)
        for setting, colour in colours.items():
            one = summary[summary["setting"] == setting]
            if one.empty:
                continue
            xs = one["seconds"] if x == "seconds" else one["step"]
            for _, seed_run in runs[runs["setting"] == setting].groupby("seed"):
                ax.plot(seed_run[x], seed_run[metric], color=colour, lw=0.6, alpha=0.35)
            ax.fill_between(xs, one["low"], one["high"], color=colour, alpha=0.15, lw=0)
            ax.plot(xs, one["mean"], color=colour, lw=2, marker="o", ms=3,
                    label=f"{setting} (mean of {int(one['seeds'].max())} seeds)")
        ax.set_title(f"{experiment} ({runs['model'].iloc[0]})")
        ax.set_xlabel(CURVE_LABELS[x])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel(CURVE_LABELS.get(metric, metric))
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig
