"""Tests of the embedded synthetic study area (``landslide_utils.synthetic``; ``docs/methods.md``, "Synthetic study
area")."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.features import rasterize
from rasterio.warp import Resampling, reproject

from landslide_utils.config.data_schema import AreaSpec, SyntheticSpec, synthetic_bounds
from landslide_utils.config.load import load_profile
from landslide_utils.files.atomic import sha256_file
from landslide_utils.synthetic import DEM_NODATA, SYNTHETIC_FILES, generate, generate_from_profile, synthetic_files

ROOT = Path(__file__).resolve().parents[1]
TINY = SyntheticSpec(width_px=160, height_px=128, pixel_size_m=4.0, dem_pixel_size_m=12.0, n_landslides=15,
                     landslide_median_area_m2=400.0, n_tributaries=1, n_roads=1, n_fields=2, n_buildings=5)
LARGER = TINY.model_copy(update={"width_px": 320, "height_px": 256, "n_landslides": 40,
                                 "n_tributaries": 2, "n_fields": 4, "n_buildings": 12})
RASTERS = ("image_t1", "image_t2", "dem")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return generate(TINY, seed=3, out_dir=tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> dict[str, Path]:
    return generate(LARGER, seed=11, out_dir=tmp_path_factory.mktemp("larger"))


def _on_image_grid(paths: dict[str, Path]):
    """Image (3, H, W), slope (deg; numpy.gradient on the DEM grid, bilinear onto the image grid as in
    ``docs/methods.md``, "Data preparation") and the landslide mask."""
    with rasterio.open(paths["image_t1"]) as im:
        img, tr, crs = im.read(), im.transform, im.crs
    with rasterio.open(paths["dem"]) as dm:
        gy, gx = np.gradient(dm.read(1).astype(float), dm.transform.a)
        slope = np.zeros(img.shape[1:], np.float32)
        reproject(np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32), slope, src_transform=dm.transform,
                  src_crs=dm.crs, dst_transform=tr, dst_crs=crs, resampling=Resampling.bilinear)
    inv = gpd.read_file(paths["inventory"])
    mask = rasterize([(g, 1) for g in inv.geometry], out_shape=slope.shape, transform=tr).astype(bool)
    return img, slope, mask


def test_writes_exactly_the_listed_files(tiny):
    want = synthetic_files(TINY)  # the geology files only with synthetic.geology (tests/test_synthetic_geology.py)
    assert set(want) <= set(SYNTHETIC_FILES) and "faults" not in want
    assert {k: p.name for k, p in tiny.items()} == want
    folder = tiny["image_t1"].parent
    assert all(p.parent == folder for p in tiny.values())
    assert sorted(p.name for p in folder.iterdir()) == sorted(want.values())


def test_files_open_with_one_projected_crs_and_the_image_grid(tiny):
    crss = []
    for key in ("image_t1", "image_t2"):
        with rasterio.open(tiny[key]) as src:
            assert (src.count, src.height, src.width) == (3, TINY.height_px, TINY.width_px)
            assert src.dtypes == ("uint8",) * 3
            assert src.transform.a == TINY.pixel_size_m and src.transform.e == -TINY.pixel_size_m
            assert (src.transform.c, src.transform.f) == (TINY.origin_x, TINY.origin_y)
            crss.append(src.crs)
    with rasterio.open(tiny["dem"]) as src:
        crss.append(src.crs)
    for key in ("rivers", "inventory", "areas", "confusers"):
        crss.append(gpd.read_file(tiny[key]).crs)
    assert all(c is not None and c.is_projected for c in crss)
    assert len({c.to_epsg() for c in crss}) == 1 and crss[0].to_epsg() == 32648
    rivers = gpd.read_file(tiny["rivers"])
    assert len(rivers) == 1 + TINY.n_tributaries and set(rivers.geom_type) == {"LineString"}


def test_dem_is_coarser_shifted_and_covers_the_image(tiny):
    xmin, ymin, xmax, ymax = synthetic_bounds(TINY)
    with rasterio.open(tiny["dem"]) as src:
        z, tr, b, nodata, dtype = src.read(1), src.transform, src.bounds, src.nodata, src.dtypes[0]
    assert dtype == "float32" and nodata == DEM_NODATA
    res = TINY.dem_pixel_size_m
    assert tr.a == res > TINY.pixel_size_m
    for off in ((tr.c - xmin) / res, (ymax - tr.f) / res):  # not aligned with the image origin
        assert 0.1 < off % 1 < 0.9
    assert b.left <= xmin - 2 * res and b.right >= xmax + 2 * res
    assert b.bottom <= ymin - 2 * res and b.top >= ymax + 2 * res
    assert np.all(z != nodata) and z.min() == pytest.approx(TINY.base_elevation_m, abs=1e-3)
    assert 50 < z.max() - z.min() <= TINY.relief_m + 1e-3


def test_landslides_are_valid_disjoint_and_inside_the_scene(tiny):
    inv = gpd.read_file(tiny["inventory"])
    assert len(inv) == TINY.n_landslides
    assert inv["landslide_id"].tolist() == list(range(1, len(inv) + 1))
    assert set(inv.geom_type) == {"Polygon"} and inv.is_valid.all()
    assert set(inv["shape"]) <= {"oval", "tongue", "debris_flow"}
    assert set(inv["colour"]) <= {"grey", "brown", "reddish"}
    np.testing.assert_allclose(inv["area_m2"], inv.area, rtol=1e-3)
    assert inv.within(shapely.box(*synthetic_bounds(TINY))).all()
    left, right = inv.sindex.query(inv.geometry, predicate="intersects")
    assert np.all(left == right), "landslides overlap"
    conf = gpd.read_file(tiny["confusers"])
    assert not conf.intersects(shapely.union_all(inv.geometry.to_numpy())).any(), "a confuser overlaps a landslide"


def test_areas_two_train_one_test_and_profile_bounds(tiny, tmp_path):
    areas = gpd.read_file(tiny["areas"])
    assert sorted(areas["split"]) == ["test", "train", "train"]
    assert areas.union_all().area == pytest.approx(shapely.box(*synthetic_bounds(TINY)).area)
    test_share = areas.loc[areas["split"] == "test"].area.sum() / areas.area.sum()
    assert test_share == pytest.approx(1 / 3, abs=0.02)
    xmin, ymin, xmax, ymax = synthetic_bounds(TINY)
    given_areas = (AreaSpec(name="a", split="train", bounds=(xmin, ymin, xmin + 200, ymax)),
                   AreaSpec(name="b", split="test", bounds=(xmin + 200, ymin, xmax, ymax)))
    out = generate(TINY.model_copy(update={"n_landslides": 3}), seed=0, out_dir=tmp_path, areas=given_areas)
    got = gpd.read_file(out["areas"])
    assert got["name"].tolist() == ["a", "b"] and got["split"].tolist() == ["train", "test"]
    assert got.geometry[0].bounds == (xmin, ymin, xmin + 200, ymax)


def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    again = generate(TINY, seed=3, out_dir=tmp_path / "again")
    for key in RASTERS:
        assert sha256_file(tiny[key]) == sha256_file(again[key]), key
    for key in ("rivers", "inventory", "areas", "confusers"):
        a, b = gpd.read_file(tiny[key]), gpd.read_file(again[key])
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), key
        assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all(), key
    other = generate(TINY, seed=4, out_dir=tmp_path / "other")
    for key in RASTERS:
        assert sha256_file(tiny[key]) != sha256_file(other[key]), key


def test_landslide_density_rises_with_slope(larger):
    _, slope, mask = _on_image_grid(larger)
    steep, flat = mask[slope > 20].mean(), mask[slope < 10].mean()
    assert (slope > 20).mean() > 0.2 and (slope < 10).mean() > 0.03  # the terrain has both
    assert steep > 0.01 and steep > 4 * flat, (steep, flat)  # 6x or more for seeds 0-11


def test_the_factor_neutral_control_places_landslides_regardless_of_slope(larger, tmp_path):
    """``factor_dependence: 0`` (the control of docs/methods.md, "Statistics and sweeps"): landslides no longer
    favour steep ground over gentle slopes (8-18 degrees; flatter ground is mostly river, road and fields, where no
    scar is placed at any dependence), pooled over three scenes; the default (1) is today's scene to the byte."""
    def gentle_over_steep(dependence: float) -> float:
        gentle = steep = 0.0
        for seed in (0, 5, 7):
            paths = generate(LARGER.model_copy(update={"factor_dependence": dependence}), seed=seed,
                             out_dir=tmp_path / f"{dependence}_{seed}")
            _, slope, mask = _on_image_grid(paths)
            gentle += mask[(slope > 8) & (slope < 18)].mean()
            steep += mask[slope > 30].mean()
        return gentle / steep

    neutral, today = gentle_over_steep(0.0), gentle_over_steep(1.0)
    assert neutral > 0.6 and neutral > 3 * today, (neutral, today)  # about 1.1 against 0.15
    same = generate(LARGER.model_copy(update={"factor_dependence": 1.0}), seed=11, out_dir=tmp_path / "same")
    assert sha256_file(same["image_t1"]) == sha256_file(larger["image_t1"])


def test_confusers_share_landslide_colours_on_flat_ground(larger):
    img, slope, mask = _on_image_grid(larger)
    r, g, b = img.astype(float)
    bright = (r + g + b) / 3
    looks_like = (r >= g - 3) & (bright >= np.percentile(bright[mask], 10))  # not green, as bright as scars
    assert looks_like[mask].mean() > 0.5
    assert looks_like[~mask].mean() < 0.15, "the background should mostly look unlike landslides"
    assert (looks_like & ~mask & (slope < 10)).sum() > 100, "no landslide-coloured confusers on flat ground"
    kinds = set(gpd.read_file(larger["confusers"])["kind"])
    assert {"river_surface", "road", "field", "building"} <= kinds


def test_second_date_shifts_colours_and_revegetates_a_share(larger):
    with rasterio.open(larger["image_t1"]) as a, rasterio.open(larger["image_t2"]) as b:
        t1, t2 = a.read().astype(float), b.read().astype(float)
        tr = a.transform
    inv = gpd.read_file(larger["inventory"])
    assert inv["revegetated_t2"].sum() == round(LARGER.revegetated_share * len(inv))
    ids = rasterize([(g, i) for g, i in zip(inv.geometry, inv["landslide_id"])], out_shape=t1.shape[1:],
                    transform=tr)
    reveg = np.isin(ids, inv.loc[inv["revegetated_t2"], "landslide_id"])
    kept = (ids > 0) & ~reveg
    greening = lambda m: ((t2[1] - t2[0])[m] - (t1[1] - t1[0])[m]).mean()  # noqa: E731
    assert greening(reveg) > greening(kept) + 10
    assert np.abs(t2 - t1)[:, ids == 0].mean() > 3  # seasonal shift of the whole scene


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1))
def test_invariants_hold_for_any_seed(seed, tmp_path_factory):
    out = generate(TINY, seed=seed, out_dir=tmp_path_factory.mktemp("any"))
    inv = gpd.read_file(out["inventory"])
    assert inv.is_valid.all() and inv.within(shapely.box(*synthetic_bounds(TINY))).all()
    left, right = inv.sindex.query(inv.geometry, predicate="intersects")
    assert np.all(left == right)


def test_generate_from_profile_smoke(tmp_path):
    prof = load_profile(ROOT / "params/profiles/smoke.yaml")
    out = generate_from_profile(prof, tmp_path)
    assert len(gpd.read_file(out["inventory"])) == prof.data.synthetic.n_landslides
    with pytest.raises(ValueError, match="synthetic"):
        generate_from_profile(prof.model_copy(update={"data": prof.data.model_copy(update={"source": "files"})}),
                              tmp_path)
    with pytest.raises(ValueError, match="seed"):
        generate(TINY, seed=-1, out_dir=tmp_path)


def test_study_area_figures(tiny, tmp_path):
    from landslide_utils.plots.area import plot_second_date, plot_study_area

    fig = plot_study_area(tiny["image_t1"].parent, save=tmp_path / "area.png")
    assert (tmp_path / "area.png").stat().st_size > 10_000 and len(fig.axes) >= 4
    fig2 = plot_second_date(tiny["image_t1"].parent, save=tmp_path / "t2.png")
    assert (tmp_path / "t2.png").stat().st_size > 10_000 and len(fig2.axes) == 4
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("name, low, high", [("sparse", 0.002, 0.01), ("quick", 0.015, 0.05)])
def test_landslide_share_of_the_test_area(name, low, high, tmp_path):
    """The sparse profile's landslides cover under 1 % of its test area (rare, as real inventories usually are);
    the quick profile's are several times denser."""
    out = generate_from_profile(load_profile(ROOT / f"params/profiles/{name}.yaml"), tmp_path)
    test = gpd.read_file(out["areas"]).query("split == 'test'").union_all()
    inv = gpd.read_file(out["inventory"])
    share = inv.intersection(test).area.sum() / test.area
    assert low < share <= high, share
    train = gpd.read_file(out["areas"]).query("split == 'train'").union_all()
    assert inv.intersects(train).sum() >= 20  # enough landslides to learn from
