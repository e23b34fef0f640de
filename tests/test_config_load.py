"""Parameter schemas: every shipped file validates; broken files name the file and the key."""

from pathlib import Path

import pytest
import yaml

from landslide_utils.cli import main
from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.overrides import training_for
from landslide_utils.synthetic import SYNTHETIC_FILES, synthetic_files

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "params" / "profiles").glob("*.yaml"))
EXPERIMENTS = sorted((ROOT / "params" / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profiles_validate(path):
    prof = load_profile(path)
    assert prof.name == path.stem
    assert prof.tiling.tile_size > 0


def test_paper_profile_carries_the_papers_settings():
    p = load_profile(ROOT / "params/profiles/paper.yaml")
    assert p.tiling.tile_size == 1024
    assert p.models.maskrcnn.backbone == "resnet101"
    assert p.training.steps == 20 * 1000
    assert (p.training.learning_rate, p.training.weight_decay, p.training.grad_clip) == (0.001, 0.005, 5.0)
    assert p.training.momentum == 0.9


def test_experiments_match_the_design():
    table = {
        "I": ("maskrcnn", "rgb", "original"), "II": ("maskrcnn", "rgb+factors", "original"),
        "III": ("maskrcnn", "rgb", "original+be"), "IV": ("maskrcnn", "rgb+factors", "original+be"),
        "V": ("unet", "rgb", "original"), "VI": ("unet", "rgb+factors", "original+be"),
        "VII": ("pspnet", "rgb", "original"), "VIII": ("pspnet", "rgb+factors", "original+be"),
        # the cells the paper leaves out: factors only and BE only, for U-Net and PSPNet
        "unet_factors": ("unet", "rgb+factors", "original"), "unet_be": ("unet", "rgb", "original+be"),
        "pspnet_factors": ("pspnet", "rgb+factors", "original"), "pspnet_be": ("pspnet", "rgb", "original+be"),
    }
    got = {p.stem: load_experiment(p) for p in EXPERIMENTS}
    assert set(got) == set(table)
    for name, (model, ch, data) in table.items():
        e = got[name]
        assert (e.name, e.model, e.channels, e.training_data) == (name, model, ch, data)


def _broken(tmp_path, edit):
    data = yaml.safe_load((ROOT / "params/profiles/smoke.yaml").read_text())
    edit(data)
    p = tmp_path / "broken.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda d: d["tiling"].update(tile_sise=64), "tiling.tile_sise"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["tiling"].update(tile_size="big"), "tiling.tile_size"),
        (lambda d: d["tiling"].update(tile_size=-64), "tiling.tile_size"),
        (lambda d: d["training"].update(steps=2.5), "training.steps"),
        (lambda d: d["enhance"].update(splice_mode="rotate"), "enhance.splice_mode"),
        (lambda d: d["enhance"].update(splice_share=1.5), "enhance.splice_share"),
        (lambda d: d["data"]["synthetic"].update(width_px=-10), "data.synthetic.width_px"),
        (lambda d: d.update(device="tpu"), "device"),
        (lambda d: d.update(seed=-1), "seed"),
        (lambda d: d.pop("tiling"), "tiling"),
        (lambda d: d["evaluation"].update(threshold="best"), "evaluation.threshold"),
        (lambda d: d["evaluation"].update(threshold=1.5), "evaluation.threshold"),
        (lambda d: d["evaluation"].update(threshold=True), "evaluation.threshold"),
        (lambda d: (d["evaluation"].update(threshold="validation"), d["training"].update(validation_share=0.0)),
         "evaluation.threshold"),
        (lambda d: d.update(seed=2**32), "seed"),  # beyond what numpy and torch seed
        (lambda d: d["tiling"].update(tile_size=10**6), "tiling.tile_size"),
        (lambda d: d["data"]["synthetic"].update(width_px=10**8), "data.synthetic.width_px"),  # would not fit memory
        (lambda d: d["evaluation"].update(size_classes_m2=[2000, 500]), "evaluation.size_classes_m2"),
        (lambda d: d["evaluation"].update(size_classes_m2=[-1, 500]), "evaluation.size_classes_m2"),
        (lambda d: d.update(experiments=[]), "experiments"),
        (lambda d: d["training"].update(learning_rate=float("nan")), "training.learning_rate"),
        (lambda d: d.update(name=".hidden"), "name"),
        (lambda d: d.update(areas=[{"name": "a", "split": "train", "bounds": [0, 0, 10, 10]},
                                   {"name": "t", "split": "test", "bounds": [0, 0, 10, 10]}]), "areas.0.bounds"),
    ],
)
def test_broken_profile_names_file_and_key(tmp_path, edit, key):
    p = _broken(tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        load_profile(p)
    msg = str(err.value)
    assert str(p) in msg
    assert f"'{key}'" in msg


def test_cli_synth_out_must_be_a_writable_folder(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    smoke = str(ROOT / "params/profiles/smoke.yaml")
    assert main(["synth", "--profile", smoke, "--out", str(tmp_path / "afile")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    assert main(["synth", "--profile", smoke, "--out", "/proc/no/such"]) == 2
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err


def test_test_area_outside_scene_is_rejected(tmp_path):
    def edit(d):
        d["areas"] = [
            {"name": "train_a", "split": "train", "bounds": [370000.0, 3002000.0, 370500.0, 3003000.0]},
            {"name": "test", "split": "test", "bounds": [390000.0, 3002000.0, 391000.0, 3003000.0]},
        ]
    with pytest.raises(ConfigError, match="outside the synthetic scene"):
        load_profile(_broken(tmp_path, edit))


def test_missing_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_profile(tmp_path / "nope.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_profile(bad)
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profile(bad)


def test_files_source_resolves_relative_paths(tmp_path):
    data = yaml.safe_load((ROOT / "params/profiles/smoke.yaml").read_text())
    data["data"] = {"source": "files", "files": {"image_t1": "in/img.tif", "dem": "/abs/dem.tif",
                                                  "rivers": "in/r.geojson", "inventory": "in/i.gpkg"}}
    p = tmp_path / "real.yaml"
    p.write_text(yaml.safe_dump(data))
    prof = load_profile(p)
    assert prof.data.files.image_t1 == tmp_path / "in/img.tif"
    assert prof.data.files.dem == Path("/abs/dem.tif")
    data["data"] = {"source": "files"}
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="'files' section is missing"):
        load_profile(p)


def test_experiment_overrides_are_validated(tmp_path):
    prof = load_profile(ROOT / "params/profiles/smoke.yaml")
    e = tmp_path / "X.yaml"
    e.write_text("name: X\nmodel: unet\nchannels: rgb\ntraining_data: original\ntraining: {steps: 7}\n")
    assert training_for(prof, load_experiment(e)).steps == 7
    e.write_text("name: X\nmodel: unet\nchannels: rgb\ntraining_data: original\ntraining: {stepz: 7}\n")
    with pytest.raises(ConfigError, match="training.stepz"):
        load_experiment(e)
    e.write_text("name: X\nmodel: unet\nchannels: rgbn\ntraining_data: original\n")
    with pytest.raises(ConfigError, match="'channels'"):
        load_experiment(e)


def test_cli_check_reports_errors(tmp_path, capsys):
    assert main(["check", "--profile", str(ROOT / "params/profiles/smoke.yaml")]) == 0
    p = _broken(tmp_path, lambda d: d["tiling"].update(tile_sise=64))
    assert main(["check", "--profile", str(p)]) == 2
    err = capsys.readouterr().err
    assert "tile_sise" in err and str(p) in err


def test_cli_synth_writes_every_file_reproducibly(tmp_path, capsys):
    import hashlib

    prof = str(ROOT / "params/profiles/smoke.yaml")
    assert main(["synth", "--profile", prof, "--out", str(tmp_path / "a")]) == 0
    assert main(["synth", "--profile", prof, "--out", str(tmp_path / "b")]) == 0
    for n in synthetic_files(load_profile(prof).data.synthetic).values():
        assert (tmp_path / "a" / n).exists(), n
    for n in (SYNTHETIC_FILES[k] for k in ("image_t1", "image_t2", "dem")):
        ha = hashlib.sha256((tmp_path / "a" / n).read_bytes()).hexdigest()
        hb = hashlib.sha256((tmp_path / "b" / n).read_bytes()).hexdigest()
        assert ha == hb, n


@pytest.mark.parametrize("value, want", [("fixed", "fixed"), ("validation", "validation"), (0.3, 0.3), (0, 0.0)])
def test_evaluation_threshold_accepts_fixed_validation_or_a_number(tmp_path, value, want):
    p = _broken(tmp_path, lambda d: (d["evaluation"].update(threshold=value), d["training"].update(validation_share=0.1)))
    assert load_profile(p).evaluation.threshold == want


def test_a_profile_prepared_by_another_takes_its_data_and_tiles(tmp_path):
    related = load_profile(ROOT / "params/profiles/smoke_related.yaml")
    smoke = load_profile(ROOT / "params/profiles/smoke.yaml")
    assert related.data == smoke.data and related.tiling == smoke.tiling and related.enhance == smoke.enhance
    assert related.paths.prepared == (ROOT / "data/smoke").resolve()
    assert related.paths.enhanced == (ROOT / "data/smoke/enhanced").resolve()
    assert "chen2022_fcn" in related.experiments and related.gpu_only  # its own experiments and budget

    def profile(text: str) -> Path:
        (tmp_path / "params/profiles").mkdir(parents=True, exist_ok=True)
        path = tmp_path / "params/profiles/p.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    base = "name: p\nprepared_by: {by}\ntraining: {{steps: 1, batch_size: 2}}\n"
    with pytest.raises(ConfigError, match="'prepared_by'.*nothere.yaml not found"):
        load_profile(profile(base.format(by="nothere.yaml")))
    with pytest.raises(ConfigError, match="'prepared_by' names this profile itself"):
        load_profile(profile(base.format(by="p.yaml")))
    (tmp_path / "params/profiles/smoke.yaml").write_text((ROOT / "params/profiles/smoke.yaml").read_text())
    with pytest.raises(ConfigError, match="key 'tiling': set by the profile named in prepared_by"):
        load_profile(profile(base.format(by="smoke.yaml") + "tiling: {tile_size: 32}\n"))
    (tmp_path / "params/profiles/mid.yaml").write_text(base.format(by="smoke.yaml").replace("name: p", "name: mid"))
    with pytest.raises(ConfigError, match="mid.yaml is itself prepared by smoke.yaml"):
        load_profile(profile(base.format(by="mid.yaml")))
    ok = load_profile(profile(base.format(by="smoke.yaml")))
    assert ok.paths.prepared == (tmp_path / "data/smoke").resolve()
