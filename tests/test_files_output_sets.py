"""Outputs never replace inputs, nor earlier outputs unless asked, and a failed run leaves the earlier set whole
(landslide_utils.files.output_sets; ``predict`` through it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin

from landslide_utils.cli import main
from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_profile
from landslide_utils.files.output_sets import check_outputs, staged_outputs
from landslide_utils.files.vector_stream import VectorStream
from landslide_utils.models import build_model
from landslide_utils.prediction import scene as scene_mod
from landslide_utils.training.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("a.tif", "b.json")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_output_that_would_replace_an_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.tif").write_bytes(b"input")
    with pytest.raises(ConfigError, match=r"its output a\.tif would replace the input --image"):
        check_outputs(tmp_path, NAMES, inputs={"--image": tmp_path / "a.tif", "--dem": None}, overwrite=True)


def test_earlier_outputs_need_overwrite(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("{}")
    with pytest.raises(ConfigError, match="holds the outputs of an earlier run .*--overwrite"):
        check_outputs(tmp_path, NAMES, inputs={}, overwrite=False)
    check_outputs(tmp_path, NAMES, inputs={}, overwrite=True)
    check_outputs(tmp_path / "new", NAMES, inputs={}, overwrite=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_outputs(tmp_path / "file", NAMES, inputs={}, overwrite=True)


def test_a_failure_leaves_the_earlier_set_and_no_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for n in NAMES:
        (out / n).write_text(f"old {n}")
    (out / "mine.txt").write_text("the user's")
    with pytest.raises(ConfigError, match="writing the outputs failed .*No space left on device.*nothing was "
                                          "replaced"):
        with staged_outputs(out, NAMES) as stage:
            (stage / "a.tif").write_text("new a")
            raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="a damaged input"):  # not a write failure: raised as it is
        with staged_outputs(out, NAMES):
            raise OSError("a damaged input")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.tif": "old a.tif", "b.json": "old b.json",
                                                               "mine.txt": "the user's"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left
    with staged_outputs(out, NAMES) as stage:
        (stage / "a.tif").write_text("new a")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.tif": "new a", "mine.txt": "the user's"}


def _checkpoint_and_scene(tmp_path: Path) -> tuple[Path, Path]:
    spec = load_profile(ROOT / "params/profiles/smoke.yaml").models.pspnet
    torch.manual_seed(0)
    model = build_model("pspnet", 3, spec=spec, num_classes=2, load_weights=False)
    meta = {"model": "pspnet", "task": "semantic", "channels": "rgb", "in_channels": 3, "mean": [100.0] * 3,
            "std": [50.0] * 3, "experiment": "T", "spec": spec.model_dump(mode="json"), "num_classes": 2}
    ckpt = save_checkpoint(tmp_path / "c.pt", meta=meta, model=model, optimizer=None, scaler=None, step=1, steps=1,
                           train_seconds=0.0, final_loss=None)
    maps = tmp_path / "maps"
    maps.mkdir()
    image = maps / "landslides.tif"  # the user's scene, named like an output, in the output folder
    rng = np.random.default_rng(0)
    with rasterio.open(image, "w", driver="GTiff", height=96, width=96, count=5, dtype="uint8", crs="EPSG:32648",
                       transform=from_origin(500_000, 3_000_000, 2.0, 2.0)) as dst:
        dst.write((rng.random((5, 96, 96)) * 200).astype(np.uint8))
    return ckpt, image


def test_predict_never_replaces_its_input_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt, image = _checkpoint_and_scene(tmp_path)
    before = _digest(image)
    code = main(["predict", "--checkpoint", str(ckpt), "--image", str(image), "--out", str(image.parent),
                 "--window", "64", "--overlap", "0", "--overwrite"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "would replace the input --image" in err
    assert _digest(image) == before and sorted(p.name for p in image.parent.iterdir()) == ["landslides.tif"]


def test_predict_replaces_an_earlier_set_only_when_asked_and_a_failure_keeps_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ckpt, image = _checkpoint_and_scene(tmp_path)
    out = tmp_path / "out"
    args = ["predict", "--checkpoint", str(ckpt), "--image", str(image), "--out", str(out), "--window", "64",
            "--overlap", "0"]
    assert main(args) == 0
    first = {n: _digest(out / n) for n in scene_mod.SCENE_OUTPUTS}
    capsys.readouterr()
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert {n: _digest(out / n) for n in scene_mod.SCENE_OUTPUTS} == first

    def no_space(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VectorStream, "_flush", no_space)  # the polygons fail, the rasters were written
    with pytest.raises(ConfigError, match="writing the outputs failed"):
        scene_mod.predict_scene(checkpoint=ckpt, image=image, out_dir=out, window=64, overlap=0, progress=False,
                                threshold=0.1, overwrite=True)
    assert {n: _digest(out / n) for n in scene_mod.SCENE_OUTPUTS} == first  # the earlier set, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "maps", "out"]  # no staging folder left
    monkeypatch.undo()
    assert main([*args, "--overwrite", "--threshold", "0.1"]) == 0
    assert '"threshold": 0.1' in (out / "prediction.json").read_text()


def test_a_profile_whose_outputs_would_cover_its_inputs_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``paths.prepared: .`` with the DEM at ``aligned/dem.tif``: step 01 would write its aligned DEM over it."""
    import shutil

    mine = tmp_path / "mine"
    shutil.copytree(ROOT / "tests/data/tiny_files", mine, ignore=shutil.ignore_patterns("*.py"))
    (mine / "aligned").mkdir()
    shutil.move(mine / "dem.tif", mine / "aligned/dem.tif")
    text = (mine / "profile.yaml").read_text().replace("dem: dem.tif", "dem: aligned/dem.tif")
    (mine / "profile.yaml").write_text(text + "paths: {prepared: .}\n")
    before = _digest(mine / "aligned/dem.tif")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "params", project / "params")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    assert main(["run", "--profile", str(mine / "profile.yaml"), "--steps", "01", "--root", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "data.files.dem" in err and "aligned/ (step 01)" in err
    assert main(["check", "--profile", str(mine / "profile.yaml")]) != 0
    said = capsys.readouterr()
    assert "data.files.dem" in said.out + said.err
    assert _digest(mine / "aligned/dem.tif") == before
    assert not (project / "reports").exists()


def test_a_read_only_output_folder_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import os

    ckpt, image = _checkpoint_and_scene(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root): no read-only folder to test with")
        code = main(["predict", "--checkpoint", str(ckpt), "--image", str(image), "--out", str(locked / "maps"),
                     "--window", "64", "--overlap", "0"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and "cannot write there" in err and "Traceback" not in err
    finally:
        locked.chmod(0o755)


def test_a_second_run_of_a_running_study_is_refused_and_a_dead_holders_lock_is_taken_over(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json
    import subprocess
    import sys

    from landslide_utils.runner.study_lock import StudyLocked, study_lock

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(json.dumps({"pid": holder.pid, "host": __import__("socket").gethostname(),
                                                    "started": "then", "command": "run --profile quick.yaml"}))
        with pytest.raises(StudyLocked, match=f"in progress \\(pid {holder.pid}.*run --profile quick.yaml"):
            with study_lock(tmp_path):
                pass
        assert (tmp_path / ".lock").exists()  # the first run's lock stays
        project = tmp_path / "project"
        import shutil

        shutil.copytree(ROOT / "params", project / "params")
        shutil.copytree(ROOT / "notebooks", project / "notebooks")
        (project / "data/smoke").mkdir(parents=True)
        shutil.copy(tmp_path / ".lock", project / "data/smoke/.lock")
        code = main(["run", "--profile", str(project / "params/profiles/smoke.yaml"), "--steps", "01",
                     "--root", str(project)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and "another run of this study is in progress" in err
        assert not (project / "reports").exists()
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(UserWarning, match="taking over the lock of a run that is gone"):
        with study_lock(tmp_path) as path:
            assert json.loads(path.read_text())["pid"] == __import__("os").getpid()
    assert not (tmp_path / ".lock").exists()  # released at the end


def test_synth_replaces_an_earlier_set_only_when_asked_and_an_interrupt_keeps_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from landslide_utils import synthetic

    smoke = str(ROOT / "params/profiles/smoke.yaml")
    out = tmp_path / "area"
    assert main(["synth", "--profile", smoke, "--out", str(out)]) == 0
    first = {p.name: _digest(p) for p in out.iterdir()}
    capsys.readouterr()
    assert main(["synth", "--profile", smoke, "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err

    def interrupted(profile: object, out_dir: Path) -> None:
        (Path(out_dir) / "image_t1.tif").write_bytes(b"half an image")
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "generate_from_profile", interrupted)
    assert main(["synth", "--profile", smoke, "--out", str(out), "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert "interrupted: nothing was written to --out" in err and "training" not in err
    assert {p.name: _digest(p) for p in out.iterdir()} == first  # the earlier set, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["area"]


def test_predict_warns_when_the_scene_is_on_another_scale_than_its_training_tiles(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt, image = _checkpoint_and_scene(tmp_path)  # trained statistics: mean 100, std 50
    with rasterio.open(image) as src:
        data, profile = src.read().astype(np.uint16) * 256, src.profile
    wide = tmp_path / "scene16.tif"
    with rasterio.open(wide, "w", **{**profile, "dtype": "uint16"}) as dst:
        dst.write(data)
    args = ["--checkpoint", str(ckpt), "--window", "64", "--overlap", "0"]
    assert main(["predict", *args, "--image", str(image), "--out", str(tmp_path / "a")]) == 0
    assert "another value scale" not in capsys.readouterr().err
    assert main(["predict", *args, "--image", str(wide), "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "scene16.tif" in err and "another value scale" in err
