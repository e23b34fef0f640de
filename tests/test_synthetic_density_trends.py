"""The quick profile's synthetic area shows in its density tables what the generator built in
(docs/methods.md, "Synthetic study area"): landslide density rises with slope, falls with distance from the river, and most landslide
area lies on 20–50° slopes."""

import numpy as np
from scipy.stats import spearmanr

from landslide_utils.analysis.density import factor_density, stack_density
from landslide_utils.config.load import load_profile
from landslide_utils.inputs.stack import open_aligned
from landslide_utils.steps.prepare import prepare_data

from .study_project import ROOT


def test_quick_area_density_trends(tmp_path):
    prof = load_profile(ROOT / "params/profiles/quick.yaml")
    res = prepare_data(prof, root=tmp_path)
    tabs = factor_density([res.tiles_dir / p for p in res.tiles["path"]], spec=prof.factors)
    with open_aligned(prof, root=tmp_path) as ds:  # step 02's xarray densities over the stack: the same tables
        stack = stack_density(ds, spec=prof.factors)
    for name in ("elevation", "slope", "river"):
        assert getattr(stack, name).equals(getattr(tabs, name)), name
    assert stack.share_20_50 == tabs.share_20_50

    slope = tabs.slope[tabs.slope["class_area_m2"] > 0.005 * tabs.study_area_m2]
    rho, _ = spearmanr(np.arange(len(slope)), slope["density"])
    assert rho > 0.7, slope
    d = tabs.slope.set_index("class")["density"]
    assert d["30-40"] > 3 * d["0-10"]

    river = tabs.river["density"].to_numpy()
    assert river[1] > river[2] > river[3], tabs.river  # 0-200 m > 200-500 m > 500-1000 m
    assert 0.6 < tabs.share_20_50 <= 1.0
    counts = res.counts.set_index(res.counts.columns[0]) if "split" in res.counts.columns else res.counts
    assert counts.loc["train", "landslide_tiles"] > 10 and counts.loc["train", "non_landslide_tiles"] >= 3
