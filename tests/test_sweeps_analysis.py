"""Step 07's tables (landslide_utils.sweeps.analysis) on a hand-made results table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landslide_utils.sweeps.analysis import analyse_results


def _results(root: Path, *, steps: tuple[int, ...] = (150,)) -> Path:
    rows = []
    rng = np.random.default_rng(0)
    for s in steps:
        for seed in range(5):
            for exp, base in (("V", 0.60), ("VI", 0.50), ("unet_factors", 0.65)):
                f1 = base + 0.01 * seed + (0.001 * s / 150)
                metrics = root / f"reports/q/sweeps/x/seed={seed},steps={s}/metrics/{exp}.json"
                metrics.parent.mkdir(parents=True, exist_ok=True)
                metrics.write_text("{}")
                tiles = pd.DataFrame({"tile_id": [f"t{i}" for i in range(8)], "tp": rng.integers(50, 100, 8),
                                      "fp": rng.integers(0, 50, 8), "fn": rng.integers(0, 50, 8), "tn": 5000})
                tiles.to_csv(metrics.with_name(f"{exp}_tiles.csv"), index=False)
                rows.append({"point": f"seed={seed},steps={s}", "experiment": exp, "model": "unet",
                             "channels": "rgb", "training_data": "original", "seed": seed, "training.steps": s,
                             "precision": f1, "recall": f1, "f1": f1, "miou": f1, "ap": f1,
                             "f1_val_threshold": f1, "train_seconds": 1.0, "steps": s,
                             "metrics_path": str(metrics.relative_to(root))})
    path = root / "reports/q/sweeps/x/results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_claims_summary_and_tile_bootstrap(tmp_path: Path) -> None:
    res = analyse_results(_results(tmp_path), root=tmp_path, tables_dir=tmp_path / "tables", n_boot=500)
    claims = res.claims[res.claims["metric"] == "f1"].set_index("better")
    assert claims.loc["VI", "verdict"] == "contradicted"  # VI is 10 points below V at every seed
    assert claims.loc["unet_factors", "verdict"] == "holds"
    assert claims.loc["VI", "estimate"] == pytest.approx(-0.10)
    assert (res.claims["verdict"] != "not testable").all()  # claims on absent experiments are left out
    assert set(res.tiles["experiment"]) == {"V", "VI", "unet_factors"}
    assert (res.tiles["ci_low"] <= res.tiles["f1"]).all() and (res.tiles["f1"] <= res.tiles["ci_high"]).all()
    for name in ("seed_summary", "claims", "tile_bootstrap"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file()
    assert res.final_steps is None


def test_claims_are_judged_at_the_largest_budget(tmp_path: Path) -> None:
    res = analyse_results(_results(tmp_path, steps=(50, 150)), root=tmp_path, n_boot=200)
    assert res.final_steps == 150
    assert set(res.summary["training.steps"]) == {50, 150}
    assert (res.claims["n"] == 5).all()  # five seeds at 150 steps, not ten points


def test_a_recorded_budget_that_differs_by_experiment_is_not_a_budget_axis(tmp_path: Path) -> None:
    """results.csv records every run's effective budget: U-Net trained for 240 steps beside PSPNet's 160 at the
    same seeds is one budget per experiment, not a learning curve (every claim keeps its pairs)."""
    path = _results(tmp_path)
    table = pd.read_csv(path)
    table.loc[table["experiment"] == "VI", "training.steps"] = 240
    table.to_csv(path, index=False)
    res = analyse_results(path, root=tmp_path, keys=("seed",), n_boot=200)
    assert res.final_steps is None and (res.claims["n"] == 5).all()
    assert set(res.claims["better"]) == {"VI", "unet_factors"}


def test_missing_results_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the sweep first"):
        analyse_results(tmp_path / "nothing.csv")


def _loss_results(root: Path) -> Path:
    """Two experiments x three losses x 5 seeds: focal is 5 points better than bce at every seed, dice is bce
    plus noise around zero."""
    rows = []
    noise = [0.02, -0.03, 0.01, -0.02, 0.025]
    for seed in range(5):
        for loss, shift in (("bce", 0.0), ("focal", 0.05), ("dice", None)):
            for exp, base in (("V", 0.6), ("VII", 0.4)):
                f1 = base + 0.01 * seed + (noise[seed] if shift is None else shift)
                point = f"seed={seed},loss={loss},steps=150"
                rows.append({"point": point, "experiment": exp, "model": "unet", "channels": "rgb",
                             "training_data": "original", "seed": seed, "training.loss": loss,
                             "training.steps": 150, "f1": f1, "ap": f1 - 0.1, "train_seconds": 1.0, "steps": 150,
                             "metrics_path": f"reports/q/sweeps/l/{point}/metrics/{exp}.json"})
    path = root / "results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_swept_setting_is_compared_with_its_baseline_paired_by_seed(tmp_path: Path) -> None:
    keys = ("seed", "training.loss", "training.steps")
    res = analyse_results(_loss_results(tmp_path), root=tmp_path, tables_dir=tmp_path / "tables", keys=keys,
                          n_boot=500)
    assert res.factors == ("training.loss",)
    eff = res.effects.set_index(["experiment", "level", "metric"])
    assert set(res.effects["baseline"]) == {"bce"} and (res.effects["n"] == 5).all()
    assert eff.loc[("V", "focal", "f1"), "verdict"] == "better"
    assert eff.loc[("V", "focal", "f1"), "estimate"] == pytest.approx(0.05)
    assert eff.loc[("VII", "dice", "f1"), "verdict"] == "inconclusive"
    assert eff.loc[("VII", "dice", "f1"), "estimate"] == pytest.approx(0.001)
    # summaries are per experiment and level, never pooled over levels
    f1 = res.summary[res.summary["metric"] == "f1"].set_index(["experiment", "training.loss"])
    assert f1.loc[("V", "focal"), "mean"] == pytest.approx(0.6 + 0.02 + 0.05) and f1.loc[("V", "focal"), "n"] == 5
    assert (tmp_path / "tables/factor_effects.csv").is_file()
    # without the keys every row of an experiment is a replicate (the old reading)
    assert analyse_results(_loss_results(tmp_path), root=tmp_path, n_boot=100).factors == ()


def test_factor_effects_plot_and_labels(tmp_path: Path) -> None:
    from landslide_utils.plots.sweep import plot_factor_effects
    from landslide_utils.sweeps.analysis import group_labels

    keys = ("seed", "training.loss", "training.steps")
    res = analyse_results(_loss_results(tmp_path), root=tmp_path, keys=keys, n_boot=100)
    fig = plot_factor_effects(res.effects, metric="f1", save=tmp_path / "effects.png")
    assert (tmp_path / "effects.png").stat().st_size > 5000
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "V: loss focal − bce"
    with pytest.raises(KeyError, match="recall"):
        plot_factor_effects(res.effects, metric="recall")
    labels = set(group_labels(res.results, res.factors)["experiment"])
    assert "V · loss=focal" in labels and len(labels) == 6
