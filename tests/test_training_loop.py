"""Training: tiny 64 x 64 tiles written with tiles.write_tile, 2-4 steps per model family on CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import torch
from rasterio.transform import Affine
from shapely.geometry import box

from landslide_utils.config.load import load_profile
from landslide_utils.config.schema import Experiment
from landslide_utils.paths import StudyPaths
from landslide_utils.tiles.tile import TileData, write_tile
from landslide_utils.training import experiment as experiment_mod
from landslide_utils.training import loop as train_mod
from landslide_utils.training.checkpoint import load_checkpoint

TILE = 64
PIX = 4.0
ORIGIN = (370000.0, 3003000.0)
CRS = "EPSG:32648"

PROFILE_YAML = """
name: {name}
seed: 0
device: cpu
data:
  source: synthetic
  synthetic: {{width_px: 256, height_px: 256, pixel_size_m: 4.0, dem_pixel_size_m: 12.0, n_landslides: 5}}
tiling: {{tile_size: 64}}
models:
  maskrcnn: {{backbone: resnet18, trainable_layers: 5, anchor_sizes: [8, 16, 32, 64, 128], rois_per_image: 32,
             proposals_test: 100, fpn_channels: 64, box_head_size: 256, mask_head_channels: 64}}
  unet: {{encoder: resnet18}}
  pspnet: {{encoder: resnet18}}
training: {{steps: {steps}, batch_size: 2, learning_rate: 0.005, checkpoint_every: {every}, num_threads: 2}}
evaluation: {{score_threshold: 0.5, mask_threshold: 0.5, size_classes_m2: [500.0, 2000.0]}}
"""


def make_tile(rng: np.random.Generator, row_off: int, col_off: int, blobs: list[tuple[int, int, int, int]],
              pad_rows: int = 0) -> TileData:
    """A 64 x 64 tile: green noisy background, one brown rectangle per blob (r, c, h, w) = one landslide."""
    img = np.empty((3, TILE, TILE), np.float32)
    img[0] = 70 + rng.normal(0, 8, (TILE, TILE))
    img[1] = 110 + rng.normal(0, 8, (TILE, TILE))
    img[2] = 60 + rng.normal(0, 8, (TILE, TILE))
    inst = np.zeros((TILE, TILE), np.int32)
    for k, (r, c, h, w) in enumerate(blobs, start=1):
        inst[r : r + h, c : c + w] = 100 * (row_off + 1) + col_off + k  # globally unique ids
        img[:, r : r + h, c : c + w] = np.array([170, 140, 110], np.float32)[:, None, None]
    rows = np.arange(TILE, dtype=np.float32)[:, None] + row_off
    factors = np.stack([1500 + 2.0 * rows + 0 * inst, 20 + 0.1 * rows + 0 * inst,
                        np.full((TILE, TILE), 2.0)]).astype(np.float32)
    valid = np.ones((TILE, TILE), bool)
    if pad_rows:
        valid[-pad_rows:] = False
        img[:, -pad_rows:] = 0
        inst[-pad_rows:] = 0
    transform = Affine(PIX, 0, ORIGIN[0] + col_off * PIX, 0, -PIX, ORIGIN[1] - row_off * PIX)
    return TileData(image=img, factors=factors, instances=inst, valid=valid, transform=transform, crs=CRS)


TRAIN = [(0, 0, [(5, 5, 12, 10), (30, 40, 15, 12)], 0), (0, 64, [], 0), (0, 128, [(20, 20, 16, 16)], 0),
         (64, 0, [(40, 8, 10, 20)], 20)]
TEST = [(128, 0, [(10, 10, 14, 14)], 0), (128, 64, [], 0), (192, 0, [(0, 50, 20, 10)], 0),
        (192, 64, [(30, 30, 12, 12), (5, 5, 6, 6)], 16)]


def make_study(root: Path, *, name: str = "tiny", steps: int = 2, every: int = 1, be: int = 2):
    """Write a tiny study under ``root``: profile YAML, tiles, tile index, BE samples. Returns the profile."""
    rng = np.random.default_rng(0)
    paths = StudyPaths(name, root)
    rows = []
    for split, specs in (("train", TRAIN), ("test", TEST)):
        for r, c, blobs, pad in specs:
            tid = f"{split}_r{r // TILE:03d}_c{c // TILE:03d}"
            tile = make_tile(rng, r, c, blobs, pad)
            write_tile(paths.tiles / split / f"{tid}.tif", tile)
            x0, y0 = ORIGIN[0] + c * PIX, ORIGIN[1] - r * PIX
            lp = int((tile.instances[tile.valid] > 0).sum())
            rows.append({"tile_id": tid, "split": split, "area": f"{split}_a", "has_landslide": lp > 0,
                         "landslide_pixels": lp, "valid_pixels": int(tile.valid.sum()),
                         "path": f"{split}/{tid}.tif", "row_off": r, "col_off": c, "tile_size": TILE,
                         "geometry": box(x0, y0 - TILE * PIX, x0 + TILE * PIX, y0)})
    paths.tiles.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(rows, crs=CRS).to_file(paths.tile_index, driver="GPKG")
    be_rows = []
    for i in range(be):
        tile = make_tile(rng, 0, 0, [(10 + 5 * i, 30, 12, 12)])
        tile.crs = None
        write_tile(paths.enhanced / f"be_{i:05d}.tif", tile)
        be_rows.append({"sample_id": i, "method": "cutmix", "source_tiles": "train_r000_c000;train_r000_c001",
                        "landslide_quadrant": "", "offset_row": 0, "offset_col": 0, "instance_id": 1,
                        "path": f"be_{i:05d}.tif", "landslide_pixels": 144})
    pd.DataFrame(be_rows).to_csv(paths.enhanced_index, index=False)
    prof = root / "params" / "profiles" / f"{name}.yaml"
    prof.parent.mkdir(parents=True, exist_ok=True)
    prof.write_text(PROFILE_YAML.format(name=name, steps=steps, every=every), encoding="utf-8")
    return load_profile(prof)


def exp(model: str, channels: str = "rgb", data: str = "original", name: str | None = None) -> Experiment:
    return Experiment(name=name or f"{model}_{channels}_{data}".replace("+", "_"), model=model,
                      channels=channels, training_data=data)


@contextmanager
def interrupted_at(monkeypatch: pytest.MonkeyPatch, *, call: int) -> Iterator[None]:
    """Inside the block, the ``call``-th training step raises KeyboardInterrupt (a killed run); the block must
    stop there."""
    real_step, calls = train_mod.train_step, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_step", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        monkeypatch.setattr(train_mod, "train_step", real_step)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model_state"]


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("model,channels,data", [("unet", "rgb+factors", "original+be"),
                                                 ("pspnet", "rgb", "original")])
def test_segmentation_training_runs(tmp_path: Path, model: str, channels: str, data: str) -> None:
    profile = make_study(tmp_path, steps=2, every=1)
    e = exp(model, channels, data)
    res = experiment_mod.train_experiment(profile, e, root=tmp_path, progress=False)
    assert res.steps == 2 and not res.reused and res.checkpoint.is_file()
    log = pd.read_csv(res.loss_csv)
    assert list(log.columns) == ["step", "loss", "lr", "seconds"] and log["step"].tolist() == [1, 2]
    assert np.isfinite(log["loss"]).all()
    m, meta = load_checkpoint(res.checkpoint)
    assert meta["channels"] == channels and meta["n_be_samples"] == (2 if data == "original+be" else 0)
    assert len(meta["mean"]) == meta["in_channels"] == (6 if channels == "rgb+factors" else 3)
    again = experiment_mod.train_experiment(profile, e, root=tmp_path, progress=False)
    assert again.reused and same_weights(weights(res.checkpoint), weights(again.checkpoint))


def test_same_seed_same_weights(tmp_path: Path) -> None:
    profile = make_study(tmp_path, steps=2, every=2)
    a, b = (exp("pspnet", "rgb+factors", "original+be", name=n) for n in ("A", "B"))
    ra = experiment_mod.train_experiment(profile, a, root=tmp_path, progress=False)
    rb = experiment_mod.train_experiment(profile, b, root=tmp_path, progress=False)
    assert same_weights(weights(ra.checkpoint), weights(rb.checkpoint))
    assert pd.read_csv(ra.loss_csv)["loss"].tolist() == pd.read_csv(rb.loss_csv)["loss"].tolist()


def test_maskrcnn_resume_gives_the_uninterrupted_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = make_study(tmp_path, steps=4, every=2)
    a, c = (exp("maskrcnn", "rgb+factors", "original", name=n) for n in ("A", "C"))
    ra = experiment_mod.train_experiment(profile, a, root=tmp_path, progress=False)

    with interrupted_at(monkeypatch, call=3):
        experiment_mod.train_experiment(profile, c, root=tmp_path, progress=False)
    partial = torch.load(StudyPaths("tiny", tmp_path).experiment("C") / "checkpoint.pt", weights_only=True)
    assert partial["step"] == 2 and not partial["finished"]
    rc = experiment_mod.train_experiment(profile, c, root=tmp_path, progress=False)
    assert not rc.reused
    assert same_weights(weights(ra.checkpoint), weights(rc.checkpoint))  # resumed == uninterrupted
    assert pd.read_csv(rc.loss_csv)["step"].tolist() == [1, 2, 3, 4]
    assert pd.read_csv(rc.loss_csv)["loss"].tolist() == pd.read_csv(ra.loss_csv)["loss"].tolist()


def test_missing_checkpoint_and_inputs_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the experiment first"):
        load_checkpoint(tmp_path / "nope" / "checkpoint.pt")
    profile = make_study(tmp_path)
    StudyPaths("tiny", tmp_path).enhanced_index.unlink()
    with pytest.raises(FileNotFoundError, match="run step 03"):
        experiment_mod.train_experiment(profile, exp("unet", "rgb", "original+be"), root=tmp_path, progress=False)


def test_checkpoint_of_other_settings_is_refused(tmp_path: Path) -> None:
    profile = make_study(tmp_path, steps=1)
    experiment_mod.train_experiment(profile, exp("pspnet", "rgb", name="X"), root=tmp_path, progress=False)
    with pytest.raises(ValueError, match="channels: 'rgb' -> 'rgb\\+factors'.*force=True"):
        experiment_mod.train_experiment(profile, exp("pspnet", "rgb+factors", name="X"), root=tmp_path, progress=False)
    res = experiment_mod.train_experiment(profile, exp("pspnet", "rgb+factors", name="X"), root=tmp_path,
                                     progress=False, force=True)
    assert res.steps == 1 and not res.reused


def test_a_checkpoint_that_cannot_serve_a_longer_budget_says_how_to_retrain(tmp_path: Path) -> None:
    """Raising ``training.steps`` under a cosine schedule cannot continue the old run: the refusal names the
    checkpoint and the way to retrain from the command line as well as from Python."""
    profile = make_study(tmp_path, steps=1)
    cosine = profile.model_copy(update={"training": profile.training.model_copy(update={"schedule": "cosine"})})
    experiment_mod.train_experiment(cosine, exp("pspnet", name="X"), root=tmp_path, progress=False)
    longer = cosine.model_copy(update={"training": cosine.training.model_copy(update={"steps": 2})})
    with pytest.raises(ValueError, match=r"X/checkpoint\.pt: checkpoint was trained for a budget of 1 steps.*"
                                         r"delete this checkpoint file and run the step again.*force=True"):
        experiment_mod.train_experiment(longer, exp("pspnet", name="X"), root=tmp_path, progress=False)


def test_a_budget_that_shapes_the_earlier_steps_is_not_continued() -> None:
    """A longer budget continues a checkpoint only where the steps before it do not depend on it: a constant rate
    with the last weights; not a decaying schedule, the best weights, or a frozen first phase (its length is a share
    of the budget, as the zoo of Yang S. et al. 2022 trains)."""
    shapes = train_mod._budget_shapes_run
    assert not shapes({"training": {"schedule": "constant", "keep": "last", "frozen_share": 0.0}})
    assert not shapes({})  # an older checkpoint without training settings
    assert shapes({"training": {"schedule": "cosine"}}) and shapes({"training": {"keep": "best"}})
    assert shapes({"training": {"schedule": "constant", "frozen_share": 0.5}})
