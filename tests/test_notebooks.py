"""Every notebook executed by the runner on the smoke profiles, in throw-away copies of the project; the outputs
each step promises are checked (tile index, COCO, density tables, BE samples, per-experiment maps and metrics).

The smoke study (steps 01-06, Experiments I-VIII) is split over tests that run side by side: steps 01-03 run once
per test session (:func:`smoke_prepared`, shared between the pytest-xdist workers through a file lock) and each
test copies that prepared project - its stamps stay valid, so the runner skips 01-03 - and runs its share: the
Mask R-CNN experiments with the multi-temporal test, the semantic experiments with the comparison, and the
related-systems profile (``smoke_related.yaml``, prepared by smoke) with notebook 08."""

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
from pycocotools.coco import COCO

from landslide_utils.runner.pipeline import run_pipeline

from .study_project import ROOT, make_project
from .test_reports_reproduce import compare_metrics

METRIC_KEYS = {"experiment", "model", "channels", "training_data", "precision", "recall", "f1", "miou",
               "iou_landslide", "oa", "kappa", "tp", "fp", "fn", "tn", "seed", "train_seconds"}
MASK_RCNN = ["I", "II", "III", "IV"]
SEMANTIC = ["V", "VI", "VII", "VIII"]
RELATED = ["chen2022_fcn", "yang2022b_pspnet_mobilenet", "gao2021_unet_factors"]  # smoke_related.yaml


def _copy(prepared: Path, dest: Path) -> Path:
    shutil.copytree(prepared, dest, ignore=shutil.ignore_patterns("ready"))
    return dest


def _check_experiment(root: Path, exp: str, reports: Path, data: Path) -> list[str]:
    m = json.loads((reports / f"metrics/{exp}.json").read_text())
    assert METRIC_KEYS <= set(m), METRIC_KEYS - set(m)
    assert m["experiment"] == exp
    assert m["tp"] + m["fp"] + m["fn"] + m["tn"] == m["valid_pixels"]
    for k in ("precision", "recall", "f1", "miou", "oa"):
        assert 0.0 <= m[k] <= 1.0
    out = data / "experiments" / exp
    with rasterio.open(out / "prediction.tif") as src:
        assert src.crs is not None and src.crs.to_epsg() == 32648
    assert gpd.read_file(out / "prediction.gpkg").crs is not None
    committed = json.loads((ROOT / reports.relative_to(root) / "metrics" / f"{exp}.json").read_text(encoding="utf-8"))
    return [f"{exp}: {p}" for p in compare_metrics(committed, m)]  # within another CPU type's spread


def test_smoke_steps_01_to_03_write_what_they_promise(smoke_prepared: Path) -> None:
    data, reports = smoke_prepared / "data/smoke", smoke_prepared / "reports/smoke"
    index = gpd.read_file(data / "tiles/index.gpkg")
    assert {"tile_id", "split", "area", "has_landslide", "landslide_pixels", "path"} <= set(index.columns)
    assert set(index["split"]) == {"train", "test"}
    coco = COCO(str(data / "tiles/coco_train.json"))
    assert len(coco.getImgIds()) == int((index["split"] == "train").sum())
    for name in ("elevation", "slope", "river"):
        df = pd.read_csv(reports / f"tables/factor_density_{name}.csv")
        assert list(df.columns) == ["class", "class_area_m2", "landslide_area_m2", "density"]
    be = pd.read_csv(data / "enhanced/index.csv")
    assert set(be["method"]) == {"splice", "cutmix"}
    assert (reports / "figures/be_splicing.png").exists() and (reports / "figures/be_cutmix.png").exists()


def test_smoke_study_mask_rcnn_and_multitemporal(smoke_prepared: Path, tmp_path: Path) -> None:
    root = _copy(smoke_prepared, tmp_path / "project")
    profile = root / "params/profiles/smoke.yaml"
    results = run_pipeline(profile_path=profile, root=root, steps=["01", "02", "03", "04", "06"],
                           experiments=MASK_RCNN, progress=False, html=True)
    assert [s for _, s in results] == ["skipped"] * 3 + ["ran"] * 5  # 01-03 prepared once, shared
    data, reports = root / "data/smoke", root / "reports/smoke"
    problems = [p for exp in MASK_RCNN for p in _check_experiment(root, exp, reports, data)]
    assert not problems, "the rerun differs from reports/smoke/metrics beyond another CPU's spread:\n" + \
        "\n".join(problems)
    assert (reports / "tables/multitemporal.csv").exists()
    assert (reports / "html/04_run_experiment_IV.html").exists()
    again = run_pipeline(profile_path=profile, root=root, steps=["01", "02", "03", "04", "06"],
                         experiments=MASK_RCNN, progress=False, html=False)
    assert [s for _, s in again] == ["skipped"] * 8


def test_smoke_study_semantic_and_comparison(smoke_prepared: Path, tmp_path: Path) -> None:
    root = _copy(smoke_prepared, tmp_path / "project")
    results = run_pipeline(profile_path=root / "params/profiles/smoke.yaml", root=root, steps=["04", "05"],
                           experiments=SEMANTIC, progress=False, html=False)
    assert [s for _, s in results] == ["ran"] * 5
    data, reports = root / "data/smoke", root / "reports/smoke"
    problems = [p for exp in SEMANTIC for p in _check_experiment(root, exp, reports, data)]
    assert not problems, "the rerun differs from reports/smoke/metrics beyond another CPU's spread:\n" + \
        "\n".join(problems)
    for name in ("table6_comparison", "table7_comparison", "claims"):
        assert (reports / f"tables/{name}.csv").exists()
    table7 = pd.read_csv(reports / "tables/table7_comparison.csv")
    assert table7.iloc[:, 0].astype(str).tolist()[:4] == SEMANTIC


def test_related_profile_reuses_the_smoke_tiles_and_runs_notebook_08(smoke_prepared: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    root = _copy(smoke_prepared, tmp_path / "project")
    results = run_pipeline(profile_path=root / "params/profiles/smoke_related.yaml", root=root, progress=False,
                           html=False)
    status = {st.output_name.removesuffix(".ipynb"): s for st, s in results}
    out = capsys.readouterr().out
    assert all(status[n] == "skipped" for n in ("01_prepare_data", "02_analyse_factors", "03_enhance_background"))
    assert "prepared by smoke.yaml" in out
    assert status["04_run_experiment_liu2021_resnext50"] == "skipped" and "GPU-only on this profile" in out
    assert status["05_compare_models"] == "skipped" and status["06_test_multitemporal"] == "skipped"
    assert [status[f"04_run_experiment_{e}"] for e in RELATED] == ["ran"] * 3
    assert status["08_related_systems"] == "ran"
    assert not (root / "data/smoke_related/tiles").exists()  # smoke's tiles were used, none were cut again
    data, reports = root / "data/smoke_related", root / "reports/smoke_related"
    problems = [p for exp in RELATED for p in _check_experiment(root, exp, reports, data)]
    assert not problems, "the rerun differs from reports/smoke_related/metrics beyond another CPU's spread:\n" + \
        "\n".join(problems)
    m9 = json.loads((reports / "metrics/gao2021_unet_factors.json").read_text())
    assert m9["channels"] == "rgb+factors9"
    side = pd.read_csv(reports / "tables/related_side_by_side.csv")
    assert set(side["experiment"]) == set(RELATED)  # smoke's I-VIII did not run in this copy
    for name in ("liu2021_table4", "chen2022_table3", "related_claims", "imbalance_ratio", "yang2022b_table5",
                 "gao2021_table7", "gao2021_table9", "gao2021_factor_importance", "gao2021_frequency_ratio"):
        assert (reports / f"tables/{name}.csv").exists(), name
    importance = pd.read_csv(reports / "tables/gao2021_factor_importance.csv")
    assert len(importance) == 9 and abs(importance["importance"].sum() - 1) < 1e-6  # all nine factors
    table9 = pd.read_csv(reports / "tables/gao2021_table9.csv").set_index("experiment")
    assert table9.loc["gao2021_unet_factors", "prediction_mb"] > 0
    assert (reports / "figures/loss_related.png").exists()


def test_real_input_study_runs_and_skips_the_second_date(tmp_path):
    """The user's-own-data path through the notebooks: GeoTIFF/vector fixtures, no second-date image."""
    root = make_project(tmp_path / "project")
    inputs = tmp_path / "mine"
    shutil.copytree(ROOT / "tests/data/tiny_files", inputs, ignore=shutil.ignore_patterns("*.py"))
    results = run_pipeline(profile_path=inputs / "profile.yaml", root=root, steps=["01", "02", "06"],
                           progress=False, html=False)
    assert [s for _, s in results] == ["ran"] * 3
    reports = root / "reports/tiny"
    assert (reports / "tables/factor_density_slope.csv").exists()
    assert (root / "data/tiny/tiles/index.gpkg").exists()
    import nbformat

    nb = nbformat.read(reports / "06_test_multitemporal.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "no second-date image" in text
