"""Every notebook executed by the runner on the smoke profile, in a throw-away copy of the project; the outputs
each step promises are checked (tile index, COCO, density tables, BE samples, per-experiment maps and metrics)."""

import json

import geopandas as gpd
import pandas as pd
import rasterio
from pycocotools.coco import COCO

from landslide_utils.pipeline import run_pipeline

from .study_project import ROOT, make_project
from .test_reports_reproduce import compare_metrics

METRIC_KEYS = {"experiment", "model", "channels", "training_data", "precision", "recall", "f1", "miou",
               "iou_landslide", "oa", "kappa", "tp", "fp", "fn", "tn", "seed", "train_seconds"}
EXPERIMENTS = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
RELATED = ["liu2021_resnext50", "liu2021_bottom_up", "liu2021_bottom_up_edge", "chen2022_fcn", "chen2022_fcn_fl",
           "chen2022_fcn_flk",
           "yang2022b_unet_vgg16", "yang2022b_unet_resnet50", "yang2022b_deeplab_mobilenet", "yang2022b_deeplab_xception",
           "yang2022b_pspnet_mobilenet", "yang2022b_pspnet_resnet50"]
RELATED += [f"gao2021_{m}{f}" for m in ("fcdensenet", "fcn8s", "segnet", "unet", "resunet") for f in ("", "_factors")]


def test_smoke_study_end_to_end(tmp_path):
    root = make_project(tmp_path / "project")
    results = run_pipeline(profile_path=root / "params/profiles/smoke.yaml", root=root, progress=False, html=True)
    assert [s for _, s in results] == ["ran"] * 36  # 01-03, 30 experiments, 05, 06, 08
    data, reports = root / "data/smoke", root / "reports/smoke"

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

    for exp in EXPERIMENTS + RELATED:
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
    flk = json.loads((reports / "metrics/chen2022_fcn_flk.json").read_text())
    assert len(flk["cv"]["folds"]) == 5 and (data / "experiments/chen2022_fcn_flk/fold_5/checkpoint.pt").exists()
    for name in ("related_side_by_side", "liu2021_table4", "chen2022_table3", "related_claims", "chen2022_folds",
                 "imbalance_ratio", "yang2022b_table5", "gao2021_table7", "gao2021_table9",
                 "gao2021_factor_importance", "gao2021_frequency_ratio"):  # step 08
        assert (reports / f"tables/{name}.csv").exists(), name
    assert (reports / "figures/factor_importance.png").exists() and (reports / "figures/frequency_ratio.png").exists()
    table9 = pd.read_csv(reports / "tables/gao2021_table9.csv").set_index("experiment")
    assert (table9["prediction_mb"] > 0).all() and (table9["parameters"] > 0).all()  # measured for all ten
    importance = pd.read_csv(reports / "tables/gao2021_factor_importance.csv")
    assert len(importance) == 9 and abs(importance["importance"].sum() - 1) < 1e-6  # all nine factors
    m9 = json.loads((reports / "metrics/gao2021_fcdensenet_factors.json").read_text())
    assert m9["channels"] == "rgb+factors9"
    side = pd.read_csv(reports / "tables/related_side_by_side.csv")
    assert set(side["experiment"]) == set(EXPERIMENTS + RELATED)
    problems = []  # the committed smoke metrics reproduce (within another CPU type's spread)
    for exp in EXPERIMENTS + RELATED:
        committed = json.loads((ROOT / "reports/smoke/metrics" / f"{exp}.json").read_text(encoding="utf-8"))
        rerun = json.loads((reports / "metrics" / f"{exp}.json").read_text(encoding="utf-8"))
        problems += [f"{exp}: {p}" for p in compare_metrics(committed, rerun)]
    assert not problems, "the rerun differs from reports/smoke/metrics beyond another CPU's spread:\n" + \
        "\n".join(problems)
    for name in ("table6_comparison", "table7_comparison", "claims", "multitemporal"):
        assert (reports / f"tables/{name}.csv").exists()
    assert (reports / "html/05_compare_models.html").exists()

    again = run_pipeline(profile_path=root / "params/profiles/smoke.yaml", root=root, progress=False, html=False)
    assert [s for _, s in again] == ["skipped"] * 36


def test_real_input_study_runs_and_skips_the_second_date(tmp_path):
    """The user's-own-data path through the notebooks: GeoTIFF/vector fixtures, no second-date image."""
    import shutil

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
