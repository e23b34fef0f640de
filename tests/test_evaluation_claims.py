"""Statistics of a sweep: bootstrap intervals, paired claims and their verdicts on hand-made cases, average
precision against scikit-learn, the F1-optimal threshold against a brute-force search, and smoke tests of the
sweep figures."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import average_precision_score

from landslide_utils.evaluation.bootstrap import bootstrap_ci, format_summary, seed_summary, tile_bootstrap, tiles_path
from landslide_utils.evaluation.claims import (
    PAPER_CLAIMS,
    Claim,
    claims_from_table,
    claims_table,
    judge,
    judge_claims,
    paired_differences,
)
from landslide_utils.evaluation.metrics import Counts, all_metrics, average_precision, best_threshold
from landslide_utils.plots.sweep import plot_claims_forest, plot_learning_curves, plot_seed_spread

# ---------------------------------------------------------------------------------------------------------------
# bootstrap


def test_bootstrap_ci_contains_mean_and_is_deterministic() -> None:
    vals = [0.70, 0.72, 0.75, 0.71, 0.74, 0.73]
    est, low, high = bootstrap_ci(vals, n_boot=2000, seed=3)
    assert est == pytest.approx(np.mean(vals))
    assert min(vals) <= low < est < high <= max(vals)
    assert bootstrap_ci(vals, n_boot=2000, seed=3) == (est, low, high)
    # a wider confidence gives a wider interval
    _, low99, high99 = bootstrap_ci(vals, n_boot=2000, seed=3, confidence=0.99)
    assert low99 <= low and high99 >= high


def test_bootstrap_ci_edge_cases() -> None:
    est, low, high = bootstrap_ci([0.4])
    assert est == 0.4 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert all(math.isnan(v) for v in bootstrap_ci([float("nan")]))
    est, low, high = bootstrap_ci([1.0, float("nan"), 3.0], n_boot=500)
    assert est == 2.0 and 1.0 <= low <= high <= 3.0
    assert bootstrap_ci([0.5, 0.5, 0.5], n_boot=100) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.0)


def test_bootstrap_ci_statistic_without_axis() -> None:
    vals = np.arange(10.0)
    fast = bootstrap_ci(vals, statistic=np.median, n_boot=300, seed=1)
    slow = bootstrap_ci(vals, statistic=lambda x: float(np.median(x)), n_boot=300, seed=1)
    assert fast == pytest.approx(slow)


# ---------------------------------------------------------------------------------------------------------------
# sweep tables


def _results(diffs: dict[str, list[float]] | None = None) -> pd.DataFrame:
    """A small results table: points seed=0..4; I at f1 0.60 + 0.01 seed, others offset by ``diffs``."""
    diffs = diffs or {"III": [0.05, 0.06, 0.04, 0.07, 0.05]}
    meta = {"I": ("maskrcnn", "rgb", "original"), "III": ("maskrcnn", "rgb", "original+be"),
            "II": ("maskrcnn", "rgb+factors", "original")}
    rows = []
    for s in range(5):
        for steps in (100, 200):
            base = 0.60 + 0.01 * s + (0.05 if steps == 200 else 0.0)
            for exp, d in {"I": [0.0] * 5, **diffs}.items():
                model, ch, td = meta.get(exp, ("unet", "rgb", "original"))
                f1 = base + d[s]
                rows.append({"point": f"seed={s},training.steps={steps}", "experiment": exp, "model": model,
                             "channels": ch, "training_data": td, "seed": s, "training.steps": steps,
                             "precision": f1 + 0.01, "recall": f1 - 0.01, "f1": f1, "miou": f1 + 0.1,
                             "ap": f1 + 0.02, "f1_val_threshold": float("nan"),
                             "metrics_path": f"reports/p/sweeps/x/{s}_{steps}/metrics/{exp}.json"})
    return pd.DataFrame(rows)


def test_seed_summary_layout() -> None:
    res = _results()
    summ = seed_summary(res, n_boot=500)
    assert list(summ.columns) == ["experiment", "metric", "n", "mean", "std", "ci_low", "ci_high", "boot_low",
                                  "boot_high"]
    assert list(dict.fromkeys(summ["experiment"])) == ["I", "III"]
    assert list(summ["metric"].unique()) == ["precision", "recall", "f1", "miou", "ap", "f1_val_threshold"]
    r = summ[(summ["experiment"] == "I") & (summ["metric"] == "f1")].iloc[0]
    vals = res.loc[res["experiment"] == "I", "f1"]
    assert r["n"] == 10 and r["mean"] == pytest.approx(vals.mean()) and r["std"] == pytest.approx(vals.std())
    assert r["ci_low"] < r["mean"] < r["ci_high"]
    # the summary interval is the Student t-interval of the mean; the bootstrap one sits inside it at this n
    half = stats.t.ppf(0.975, 9) * vals.std() / np.sqrt(10)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((vals.mean() - half, vals.mean() + half))
    assert r["ci_low"] < r["boot_low"] < r["boot_high"] < r["ci_high"]
    nan_row = summ[(summ["experiment"] == "I") & (summ["metric"] == "f1_val_threshold")].iloc[0]
    assert nan_row["n"] == 0 and math.isnan(nan_row["mean"])
    by_steps = seed_summary(res, metrics=("f1", "absent"), by=("experiment", "training.steps"), n_boot=200)
    assert len(by_steps) == 4 and set(by_steps["n"]) == {5}
    wide = format_summary(summ)
    assert list(wide.index) == ["I", "III"] and wide.loc["I", "n"] == 10 and "[" in wide.loc["I", "f1"]
    with pytest.raises(KeyError):
        seed_summary(res, by=("nope",))


def test_verdicts_on_hand_made_differences() -> None:
    assert judge([0.02, 0.03, 0.05, 0.01, 0.04], n_boot=1000)["verdict"] == "holds"
    assert judge([-0.02, -0.03, -0.05, -0.01, -0.04], n_boot=1000)["verdict"] == "contradicted"
    assert judge([-0.02, 0.03, -0.05, 0.04, 0.01], n_boot=1000)["verdict"] == "inconclusive"
    assert judge([0.0] * 5, n_boot=100)["verdict"] == "inconclusive"  # the interval is the point 0
    assert judge([-0.02, -0.03, -0.05, -0.01, -0.04], side="-", n_boot=500)["verdict"] == "holds"
    # four clear pairs are still too few for a verdict; the interval is given all the same
    four = judge([0.02, 0.03, 0.05, 0.01], n_boot=1000)
    assert four["verdict"] == "too few seeds" and four["low"] > 0
    # the bootstrap excludes 0 where the t-interval does not: the verdict follows the t-interval
    close = [0.04, -0.01, 0.05, 0.0, 0.03]
    j = judge(close, n_boot=4000)
    assert j["boot_low"] > 0 > j["low"] and j["verdict"] == "inconclusive" and j["p"] > 0.05
    one = judge([0.1])
    assert one["verdict"] == "too few seeds" and one["n"] == 1 and math.isnan(one["low"]) and one["estimate"] == 0.1
    none = judge([])
    assert none["verdict"] == "not testable" and none["n"] == 0 and math.isnan(none["estimate"])
    j = judge([0.02, 0.03, 0.05, 0.01, 0.02], n_boot=1000, seed=7)
    assert j == judge([0.02, 0.03, 0.05, 0.01, 0.02], n_boot=1000, seed=7)
    assert j["low"] <= j["estimate"] <= j["high"]


def test_paired_differences_use_the_same_point_only() -> None:
    res = _results({"III": [0.05, -0.01, 0.04, 0.07, 0.02]})
    claim = Claim("III vs I", "BE raises F1", "III", "I", "f1")
    d = paired_differences(res, claim)
    # the seeds' shared offset (0.01 per seed, 0.05 per budget) cancels: only the hand-made differences remain
    expected = [0.05, 0.05, -0.01, -0.01, 0.04, 0.04, 0.07, 0.07, 0.02, 0.02]
    assert d.to_numpy() == pytest.approx(expected)
    assert d.attrs["dropped"] == 0 and d.name == "III vs I"
    # drop III at two points: those points are left out and counted, nothing is paired across points
    cut = res.drop(res[(res["experiment"] == "III") & (res["seed"] == 0)].index)
    d2 = paired_differences(cut, claim)
    assert len(d2) == 8 and d2.attrs["dropped"] == 2
    assert not any(p.startswith("seed=0,") for p in d2.index)
    with pytest.raises(ValueError):
        paired_differences(pd.concat([res, res.iloc[:1]]), claim)


def test_judge_claims_and_missing_experiments() -> None:
    res = _results({"III": [0.05, 0.06, 0.04, 0.07, 0.05], "II": [-0.03, 0.02, -0.01, 0.03, 0.0]})
    claims = [Claim("be", "BE raises F1", "III", "I", "f1"), Claim("fac", "factors raise F1", "II", "I", "f1"),
              Claim("rev", "I beats III", "I", "III", "f1"), Claim("miss", "U_F beats V", "U_F", "V", "f1"),
              Claim("nometric", "no such metric", "III", "I", "bogus")]
    j = judge_claims(res, claims, n_boot=1000)
    assert list(j.columns) == ["name", "claim", "metric", "better", "worse", "side", "n", "n_dropped", "estimate",
                               "ci_low", "ci_high", "p", "p_holm", "boot_low", "boot_high", "ap_estimate",
                               "ap_low", "ap_high", "verdict"]
    assert list(j["verdict"]) == ["holds", "inconclusive", "contradicted", "not testable", "not testable"]
    assert list(j["n"]) == [10, 10, 10, 0, 0]
    assert j.loc[0, "estimate"] == pytest.approx(0.054)
    assert j.loc[3, "n_dropped"] == 10 and math.isnan(j.loc[3, "ci_low"])
    # one family: the three testable claims' p-values are Holm-adjusted together, the untestable ones are not
    p = j["p"].to_numpy()
    assert j.loc[:2, "p_holm"].to_numpy() == pytest.approx(np.minimum(1, np.maximum.accumulate(
        np.sort(p[:3]) * [3, 2, 1]))[np.argsort(np.argsort(p[:3]))])
    assert j.loc[3:, "p_holm"].isna().all()
    # AP beside F1: the same pairs' AP difference with its t-interval
    ap = paired_differences(res, Claim("be", "BE raises AP", "III", "I", "ap")).to_numpy()
    assert j.loc[0, "ap_estimate"] == pytest.approx(ap.mean()) and j.loc[0, "ap_low"] < j.loc[0, "ap_estimate"]
    # the paper's claims on results lacking most experiments: no error, the absent ones are not testable
    jp = judge_claims(res, n_boot=200)
    assert len(jp) == len(PAPER_CLAIMS)
    testable = jp[jp["verdict"] != "not testable"]
    assert set(zip(testable["better"], testable["worse"])) <= {("II", "I"), ("III", "I")}
    assert (jp.loc[jp["better"] == "unet_factors", "verdict"] == "not testable").all()


def test_paper_claims_as_data() -> None:
    names = [c.name for c in PAPER_CLAIMS]
    assert len(names) == len(set(names))
    pairs = {(c.better, c.worse, c.metric) for c in PAPER_CLAIMS}
    assert {("II", "I", "precision"), ("IV", "III", "precision"), ("III", "I", "recall"), ("IV", "II", "miou"),
            ("IV", "I", "f1"), ("IV", "II", "f1"), ("IV", "III", "f1"), ("VI", "V", "miou"), ("VIII", "VII", "f1"),
            ("unet_factors", "V", "f1"), ("pspnet_factors", "VII", "f1"), ("unet_be", "V", "f1"),
            ("pspnet_be", "VII", "f1")} <= pairs
    assert claims_from_table(claims_table(PAPER_CLAIMS)) == list(PAPER_CLAIMS)
    assert claims_from_table([{"name": "a", "text": "t", "better": "X", "worse": "Y", "metric": "f1"}])[0].side == "+"
    with pytest.raises(ValueError):
        Claim("a", "t", "X", "Y", "f1", side="?")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# tile bootstrap


def test_tile_bootstrap() -> None:
    same = pd.DataFrame({"tile_id": range(6), "tp": 8, "fp": 2, "fn": 2, "tn": 88})
    est, low, high = tile_bootstrap(same, n_boot=300)
    assert est == pytest.approx(0.8) and low == pytest.approx(est) and high == pytest.approx(est)
    rng = np.random.default_rng(0)
    tiles = pd.DataFrame({"tile_id": range(40), "tp": rng.integers(0, 50, 40), "fp": rng.integers(0, 30, 40),
                          "fn": rng.integers(0, 30, 40), "tn": rng.integers(500, 900, 40)})
    total = Counts(*(int(tiles[c].sum()) for c in ("tp", "fp", "fn", "tn")))
    for metric in ("precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa"):
        est, low, high = tile_bootstrap(tiles, metric=metric, n_boot=400, seed=5)
        assert est == pytest.approx(all_metrics(total)[metric])
        assert low < est < high
        assert tile_bootstrap(tiles, metric=metric, n_boot=400, seed=5) == (est, low, high)
    est, low, high = tile_bootstrap(tiles.iloc[:1])
    assert math.isnan(low) and math.isnan(high) and not math.isnan(est)
    assert all(math.isnan(v) for v in tile_bootstrap(tiles.iloc[:0]))
    with pytest.raises(KeyError):
        tile_bootstrap(tiles, metric="ap")
    assert tiles_path("reports/p/sweeps/x/a/metrics/IV.json", root="/r").as_posix() == \
        "/r/reports/p/sweeps/x/a/metrics/IV_tiles.csv"


# ---------------------------------------------------------------------------------------------------------------
# average precision and the F1-optimal threshold


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_average_precision_equals_sklearn(data: list[tuple[int, bool, bool]]) -> None:
    scores = np.array([s / 6 for s, _, _ in data], dtype=np.float32)  # few levels: many ties
    labels = np.array([y for _, y, _ in data])
    valid = np.array([v for _, _, v in data])
    if labels.any():
        assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores))
    else:
        assert math.isnan(average_precision(scores, labels))
    if labels[valid].any():
        assert average_precision(scores, labels, valid) == pytest.approx(
            average_precision_score(labels[valid], scores[valid]))


def _brute_force_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in sorted(set(scores.tolist()), reverse=True):  # highest first: ties keep the highest threshold
        pred = scores >= t
        tp, fp = int((pred & labels).sum()), int((pred & ~labels).sum())
        fn = int((~pred & labels).sum())
        f1 = 2 * tp / (2 * tp + fp + fn)
        if f1 > best[1]:
            best = (t, f1)
    return best


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=1, max_size=50))
def test_best_threshold_equals_brute_force(data: list[tuple[int, bool]]) -> None:
    scores = np.array([s / 8 for s, _ in data])
    labels = np.array([y for _, y in data])
    if not labels.any():
        assert best_threshold(scores, labels) == (0.5, 0.0)
        return
    t, f1 = best_threshold(scores, labels)
    bt, bf1 = _brute_force_threshold(scores, labels)
    assert f1 == pytest.approx(bf1) and t == bt


def test_average_precision_and_threshold_on_images() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random((64, 64)) < 0.1
    prob = np.clip(truth * 0.4 + rng.random((64, 64)) * 0.6, 0, 1).astype(np.float32)
    valid = np.ones_like(truth)
    valid[:, :8] = False
    prob[:, :8] = np.nan  # nodata outside the valid area is ignored
    ap = average_precision(prob, truth, valid)
    assert ap == pytest.approx(average_precision_score(truth[valid], prob[valid]))
    t, f1 = best_threshold(prob, truth, valid)
    assert 0.0 < t <= 1.0 and 0.0 < f1 <= 1.0
    with pytest.raises(ValueError):
        average_precision(prob, truth)  # NaN scores on valid pixels
    assert best_threshold(prob, np.zeros_like(truth), valid) == (0.5, 0.0)
    perfect = np.where(truth, 0.9, 0.1)
    assert average_precision(perfect, truth) == 1.0 and best_threshold(perfect, truth) == (0.9, 1.0)


# ---------------------------------------------------------------------------------------------------------------
# figures (smoke)


def test_plot_claims_forest(tmp_path) -> None:
    res = _results({"III": [0.05, 0.06, 0.04, 0.07, 0.05], "II": [-0.03, 0.02, -0.01, 0.03, 0.0]})
    judged = judge_claims(res, n_boot=200)
    fig = plot_claims_forest(judged, save=tmp_path / "forest.png")
    ax = fig.axes[0]
    testable = judged[judged["verdict"] != "not testable"]
    assert 0 < len(testable) < len(judged) == len(PAPER_CLAIMS)  # the runs hold I, II, III only
    assert len(ax.get_yticks()) == len(testable)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == testable["name"].iloc[0]
    assert (tmp_path / "forest.png").is_file()
    plt.close(fig)


def test_a_forest_of_no_testable_claim_draws_nothing_and_removes_an_old_figure(tmp_path, capsys) -> None:
    res = _results({"III": [0.05, 0.06, 0.04, 0.07, 0.05], "II": [-0.03, 0.02, -0.01, 0.03, 0.0]})
    judged = judge_claims(res, n_boot=200).assign(verdict="not testable")
    (tmp_path / "forest.png").write_bytes(b"an earlier figure")
    assert plot_claims_forest(judged, save=tmp_path / "forest.png") is None
    assert not (tmp_path / "forest.png").exists()
    assert "no claim is testable here" in capsys.readouterr().out


def test_plot_learning_curves_and_seed_spread(tmp_path) -> None:
    res = _results({"III": [0.05, 0.06, 0.04, 0.07, 0.05], "II": [-0.03, 0.02, -0.01, 0.03, 0.0]})
    fig = plot_learning_curves(res, n_boot=200, save=tmp_path / "lc.png")
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # one per experiment
    styles = {line.get_label(): line.get_linestyle() for line in ax.lines}
    assert styles["I"] == "-" and styles["III"] == "--"
    assert (tmp_path / "lc.png").is_file()
    plt.close(fig)
    with pytest.raises(KeyError):
        plot_learning_curves(res, steps_key="nope")
    fig = plot_seed_spread(res, n_boot=200, save=tmp_path / "spread.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["I", "III", "II"]
    assert len(ax.collections) == 3  # one dot cloud per experiment
    assert (tmp_path / "spread.png").is_file()
    plt.close(fig)
