"""The related systems (Liu et al. 2021, Chen et al. 2022): the bottom-up path, the Sobel edge loss, the FCN,
the focal loss's alpha convention, stratified folds, the imbalance ratio and landslide-tile copies, the
cross-validated experiment end to end, the experiment files and the published tables."""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.model_schema import FCNSpec, MaskRCNNSpec
from landslide_utils.config.overrides import evaluation_for, gpu_only_reason, model_spec_for, training_for
from landslide_utils.config.schema import Experiment
from landslide_utils.evaluation.test_area import evaluate_test_area
from landslide_utils.models import build_model
from landslide_utils.models.ensemble import ProbabilityMean
from landslide_utils.models.losses import bce, focal, sobel_edge_loss
from landslide_utils.models.maskrcnn import BottomUpPath, mask_loss_with_edge
from landslide_utils.runner.pipeline import step_skip_reason
from landslide_utils.runner.plan import experiment_files, plan_steps
from landslide_utils.steps.related_systems import (
    RELATED_PAPERS,
    cv_table,
    load_related,
    published_vs_measured,
    related_claims,
    single_run_claims,
    sweep_verdicts,
)
from landslide_utils.tiles.tile import write_tile
from landslide_utils.training import experiment as train_mod
from landslide_utils.training.checkpoint import load_checkpoint
from landslide_utils.training.crossval import stratified_folds
from landslide_utils.training.datasets import TileDataset, channel_stats
from landslide_utils.training.imbalance import augment_variant, imbalance_table, landslide_copies

from .study_project import ROOT
from .test_training_datasets import small_tile
from .test_training_loop import make_study

# ---------------------------------------------------------------- Liu et al. (2021)


def test_bottom_up_path_keeps_every_level_shape_and_channel_count() -> None:
    torch.manual_seed(0)
    sizes = [(32, 40), (16, 20), (8, 10), (4, 5), (2, 3)]
    p = OrderedDict((k, torch.randn(2, 16, h, w)) for k, (h, w) in zip(["0", "1", "2", "3", "pool"], sizes))
    path = BottomUpPath(16, 5)
    n = path(p)
    assert list(n) == list(p)
    assert [tuple(v.shape) for v in n.values()] == [tuple(v.shape) for v in p.values()]
    assert torch.equal(n["0"], p["0"])  # N2 = P2
    # N3 = ReLU(conv(ReLU(conv_s2(N2)) + P3)), by hand
    down = F.relu(path.down[0](p["0"]))
    assert torch.allclose(n["1"], F.relu(path.fuse[0](down + p["1"])), atol=1e-6)
    assert sum(m.weight.numel() for m in path.down) == 4 * 16 * 16 * 9


def test_improved_mask_rcnn_trains_and_predicts_with_bottom_up_path_and_edge_loss() -> None:
    torch.manual_seed(0)
    spec = MaskRCNNSpec(backbone="resnet18", fpn="bottom_up", mask_loss="bce+edge", rois_per_image=16,
                        proposals_test=50)
    model = build_model("maskrcnn", 3, spec=spec)
    assert type(model.backbone).__name__ == "BottomUpBackbone" and model.backbone.out_channels == 256
    masks = torch.zeros(1, 64, 64, dtype=torch.uint8)
    masks[0, 10:30, 20:40] = 1
    target = {"boxes": torch.tensor([[20.0, 10, 40, 30]]), "labels": torch.tensor([1]), "masks": masks}
    model.train()
    losses = model([torch.randn(3, 64, 64)], [target])
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.backbone.bottom_up.fuse[0].weight.grad is not None
    model.eval()
    with torch.no_grad():
        assert model([torch.randn(3, 64, 64)])[0]["masks"].shape[-2:] == (64, 64)
    # the swap of torchvision's mask loss is scoped to the call: a plain model is untouched afterwards
    from torchvision.models.detection import roi_heads

    assert roi_heads.maskrcnn_loss.__name__ == "maskrcnn_loss"


def test_sobel_edge_loss_zero_for_a_perfect_mask_positive_for_a_shifted_one_and_differentiable() -> None:
    target = torch.zeros(2, 28, 28)
    target[:, 8:20, 6:18] = 1
    assert sobel_edge_loss(target.clone(), target).item() == 0.0
    shifted = torch.roll(target, shifts=3, dims=-1).requires_grad_(True)
    loss = sobel_edge_loss(shifted, target)
    assert loss.item() > 0
    loss.backward()
    assert shifted.grad is not None and shifted.grad.abs().sum() > 0
    full = torch.ones(1, 28, 28)  # a mask filling its box has no edge at the border (replicate padding)
    assert sobel_edge_loss(full, full * 0 + 1).item() == 0.0
    with pytest.raises(ValueError, match="N, H, W"):
        sobel_edge_loss(torch.zeros(28, 28), torch.zeros(28, 28))


def test_mask_loss_with_edge_is_bce_plus_weighted_edge_term() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 28, 28)
    boxes = [torch.tensor([[0.0, 0, 28, 28], [0.0, 0, 28, 28]])]
    gt = torch.zeros(1, 28, 28)
    gt[0, 5:20, 5:20] = 1
    idx = [torch.tensor([0, 0])]
    labels = [torch.tensor([1])]
    plain = mask_loss_with_edge(logits, boxes, [gt], labels, idx, edge_weight=0.0)
    edged = mask_loss_with_edge(logits, boxes, [gt], labels, idx, edge_weight=2.0)
    from torchvision.models.detection.roi_heads import maskrcnn_loss

    assert torch.allclose(plain, maskrcnn_loss(logits, boxes, [gt], labels, idx))
    assert edged > plain


# ---------------------------------------------------------------- Chen et al. (2022)


@pytest.mark.parametrize("fuse,levels", [(2, 5), (8, 3)])
def test_fcn_fuses_the_chosen_levels_and_returns_input_sized_logits(fuse: int, levels: int) -> None:
    model = build_model("fcn", 4, spec=FCNSpec(encoder="resnet18", fuse_down_to=fuse))
    assert len(model.net.score) == levels
    out = model(torch.randn(2, 4, 70, 45))
    assert out.shape == (2, 1, 70, 45)


def test_focal_loss_against_a_hand_computed_case_and_bce_when_neutral() -> None:
    logits = torch.tensor([[2.0, -1.0]])
    target = torch.tensor([[1.0, 1.0]])
    valid = torch.ones(1, 2)
    p = 1 / (1 + math.exp(-2.0)), 1 / (1 + math.exp(1.0))
    gamma, alpha = 1.75, 0.25
    want = np.mean([-alpha * (1 - q) ** gamma * math.log(q) for q in p])
    got = focal(logits, target, valid, gamma=gamma, alpha=alpha, alpha_on="landslide")
    assert got.item() == pytest.approx(want, rel=1e-6)
    # alpha on the background: landslide pixels weigh 1 - alpha
    got_bg = focal(logits, target, valid, gamma=gamma, alpha=alpha, alpha_on="background")
    assert got_bg.item() == pytest.approx(want * (1 - alpha) / alpha, rel=1e-6)
    t = torch.tensor([[1.0, 0.0]])
    assert focal(logits, t, valid, gamma=0.0, alpha=None).item() == pytest.approx(bce(logits, t, valid).item())
    with pytest.raises(ValueError, match="focal_alpha_on"):
        focal(logits, t, valid, alpha=0.5, alpha_on="rocks")


@settings(max_examples=40, deadline=None)
@given(flags=st.lists(st.booleans(), min_size=5, max_size=60), k=st.integers(2, 5), seed=st.integers(0, 9))
def test_folds_are_disjoint_stratified_and_cover_the_tiles(flags: list[bool], k: int, seed: int) -> None:
    if len(flags) < k:
        with pytest.raises(ValueError, match="folds"):
            stratified_folds(flags, k=k, seed=seed)
        return
    fold = stratified_folds(flags, k=k, seed=seed)
    assert fold.shape == (len(flags),) and set(fold) <= set(range(k))  # every tile in exactly one fold
    sizes = np.bincount(fold, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    pos = np.bincount(fold[np.asarray(flags)], minlength=k)
    assert pos.max() - pos.min() <= 1  # stratified: landslide tiles spread evenly
    assert np.array_equal(fold, stratified_folds(flags, k=k, seed=seed))


def test_folds_refuse_one_fold() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        stratified_folds([True, False], k=1, seed=0)


def _ir_tiles(tmp_path: Path) -> list[Path]:
    paths = []
    for i, n_ls in enumerate([6, 0, 2]):  # 4 x 4 tiles with 6, 0 and 2 landslide pixels; one invalid pixel each
        inst = np.zeros((4, 4), np.int32)
        inst.flat[:n_ls] = 1
        valid = np.ones((4, 4), bool)
        valid[3, 3] = False
        paths.append(write_tile(tmp_path / f"t{i}.tif", small_tile(np.ones((3, 4, 4)), instances=inst, valid=valid)))
    return paths


def test_imbalance_ratio_before_and_after_the_landslide_copies_by_hand(tmp_path: Path) -> None:
    table = imbalance_table(_ir_tiles(tmp_path))
    # before: landslide 6 + 0 + 2 = 8; non-landslide (15 - 6) + 15 + (15 - 2) = 37
    assert table.loc["before", "landslide_pixels"] == 8 and table.loc["before", "non_landslide_pixels"] == 37
    assert table.loc["before", "IR"] == pytest.approx(37 / 8)
    # after: three copies of the two landslide tiles: + 3 x 8 landslide, + 3 x (9 + 13) non-landslide
    assert table.loc["after", "landslide_pixels"] == 32 and table.loc["after", "non_landslide_pixels"] == 103
    assert table.loc["after", "IR"] == pytest.approx(103 / 32) and table.loc["after", "tiles"] == 9
    copies, codes = landslide_copies(_ir_tiles(tmp_path))
    assert [p.name for p in copies] == ["t0.tif"] * 3 + ["t2.tif"] * 3 and codes == [1, 2, 3] * 2


def test_landslide_copies_flip_targets_with_the_image_and_touch_image_bands_only() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (6, 8, 8)).astype(np.float32)
    inst = np.zeros((8, 8), np.int32)
    inst[1:3, 0:2] = 5
    valid = np.ones((8, 8), bool)
    valid[0, 0] = False
    for code, axes in ((1, (-1,)), (2, (-2,)), (3, (-2, -1))):
        out, out_inst, out_valid = augment_variant(code, x, inst, valid, image_bands=3, rng=np.random.default_rng(1))
        assert np.array_equal(out_inst, np.flip(inst, axes)) and np.array_equal(out_valid, np.flip(valid, axes))
        assert np.array_equal(out[3:], np.flip(x[3:], axes))  # factor channels only move
        assert not np.allclose(out[:3], np.flip(x[:3], axes))  # the image bands are filtered / stretched / noisy
        assert np.isfinite(out).all()
    same = augment_variant(0, x, inst, valid, image_bands=3, rng=np.random.default_rng(1))
    assert same[0] is x
    with pytest.raises(ValueError, match="variant"):
        augment_variant(7, x, inst, valid, image_bands=3, rng=np.random.default_rng(1))


def test_dataset_copies_are_normalised_like_their_tile(tmp_path: Path) -> None:
    paths = _ir_tiles(tmp_path)
    mean, std = channel_stats(paths, "rgb")
    ds = TileDataset([paths[0], paths[0]], channels="rgb", mean=mean, std=std, target="semantic", variants=[0, 1])
    x0, t0 = ds.load(0)
    x1, t1 = ds.load(1)
    assert torch.equal(t1["mask"], torch.flip(t0["mask"], dims=(-1,)))
    with pytest.raises(ValueError, match="variant codes"):
        TileDataset(paths, channels="rgb", mean=mean, std=std, target="semantic", variants=[0])


def test_probability_mean_averages_probabilities() -> None:
    class Const(torch.nn.Module):
        def __init__(self, logit: float) -> None:
            super().__init__()
            self.logit = logit

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full((x.shape[0], 1, 2, 2), self.logit)

    ens = ProbabilityMean([Const(0.0), Const(math.log(3.0))])  # probabilities 0.5 and 0.75
    assert torch.sigmoid(ens(torch.zeros(1, 3, 2, 2))).mean().item() == pytest.approx(0.625, rel=1e-5)


def test_cross_validated_experiment_trains_folds_and_reports_each(tmp_path: Path) -> None:
    profile = make_study(tmp_path, steps=2, every=1)
    e = Experiment(name="fcn_cv", model="fcn", channels="rgb", training_data="original",
                   training={"loss": "focal", "focal_alpha": 0.25, "focal_alpha_on": "background",
                             "landslide_augmentation": "chen2022"}, evaluation={"cv_folds": 2})
    res = train_mod.train_experiment(profile, e, root=tmp_path, progress=False)
    out = tmp_path / "data" / profile.name / "experiments" / "fcn_cv"
    assert (out / "fold_1" / "checkpoint.pt").is_file() and (out / "fold_2" / "checkpoint.pt").is_file()
    model, meta = load_checkpoint(res.checkpoint)
    assert isinstance(model, ProbabilityMean) and meta["ensemble"] == 2 and len(model.members) == 2
    f1 = load_checkpoint(out / "fold_1" / "checkpoint.pt")[1]
    f2 = load_checkpoint(out / "fold_2" / "checkpoint.pt")[1]
    assert not set(f1["validation_fold"]) & set(f2["validation_fold"])  # disjoint validation folds
    assert len(f1["validation_fold"]) + len(f2["validation_fold"]) == 4  # covering the 4 training tiles
    assert f1["n_train_tiles"] == 2 and f1["n_augmented_copies"] > 0
    metrics = evaluate_test_area(profile, e, root=tmp_path, progress=False)
    assert len(metrics["cv"]["folds"]) == 2 and set(metrics["cv"]["test_mean"]) >= {"f1", "miou"}
    assert (out / "fold_2" / "error_map.tif").is_file() and (out / "error_map.tif").is_file()
    again = train_mod.train_experiment(profile, e, root=tmp_path, progress=False)
    assert again.reused
    table = cv_table(tmp_path / "reports" / profile.name / "metrics", "fcn_cv")
    assert list(table.index) == ["fold 1", "fold 2", "mean", "SD", "averaged model"]
    with pytest.raises(ValueError, match="semantic"):
        train_mod.train_experiment(profile, Experiment(name="m_cv", model="maskrcnn", channels="rgb",
                                                       training_data="original", evaluation={"cv_folds": 2}),
                                   root=tmp_path, progress=False)


# ---------------------------------------------------------------- files and tables


def test_related_experiment_files_validate_and_resolve() -> None:
    profile = load_profile(ROOT / "params/profiles/related.yaml")
    names = {p.stem: p for p in experiment_files(ROOT)}
    for paper in RELATED_PAPERS:
        for name in load_related(paper, root=ROOT).table.index:
            e = load_experiment(names[name])
            assert e.name == name
            spec = model_spec_for(profile, e)
            if paper == "liu2021":
                assert spec.backbone == "resnext50_32x4d" and gpu_only_reason(profile, name) is not None
            elif paper == "chen2022":
                assert e.model == "fcn" and training_for(profile, e).loss in ("bce", "focal")
            else:  # the zoo and Gao et al.'s systems train with Adam (tests/test_steps_related_systems_ii.py)
                assert training_for(profile, e).optimizer == "adam"
    flk = load_experiment(names["chen2022_fcn_flk"])
    assert evaluation_for(profile, flk).cv_folds == 5
    assert model_spec_for(profile, load_experiment(names["liu2021_bottom_up_edge"])).mask_loss == "bce+edge"
    assert training_for(profile, load_experiment(names["yang2022b_pspnet_mobilenet"])).steps == 400
    assert training_for(profile, load_experiment(names["chen2022_fcn"])).steps == 150  # no override: the base
    assert gpu_only_reason(profile, "chen2022_fcn") is None
    assert profile.prepared_by == (ROOT / "params/profiles/quick.yaml").resolve()


def test_experiment_keys_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmodel: fcn\nchannels: rgb\ntraining_data: original\nmodel_options: {backbone: x}\n")
    with pytest.raises(ConfigError, match="model_options.backbone"):
        load_experiment(bad)
    bad.write_text("name: bad\nmodel: fcn\nchannels: rgb\ntraining_data: original\nevaluation: {threshold: 0.3}\n")
    with pytest.raises(ConfigError, match="evaluation.threshold"):
        load_experiment(bad)
    bad.write_text("name: bad\nmodel: fcn\nchannels: rgb\ntraining_data: original\nevaluation: {cv_folds: 1}\n")
    profile = load_profile(ROOT / "params/profiles/smoke.yaml")
    with pytest.raises(ConfigError, match="cv_folds"):
        evaluation_for(profile, load_experiment(bad))


def test_experiment_files_in_subfolders_must_have_unique_names(tmp_path: Path) -> None:
    folder = tmp_path / "params" / "experiments"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    for sub in ("a", "b"):
        (folder / sub / "same.yaml").write_text("name: same\n")
    with pytest.raises(ConfigError, match="two experiment files"):
        experiment_files(tmp_path)


def test_step_08_is_skipped_without_related_experiments() -> None:
    smoke = load_profile(ROOT / "params/profiles/smoke.yaml")
    step = plan_steps(root=ROOT, profile_path=ROOT / "params/profiles/smoke.yaml", steps=["08"])[0]
    assert "no related-system experiment" in step_skip_reason(step, smoke)  # smoke: the paper's eight
    assert step_skip_reason(step, load_profile(ROOT / "params/profiles/smoke_related.yaml")) is None
    only_yang = smoke.model_copy(update={"experiments": ("I", "V")})
    assert "no related-system experiment" in step_skip_reason(step, only_yang)


def test_published_tables_and_single_run_claims(tmp_path: Path) -> None:
    liu = load_related("liu2021", root=ROOT)
    assert liu.table.loc["liu2021_bottom_up_edge", "f1"] == 94.5 and liu.metric_map["miou"] == "iou_landslide"
    chen = load_related("chen2022", root=ROOT)
    assert chen.table.loc["chen2022_fcn_flk", "f1"] == pytest.approx(62.0)  # printed as a fraction, 0.62
    assert chen.imbalance.loc["after", "IR"] == pytest.approx(3.1)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    for name, f1, tp in (("liu2021_resnext50", 0.40, 10), ("liu2021_bottom_up", 0.45, 12),
                         ("liu2021_bottom_up_edge", 0.0, 0)):
        (metrics / f"{name}.json").write_text(json.dumps({"precision": 0.5, "recall": 0.5, "f1": f1, "oa": 0.9,
                                                          "iou_landslide": 0.3, "miou": 0.6, "ap": f1 / 2,
                                                          "tp": tp, "fp": 3 if tp else 0}))
    claims = single_run_claims(liu, metrics)
    assert claims["verdict"].tolist() == ["holds", "not testable (empty map: liu2021_bottom_up_edge)"]
    assert claims.loc[0, "measured_difference"] == pytest.approx(5.0)
    assert claims.loc[0, "ap_difference"] == pytest.approx(2.5)
    assert claims.loc[0, "published_difference"] == pytest.approx(87.7 - 84.5)
    pvm = published_vs_measured(liu, metrics)
    row = pvm[(pvm["experiment"] == "liu2021_resnext50") & (pvm["metric"] == "miou")].iloc[0]
    assert row["compared_with"] == "iou_landslide" and row["measured"] == pytest.approx(30.0)
    (metrics / "liu2021_bottom_up_edge.json").unlink()
    assert single_run_claims(liu, metrics)["verdict"].tolist() == ["holds", "not testable"]
    assert {c.better for c in related_claims(root=ROOT)} >= {"liu2021_bottom_up", "chen2022_fcn_flk"}
    with pytest.raises(ValueError, match="unknown related paper"):
        load_related("nobody2020", root=ROOT)


def test_check_flags_an_override_pattern_that_matches_no_experiment(tmp_path: Path) -> None:
    from landslide_utils.runner.preflight import preflight

    text = (ROOT / "params/profiles/smoke.yaml").read_text(encoding="utf-8")
    prof = tmp_path / "params" / "profiles" / "smoke.yaml"
    prof.parent.mkdir(parents=True)
    prof.write_text(text + 'experiment_overrides:\n  "liu2012_*": {training: {steps: 2}}\n', encoding="utf-8")
    import shutil

    shutil.copytree(ROOT / "params/experiments", tmp_path / "params/experiments")
    found = preflight(prof, root=tmp_path).findings
    assert any(f.level == "warning" and "experiment_overrides.liu2012_*" in f.message for f in found)


def _reference_project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "params" / "reference").mkdir(parents=True)
    (tmp_path / "params" / "reference" / "liu2021.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("text, key", [
    ("rows: {a: {f1: 1}}\n", "'metrics'"),
    ("metrics: {f1: f1}\nrows: {a: [1, 2]}\n", "rows.a"),
    ("metrics: {f1: f1}\nrows: {a: {f1: high}}\n", "rows.a.f1"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\nclaims: [{claim: x, better: a, metric: f1}]\n", "claims[0] lacks base"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\nclaims: [{claim: x, better: a, base: b, metric: f1}]\n",
     "claims[0].base names 'b'"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\nimbalance: 3\n", "'imbalance'"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\ncomplexity: {a: {parameters: 5, test_seconds: 1}}\n",
     "complexity.a.ram_mb must be a number"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\ncomplexity: {b: {parameters: 5, ram_mb: 1, test_seconds: 1}}\n",
     "complexity.b is none of the rows"),
    ("metrics: {f1: f1}\nrows: {a: {f1: 1}}\ntable: [4]\n", "key 'table'"),
])
def test_a_broken_reference_file_is_a_message_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    root = _reference_project(tmp_path, text)
    with pytest.raises(ValueError, match=re.escape(key)) as err:
        load_related("liu2021", root=root)
    assert "liu2021.yaml" in str(err.value)


def test_sweep_verdicts_read_the_related_claims_of_every_related_sweep(tmp_path: Path) -> None:
    refs = {p: load_related(p, root=ROOT) for p in RELATED_PAPERS}
    assert sweep_verdicts(tmp_path, refs) is None
    name = refs["chen2022"].claims[1].name
    for sweep, est in (("related_fcn", 0.094), ("related", 0.05), ("claims", 0.2)):
        (tmp_path / sweep / "tables").mkdir(parents=True)
        (tmp_path / sweep / "tables" / "claims.csv").write_text(
            "name,claim,metric,n,estimate,ci_low,ci_high,verdict\n"
            f"{name},k-fold,f1,3,{est},0.025,0.217,holds\nI vs II: f1,yang,f1,5,0.1,0.0,0.2,holds\n")
    got = sweep_verdicts(tmp_path, refs)
    assert got["sweep"].tolist() == ["related", "related_fcn"]  # only related* sweeps, only related claims
    assert got["estimate"].tolist() == [5.0, 9.4] and got["ci_high"].tolist() == [21.7, 21.7]


def test_experiment_weights_resolve_against_the_experiment_file(tmp_path: Path) -> None:
    folder = tmp_path / "exps"
    folder.mkdir()
    (folder / "w.yaml").write_text("name: w\nmodel: unet\nchannels: rgb\ntraining_data: original\n"
                                   "model_options: {pretrained_weights: weights/enc.pt}\n")
    exp = load_experiment(folder / "w.yaml")
    assert Path(exp.model_options["pretrained_weights"]) == (folder / "weights" / "enc.pt").resolve()
    profile = load_profile(ROOT / "params/profiles/smoke.yaml")
    assert model_spec_for(profile, exp).pretrained_weights == (folder / "weights" / "enc.pt").resolve()
