"""Every experiment file's model at unit level: built from its experiment file (on the smoke profile's model
sections), forward and backward on a tiny batch, one optimiser step of the training loop's ``train_step`` with the
experiment's own optimiser and loss, a checkpoint saved and loaded back to the same outputs, and - for the RGB
experiments - ``predict`` on a tiny GeoTIFF scene. The end-to-end notebook tests run only some experiments; this
covers each model variant the experiment files name (backbones, FPN paths, mask losses, encoders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin

from landslide_utils.config.channels import channel_names
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.model_schema import MODEL_NAMES
from landslide_utils.config.overrides import training_for
from landslide_utils.models import build_model, model_task, spec_for
from landslide_utils.prediction.scene import predict_scene
from landslide_utils.training.checkpoint import load_checkpoint, save_checkpoint
from landslide_utils.training.loop import make_optimizer, train_step

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT_FILES = sorted((ROOT / "params/experiments").rglob("*.yaml"))
SIZE = 64
CRS = "EPSG:32648"


def _batch(task: str, n_channels: int, seed: int = 0) -> tuple[list[torch.Tensor], list[dict]]:
    """Two normalised 64 x 64 tiles, each with one square landslide, as the training loop feeds a model."""
    g = torch.Generator().manual_seed(seed)
    images, targets = [], []
    for k in range(2):
        x = torch.randn(n_channels, SIZE, SIZE, generator=g)
        mask = torch.zeros(SIZE, SIZE)
        r, c = 10 + 12 * k, 14 + 8 * k
        mask[r:r + 20, c:c + 18] = 1
        x[:, mask.bool()] += 1.5  # the landslide differs from its surroundings
        images.append(x)
        if task == "instance":
            targets.append({"boxes": torch.tensor([[c, r, c + 18, r + 20]], dtype=torch.float32),
                            "labels": torch.ones(1, dtype=torch.int64), "masks": mask[None].to(torch.uint8)})
        else:
            targets.append({"mask": mask, "valid": torch.ones(SIZE, SIZE, dtype=torch.bool)})
    return images, targets


def _scene(path: Path) -> Path:
    rng = np.random.default_rng(3)
    img = (rng.random((3, 96, 96)) * 120 + 40).astype(np.uint8)
    img[:, 30:60, 40:70] = 200
    with rasterio.open(path, "w", driver="GTiff", height=96, width=96, count=3, dtype="uint8", crs=CRS,
                       transform=from_origin(500_000, 3_000_000, 4.0, 4.0), nodata=0) as dst:
        dst.write(img)
    return path


def test_every_model_family_of_the_registry_has_an_experiment_file() -> None:
    names = {p.stem for p in EXPERIMENT_FILES}
    assert {"I", "IV", "V", "VIII", "liu2021_bottom_up_edge", "chen2022_fcn_flk", "yang2022b_deeplab_xception",
            "gao2021_fcdensenet_factors"} <= names
    assert {load_experiment(p).model for p in EXPERIMENT_FILES} == set(MODEL_NAMES)


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.stem)
def test_model_trains_saves_loads_and_predicts(path: Path, tmp_path: Path) -> None:
    profile = load_profile(ROOT / "params/profiles/smoke.yaml")
    exp = load_experiment(path)
    task = model_task(exp.model)
    n = len(channel_names(exp.channels))
    spec = spec_for(profile, exp.model, exp)
    training = training_for(profile, exp)
    torch.manual_seed(0)
    model = build_model(exp.model, n, spec=spec, num_classes=2, load_weights=False)
    images, targets = _batch(task, n)

    before = {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
    optimizer = make_optimizer(model, training)
    options = {} if task == "instance" else {"name": training.loss, "focal_gamma": training.focal_gamma,
                                             "focal_alpha": training.focal_alpha,
                                             "focal_alpha_on": training.focal_alpha_on,
                                             "class_weights": training.class_weights}
    loss = train_step(model, task, images, targets, optimizer, training.grad_clip, options)
    assert np.isfinite(loss) and loss > 0
    moved = [k for k, v in model.state_dict().items() if k in before and not torch.equal(v, before[k])]
    assert moved, f"{exp.name}: one optimiser step changed no weight"

    meta = {"experiment": exp.name, "model": exp.model, "task": task, "channels": exp.channels, "in_channels": n,
            "num_classes": 2, "spec": spec.model_dump(mode="json"), "mean": [100.0] * n, "std": [50.0] * n,
            "factors": profile.factors.model_dump(mode="json"), "tile_size": SIZE}
    ckpt = save_checkpoint(tmp_path / "checkpoint.pt", meta=meta, model=model, optimizer=optimizer, scaler=None,
                           step=1, steps=1, train_seconds=0.0, final_loss=loss)
    loaded, loaded_meta = load_checkpoint(ckpt)
    assert loaded_meta["experiment"] == exp.name and loaded_meta["finished"]
    model.eval()
    with torch.inference_mode():
        if task == "instance":
            assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
        else:
            torch.testing.assert_close(loaded(torch.stack(images)), model(torch.stack(images)))

    if exp.channels != "rgb":
        return  # factor channels need a DEM and rivers (and more): tests/test_prediction_scene.py predicts with them
    summary = predict_scene(checkpoint=ckpt, image=_scene(tmp_path / "scene.tif"), out_dir=tmp_path / "maps",
                            window=64, overlap=16, batch_size=2, precision="fp32", device="cpu", progress=False)
    with rasterio.open(tmp_path / "maps/probability.tif") as src:
        prob = src.read(1)
        assert src.crs.to_string() == CRS and src.shape == (96, 96)
    finite = prob[np.isfinite(prob)]
    assert finite.size and ((finite >= 0) & (finite <= 1)).all()
    assert summary["channels"] == "rgb"
