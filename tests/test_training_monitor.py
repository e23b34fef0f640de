"""Training watched on its validation tiles: validation.csv, keep: best, and a resume that stays bit-exact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from landslide_utils.config.load import load_profile
from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.evaluation.validation_curve import validation_curve
from landslide_utils.paths import StudyPaths
from landslide_utils.training import experiment as experiment_mod
from landslide_utils.training.checkpoint import load_checkpoint
from landslide_utils.training.monitor import VALIDATION_COLUMNS, better, still_rising
from tests.test_training_loop import exp, interrupted_at, make_study, same_weights, weights

NEW_KEYS = ("validation_share: 0.3, eval_every: 2, keep: best, schedule: cosine, warmup_steps: 1, "
            "optimizer: adamw, sampling: balanced, landslide_share: 0.5, weight_decay_scope: weights")


def watched_profile(root: Path, *, steps: int = 4):
    """The tiny study with the new training options (validation tiles held out of the 4 training tiles)."""
    make_study(root, steps=steps, every=2)
    path = root / "params" / "profiles" / "tiny.yaml"
    text = path.read_text(encoding="utf-8").replace("num_threads: 2}", f"num_threads: 2, {NEW_KEYS}}}")
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def test_better_ignores_nan_and_keeps_ties() -> None:
    assert better(0.2, None) and not better(float("nan"), None) and not better(float("nan"), 0.1)
    assert better(0.3, 0.2) and not better(0.2, 0.2)


@pytest.mark.parametrize("model", ["unet", "maskrcnn"])
def test_validation_curve_and_best_weights(tmp_path: Path, model: str) -> None:
    profile = watched_profile(tmp_path)
    res = experiment_mod.train_experiment(profile, exp(model, name="W"), root=tmp_path, progress=False,
                                          validator=validation_curve)
    curve = pd.read_csv(res.loss_csv.with_name("validation.csv"))
    assert tuple(curve.columns) == VALIDATION_COLUMNS and curve["step"].tolist() == [2, 4]
    assert curve["val_loss"].notna().all() and curve["val_ap"].between(0, 1).all()
    _, meta = load_checkpoint(res.checkpoint)
    best = curve.loc[curve["val_ap"].idxmax()]  # the first of equal APs is kept
    assert meta["kept"]["step"] == int(best["step"]) and meta["kept"]["val_ap"] == pytest.approx(best["val_ap"])
    lrs = pd.read_csv(res.loss_csv)["lr"].tolist()
    assert lrs[0] < lrs[1] and lrs[1] > lrs[2] > lrs[3] > 0  # warm-up, then the cosine


def test_resume_with_every_new_option_is_bit_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = watched_profile(tmp_path)
    ra = experiment_mod.train_experiment(profile, exp("unet", name="A"), root=tmp_path, progress=False,
                                         validator=validation_curve)
    with interrupted_at(monkeypatch, call=3):
        experiment_mod.train_experiment(profile, exp("unet", name="C"), root=tmp_path, progress=False,
                                        validator=validation_curve)
    partial = torch.load(StudyPaths("tiny", tmp_path).experiment("C") / "checkpoint.pt", weights_only=True)
    assert partial["step"] == 2 and partial["best"]["step"] == 2
    rc = experiment_mod.train_experiment(profile, exp("unet", name="C"), root=tmp_path, progress=False,
                                         validator=validation_curve)
    assert same_weights(weights(ra.checkpoint), weights(rc.checkpoint))
    for name in ("loss.csv", "validation.csv"):
        a, c = (pd.read_csv(r.loss_csv.with_name(name)).drop(columns="seconds") for r in (ra, rc))
        pd.testing.assert_frame_equal(a, c)


def test_validation_changes_no_weight_and_needs_a_validator(tmp_path: Path) -> None:
    profile = watched_profile(tmp_path)
    with pytest.raises(ValueError, match="eval_every is 2 but no validator"):
        experiment_mod.train_experiment(profile, exp("unet", name="N"), root=tmp_path, progress=False)
    watched = experiment_mod.train_experiment(profile, exp("unet", name="V"), root=tmp_path, progress=False,
                                              validator=validation_curve)
    path = tmp_path / "params" / "profiles" / "tiny.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("eval_every: 2, keep: best", "eval_every: 0"),
                    encoding="utf-8")
    plain = experiment_mod.train_experiment(load_profile(path), exp("unet", name="P"), root=tmp_path, progress=False)
    assert not plain.loss_csv.with_name("validation.csv").exists()
    assert pd.read_csv(plain.loss_csv)["loss"].tolist() == pd.read_csv(watched.loss_csv)["loss"].tolist()


def test_keep_best_needs_evaluations_and_validation_tiles(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="set validation_share > 0"):
        TrainingSpec(steps=3, eval_every=1)
    with pytest.raises(ValidationError, match="keep: best chooses among the evaluations"):
        TrainingSpec(steps=3, keep="best", validation_share=0.1)


def test_a_curve_still_climbing_at_its_last_evaluation_is_said() -> None:
    said = still_rising([40, 80, 120, 160], [0.20, 0.30, 0.35, 0.44])
    assert said is not None and "step 160" in said and "0.350" in said and "0.440" in said
    assert "training.steps" in said


def test_a_curve_that_levelled_off_is_not_said_even_if_its_last_point_is_its_best() -> None:
    assert still_rising([40, 80, 120, 160], [0.50, 0.90, 0.935, 0.946]) is None  # 0.935 >= 0.95 x 0.946
    assert still_rising([40, 80, 120, 160], [0.50, 0.90, 0.95, 0.94]) is None


def test_too_short_or_unmeasured_curves_say_nothing() -> None:
    assert still_rising([20, 40], [0.1, 0.5]) is None
    assert still_rising([20, 40, 60], [float("nan"), 0.1, 0.5]) is None  # two finite points
    assert still_rising([], []) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=3, max_size=12))
def test_said_exactly_when_every_earlier_point_is_below_95_percent_of_the_last(aps: list[float]) -> None:
    steps = [20 * (i + 1) for i in range(len(aps))]
    said = still_rising(steps, aps) is not None
    best = max(aps)
    assert said == (aps[-1] == best and all(a < 0.95 * best - 1e-12 for a in aps[:-1]))

