"""The verdict intervals: the paired t-interval against scipy, its coverage in simulation at n = 5 and n = 10
(null and shifted differences), the percentile bootstrap's under-coverage that motivates it, Holm's adjustment on a
hand-worked family and as a property, and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from landslide_utils.evaluation.bootstrap import bootstrap_ci
from landslide_utils.evaluation.intervals import MIN_PAIRS, family_verdicts, holm, t_interval, t_test_p, verdict


def test_t_interval_and_test_agree_with_scipy() -> None:
    x = np.array([0.031, -0.004, 0.052, 0.017, 0.026, 0.009])
    est, low, high = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert est == pytest.approx(x.mean()) and (low, high) == pytest.approx(ref)
    assert t_test_p(x) == pytest.approx(stats.ttest_1samp(x, 0.0).pvalue)
    # a 90 % interval is narrower; NaNs are dropped
    _, l90, h90 = t_interval(np.append(x, np.nan), confidence=0.90)
    assert low < l90 < h90 < high
    assert t_interval([0.2])[0] == 0.2 and math.isnan(t_interval([0.2])[1])
    assert all(math.isnan(v) for v in t_interval([]))
    assert t_interval([0.3, 0.3, 0.3]) == (0.3, 0.3, 0.3)
    assert t_test_p([0.0, 0.0]) == 1.0 and t_test_p([0.1, 0.1]) == 0.0 and math.isnan(t_test_p([0.1]))
    with pytest.raises(ValueError):
        t_interval(x, confidence=0.0)


def _coverage(n: int, *, shift: float, reps: int, seed: int, interval: str) -> float:
    """Share of ``reps`` simulated samples of n per-seed differences (normal, sd 3 points around ``shift``) whose
    95 % interval holds the true mean difference."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        x = rng.normal(shift, 0.03, size=n)
        if interval == "t":
            _, low, high = t_interval(x)
        else:
            _, low, high = bootstrap_ci(x, n_boot=400, seed=int(rng.integers(1 << 31)))
        hits += low <= shift <= high
    return hits / reps


@pytest.mark.parametrize("n", [5, 10])
@pytest.mark.parametrize("shift", [0.0, 0.04])
def test_the_paired_t_interval_holds_its_95_percent(n: int, shift: float) -> None:
    """Null (no effect) and shifted (a 4-point effect) differences: coverage within [0.93, 0.97] (4000 samples:
    the standard error of a 95 % coverage is 0.34 points)."""
    cover = _coverage(n, shift=shift, reps=4000, seed=n + int(100 * shift), interval="t")
    assert 0.93 <= cover <= 0.97


def test_the_percentile_bootstrap_undercovers_at_five_seeds() -> None:
    """Why the bootstrap is not the verdict interval: at n = 5 it covers well under 95 %."""
    assert _coverage(5, shift=0.0, reps=600, seed=1, interval="bootstrap") < 0.90


def test_holm_on_a_hand_worked_family() -> None:
    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(holm(p)[4])
    assert holm([]).size == 0 and holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=20))
def test_holm_adjusted_p_values_are_ordered_bounded_and_no_smaller(p: list[float]) -> None:
    adj = holm(p)
    raw = np.asarray(p)
    assert np.all(adj >= raw - 1e-12) and np.all(adj <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-12)  # same order as the raw p-values
    assert adj.min() == pytest.approx(min(1.0, len(p) * raw.min()))


def test_verdict_rules() -> None:
    assert verdict(estimate=0.03, p=0.01, n=5) == "holds"
    assert verdict(estimate=-0.03, p=0.01, n=5) == "contradicted"
    assert verdict(estimate=-0.03, p=0.01, n=5, side="-") == "holds"
    assert verdict(estimate=0.03, p=0.06, n=10) == "inconclusive"
    assert verdict(estimate=0.03, p=0.001, n=MIN_PAIRS - 1) == "too few seeds"
    assert verdict(estimate=float("nan"), p=float("nan"), n=0) == "not testable"
    with pytest.raises(ValueError):
        verdict(estimate=0.1, p=0.01, n=5, side="?")


def test_a_family_verdict_uses_the_adjusted_level() -> None:
    """Three comparisons each at p = 0.02: alone each would pass at 5 %, as a family of three none does."""
    t = pd.DataFrame({"estimate": [0.02, 0.03, -0.01, 0.05], "p": [0.02, 0.02, 0.02, 0.001],
                      "n": [5, 5, 5, 3], "side": ["+", "+", "+", "+"]})
    out = family_verdicts(t)
    assert out["p_holm"].iloc[:3].to_numpy() == pytest.approx([0.06, 0.06, 0.06])
    assert math.isnan(out["p_holm"].iloc[3])  # too few seeds: not in the family
    assert list(out["verdict"]) == ["inconclusive", "inconclusive", "inconclusive", "too few seeds"]
    assert list(family_verdicts(t.iloc[:1])["verdict"]) == ["holds"]
