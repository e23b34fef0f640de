"""The convergence rule on generated curves: eligibility, plateau margin, first to 90 %, and the budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landslide_utils.plots.convergence import plot_validation_curves
from landslide_utils.sweeps.analysis import swept_factors
from landslide_utils.sweeps.convergence import (
    budget_check,
    choose_settings,
    convergence_report,
    curve_summary,
    learning_curves,
)


def curve(steps: list[int], aps: list[float], *, f1: float = 0.5, seconds_per_step: float = 0.5) -> dict:
    return {"step": steps, "seconds": [s * seconds_per_step for s in steps], "val_loss": [1.0] * len(steps),
            "val_ap": aps, "val_f1": [f1] * len(steps), "val_threshold": [0.5] * len(steps)}


def write_runs(root: Path, runs: dict[tuple[str, int], dict]) -> pd.DataFrame:
    """A results table of runs of experiment V whose metrics JSONs hold the given curves."""
    rows = []
    for (setting, seed), c in runs.items():
        path = root / f"{setting}_{seed}.json"
        path.write_text(json.dumps({"learning_curve": c, "kept_step": c["step"][int(np.argmax(c["val_ap"]))]}))
        rows.append({"point": f"seed={seed},optimizer={setting}", "experiment": "V", "model": "unet", "seed": seed,
                     "training.optimizer": setting, "training.learning_rate": {"sgd": 0.01, "adamw": 0.001}[setting],
                     "metrics_path": path.name})
    return pd.DataFrame(rows)


def test_rule_prefers_the_fast_setting_among_equal_plateaus(tmp_path: Path) -> None:
    steps = [20, 40, 60, 80, 100]
    runs = {("sgd", s): curve(steps, [0.1, 0.3, 0.5, 0.7, 0.8 + 0.01 * s]) for s in range(5)}
    runs |= {("adamw", s): curve(steps, [0.6, 0.78, 0.8, 0.81, 0.81 + 0.01 * s]) for s in range(5)}
    results = write_runs(tmp_path, runs)
    factors = swept_factors(results, ["seed", "training.optimizer", "training.learning_rate"])
    assert factors == ("training.optimizer",)  # keys varied together count once
    curves = learning_curves(results, root=tmp_path, factors=factors)
    assert len(curves) == 50 and set(curves["setting"]) == {"optimizer=sgd", "optimizer=adamw"}
    choice = choose_settings(curves).set_index("setting")
    assert choice["plateau"].tolist() == pytest.approx([0.82, 0.83])
    assert choice["contender"].all() and choice.loc["optimizer=adamw", "chosen"]
    assert choice.loc["optimizer=adamw", "step_90"] == 40 and choice.loc["optimizer=sgd", "step_90"] == 100
    assert choice.loc["optimizer=adamw", "budget"] == 60  # first seed mean >= 0.95 x 0.83
    summary = curve_summary(curves)
    assert summary[summary["setting"] == "optimizer=sgd"]["low"].iloc[-1] == pytest.approx(0.8)
    _, written = convergence_report(results, root=tmp_path, factors=factors, tables_dir=tmp_path / "tables")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tables" / "convergence.csv"), written.astype({"budget": float}),
                                  check_dtype=False)
    plot_validation_curves(curves, x="seconds", save=tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_an_empty_validation_map_or_a_low_plateau_rules_a_setting_out(tmp_path: Path) -> None:
    steps = [20, 40]
    runs = {("adamw", s): curve(steps, [0.9, 0.9], f1=0.0 if s == 3 else 0.6) for s in range(5)}
    runs |= {("sgd", s): curve(steps, [0.5, 0.7]) for s in range(5)}
    curves = learning_curves(write_runs(tmp_path, runs), root=tmp_path, factors=("training.optimizer",))
    choice = choose_settings(curves).set_index("setting")
    assert choice.loc["optimizer=adamw", "empty_seeds"] == 1 and not choice.loc["optimizer=adamw", "eligible"]
    assert choice.loc["optimizer=sgd", "chosen"] and choice.loc["optimizer=sgd", "budget"] == 40
    # each seed peaks at another evaluation: the seed mean never reaches 95 % of the mean of the peaks
    slow = {("sgd", s): curve([20, 40, 60], [0.9 if k == s % 3 else 0.1 for k in range(3)]) for s in range(5)}
    slow_choice = choose_settings(learning_curves(write_runs(tmp_path, slow), root=tmp_path,
                                                  factors=("training.optimizer",)))
    assert slow_choice["budget"].tolist() == [60]  # capped at the sweep's last evaluation


def test_runs_without_curves_give_an_empty_table_and_a_clear_plot_error(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"f1": 0.5}))
    results = pd.DataFrame([{"point": "seed=0", "experiment": "V", "model": "unet", "seed": 0,
                             "metrics_path": "m.json"}])
    curves = learning_curves(results, root=tmp_path)
    assert curves.empty and choose_settings(curves).empty
    convergence_report(results, root=tmp_path, tables_dir=tmp_path / "tables")
    assert not (tmp_path / "tables").exists()  # nothing to write without curves
    with pytest.raises(ValueError, match="without training.eval_every"):
        plot_validation_curves(curves)
    with pytest.raises(FileNotFoundError, match="seed=0"):
        learning_curves(results.assign(metrics_path="gone.json"), root=tmp_path)


def test_budget_check_reads_each_runs_validation_log(tmp_path: Path) -> None:
    """A row that levelled off gets the rule's 95 % step; a row best at its last evaluation is still rising; a row
    without a log is left out."""
    def log(name, ap):
        steps = np.arange(20, 20 * len(ap) + 1, 20)
        path = tmp_path / name / "validation.csv"
        path.parent.mkdir()
        pd.DataFrame({"step": steps, "seconds": steps * 0.5, "val_loss": 1.0, "val_ap": ap, "val_f1": 0.5,
                      "val_threshold": 0.5}).to_csv(path, index=False)
        return path
    flat = log("flat", [0.2, 0.6, 0.78, 0.8, 0.79])
    rising = log("rising", [0.1, 0.2, 0.3, 0.4, 0.5])
    table = budget_check({"flat": flat, "rising": rising, "none": tmp_path / "none" / "validation.csv"})
    assert list(table["experiment"]) == ["flat", "rising"]
    row = table.set_index("experiment").loc["flat"]
    assert (row["steps"], row["best_step"], row["step_90"], row["rule_budget"]) == (100, 80, 60, 60)
    assert not row["still_rising"] and row["best_ap"] == pytest.approx(0.8)
    row = table.set_index("experiment").loc["rising"]
    assert row["still_rising"] and row["rule_budget"] == 100 and row["step_90"] == 100
    assert budget_check({}).empty
