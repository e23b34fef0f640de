"""Factor density tables against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
from rasterio.transform import from_origin

from landslide_utils.analysis.density import factor_density, write_tables
from landslide_utils.config.data_schema import FactorSpec
from landslide_utils.inputs.terrain import river_level_labels
from landslide_utils.tiles.tile import TileData, write_tile


def _tile(path, dem, slope, river, inst, valid=None, px=2.0):
    h, w = inst.shape
    t = TileData(
        image=np.zeros((3, h, w), np.float32),
        factors=np.stack([dem, slope, river]).astype(np.float32),
        instances=inst.astype(np.int32),
        valid=np.ones((h, w), bool) if valid is None else valid,
        transform=from_origin(0, 100, px, px),
        crs="EPSG:32648",
    )
    return write_tile(path, t)


def test_density_by_hand(tmp_path):
    # 4 x 4 tile, pixel area 4 m². Left half slope 5°, right half slope 35°.
    slope = np.array([[5, 5, 35, 35]] * 4, float)
    dem = np.array([[1010] * 4, [1010] * 4, [1150] * 4, [1150] * 4], float)
    river = np.array([[0, 1, 2, 5]] * 4, float)
    inst = np.zeros((4, 4), int)
    inst[0:2, 2:4] = 1  # 4 landslide px on 35°, elevation 1010, river levels 2 and 5
    inst[3, 0] = 2  # 1 landslide px on 5°, elevation 1150, river level 0
    valid = np.ones((4, 4), bool)
    valid[3, 3] = False  # padding: never counts
    p = _tile(tmp_path / "t.tif", dem, slope, river, inst, valid)
    spec = FactorSpec(elevation_bin_m=100.0, slope_bin_deg=10.0)
    tabs = factor_density([p], spec=spec)

    s = tabs.slope.set_index("class")
    assert s.loc["0-10", "class_area_m2"] == 8 * 4 and s.loc["0-10", "landslide_area_m2"] == 4
    assert s.loc["30-40", "class_area_m2"] == 7 * 4 and s.loc["30-40", "landslide_area_m2"] == 16
    assert s.loc["30-40", "density"] == pytest.approx(16 / 28)
    assert s.loc["10-20", "class_area_m2"] == 0  # empty classes inside the range are kept
    e = tabs.elevation.set_index("class")
    assert list(e.index) == ["1000-1100", "1100-1200"]
    assert e.loc["1000-1100", "density"] == pytest.approx(16 / 32)
    assert e.loc["1100-1200", "density"] == pytest.approx(4 / 28)
    r = tabs.river
    assert len(r) == 6 and r["class"].tolist() == river_level_labels(spec)
    assert r["class_area_m2"].tolist() == [16, 16, 16, 0, 0, 12]
    assert r["landslide_area_m2"].tolist() == [4, 0, 8, 0, 0, 8]
    assert tabs.share_20_50 == pytest.approx(16 / 20)
    assert tabs.landslide_area_m2 == 20 and tabs.study_area_m2 == 60

    out = write_tables(tabs, out_dir=tmp_path / "tables")
    df = pd.read_csv(out["slope"])
    assert df.columns.tolist() == ["class", "class_area_m2", "landslide_area_m2", "density"]


def test_accumulates_over_tiles_and_rejects_empty(tmp_path):
    ones = np.ones((2, 2))
    inst = np.zeros((2, 2), int)
    inst[0, 0] = 1
    a = _tile(tmp_path / "a.tif", ones * 10, ones * 25, ones * 3, inst)
    b = _tile(tmp_path / "b.tif", ones * 10, ones * 25, ones * 3, np.zeros((2, 2), int))
    tabs = factor_density([a, b], spec=FactorSpec())
    row = tabs.slope.set_index("class").loc["20-30"]
    assert row["density"] == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="no landslide pixel"):
        factor_density([b], spec=FactorSpec())
    with pytest.raises(ValueError, match="run step 01"):
        factor_density([], spec=FactorSpec())


def test_analyse_study_without_tiles_says_run_step_01(tmp_path):
    from landslide_utils.analysis.density import analyse_study
    from landslide_utils.config.load import load_profile

    from .study_project import ROOT

    prof = load_profile(ROOT / "params/profiles/smoke.yaml")
    with pytest.raises(FileNotFoundError, match="run step 01"):
        analyse_study(prof, root=tmp_path)
    assert not (tmp_path / "reports").exists()
