"""A whole study on chip datasets (steps 01-06 through the runner, smoke budget), with extra test sets, and the
steps a dataset without DEM skips."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.evaluation.cross_region import generalisation_table
from landslide_utils.runner.pipeline import run_pipeline
from landslide_utils.training.experiment import train_experiment
from tests.data.chips.make_data import make_chips, make_study_bijie
from tests.study_project import make_project

SMOKE = {"steps": 4, "batch_size": 2, "learning_rate": 0.005, "checkpoint_every": 2, "num_threads": 2}


def _write_profile(project: Path, name: str, data: dict, **extra: object) -> Path:
    body = {"name": name, "seed": 0, "device": "cpu", "data": data, "tiling": {"tile_size": 16},
            "models": {"maskrcnn": {"anchor_sizes": [8, 16, 32, 64, 128], "rois_per_image": 32,
                                    "proposals_test": 100, "fpn_channels": 64, "box_head_size": 256,
                                    "mask_head_channels": 64}},
            "training": SMOKE, "enhance": {"ratio": 0.5, "seed": 0}, **extra}
    path = project / "params" / "profiles" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def _outputs(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


def test_a_chip_study_runs_01_to_06_and_tests_every_extra_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = make_project(tmp_path / "project")
    data = tmp_path / "datasets"
    root = make_study_bijie(data, n=8, negatives=2)
    small = make_chips(data)
    prof = _write_profile(
        project, "chipstudy",
        {"source": "chips", "chips": {"format": "bijie", "train": str(root), "test_fraction": 0.3,
                                      "pixel_size_m": 2.0}},
        experiments=["III", "VI"],
        evaluation={"size_classes_m2": [50.0], "extra_tests": [
            {"name": "l4s", "format": "landslide4sense", "path": str(small["landslide4sense"])},
            {"name": "plain", "format": "folders", "path": str(small["folders"])}]})
    results = run_pipeline(profile_path=prof, root=project, progress=False, html=False)
    status = {st.output_name: s for st, s in results}
    assert status["02_analyse_factors.ipynb"] == "skipped"
    out = capsys.readouterr().out
    assert "02_analyse_factors: skipped: factor analysis needs a study area" in out
    assert status["08_related_systems.ipynb"] == "skipped"  # the profile lists no related-system experiment
    assert "08_related_systems: skipped: the profile runs no related-system experiment" in out
    assert all(s == "ran" for name, s in status.items()
               if name not in ("02_analyse_factors.ipynb", "08_related_systems.ipynb"))
    reports = project / "reports" / "chipstudy"
    metrics = reports / "metrics"
    for exp in ("III", "VI"):
        m = json.loads((metrics / f"{exp}.json").read_text())
        chips = pd.read_csv(metrics / f"{exp}_chips.csv")
        tiles = pd.read_csv(metrics / f"{exp}_tiles.csv")
        assert m["test_chips"] == len(chips) == 3  # round(0.3 * 8) landslide chips + 1 of the 2 negatives
        for k in ("tp", "fp", "fn", "tn"):  # the study's counts are the sums over its test chips
            assert m[k] == chips[k].sum() == tiles[k].sum()
        assert chips["landslides"].sum() == m["object_recall_by_size"][-1]["n"]
        l4s = json.loads((metrics / f"{exp}@l4s.json").read_text())
        assert l4s["test_chips"] == 2 and l4s["test_set"] == "l4s" and l4s["trained_on"] == "chipstudy"
        assert l4s["tp"] + l4s["fp"] + l4s["fn"] + l4s["tn"] == 2 * 12 * 12
    assert "tp" in json.loads((metrics / "III@plain.json").read_text())
    skipped = json.loads((metrics / "VI@plain.json").read_text())
    assert "no DEM" in skipped["skipped"] and "tp" not in skipped
    table = generalisation_table(metrics, tests=["l4s", "plain"])
    assert set(table.index.get_level_values("test set")) == {"this study's test", "l4s", "plain"}
    assert table.loc[("III", "l4s"), "f1_change"] == pytest.approx(
        100 * (json.loads((metrics / "III@l4s.json").read_text())["f1"]
               - json.loads((metrics / "III.json").read_text())["f1"]))
    assert "no DEM" in table.loc[("VI", "plain"), "skipped"]
    assert "f1_change" in _outputs(reports / "05_compare_models.ipynb")
    assert "median chip F1" in _outputs(reports / "04_run_experiment_III.ipynb")
    assert "nothing to test" in _outputs(reports / "06_test_multitemporal.ipynb")
    assert (project / "data/chipstudy/experiments/III/extra_tests/l4s/error_map.tif").is_file()


def test_a_dataset_without_dem_skips_the_factor_experiments(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = make_project(tmp_path / "project")
    small = make_chips(tmp_path / "datasets")
    prof = _write_profile(project, "plain", {"source": "chips", "chips": {"format": "folders",
                                                                          "train": str(small["folders"])}})
    results = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["02", "04"],
                           experiments=["II", "IV", "VI", "VIII"])
    assert [s for _, s in results] == ["skipped"] * 5
    out = capsys.readouterr().out
    assert out.count("has no DEM, so the factor channels") == 4
    with pytest.raises(ValueError, match="experiment VI .*no DEM"):
        train_experiment(load_profile(prof), load_experiment(project / "params/experiments/VI.yaml"), root=project)


def test_step_01_reruns_when_a_chip_changes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    small = make_chips(tmp_path / "datasets")
    prof = _write_profile(project, "plain", {"source": "chips", "chips": {"format": "folders",
                                                                          "train": str(small["folders"])}})
    once = dict(progress=False, html=False, steps=["01"])
    assert [s for _, s in run_pipeline(profile_path=prof, root=project, **once)] == ["ran"]
    assert [s for _, s in run_pipeline(profile_path=prof, root=project, **once)] == ["skipped"]
    mask = small["folders"] / "masks" / "a.png"
    mask.write_bytes(mask.read_bytes())  # the same bytes, a new modification time: the dataset may have changed
    assert [s for _, s in run_pipeline(profile_path=prof, root=project, **once)] == ["ran"]
