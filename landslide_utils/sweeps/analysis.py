"""Step 07: what a sweep's runs say, with intervals (the analysis behind ``notebooks/07_analyse_sweep.ipynb``).

Reads the sweep's ``results.csv`` (one row per point x experiment, :mod:`landslide_utils.sweeps.spec`) and computes,
with :mod:`landslide_utils.evaluation.intervals` and :mod:`landslide_utils.evaluation.bootstrap`:

* per experiment (and budget, when the sweep varies ``training.steps``), the mean over seeds of every metric
  with its 95 % Student t-interval (the percentile bootstrap beside it);
* for one run per experiment, the tile bootstrap of the test area (the sampling uncertainty of a single run);
* for each of the paper's claims, the paired difference over points (same seed, same BE draw) with its paired
  t-interval, the AP difference beside it, and a verdict from the Holm-adjusted paired t-test over the sweep's
  claims: ``holds``, ``contradicted``, ``inconclusive``, ``too few seeds`` (under 5 pairs) or ``not testable``;
* for each *swept setting* (a grid key other than seeds and the budget, e.g. ``training.loss``), the paired
  difference of every level against the first level listed (the baseline), per experiment, with its interval
  and a verdict, Holm-adjusted over the table: ``better``, ``worse``, ``inconclusive`` or ``too few seeds``
  (:func:`factor_effects`). Summaries and claims are then given per level.

Tables are written to ``<sweep reports>/tables/`` (``seed_summary.csv``, ``claims.csv``, ``tile_bootstrap.csv``,
``factor_effects.csv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from landslide_utils.evaluation.bootstrap import format_summary, seed_summary, tile_bootstrap, tiles_path
from landslide_utils.evaluation.claims import PAPER_CLAIMS, judge, judge_claims
from landslide_utils.evaluation.intervals import family_verdicts
from landslide_utils.files.atomic import write_csv
from landslide_utils.steps.related_references import related_claims

__all__ = ["SweepAnalysis", "analyse_results", "factor_effects", "swept_factors", "group_labels", "STEPS_KEY",
           "EFFECT_METRICS"]

STEPS_KEY = "training.steps"
EFFECT_METRICS = ("f1", "ap", "f1_val_threshold")
"""Metrics of :func:`factor_effects`: F1 at the decision threshold, the threshold-free AP, F1 at the validation
threshold."""
_EFFECT_VERDICTS = {"holds": "better", "contradicted": "worse"}


def _is_replicate(key: str) -> bool:
    """Seeds (``seed``, ``enhance.seed``, ``data.synthetic.seed``, ...) replicate a run; they are not settings."""
    return key == "seed" or key.endswith(".seed")


def swept_factors(results: pd.DataFrame, keys: Sequence[str]) -> tuple[str, ...]:
    """The grid keys of a sweep that vary in ``results`` and are settings: not seeds, not ``training.steps``. Keys
    that vary together (a zip group of settings) count once, under the first of them."""
    out: list[str] = []
    for k in keys:
        if k not in results.columns or _is_replicate(k) or k == STEPS_KEY or results[k].nunique(dropna=False) < 2:
            continue
        values = results[k].astype(str)
        if not any((values.groupby(results[f].astype(str)).nunique() == 1).all()
                   and (results[f].astype(str).groupby(values).nunique() == 1).all() for f in out):
            out.append(k)
    return tuple(out)


def group_labels(results: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """``results`` with ``experiment`` relabelled ``"V · loss=focal"`` per factor level, for the per-experiment
    plots; unchanged without factors."""
    if not factors:
        return results
    label = results["experiment"].astype(str)
    for f in factors:
        label = label + (" · " if f == factors[0] else ", ") + f.rsplit(".", 1)[-1] + "=" + results[f].astype(str)
    return results.assign(experiment=label)


def factor_effects(results: pd.DataFrame, *, factors: Sequence[str], match: Sequence[str],
                   metrics: Sequence[str] = EFFECT_METRICS, confidence: float = 0.95, n_boot: int = 10_000,
                   seed: int = 0) -> pd.DataFrame:
    """Paired effect of each level of each swept setting against its baseline (the first level in ``results``).

    For experiment E, setting F and level L, the pairs are the runs of E at F = L and at F = baseline that agree
    on every other key of ``match`` (seeds, BE draws, the other settings); the difference ``metric(L) -
    metric(baseline)`` is judged by the paired t-test, Holm-adjusted over every row of the table (one family per
    sweep, :func:`landslide_utils.evaluation.intervals.family_verdicts`): ``better`` (adjusted p < 5 %, mean
    above 0), ``worse`` (below 0), ``inconclusive``, ``too few seeds`` (fewer than 5 pairs), ``not testable``.

    Args:
        results: a sweep's ``results.csv``.
        factors: the settings (:func:`swept_factors`).
        match: the sweep's grid and zip keys (columns of ``results``) a pair must share, besides ``experiment``.
        metrics: metric columns compared (those absent are skipped).
        confidence, n_boot, seed: as in :func:`landslide_utils.evaluation.bootstrap.bootstrap_ci`.

    Returns:
        Columns ``factor``, ``level``, ``baseline``, ``experiment``, ``metric``, ``n``, ``estimate`` (mean paired
        difference, metric units), ``ci_low``, ``ci_high`` (paired t-interval), ``p``, ``p_holm``, ``boot_low``,
        ``boot_high`` (percentile bootstrap), ``verdict``; an empty frame without factors.
    """
    cols = ["factor", "level", "baseline", "experiment", "metric", "n", "estimate", "ci_low", "ci_high", "p",
            "p_holm", "boot_low", "boot_high", "verdict"]
    rows = []
    for f in factors:
        levels = list(dict.fromkeys(results[f]))
        base = levels[0]
        others = [k for k in match if k != f and k in results.columns] or ["experiment"]
        for exp, group in results.groupby("experiment", sort=False):
            ref = group[group[f] == base].set_index(others)
            for level in levels[1:]:
                other = group[group[f] == level].set_index(others)
                for m in (m for m in metrics if m in results.columns):
                    diff = (pd.to_numeric(other[m], errors="coerce")
                            - pd.to_numeric(ref[m], errors="coerce")).dropna()
                    j = judge(diff.to_numpy(), side="+", confidence=confidence, n_boot=n_boot, seed=seed)
                    rows.append({"factor": f, "level": level, "baseline": base, "experiment": exp, "metric": m,
                                 "n": j["n"], "estimate": j["estimate"], "ci_low": j["low"], "ci_high": j["high"],
                                 "p": j["p"], "boot_low": j["boot_low"], "boot_high": j["boot_high"]})
    if not rows:
        return pd.DataFrame(rows, columns=cols)
    judged = family_verdicts(pd.DataFrame(rows), alpha=1.0 - confidence)
    judged["verdict"] = judged["verdict"].map(lambda v: _EFFECT_VERDICTS.get(v, v))
    return judged[cols]


@dataclass
class SweepAnalysis:
    """The tables of step 07 (fractions; ``summary_table`` is formatted in percent for display)."""

    results: pd.DataFrame
    summary: pd.DataFrame
    summary_table: pd.DataFrame
    claims: pd.DataFrame
    tiles: pd.DataFrame
    final_steps: int | None
    factors: tuple[str, ...] = ()
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)


def analyse_results(results_csv: str | Path, *, root: str | Path = ".", tables_dir: str | Path | None = None,
                    keys: Sequence[str] = (), n_boot: int = 10_000, seed: int = 0) -> SweepAnalysis:
    """Analyse a sweep's ``results.csv``; claims and setting effects are judged at the sweep's largest budget.

    Args:
        results_csv: the sweep's results table.
        root: project root (``metrics_path`` in the table is relative to it).
        keys: the sweep's grid and zip keys (``Sweep.keys``); those that are settings (:func:`swept_factors`)
            split the summaries and claims by level and get :func:`factor_effects`. Without them every row of
            an experiment counts as a replicate.
        tables_dir: where to write the CSV tables (not written when ``None``).
        n_boot: bootstrap resamples.
        seed: bootstrap seed.

    Raises:
        FileNotFoundError: no results table (run the sweep first).
    """
    results_csv = Path(results_csv)
    if not results_csv.is_file():
        raise FileNotFoundError(f"{results_csv}: no results table; run the sweep first "
                                "(python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml)")
    results = pd.read_csv(results_csv)
    factors = swept_factors(results, keys)
    final_steps = None
    by: tuple[str, ...] = ("experiment", *factors)
    judged_rows = results
    # the budget is an axis when the sweep varies it (a grid or zip key); results.csv also records every run's
    # effective budget, which differs between experiments that the profile trains for other step counts
    # (a results.csv written before a file pinned its budget in the zip has no such column: no axis then)
    budget_axis = (STEPS_KEY in keys if keys else True) and STEPS_KEY in results.columns
    if budget_axis and results[STEPS_KEY].nunique() > 1:
        final_steps = int(results[STEPS_KEY].max())
        judged_rows = results[results[STEPS_KEY] == final_steps]
        by = (*by, STEPS_KEY)
    summary = seed_summary(results, by=by, n_boot=n_boot, seed=seed)
    parts = []
    for level, rows in (judged_rows.groupby(list(factors), sort=False) if factors else [((), judged_rows)]):
        level = level if isinstance(level, tuple) else (level,)
        judged = judge_claims(rows, (*PAPER_CLAIMS, *related_claims(root=root)), n_boot=n_boot, seed=seed)
        for f, v in zip(factors, level):
            judged.insert(factors.index(f), f, v)
        parts.append(judged)
    claims = family_verdicts(pd.concat(parts, ignore_index=True))  # one family: every claim at every level
    claims = claims[claims["verdict"] != "not testable"].reset_index(drop=True) if (
        claims["verdict"] != "not testable").any() else claims
    effects = factor_effects(judged_rows, factors=factors, match=[k for k in keys if k != STEPS_KEY],
                             n_boot=n_boot, seed=seed)
    tile_rows = []
    for key, group in judged_rows.groupby(["experiment", *factors], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = group.sort_values("point").iloc[0]
        path = tiles_path(row["metrics_path"], root=root)
        if not path.is_file():
            continue
        est, low, high = tile_bootstrap(pd.read_csv(path), metric="f1", n_boot=2000, seed=seed)
        tile_rows.append({**dict(zip(["experiment", *factors], key)), "point": row["point"], "f1": est,
                          "ci_low": low, "ci_high": high,
                          "seed_ci_width": _seed_width(summary, key, factors, final_steps)})
    tiles = pd.DataFrame(tile_rows, columns=["experiment", *factors, "point", "f1", "ci_low", "ci_high",
                                             "seed_ci_width"])
    summary_table = format_summary(summary)
    if tables_dir is not None:
        tables_dir = Path(tables_dir)
        write_csv(tables_dir / "seed_summary.csv", summary, index=False)
        write_csv(tables_dir / "claims.csv", claims, index=False)
        write_csv(tables_dir / "tile_bootstrap.csv", tiles, index=False)
        if factors:
            write_csv(tables_dir / "factor_effects.csv", effects, index=False)
    return SweepAnalysis(results, summary, summary_table, claims, tiles, final_steps, factors, effects)


def _seed_width(summary: pd.DataFrame, key: tuple, factors: Sequence[str], steps: int | None) -> float:
    sel = summary[summary["metric"] == "f1"]
    for col, value in zip(["experiment", *factors], key):
        sel = sel[sel[col] == value]
    if steps is not None and STEPS_KEY in sel.columns:
        sel = sel[sel[STEPS_KEY] == steps]
    if sel.empty:
        return float("nan")
    return float(sel["ci_high"].iloc[0] - sel["ci_low"].iloc[0])
