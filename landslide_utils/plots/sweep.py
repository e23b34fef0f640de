"""Figures of a sweep (every experiment trained at several seeds / budgets): the paper's claims as a forest
plot of paired differences with their t-intervals, learning curves over the training budget, and the
spread of a metric over seeds. The numbers come from :mod:`landslide_utils.evaluation.bootstrap` and
:mod:`landslide_utils.evaluation.intervals` (Student t-intervals over seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from landslide_utils.evaluation.bootstrap import seed_summary
from landslide_utils.evaluation.metrics import METRIC_LABELS

__all__ = ["plot_claims_forest", "plot_factor_effects", "plot_learning_curves", "plot_seed_spread",
           "VERDICT_COLOURS"]

VERDICT_COLOURS = {"holds": "#2ca02c", "contradicted": "#d62728", "inconclusive": "#7f7f7f",
                   "too few seeds": "#bcbd22", "not testable": "#c7c7c7", "better": "#2ca02c", "worse": "#d62728"}

def _save(fig: Figure, save: Path | None) -> Figure:
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _is_be(training_data: object) -> bool:
    return isinstance(training_data, str) and "be" in training_data.replace("+", " ").split()


def plot_claims_forest(judged: pd.DataFrame, *, scale: float = 100.0, title: str | None = None,
                       xlabel: str = "paired difference, better − worse", save: Path | None = None) -> Figure | None:
    """Forest plot of judged claims: one row per claim (first on top), the mean paired difference as a dot,
    its paired t-interval as a horizontal bar, a vertical line at 0, colour and right-hand text by verdict
    (Holm-adjusted within the table).

    Args:
        judged: output of :func:`landslide_utils.evaluation.claims.judge_claims` (columns ``name``, ``side``, ``n``,
            ``estimate``, ``ci_low``, ``ci_high``, ``verdict``).
        scale: factor applied to the differences (100: fractions -> percentage points).
        title: figure title (default: a generic one).
        xlabel: what the difference is (the unit is added for ``scale=100``).
        save: PNG path, or ``None``.

    A claim with ``side="-"`` is drawn as its difference like any other; its verdict text carries the side.
    Claims that are ``not testable`` (the runs hold neither of their experiments) are left out: the table lists
    them. With no testable claim nothing is drawn, a line says so, a figure left at ``save`` by an earlier call is
    removed, and None is returned.
    """
    judged = judged[judged["verdict"] != "not testable"] if "verdict" in judged else judged
    if judged.empty:
        print("no claim is testable here: the runs hold none of the pairs of experiments the claims compare")
        if save is not None:
            Path(save).unlink(missing_ok=True)
        return None
    n = len(judged)
    fig, ax = plt.subplots(figsize=(8.5, 0.9 + 0.32 * max(n, 1)), constrained_layout=True)
    y = np.arange(n)[::-1]
    for yi, (_, r) in zip(y, judged.iterrows()):
        colour = VERDICT_COLOURS.get(r["verdict"], "black")
        est, lo, hi = (scale * float(r[k]) for k in ("estimate", "ci_low", "ci_high"))
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yi, yi], color=colour, lw=2.2, solid_capstyle="butt")
        if np.isfinite(est):
            ax.plot([est], [yi], "o", color=colour, ms=6, mec="black", mew=0.5)
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(list(judged["name"]) if n else [], fontsize=8)
    ax.set_ylim(-0.7, max(n, 1) - 0.3)
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    for yi, (_, r) in zip(y, judged.iterrows()):
        side = "" if r.get("side", "+") == "+" else " (claim: < 0)"
        ax.text(1.01, yi, f"{r['verdict']}{side}  n={int(r['n'])}", transform=trans, va="center", fontsize=8,
                color=VERDICT_COLOURS.get(r["verdict"], "black"), clip_on=False)
    ax.set_xlabel(xlabel + (" (percentage points)" if scale == 100.0 else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or "Claims of Yang et al. (2022): mean paired difference, 95 % paired t-interval")
    present = [v for v in VERDICT_COLOURS if v in set(judged["verdict"])] if n else []
    if present:
        fig.legend(handles=[Patch(color=VERDICT_COLOURS[v], label=v) for v in present], loc="outside lower center",
                   ncol=len(present), fontsize=8, frameon=False)
    return _save(fig, save)


def plot_factor_effects(effects: pd.DataFrame, *, metric: str = "f1", save: Path | None = None) -> Figure:
    """Forest plot of :func:`landslide_utils.sweeps.analysis.factor_effects` for one metric: one row per
    experiment x level, the mean paired difference against the baseline level with its paired t-interval,
    coloured ``better`` / ``worse`` / ``inconclusive``.

    Raises:
        KeyError: no effect of ``metric`` in the table.
    """
    sel = effects[effects["metric"] == metric]
    if sel.empty:
        raise KeyError(f"no effect of {metric!r} in the table (metrics: {sorted(set(effects['metric']))})")
    names = [f"{r.experiment}: {str(r.factor).rsplit('.', 1)[-1]} {r.level} − {r.baseline}" for r in sel.itertuples()]
    return plot_claims_forest(sel.assign(name=names), title=f"{_label(metric)}: each setting against the baseline, "
                              "paired by seed", xlabel="paired difference, level − baseline", save=save)


def _experiment_styles(results: pd.DataFrame, experiments: Sequence[str]) -> dict[str, tuple[object, str]]:
    """Colour per (model, channels) and line style per BE / no BE, so the two members of a BE pair share a
    colour; experiments without descriptive columns get a colour of their own."""
    meta = results.drop_duplicates("experiment").set_index("experiment")
    keys: list[object] = []
    for e in experiments:
        if {"model", "channels"} <= set(meta.columns):
            keys.append((meta.loc[e, "model"], meta.loc[e, "channels"]))
        else:
            keys.append(e)
    uniq = list(dict.fromkeys(keys))
    cmap = plt.cm.tab10 if len(uniq) <= 10 else plt.cm.tab20
    out = {}
    for e, k in zip(experiments, keys):
        be = _is_be(meta.loc[e, "training_data"]) if "training_data" in meta.columns else False
        out[e] = (cmap(uniq.index(k) % cmap.N), "--" if be else "-")
    return out


def plot_learning_curves(results: pd.DataFrame, *, metric: str = "f1", steps_key: str = "training.steps",
                         confidence: float = 0.95, n_boot: int = 2000, seed: int = 0,
                         save: Path | None = None) -> Figure:
    """Test metric against the training budget: per experiment the mean over the other grid keys (seeds) with
    its t-interval band; one line per experiment, solid without and dashed with background enhancement (colour
    shared by the experiments that differ only in BE).

    Args:
        results: a sweep's ``results.csv`` with a ``steps_key`` column.
        metric: metric column (fractions; shown in percent).
        steps_key: grid column of the training budget.
        confidence, n_boot, seed: of the band, as in :func:`landslide_utils.evaluation.bootstrap.seed_summary`.
        save: PNG path, or ``None``.

    Raises:
        KeyError: ``steps_key`` or ``metric`` is not a column of ``results``.
    """
    for col in (steps_key, metric):
        if col not in results.columns:
            raise KeyError(f"{col!r} is not a column of the results (columns: {list(results.columns)})")
    summ = seed_summary(results, metrics=(metric,), by=("experiment", steps_key), confidence=confidence,
                        n_boot=n_boot, seed=seed)
    exps = list(dict.fromkeys(results["experiment"]))
    styles = _experiment_styles(results, exps)
    fig, ax = plt.subplots(figsize=(7.2, 4.2), constrained_layout=True)
    for e in exps:
        s = summ[summ["experiment"] == e].sort_values(steps_key)
        colour, ls = styles[e]
        x = s[steps_key].to_numpy(dtype=float)
        ax.plot(x, 100 * s["mean"], ls, color=colour, marker="o", ms=3.5, lw=1.6, label=e)
        band = s["ci_low"].notna().to_numpy()
        if band.any():
            ax.fill_between(x[band], 100 * s["ci_low"][band], 100 * s["ci_high"][band], color=colour, alpha=0.15,
                            lw=0)
    ax.set_xlabel(f"training steps ({steps_key})")
    ax.set_ylabel(f"{_label(metric)} on the test area (%)")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", ls="-", label="original data"),
                Line2D([], [], color="0.3", ls="--", label="with BE")]
    ax.legend(handles=handles, fontsize=8, ncol=2, loc="best")
    ax.set_title(f"{_label(metric)} against training budget (mean, {100 * confidence:.0f} % t-interval band)")
    return _save(fig, save)


def plot_seed_spread(results: pd.DataFrame, *, metric: str = "f1", confidence: float = 0.95, n_boot: int = 2000,
                     seed: int = 0, save: Path | None = None) -> Figure:
    """Spread of a metric over the grid points: per experiment the individual values as dots (small fixed
    jitter), the mean as a black bar and its t-interval as a vertical line.

    Args:
        results: a sweep's ``results.csv`` (several rows per experiment).
        metric: metric column (fractions; shown in percent).
        confidence, n_boot, seed: of the interval, as in :func:`landslide_utils.evaluation.bootstrap.seed_summary`.
        save: PNG path, or ``None``.

    Raises:
        KeyError: ``metric`` is not a column of ``results``.
    """
    if metric not in results.columns:
        raise KeyError(f"{metric!r} is not a column of the results (columns: {list(results.columns)})")
    exps = list(dict.fromkeys(results["experiment"]))
    summ = seed_summary(results, metrics=(metric,), confidence=confidence, n_boot=n_boot, seed=seed)
    summ = summ.set_index("experiment")
    styles = _experiment_styles(results, exps)
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.75 * len(exps) + 2), 4.0), constrained_layout=True)
    for i, e in enumerate(exps):
        vals = pd.to_numeric(results.loc[results["experiment"] == e, metric], errors="coerce").dropna()
        jitter = rng.uniform(-0.12, 0.12, size=len(vals))
        colour, ls = styles[e]
        ax.scatter(i + jitter, 100 * vals, s=18, color=colour, alpha=0.75, edgecolor="none",
                   marker="o" if ls == "-" else "D")
        r = summ.loc[e]
        if np.isfinite(r["ci_low"]):
            ax.plot([i + 0.25, i + 0.25], [100 * r["ci_low"], 100 * r["ci_high"]], color="black", lw=1.4)
        if np.isfinite(r["mean"]):
            ax.plot([i + 0.15, i + 0.35], [100 * r["mean"]] * 2, color="black", lw=2.2)
    ax.set_xticks(np.arange(len(exps)))
    ax.set_xticklabels(exps)
    ax.set_xlim(-0.6, len(exps) - 0.4)
    ax.set_ylabel(f"{_label(metric)} on the test area (%)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=[Line2D([], [], ls="", marker="o", color="0.4", label="one run (original data)"),
                       Line2D([], [], ls="", marker="D", color="0.4", label="one run (with BE)"),
                       Line2D([], [], color="black", lw=2.2, label="mean"),
                       Line2D([], [], color="black", lw=1.4, label=f"{100 * confidence:.0f} % t-interval")],
              fontsize=7, loc="best")
    ax.set_title(f"{_label(metric)} over seeds / grid points")
    return _save(fig, save)
