"""Checkpoints (landslide_utils.training.checkpoint): save/load round trip, compatibility checks, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from landslide_utils.config.base import ConfigError
from landslide_utils.config.model_schema import SegmentationSpec, TrainingSpec
from landslide_utils.models import build_model
from landslide_utils.training.checkpoint import (
    check_compatible,
    load_checkpoint,
    read_checkpoint,
    resolve_device,
    save_checkpoint,
    update_meta,
)


def _meta() -> dict:
    return {"experiment": "V", "model": "unet", "task": "semantic", "spec": SegmentationSpec().model_dump(mode="json"),
            "channels": "rgb", "in_channels": 3, "num_classes": 2, "mean": [1.0, 2.0, 3.0], "std": [1.0, 1.0, 1.0],
            "training_data": "original", "training": TrainingSpec(steps=4).model_dump(mode="json"), "seed": 0,
            "n_train_tiles": 3, "n_be_samples": 0}


def test_round_trip_and_metadata(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("unet", 3, spec=SegmentationSpec(), load_weights=False)
    path = save_checkpoint(tmp_path / "c.pt", meta=_meta(), model=model, optimizer=None, scaler=None, step=4,
                           steps=4, train_seconds=1.5, final_loss=0.3)
    loaded, meta = load_checkpoint(path)
    assert meta["finished"] and meta["step"] == 4 and meta["mean"] == [1.0, 2.0, 3.0]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert not loaded.training
    assert update_meta(path, validation={"threshold": 0.3})["validation"] == {"threshold": 0.3}
    assert read_checkpoint(path)["meta"]["validation"]["threshold"] == 0.3


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the experiment first"):
        read_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt: not a checkpoint of this project \\(not a zip archive"):
        read_checkpoint(tmp_path / "junk.pt")
    (tmp_path / "map.tif").write_bytes(b"II*\x00" + bytes(100))  # a GeoTIFF given as --checkpoint
    with pytest.raises(ValueError, match="map.tif: not a checkpoint of this project \\(a TIFF image"):
        read_checkpoint(tmp_path / "map.tif")
    torch.save({"meta": {}, "model_state": {}}, tmp_path / "cut.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "cut.pt").read_bytes()[:-40])  # a truncated zip
    with pytest.raises(ValueError, match="cut.pt: not"):
        read_checkpoint(tmp_path / "cut.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: not a checkpoint of this project"):
        read_checkpoint(tmp_path / "other.pt")


def test_weights_that_do_not_match_the_metadata_are_named(tmp_path: Path) -> None:
    spec = SegmentationSpec(encoder="resnet18")
    model = build_model("unet", 3, spec=spec, num_classes=2, load_weights=False)
    meta = {"model": "unet", "in_channels": 6, "num_classes": 2, "spec": spec.model_dump(mode="json")}  # edited: 6
    save_checkpoint(tmp_path / "c.pt", meta=meta, model=model, optimizer=None, scaler=None, step=1, steps=1,
                    train_seconds=0.0, final_loss=None)
    with pytest.raises(ValueError, match="c.pt: its weights do not match the model its metadata describes "
                                         "\\(unet, 6 channels"):
        load_checkpoint(tmp_path / "c.pt")


def test_compatibility() -> None:
    old = _meta()
    check_compatible("c.pt", old, {**old, "training": {**old["training"], "steps": 99}})  # a longer budget is fine
    with pytest.raises(ValueError, match="channels"):
        check_compatible("c.pt", old, {**old, "channels": "rgb+factors"})
    with pytest.raises(ValueError, match="training.learning_rate"):
        check_compatible("c.pt", old, {**old, "training": {**old["training"], "learning_rate": 0.5}})
    # a training key added to the schema later counts as its default in an older checkpoint
    older = {**old, "training": {k: v for k, v in old["training"].items() if k != "loss"}}
    check_compatible("c.pt", older, old)
    with pytest.raises(ValueError, match="training.loss"):
        check_compatible("c.pt", older, {**old, "training": {**old["training"], "loss": "focal"}})
    # Mask R-CNN does not read the semantic loss keys: changing them keeps its checkpoints usable
    rcnn = {**old, "model": "maskrcnn", "task": "instance"}
    check_compatible("c.pt", rcnn, {**rcnn, "training": {**old["training"], "loss": "focal", "focal_gamma": 1.0}})
    with pytest.raises(ValueError, match="training.learning_rate"):
        check_compatible("c.pt", rcnn, {**rcnn, "training": {**old["training"], "learning_rate": 0.5}})


def test_devices() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="set device: auto"):
            resolve_device("cuda")
