"""Related systems II: the zoo of Yang S. et al. (2022) and the FC-DenseNet with nine factors of Gao et al. (2021):
channel sets, tiles with named factors, the two-phase (frozen-encoder) training, class-weighted losses and the
published tables as data."""

from pathlib import Path

import numpy as np
import pytest
import torch
from rasterio.transform import from_origin

from landslide_utils.config.channels import CHANNEL_SETS, channel_names, channels_problem
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.config.schema import Experiment
from landslide_utils.config.study_inputs import unavailable_channel
from landslide_utils.models import build_model
from landslide_utils.models.losses import segmentation_loss
from landslide_utils.models.registry import encoder_of
from landslide_utils.steps.related_systems import RELATED_PAPERS, load_related, metric_value
from landslide_utils.tiles.tile import FACTOR_NAMES, TileData, read_tile, tile_channels, write_tile
from landslide_utils.training.datasets import TileDataset, leading_image_channels
from landslide_utils.training.loop import fit
from landslide_utils.training.sampling import phase_of

ROOT = Path(__file__).resolve().parents[1]
NINE = ("aspect", "curvature", "ndvi", "mndwi", "river_distance", "fault_distance", "lithology")


def _tile(h: int = 32, w: int = 32, *, seed: int = 0, extra: bool = True) -> TileData:
    rng = np.random.default_rng(seed)
    names = FACTOR_NAMES + (NINE if extra else ())
    inst = np.zeros((h, w), np.int32)
    inst[4:14, 6:16] = 1
    return TileData(image=rng.uniform(0, 255, (5, h, w)).astype(np.float32),
                    factors=rng.normal(size=(len(names), h, w)).astype(np.float32), instances=inst,
                    valid=np.ones((h, w), bool), transform=from_origin(500000, 4000000, 2, 2), crs="EPSG:32648",
                    factor_names=names, image_names=("red", "green", "blue", "nir", "swir"))


def test_channel_sets_and_lists() -> None:
    assert len(channel_names("rgb+factors9")) == 12
    assert channel_names("red+green+blue+slope") == ("red", "green", "blue", "slope")
    assert channels_problem(["red", "ndvi"]) is None
    assert "unknown channel name" in channels_problem(["red", "elevation"])
    assert "twice" in channels_problem(["red", "red"])
    exp = Experiment(name="x", model="unet", channels=["red", "green", "blue", "ndvi"], training_data="original")
    assert exp.channels == "red+green+blue+ndvi"
    with pytest.raises(ValueError, match="unknown channel set"):
        Experiment(name="x", model="unet", channels="rgb+everything", training_data="original")
    assert leading_image_channels("rgb+factors9") == 3


def test_tile_round_trip_keeps_factor_names(tmp_path: Path) -> None:
    tile = _tile()
    back = read_tile(write_tile(tmp_path / "t.tif", tile))
    assert back.factor_names == tile.factor_names and back.image_names == tile.image_names
    x = tile_channels(back, "rgb+factors9")
    assert x.shape == (12, 32, 32)
    np.testing.assert_array_equal(x[3], tile.factors[0])                      # dem
    np.testing.assert_array_equal(x[11], tile.factors[FACTOR_NAMES.__len__() + NINE.index("lithology")])
    np.testing.assert_array_equal(tile_channels(back, "nir+band5"), tile.image[3:5])
    old = read_tile(write_tile(tmp_path / "old.tif", _tile(extra=False)))  # a tile of Yang et al.'s three factors
    assert tile_channels(old, "rgb+factors").shape == (6, 32, 32)
    with pytest.raises(ValueError, match="no .aspect. channel"):
        tile_channels(old, "rgb+factors9")


def test_a_study_without_geology_cannot_choose_its_channels() -> None:
    smoke = load_profile(ROOT / "params/profiles/smoke.yaml")
    assert unavailable_channel(smoke, "rgb+factors9") is None
    plain = smoke.model_copy(update={"data": smoke.data.model_copy(update={
        "synthetic": smoke.data.synthetic.model_copy(update={"geology": False, "infrared_bands": False})})})
    msg = unavailable_channel(plain, "rgb+factors9")
    assert msg is not None and "ndvi" in msg
    assert unavailable_channel(plain, "rgb+factors") is None


def test_phases_of_two_phase_training() -> None:
    t = TrainingSpec(steps=10, batch_size=4, learning_rate=1e-5, frozen_share=0.5, frozen_learning_rate=1e-4,
                     frozen_batch_size=8)
    assert phase_of(t, 0, 100, 10) == (True, 1e-4, 8, 0)
    assert phase_of(t, 4, 100, 10) == (True, 1e-4, 8, 32)
    assert phase_of(t, 5, 100, 10) == (False, 1e-5, 4, 40)
    assert phase_of(t, 6, 100, 10) == (False, 1e-5, 4, 44)
    with pytest.raises(ValueError):
        TrainingSpec(steps=10, frozen_share=1.0)


def _dataset(tmp_path: Path, n: int = 4) -> TileDataset:
    paths = [write_tile(tmp_path / f"t{i}.tif", _tile(seed=i)) for i in range(n)]
    return TileDataset(paths, channels="rgb", mean=[128.0] * 3, std=[64.0] * 3, target="semantic")


def test_frozen_phase_leaves_the_encoder_unchanged(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("unet", 3)
    enc = encoder_of(model)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    dec_before = {k: v.clone() for k, v in model.net.decoder.state_dict().items()}
    t = TrainingSpec(steps=2, batch_size=2, optimizer="adam", learning_rate=1e-3, frozen_share=0.9,
                     augment=False, checkpoint_every=1)  # both steps frozen
    ds = _dataset(tmp_path)
    fit(model, ds, training=t, seed=0, checkpoint=tmp_path / "a.pt", meta={"model": "unet", "task": "semantic"},
        steps=2, progress=False)
    after = enc.state_dict()
    for k, v in before.items():  # weights and batch-norm statistics alike
        assert torch.equal(v, after[k]), k
    assert any(not torch.equal(v, model.net.decoder.state_dict()[k]) for k, v in dec_before.items())
    assert all(p.requires_grad for p in enc.parameters())  # restored after training
    # the second (unfrozen) half changes the encoder
    t2 = t.model_copy(update={"frozen_share": 0.0})
    model2 = build_model("unet", 3)
    model2.load_state_dict(model.state_dict())
    fit(model2, ds, training=t2, seed=0, checkpoint=tmp_path / "b.pt", meta={"model": "unet", "task": "semantic"},
        steps=2, progress=False)
    assert any(not torch.equal(v, encoder_of(model2).state_dict()[k]) for k, v in before.items())


def test_freezing_a_model_without_encoder_is_refused(tmp_path: Path) -> None:
    model = build_model("fcdensenet", 3)
    assert encoder_of(model) is None
    t = TrainingSpec(steps=2, batch_size=2, frozen_share=0.5, augment=False)
    with pytest.raises(ValueError, match="no encoder to freeze"):
        fit(model, _dataset(tmp_path), training=t, seed=0, checkpoint=tmp_path / "c.pt",
            meta={"model": "fcdensenet", "task": "semantic"}, progress=False)


def test_class_weights_weigh_the_landslide_pixels() -> None:
    logits = torch.zeros(1, 2, 2)
    target = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    valid = torch.ones(1, 2, 2)
    plain = segmentation_loss(logits, target, valid, name="bce")
    same = segmentation_loss(logits, target, valid, name="bce", class_weights=(3.0, 3.0))
    assert torch.allclose(plain, same)  # equal weights: the weighted mean is the mean
    logits = torch.tensor([[[-2.0, 0.0], [0.0, 0.0]]])  # the landslide pixel is badly wrong
    w = segmentation_loss(logits, target, valid, name="bce", class_weights=(1.0, 2.0))
    u = segmentation_loss(logits, target, valid, name="bce")
    assert w > u
    fd = segmentation_loss(logits, target, valid, name="focal_dice", class_weights=(1.0, 2.0))
    fu = segmentation_loss(logits, target, valid, name="focal_dice")
    assert torch.isfinite(fd) and fd > fu  # the weights reach the focal term of focal + Dice too


@pytest.mark.parametrize("name", ["deeplabv3plus", "fcdensenet", "segnet", "resunet"])
def test_registry_builds_the_new_families(name: str) -> None:
    torch.manual_seed(0)
    from landslide_utils.config.model_schema import MODEL_SPECS, FCDenseNetSpec, SegNetSpec
    spec = {"segnet": SegNetSpec(width=8), "fcdensenet": FCDenseNetSpec(growth_rate=4, down_blocks=(2, 2),
                                                                        bottleneck_layers=2)}.get(name)
    model = build_model(name, 12, spec=spec if spec is not None else MODEL_SPECS[name](encoder="resnet18")
                        if name == "deeplabv3plus" else spec)
    model.train()
    y = model(torch.randn(2, 12, 48, 40))  # any size: padded to the output stride and cropped back
    assert y.shape == (2, 1, 48, 40)
    y.mean().backward()


def test_published_tables_load_and_class_means() -> None:
    assert {"yang2022b", "gao2021"} <= set(RELATED_PAPERS)
    zoo = load_related("yang2022b", root=ROOT)
    assert zoo.metric_map["precision"] == "precision_mean"
    assert zoo.table.loc["yang2022b_pspnet_resnet50", "miou"] == pytest.approx(91.18)
    gao = load_related("gao2021", root=ROOT)
    assert gao.complexity.loc["gao2021_fcdensenet", "parameters"] == 2961676
    for paper in ("yang2022b", "gao2021"):
        for name in load_related(paper, root=ROOT).table.index:  # every row has its experiment file
            assert load_experiment(next((ROOT / "params/experiments").rglob(f"{name}.yaml"))).name == name
    m = {"tp": 8, "fp": 2, "fn": 4, "tn": 86}  # fp != fn: precision and recall differ, per class too
    assert metric_value(m, "precision_mean") == pytest.approx((8 / 10 + 86 / 90) / 2)
    assert metric_value(m, "recall_mean") == pytest.approx((8 / 12 + 86 / 88) / 2)
    assert metric_value({**m, "f1": 0.7}, "f1") == 0.7  # other metrics as recorded


def test_channel_sets_table_is_consistent() -> None:
    """The order of rgb+factors9 is the order of the model's input channels (and of their statistics)."""
    assert CHANNEL_SETS["rgb+factors9"] == ("red", "green", "blue", "dem", "slope", "aspect", "curvature", "ndvi",
                                            "mndwi", "river_distance", "fault_distance", "lithology")


def _checkpoint(path: Path, model_name: str = "fcdensenet", channels: str = "rgb") -> Path:
    from landslide_utils.config.model_schema import MODEL_SPECS
    from landslide_utils.training.checkpoint import save_checkpoint

    n = len(channel_names(channels))
    spec = MODEL_SPECS[model_name]()
    torch.manual_seed(0)
    model = build_model(model_name, n, spec=spec, num_classes=2, load_weights=False)
    meta = {"model": model_name, "task": "semantic", "channels": channels, "in_channels": n, "mean": [0.0] * n,
            "std": [1.0] * n, "experiment": "T", "spec": spec.model_dump(mode="json"), "num_classes": 2}
    return save_checkpoint(path, meta=meta, model=model, optimizer=None, scaler=None, step=1, steps=1,
                           train_seconds=0.0, final_loss=None)


def test_prediction_memory_grows_with_the_batch_and_the_weights(tmp_path: Path) -> None:
    """Table IX's memory, measured in a fresh process per model: a larger batch needs more memory for its
    activations, a model with ten times the weights more memory once loaded; a missing checkpoint is named."""
    from landslide_utils.prediction.memory import prediction_memories, prediction_memory

    small, big = _checkpoint(tmp_path / "small.pt"), _checkpoint(tmp_path / "big.pt", "segnet")  # 11 vs 112 MB
    one = prediction_memories({"small": small, "big": big}, tile_size=64, batch=1)
    eight = prediction_memory(small, tile_size=64, batch=8)
    assert one["small"]["device"] == "cpu" and one["small"]["tile_size"] == 64
    assert one["big"]["model_mb"] > one["small"]["model_mb"] + 80
    assert eight["prediction_mb"] > one["small"]["prediction_mb"] > 0
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        prediction_memory(tmp_path / "none.pt", tile_size=64)


def test_efficiency_table_carries_measured_memory() -> None:
    from landslide_utils.steps.related_systems import efficiency_table

    ref = load_related("gao2021", root=ROOT)
    eff = efficiency_table(ref, ROOT / "nowhere", {"gao2021_fcdensenet": {"model_mb": 12.3, "prediction_mb": 45.6,
                                                                          "peak_rss_mb": 400.0}})
    assert eff.loc["gao2021_fcdensenet", "prediction_mb"] == 45.6
    assert np.isnan(eff.loc["gao2021_segnet", "prediction_mb"])
    assert eff.loc["gao2021_segnet", "published_parameters"] == 29461253


def test_study_factor_analysis_finds_the_factor_that_places_the_landslides(tmp_path: Path) -> None:
    """On hand-made aligned layers where landslides sit only on steep slopes of one lithology unit, slope and
    lithology lead the importance and their frequency ratios single out the right classes."""
    import json

    import rasterio

    from landslide_utils.analysis.importance import study_factor_analysis

    rng = np.random.default_rng(0)
    h, w = 120, 100
    slope = rng.uniform(0, 60, (h, w)).astype(np.float32)
    litho = np.where(np.arange(w)[None, :] < 50, 1, 2).repeat(h, 0).astype(np.float32)
    noise = rng.normal(size=(h, w)).astype(np.float32)
    inst = ((slope > 40) & (litho == 2) & (rng.random((h, w)) < 0.8)).astype(np.int32)
    valid = np.ones((h, w), np.uint8)
    valid[:5] = 0
    prof = {"driver": "GTiff", "height": h, "width": w, "count": 1, "crs": "EPSG:32648",
            "transform": from_origin(500000, 4000000, 2, 2)}
    layers = {"dem": noise * 100 + 1000, "slope": slope, "river_level": np.zeros((h, w), np.float32),
              "curvature": noise, "lithology": litho, "instances": inst, "valid": valid}
    for name, arr in layers.items():
        with rasterio.open(tmp_path / f"{name}.tif", "w", dtype=arr.dtype, **prof) as dst:
            dst.write(arr[None])
    (tmp_path / "layers.json").write_text(json.dumps({"image": "x.tif", "image_bands": [1, 2, 3],
                                                      "extra_factors": ["curvature", "lithology"],
                                                      "lithology_units": ["hard", "weak"]}))
    imp, ratios = study_factor_analysis(tmp_path, k=4, n_samples=4000, seed=0)
    assert set(imp["factor"]) == {"dem", "slope", "curvature", "lithology"}
    assert set(imp["factor"].head(2)) == {"slope", "lithology"}
    assert imp["importance"].sum() == pytest.approx(1.0)
    lit = ratios["lithology"].set_index("class")["frequency_ratio"]
    assert lit["hard"] == 0 and lit["weak"] == pytest.approx(2.0, rel=0.05)  # all landslides on half the area
    sl = ratios["slope"]
    assert sl["frequency_ratio"].iloc[-1] > 1 > sl["frequency_ratio"].iloc[0]
    assert (ratios["slope"]["pixels"].sum() == (h - 5) * w)


def test_resized_splices_keep_class_codes_of_categorical_factors() -> None:
    """Background enhancement's resize mode averages continuous factors but never class codes (aspect,
    lithology, river level): every spliced code is one of the source codes."""
    from landslide_utils.enhance.samples import splice

    tiles = []
    for s in range(4):
        t = _tile(seed=s)
        i = t.factor_names.index("lithology")
        t.factors[i] = np.random.default_rng(s).integers(1, 4, (32, 32))
        t.factors[t.factor_names.index("aspect")] = np.random.default_rng(s + 9).integers(0, 9, (32, 32))
        if s:
            t.instances[:] = 0  # the three backgrounds
        tiles.append(t)
    tile, _ = splice(tiles[0], tiles[1:], rng=np.random.default_rng(0), mode="resize")
    for name, codes in (("lithology", {1, 2, 3}), ("aspect", set(range(9)))):
        got = set(np.unique(tile.factors[tile.factor_names.index(name)][tile.valid]).tolist())
        assert got <= codes, (name, got)
    curv = tile.factors[tile.factor_names.index("curvature")]  # averaged: values no source pixel had
    assert not np.isin(curv, np.concatenate([t.factors[t.factor_names.index("curvature")].ravel() for t in tiles])).all()


def test_deeplab_needs_a_dilatable_encoder_and_own_models_cannot_freeze(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """`check` names the key: DeepLabv3+ at output stride 8 on VGG16 (which cannot run dilated), and
    training.frozen_share on FC-DenseNet (no encoder to freeze); both would otherwise fail in training."""
    from landslide_utils.cli import main
    from landslide_utils.config.model_schema import DeepLabSpec
    from landslide_utils.models.registry import model_option_problem

    assert "cannot run at output stride 8" in model_option_problem("deeplabv3plus", DeepLabSpec(encoder="vgg16"))
    assert model_option_problem("deeplabv3plus", DeepLabSpec(encoder="mobilenet_v2")) is None
    exp = tmp_path / "frozen_dense.yaml"
    exp.write_text("name: frozen_dense\nmodel: fcdensenet\nchannels: rgb\ntraining_data: original\n"
                   "training: {frozen_share: 0.5}\n", encoding="utf-8")
    rc = main(["check", "--profile", str(ROOT / "params/profiles/smoke.yaml"), "--experiment", str(exp)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{exp}: key 'training.frozen_share': model fcdensenet has no pretrained-able encoder" in err
