"""Uncertainty of the measured metrics: intervals over seeds and over the test tiles.

One training run is an anecdote: with the small training sets of this study, two runs of the same experiment
that differ only in the random seed (weight initialisation, tile order, the background-enhancement draw) can
differ by several F1 points, as much as some of the effects Yang et al. (2022) report. A sweep therefore trains
every experiment at several grid points (seeds, training budgets ...) and writes one tidy table
``results.csv`` (one row per point x experiment). This module gives its numbers an interval:

* :func:`seed_summary` -- per experiment and metric, the mean over seeds with its Student t-interval
  (:mod:`landslide_utils.evaluation.intervals`), n, the standard deviation, and the percentile bootstrap interval
  beside it;
* :func:`bootstrap_ci` -- percentile bootstrap confidence interval of a statistic of a small sample (Efron &
  Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13), kept as a second column.
* :func:`tile_bootstrap` -- the uncertainty of *one* run's metric from the test area itself: the test tiles are
  resampled with replacement, their confusion counts summed and the metric recomputed with
  :mod:`landslide_utils.evaluation.metrics` (what another test area of the same kind might have given).

The paper's claims, judged on paired differences with these intervals, are in
:mod:`landslide_utils.evaluation.claims`.

The percentile interval is too narrow for small samples (a nominal 95 % interval of a mean covers about 83 % at 5
seeds, 75 % at 3), which is why the verdict and summary intervals are the t-interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from landslide_utils.evaluation import metrics as _m
from landslide_utils.evaluation.intervals import t_interval

__all__ = ["bootstrap_ci", "seed_summary", "format_summary", "tile_bootstrap", "tiles_path", "SUMMARY_METRICS"]

SUMMARY_METRICS = (*_m.PAPER_METRICS, "ap", "f1_val_threshold")
"""Metrics :func:`seed_summary` reports by default (those absent from a results table are skipped)."""

_NAN3 = (float("nan"), float("nan"), float("nan"))
_CHUNK_ELEMENTS = 2_000_000  # bootstrap draws are made in chunks of at most this many indices


# --------------------------------------------------------------------------------------------------------------
# bootstrap


def _check_confidence(confidence: float, n_boot: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")


def _apply_rows(statistic: Callable[..., float], samples: np.ndarray) -> np.ndarray:
    """``statistic`` of every row of ``samples``, vectorised when the statistic takes ``axis``."""
    try:
        out = np.asarray(statistic(samples, axis=1), dtype=float)
        if out.shape == (samples.shape[0],):
            return out
    except TypeError:
        pass
    return np.array([float(statistic(row)) for row in samples], dtype=float)


def bootstrap_ci(
    values: Iterable[float],
    *,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
    statistic: Callable[..., float] = np.mean,
) -> tuple[float, float, float]:
    """Percentile bootstrap confidence interval of a statistic (Efron & Tibshirani 1993, ch. 13).

    The sample is resampled ``n_boot`` times with replacement; the interval is the ``(1 - confidence) / 2``
    and ``(1 + confidence) / 2`` quantiles of the statistic over the resamples.

    Args:
        values: the sample (e.g. one metric of one experiment over seeds); NaNs are dropped.
        confidence: coverage of the interval, in (0, 1).
        n_boot: number of bootstrap resamples.
        seed: seed of the resampling (same inputs and seed -> same interval).
        statistic: function of a 1-D array; if it accepts ``axis=`` (``np.mean``, ``np.median`` ...) all
            resamples are evaluated at once.

    Returns:
        ``(estimate, low, high)``: the statistic of the sample and the interval bounds. One value gives
        ``(value, nan, nan)`` (nothing to resample); no value gives ``(nan, nan, nan)``.

    Raises:
        ValueError: ``confidence`` outside (0, 1) or ``n_boot`` < 1.
    """
    _check_confidence(confidence, n_boot)
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return _NAN3
    estimate = float(statistic(x))
    if n == 1:
        return estimate, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    stats = np.empty(n_boot, dtype=float)
    for start in range(0, n_boot, rows):
        k = min(rows, n_boot - start)
        stats[start:start + k] = _apply_rows(statistic, x[rng.integers(0, n, size=(k, n))])
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return estimate, float(low), float(high)


def seed_summary(
    results: pd.DataFrame,
    *,
    metrics: Sequence[str] = SUMMARY_METRICS,
    by: Sequence[str] = ("experiment",),
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean, t-interval, n, standard deviation and bootstrap interval of each metric per group (e.g. over seeds).

    Args:
        results: a sweep's tidy ``results.csv`` (one row per point x experiment).
        metrics: metric columns to summarise; those not in ``results`` are skipped.
        by: grouping columns, e.g. ``("experiment",)`` or ``("experiment", "training.steps")`` for a learning
            curve.
        confidence: level of both intervals of the mean.
        n_boot, seed: as in :func:`bootstrap_ci`.

    Returns:
        A tidy frame, one row per group x metric, groups in order of first appearance in ``results``, metrics
        in the order given. Columns: the ``by`` columns, then ``metric``, ``n`` (non-NaN values), ``mean``,
        ``std`` (ddof 1; NaN when n < 2), ``ci_low``, ``ci_high`` (Student t-interval; NaN when n < 2),
        ``boot_low``, ``boot_high`` (percentile bootstrap; NaN when n < 2). Values in the units of
        ``results`` (fractions for the accuracy metrics). Use :func:`format_summary` for a wide display table.

    Raises:
        KeyError: a ``by`` column is missing.
    """
    by = list(by)
    missing = [c for c in by if c not in results.columns]
    if missing:
        raise KeyError(f"grouping column(s) {missing} not in the results (columns: {list(results.columns)})")
    present = [m for m in metrics if m in results.columns]
    rows: list[dict[str, object]] = []
    for key, group in results.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        for m in present:
            vals = pd.to_numeric(group[m], errors="coerce").to_numpy(dtype=float)
            vals = vals[~np.isnan(vals)]
            est, low, high = t_interval(vals, confidence=confidence)
            _, boot_low, boot_high = bootstrap_ci(vals, confidence=confidence, n_boot=n_boot, seed=seed)
            rows.append({**dict(zip(by, key)), "metric": m, "n": int(vals.size), "mean": est,
                         "std": float(np.std(vals, ddof=1)) if vals.size > 1 else float("nan"),
                         "ci_low": low, "ci_high": high, "boot_low": boot_low, "boot_high": boot_high})
    cols = [*by, "metric", "n", "mean", "std", "ci_low", "ci_high", "boot_low", "boot_high"]
    return pd.DataFrame(rows, columns=cols)


def format_summary(summary: pd.DataFrame, *, percent: bool = True, digits: int = 1) -> pd.DataFrame:
    """A wide display table of :func:`seed_summary`: one row per group, one column per metric holding
    ``"mean [low, high]"`` (or just the mean when there is no interval), plus ``n`` (the largest n of the row).

    Args:
        summary: output of :func:`seed_summary`.
        percent: show values x 100.
        digits: decimals shown.
    """
    by = [c for c in summary.columns if c not in ("metric", "n", "mean", "std", "ci_low", "ci_high", "boot_low",
                                                  "boot_high")]
    f = 100.0 if percent else 1.0

    def cell(r: pd.Series) -> str:
        if np.isnan(r["mean"]):
            return "–"
        if np.isnan(r["ci_low"]):
            return f"{f * r['mean']:.{digits}f}"
        return f"{f * r['mean']:.{digits}f} [{f * r['ci_low']:.{digits}f}, {f * r['ci_high']:.{digits}f}]"

    s = summary.assign(cell=summary.apply(cell, axis=1) if len(summary) else pd.Series(dtype=str))
    wide = s.pivot(index=by, columns="metric", values="cell")
    wide = wide[[m for m in dict.fromkeys(summary["metric"])]]
    wide.columns.name = None
    wide.insert(0, "n", s.groupby(by, sort=False)["n"].max())
    order = list(dict.fromkeys(map(tuple, summary[by].itertuples(index=False))))
    wide = wide.reindex(pd.MultiIndex.from_tuples(order, names=by) if len(by) > 1 else [o[0] for o in order])
    return wide


# --------------------------------------------------------------------------------------------------------------
# tile bootstrap


def tiles_path(metrics_path: str | Path, *, root: str | Path = ".") -> Path:
    """The per-tile confusion table ``<dir>/metrics/<EXP>_tiles.csv`` beside a metrics JSON
    ``<dir>/metrics/<EXP>.json`` (``metrics_path`` as in ``results.csv``, relative to ``root``)."""
    p = Path(root) / Path(metrics_path)
    return p.with_name(f"{p.stem}_tiles.csv")


def tile_bootstrap(
    tiles: pd.DataFrame,
    *,
    metric: str = "f1",
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Percentile bootstrap interval of one run's metric over its test tiles.

    Each resample draws as many tiles as there are, with replacement; their confusion counts are summed and
    the metric recomputed from the sum with :mod:`landslide_utils.evaluation.metrics` (so zero-division rules are those
    of the metrics files). This captures the sampling uncertainty of the *test area*, not of training.

    Args:
        tiles: per-tile confusion counts, columns ``tp, fp, fn, tn`` (one row per test tile; ``tile_id`` and
            other columns are ignored), e.g. ``pd.read_csv(tiles_path(row.metrics_path))``.
        metric: one of :data:`_m.METRIC_FUNCTIONS` (precision, recall, f1, miou, iou_landslide, iou_background, oa,
            kappa).
        n_boot, seed, confidence: as in :func:`bootstrap_ci`.

    Returns:
        ``(estimate, low, high)``: the metric of all tiles summed and the interval. One tile gives
        ``(value, nan, nan)``; no tile ``(nan, nan, nan)``.

    Raises:
        KeyError: unknown metric or a count column is missing.
    """
    _check_confidence(confidence, n_boot)
    if metric not in _m.METRIC_FUNCTIONS:
        raise KeyError(f"metric {metric!r} cannot be recomputed from counts; use one of {sorted(_m.METRIC_FUNCTIONS)}")
    missing = [c for c in ("tp", "fp", "fn", "tn") if c not in tiles.columns]
    if missing:
        raise KeyError(f"tile table lacks count column(s) {missing} (columns: {list(tiles.columns)})")
    fn = _m.METRIC_FUNCTIONS[metric]
    counts = tiles[["tp", "fp", "fn", "tn"]].to_numpy(dtype=np.int64)
    n = counts.shape[0]
    if n == 0:
        return _NAN3
    estimate = float(fn(_m.Counts(*map(int, counts.sum(axis=0)))))
    if n == 1:
        return estimate, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    # resampling n of n tiles with replacement = multinomial multiplicities of each tile
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    sums = weights @ counts
    stats = np.array([fn(_m.Counts(*map(int, s))) for s in sums], dtype=float)
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return estimate, float(low), float(high)


# --------------------------------------------------------------------------------------------------------------
# claims


