"""The verdict intervals of the study: the paired Student t-interval over seeds, its test, and Holm's adjustment.

Seeds are the replication unit of every comparison (one seed = one training run of each experiment, with the same
weight initialisation, tile order and background-enhancement draw), and two experiments are compared on their
per-seed differences. With five to ten seeds the percentile bootstrap (:func:`~landslide_utils.evaluation.bootstrap.
bootstrap_ci`) under-covers: its nominal 95 % interval of a mean holds the true mean in about 83 % of samples at
n = 5 and 75 % at n = 3, because a resample of a handful of values cannot spread wider than the values
themselves. The Student t-interval (Student 1908) keeps its level at every n when the differences are roughly
normal, so it is the verdict interval here; the bootstrap stays beside it as a second
column. A verdict needs :data:`MIN_PAIRS` pairs; with fewer the comparison is ``too few seeds``.

A sweep judges a family of claims at once (16 of the paper's, or every level of a loss grid against its baseline);
one in twenty true-null comparisons would pass at 5 % by chance alone. :func:`holm` adjusts the p-values within a
family (Holm 1979, *Scand. J. Statist.* 6: 65-70), controlling the chance of any false verdict at the nominal level
without assuming independence between the claims; :func:`family_verdicts` gives the verdicts at that level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MIN_PAIRS", "t_interval", "t_test_p", "holm", "verdict", "family_verdicts"]

MIN_PAIRS = 5
"""Fewest paired seeds a verdict is given on; below it a comparison is ``too few seeds`` (with its interval)."""


def _clean(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    return x[~np.isnan(x)]


def t_interval(values: Iterable[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Student t confidence interval of the mean: ``mean ± t(1 - α/2, n - 1) · sd / √n``.

    Applied to per-seed differences of two experiments, it is the paired t-interval.

    Args:
        values: the sample (e.g. the per-seed F1 differences); NaNs are dropped.
        confidence: coverage, in (0, 1).

    Returns:
        ``(mean, low, high)``; ``(mean, nan, nan)`` for one value, ``(nan, nan, nan)`` for none. Identical values
        give a zero-width interval at their value.

    Raises:
        ValueError: ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    x = _clean(values)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if x.size == 1:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def t_test_p(values: Iterable[float]) -> float:
    """Two-sided p-value of the one-sample t-test of mean 0 (the paired t-test on per-seed differences).

    NaN with fewer than two values; with zero spread, 1 when every value is 0 and 0 otherwise (the interval is a
    point away from zero).
    """
    x = _clean(values)
    if x.size < 2:
        return float("nan")
    sd = x.std(ddof=1)
    if sd == 0.0 or not np.isfinite(sd):
        return 1.0 if float(x.mean()) == 0.0 else 0.0
    # the t statistic by hand: scipy's ttest_1samp warns of precision loss on nearly identical differences,
    # which seeds of a converged model often give
    t = float(x.mean()) / (sd / np.sqrt(x.size))
    return float(2.0 * stats.t.sf(abs(t), x.size - 1))


def holm(p_values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): the k-th smallest of m p-values is multiplied by
    ``m - k + 1``, made monotone and capped at 1. NaNs (comparisons not tested) stay NaN and do not count in m.

    A comparison is significant at level α in the family when its adjusted p-value is below α.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def verdict(*, estimate: float, p: float, n: int, side: str = "+", alpha: float = 0.05,
            min_pairs: int = MIN_PAIRS) -> str:
    """The verdict on a claim "the difference is > 0" (``side="+"``) or "< 0" (``side="-"``).

    ``not testable`` without a pair, ``too few seeds`` with fewer than ``min_pairs``; otherwise ``holds`` when
    ``p`` (the family-adjusted p-value) is below ``alpha`` and the mean difference lies on the claimed side,
    ``contradicted`` when below ``alpha`` on the other side, ``inconclusive`` when not below ``alpha``.
    """
    if side not in ("+", "-"):
        raise ValueError(f"side must be '+' or '-', got {side!r}")
    if n < 1 or np.isnan(estimate):
        return "not testable"
    if n < min_pairs:
        return "too few seeds"
    if np.isnan(p) or p >= alpha:
        return "inconclusive"
    claimed = estimate > 0 if side == "+" else estimate < 0
    return "holds" if claimed else "contradicted"


def family_verdicts(table: pd.DataFrame, *, alpha: float = 0.05, min_pairs: int = MIN_PAIRS) -> pd.DataFrame:
    """``table`` with ``p_holm`` (Holm-adjusted within the rows that can get a verdict: n ≥ ``min_pairs``) and
    ``verdict`` recomputed at that level. ``table`` needs columns ``estimate``, ``p``, ``n`` and optionally
    ``side`` (default ``"+"``); the other columns are kept."""
    out = table.copy()
    p = pd.to_numeric(out["p"], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(out["n"], errors="coerce").fillna(0).to_numpy(dtype=int)
    tested = np.where(n >= min_pairs, p, np.nan)
    out["p_holm"] = holm(tested)
    sides = out["side"].astype(str).tolist() if "side" in out.columns else ["+"] * len(out)
    out["verdict"] = [verdict(estimate=float(e), p=float(ph), n=int(k), side=s, alpha=alpha, min_pairs=min_pairs)
                      for e, ph, k, s in zip(pd.to_numeric(out["estimate"], errors="coerce"), out["p_holm"], n,
                                             sides)]
    return out
