"""Step 07's tables (landslide_utils.sweep_analysis) on a hand-made results table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landslide_utils.sweep_analysis import analyse_results


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


def test_missing_results_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the sweep first"):
        analyse_results(tmp_path / "nothing.csv")
