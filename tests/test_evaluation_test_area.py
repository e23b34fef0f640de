"""Prediction, stitching and the metrics file, with fake models that see the ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import Affine
from scipy import ndimage
from torch import nn

from landslide_utils.config.model_schema import EvaluationSpec
from landslide_utils.evaluation import test_area as predict_mod
from landslide_utils.paths import StudyPaths
from landslide_utils.prediction import tiles as tile_prediction
from landslide_utils.tiles.tile import read_tile
from landslide_utils.training.experiment import train_experiment

from .test_training_loop import ORIGIN, PIX, exp, make_study

REQUIRED = {"experiment", "model", "channels", "training_data", "precision", "recall", "f1", "miou",
            "iou_landslide", "iou_background", "oa", "kappa", "tp", "fp", "fn", "tn", "seed", "train_seconds",
            "steps", "object_recall_by_size"}
RED_THRESHOLD = 120.0  # landslide rectangles have red 170, background about 70


class TruthSeg(nn.Module):
    """A 'U-Net' whose logit is high where the (de-normalised) red channel shows a landslide."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.thr = (RED_THRESHOLD - mean) / std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, :1] - self.thr) * 100.0


class TruthInstances(nn.Module):
    """A 'Mask R-CNN' returning one instance per landslide blob, score 0.9, plus one decoy with score 0.3."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.thr = (RED_THRESHOLD - mean) / std

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outs = []
        for x in images:
            lab, n = ndimage.label((x[0] > self.thr).numpy())
            masks = [torch.from_numpy(lab == i).float() for i in range(1, n + 1)]
            decoy = torch.zeros(x.shape[-2:])
            decoy[:4, :4] = 1.0
            masks.append(decoy)
            scores = [0.9] * n + [0.3]
            outs.append({"boxes": torch.zeros(len(masks), 4), "labels": torch.ones(len(masks), dtype=torch.int64),
                         "scores": torch.tensor(scores), "masks": torch.stack(masks)[:, None]})
        return outs


def _meta(model: str, mean: list[float], std: list[float]) -> dict:
    return {"model": model, "task": "instance" if model == "maskrcnn" else "semantic", "channels": "rgb",
            "in_channels": 3, "mean": mean, "std": std, "training_data": "original", "seed": 0, "step": 0,
            "train_seconds": 1.5}


@pytest.mark.parametrize("model", ["unet", "maskrcnn"])
def test_stitching_with_a_perfect_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    profile = make_study(tmp_path)
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    fake = TruthSeg(mean[0], std[0]) if model == "unet" else TruthInstances(mean[0], std[0])
    monkeypatch.setattr(predict_mod, "load_checkpoint", lambda path, device: (fake, _meta(model, mean, std)))
    e = exp(model)
    m = predict_mod.evaluate_test_area(profile, e, root=tmp_path, progress=False)
    assert m["precision"] == 1.0 and m["recall"] == 1.0 and m["fp"] == 0 and m["fn"] == 0
    assert m["tp"] == 14 * 14 + 20 * 10 + 12 * 12 + 6 * 6
    assert m["valid_pixels"] == 4 * 64 * 64 - 16 * 64
    assert REQUIRED <= m.keys()
    assert m["object_recall_by_size"][-1] == {"class": "all", "n": 4, "hit": 4, "recall": 1.0}
    on_disk = json.loads((StudyPaths("tiny", tmp_path).metrics / f"{e.name}.json").read_text())
    assert REQUIRED <= on_disk.keys()

    out = StudyPaths("tiny", tmp_path).experiment(e.name)
    with rasterio.open(out / "prediction.tif") as src:
        pred = src.read(1)
        assert src.crs.to_epsg() == 32648 and src.nodata == 255
        assert src.transform == Affine(PIX, 0, ORIGIN[0], 0, -PIX, ORIGIN[1] - 128 * PIX)
        assert src.shape == (128, 128)
    # tile test_r003_c001 (row_off 192, col_off 64) sits at window offset (64, 64); its last 16 rows are padding
    tile = read_tile(StudyPaths("tiny", tmp_path).tiles / "test" / "test_r003_c001.tif")
    np.testing.assert_array_equal(pred[64:, 64:][tile.valid], (tile.instances > 0)[tile.valid])
    assert (pred[64:, 64:][~tile.valid] == 255).all()
    with rasterio.open(out / "error_map.tif") as src:
        codes = src.read(1)
        assert set(np.unique(codes)) == {0, 1, 2}
    polys = gpd.read_file(out / "prediction.gpkg")
    assert len(polys) == 4 and {"area_m2", "score"} <= set(polys.columns)
    assert polys["area_m2"].sum() == pytest.approx(m["tp"] * PIX * PIX)
    assert polys.area.sum() == pytest.approx(polys["area_m2"].sum())
    assert (polys["score"] > 0.5).all()


def test_predict_tiles_thresholds_and_channel_check(tmp_path: Path) -> None:
    make_study(tmp_path)
    tiles = sorted((StudyPaths("tiny", tmp_path).tiles / "test").glob("*.tif"))
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    fake = TruthInstances(mean[0], std[0])
    preds = list(tile_prediction.predict_tiles(fake, _meta("maskrcnn", mean, std), tiles, batch_size=3))
    assert [p.tile_id for p in preds] == [t.stem for t in tiles]
    assert all(not p.mask[:4, :4].any() or p.mask[:4, :4].all() for p in preds)  # decoy (0.3) dropped
    assert all(all(i["score"] >= 0.5 for i in p.instances) for p in preds)
    none = list(tile_prediction.predict_tiles(fake, _meta("maskrcnn", mean, std), tiles[:1],
                                          evaluation=EvaluationSpec(score_threshold=0.95)))
    assert not none[0].mask.any() and none[0].instances == []
    six = _meta("maskrcnn", mean * 2, std * 2) | {"channels": "rgb+factors", "in_channels": 6}
    with pytest.raises(ValueError, match="statistics|channels"):
        list(tile_prediction.predict_tiles(fake, six | {"mean": mean, "std": std}, tiles[:1]))


def test_evaluation_batch_size_sets_the_batches_and_keeps_the_maps(tmp_path: Path) -> None:
    """``evaluation.batch_size`` is the number of tiles a forward pass sees (the lab profile's 1 bounds Mask
    R-CNN's memory), and the predictions do not depend on it."""
    make_study(tmp_path)
    tiles = sorted((StudyPaths("tiny", tmp_path).tiles / "test").glob("*.tif"))
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    seen: list[int] = []

    class Counting(TruthInstances):
        def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
            seen.append(len(images))
            return super().forward(images)

    fake = Counting(mean[0], std[0])
    meta = _meta("maskrcnn", mean, std)
    by_four = list(tile_prediction.predict_tiles(fake, meta, tiles))
    assert max(seen) == min(4, len(tiles)) and len(tiles) > 1
    seen.clear()
    one = list(tile_prediction.predict_tiles(fake, meta, tiles, evaluation=EvaluationSpec(batch_size=1)))
    assert seen == [1] * len(tiles)
    assert all((a.mask == b.mask).all() and (a.score == b.score).all() for a, b in zip(by_four, one))


def test_evaluate_after_training_and_mismatch(tmp_path: Path) -> None:
    profile = make_study(tmp_path, steps=1)
    e = exp("pspnet", "rgb", name="VII")
    with pytest.raises(FileNotFoundError, match="run the experiment first"):
        predict_mod.evaluate_test_area(profile, e, root=tmp_path, progress=False)
    train_experiment(profile, e, root=tmp_path, progress=False)
    m = predict_mod.evaluate_test_area(profile, e, root=tmp_path, progress=False)
    assert REQUIRED <= m.keys() and m["steps"] == 1 and m["model"] == "pspnet"
    assert 0.0 <= m["f1"] <= 1.0 and m["tp"] + m["fp"] + m["fn"] + m["tn"] == m["valid_pixels"]
    with pytest.raises(ValueError, match="channels='rgb'.*force=True"):
        predict_mod.evaluate_test_area(profile, exp("pspnet", "rgb+factors", name="VII"), root=tmp_path,
                                       progress=False)


def test_result_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    from landslide_utils.plots.results import (
        plot_error_map,
        plot_sample_tiles,
        plot_training_curve,
        plot_training_curves,
    )

    profile = make_study(tmp_path)
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    monkeypatch.setattr(predict_mod, "load_checkpoint",
                        lambda path, device: (TruthSeg(mean[0], std[0]), _meta("unet", mean, std)))
    e = exp("unet", name="V")
    predict_mod.evaluate_test_area(profile, e, root=tmp_path, progress=False)
    out = StudyPaths("tiny", tmp_path).experiment("V")
    (out / "loss.csv").write_text("step,loss,lr,seconds\n1,0.9,0.01,0.5\n2,0.7,0.01,1.0\n3,0.6,0.01,1.4\n")
    figs = [plot_training_curve(out / "loss.csv", save=tmp_path / "f" / "curve.png"),
            plot_error_map(out / "error_map.tif", title="Experiment V", save=tmp_path / "f" / "err.png"),
            plot_sample_tiles(profile, [e, e], n=5, root=tmp_path, save=tmp_path / "f" / "tiles.png")]
    assert all(isinstance(f, Figure) for f in figs)
    (out / "validation.csv").write_text("step,seconds,val_loss,val_ap,val_f1,val_threshold\n"
                                        "1,0.5,0.8,0.4,0.3,0.5\n3,1.4,0.6,0.7,0.6,0.5\n")
    small = plot_training_curves({"V": out / "loss.csv", "W": tmp_path / "missing.csv"},
                                 save=tmp_path / "f" / "curves.png")
    assert "best val. AP 0.70 at step 3" in small.axes[0].get_title()  # the validation AP beside the loss
    assert "no loss log" in small.axes[1].get_title()
    assert len(figs[2].axes) == 3 * 4  # three test tiles hold landslides; image, truth, two predictions
    assert all((tmp_path / "f" / n).stat().st_size > 0 for n in ("curve.png", "err.png", "tiles.png"))
    with pytest.raises(FileNotFoundError, match="evaluate experiment W first"):
        plot_sample_tiles(profile, exp("unet", name="W"), root=tmp_path)


class Background(nn.Module):
    """A 'U-Net' that says background everywhere (probability about 0.002)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], -6.0)


def _with(profile, **evaluation):
    return profile.model_copy(update={"evaluation": profile.evaluation.model_copy(update=evaluation),
                                      "training": profile.training.model_copy(update={"validation_share": 0.5})})


def test_decision_threshold_fixed_value_and_validation() -> None:
    unet, rcnn = _meta("unet", [0.0] * 3, [1.0] * 3), _meta("maskrcnn", [0.0] * 3, [1.0] * 3)
    ev = EvaluationSpec(score_threshold=0.7, mask_threshold=0.4)
    assert tile_prediction.decision_threshold(unet, ev) == (0.4, "fixed")
    assert tile_prediction.decision_threshold(rcnn, ev) == (0.7, "fixed")
    assert tile_prediction.decision_threshold(unet, ev.model_copy(update={"threshold": 0.2})) == (0.2, "value")
    val = ev.model_copy(update={"threshold": "validation"})
    with pytest.raises(ValueError, match="no validation threshold.*validation_share"):
        tile_prediction.decision_threshold(unet, val)
    assert tile_prediction.decision_threshold(unet | {"validation": {"threshold": 0.13}}, val) == (0.13, "validation")


def test_predict_tiles_uses_the_stored_validation_threshold(tmp_path: Path) -> None:
    make_study(tmp_path)
    tiles = sorted((StudyPaths("tiny", tmp_path).tiles / "test").glob("*.tif"))
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    fake = TruthInstances(mean[0], std[0])
    meta = _meta("maskrcnn", mean, std) | {"validation": {"threshold": 0.25}}
    val = EvaluationSpec(threshold="validation")
    with_decoy = list(tile_prediction.predict_tiles(fake, meta, tiles, evaluation=val))
    fixed = list(tile_prediction.predict_tiles(fake, meta, tiles))
    # the decoy instance (score 0.3) is below the fixed 0.5 but above the stored 0.25
    assert all(p.mask[:4, :4].all() for p in with_decoy) and not any(p.mask[:4, :4].all() for p in fixed)


def test_guard_fires_on_a_model_that_predicts_background_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               recwarn: pytest.WarningsRecorder) -> None:
    profile = _with(make_study(tmp_path))
    monkeypatch.setattr(predict_mod, "load_checkpoint",
                        lambda path, device: (Background(), _meta("unet", [100.0, 110.0, 60.0], [30.0, 10.0, 10.0])))
    monkeypatch.setattr(predict_mod, "update_meta", lambda path, **kw: kw)
    m = predict_mod.evaluate_test_area(profile, exp("unet"), root=tmp_path, progress=False)
    assert m["tp"] == m["fp"] == 0 and m["threshold_source"] == "fixed" and m["threshold"] == 0.5
    assert len(m["warnings"]) == 1
    text = m["warnings"][0]
    assert "no landslide pixel on its 2 validation tiles" in text and "% of the training tiles' pixels" in text
    assert "evaluation.threshold: validation" in text and "training.loss" not in text  # already the default loss
    assert any("no landslide pixel" in str(w.message) for w in recwarn)
    on_disk = json.loads((StudyPaths("tiny", tmp_path).metrics / "unet_rgb_original.json").read_text())
    assert on_disk["warnings"] == m["warnings"]
    # a perfect model raises no warning, and 'validation' decides at the threshold chosen on validation tiles
    mean, std = [100.0, 110.0, 60.0], [30.0, 10.0, 10.0]
    monkeypatch.setattr(predict_mod, "load_checkpoint",
                        lambda path, device: (TruthSeg(mean[0], std[0]), _meta("unet", mean, std)))
    good = predict_mod.evaluate_test_area(_with(profile, threshold="validation"), exp("unet"), root=tmp_path,
                                          progress=False)
    assert good["warnings"] == [] and good["threshold_source"] == "validation"
    assert good["threshold"] == good["validation"]["threshold"] and good["f1"] == 1.0


def test_validation_threshold_needs_validation_tiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = make_study(tmp_path)
    bad = profile.model_copy(update={"evaluation": profile.evaluation.model_copy(update={"threshold": "validation"})})
    monkeypatch.setattr(predict_mod, "load_checkpoint",
                        lambda path, device: (Background(), _meta("unet", [100.0, 110.0, 60.0], [30.0, 10.0, 10.0])))
    with pytest.raises(ValueError, match="holds out no validation tiles.*validation_share"):
        predict_mod.evaluate_test_area(bad, exp("unet"), root=tmp_path, progress=False)


def test_guard_advice_follows_the_model_and_its_loss() -> None:
    kw = dict(experiment="V", where="its 6 validation tiles", threshold=0.5, max_score=0.42, prevalence=0.0071)
    bce = predict_mod.empty_prediction_warning(source="fixed", loss="bce", **kw)
    assert "0.71 % of the training tiles' pixels" in bce and "highest score 0.42" in bce
    assert "evaluation.threshold: validation" in bce and "training.loss: bce_dice (the default; this model trained with bce)" in bce
    maskrcnn = predict_mod.empty_prediction_warning(source="validation", loss=None, **kw)
    assert "training.loss" not in maskrcnn and "evaluation.threshold" not in maskrcnn and "training.steps" in maskrcnn
    # an empty map on the validation tiles does not make the test metrics zeros; an empty test area does
    assert "zeros" not in bce and "AP, which needs no threshold" in bce
    test_area = predict_mod.empty_prediction_warning(source="fixed", loss=None, **{**kw, "where": "the test area"})
    assert "Its metrics are zeros because the map is empty" in test_area
