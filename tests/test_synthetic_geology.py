"""Tests of the synthetic area's options for Gao et al. (2021): ``infrared_bands`` (NIR and SWIR bands 4-5 of
image_t1.tif) and ``geology`` (faults.geojson, lithology.gpkg); ``landslide_utils.synthetic.infrared`` and
``.geology``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.enums import ColorInterp
from rasterio.features import rasterize

from landslide_utils.config.data_schema import SyntheticSpec, synthetic_bounds
from landslide_utils.config.load import load_profile
from landslide_utils.files.atomic import sha256_file
from landslide_utils.steps.prepare import ensure_synthetic_inputs
from landslide_utils.synthetic import GEOLOGY_FILES, LITHOLOGY_UNITS, SYNTHETIC_FILES, generate, synthetic_files
from landslide_utils.synthetic.geology import fault_buffer_m

ROOT = Path(__file__).resolve().parents[1]
TINY = SyntheticSpec(width_px=160, height_px=128, pixel_size_m=4.0, dem_pixel_size_m=12.0, n_landslides=15,
                     landslide_median_area_m2=400.0, n_tributaries=1, n_roads=1, n_fields=2, n_buildings=5)
BOTH = {"infrared_bands": True, "geology": True}
# the quick profile's scene shrunk to a quarter of its area (with a third of its landslides)
MODERATE = SyntheticSpec(width_px=768, height_px=512, pixel_size_m=2.0, dem_pixel_size_m=10.0, n_landslides=80,
                         landslide_median_area_m2=700.0, n_tributaries=2, n_roads=2, n_fields=5, n_buildings=15,
                         geology=True)
VECTORS = ("rivers", "inventory", "areas", "confusers")


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, Path]:
    return generate(TINY, seed=3, out_dir=tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def with_options(tmp_path_factory) -> dict[str, Path]:
    return generate(TINY.model_copy(update=BOTH), seed=3, out_dir=tmp_path_factory.mktemp("options"))


def _same_vectors(a: Path, b: Path) -> None:
    x, y = gpd.read_file(a), gpd.read_file(b)
    assert x.drop(columns="geometry").equals(y.drop(columns="geometry")), a.name
    assert x.crs == y.crs and x.geometry.geom_equals_exact(y.geometry, tolerance=0).all(), a.name


def test_options_off_write_the_plain_files(plain, tmp_path):
    off = generate(TINY.model_copy(update={"infrared_bands": False, "geology": False}), seed=3, out_dir=tmp_path)
    want = {k: v for k, v in SYNTHETIC_FILES.items() if k not in GEOLOGY_FILES}
    assert synthetic_files(TINY) == want and {k: p.name for k, p in off.items()} == want
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(want.values())
    for key in ("image_t1", "image_t2", "dem", "rivers", "meta"):
        assert sha256_file(off[key]) == sha256_file(plain[key]), key
    for key in VECTORS:
        _same_vectors(off[key], plain[key])
    meta = json.loads(off["meta"].read_text())
    assert "geology" not in meta and "infrared_bands" not in meta
    assert meta["spec"]["infrared_bands"] is False and meta["spec"]["geology"] is False


def test_options_on_leave_the_other_layers_as_they_are(plain, with_options):
    assert {k: p.name for k, p in with_options.items()} == SYNTHETIC_FILES
    assert sorted(p.name for p in with_options["meta"].parent.iterdir()) == sorted(SYNTHETIC_FILES.values())
    with rasterio.open(plain["image_t1"]) as a, rasterio.open(with_options["image_t1"]) as b:
        np.testing.assert_array_equal(b.read([1, 2, 3]), a.read())
        assert (b.transform, b.crs, b.nodata) == (a.transform, a.crs, a.nodata)
    for key in ("image_t2", "dem"):
        assert sha256_file(with_options[key]) == sha256_file(plain[key]), key
    for key in VECTORS:
        _same_vectors(with_options[key], plain[key])
    a, b = (json.loads(p["meta"].read_text()) for p in (plain, with_options))
    assert {k: v for k, v in b.items() if k not in ("spec", "geology", "infrared_bands")} == {
        k: v for k, v in a.items() if k != "spec"}
    assert b["spec"]["infrared_bands"] and b["spec"]["geology"]


def test_image_t1_has_nir_and_swir_bands(with_options):
    with rasterio.open(with_options["image_t1"]) as src:
        assert src.count == 5 and src.dtypes == ("uint8",) * 5
        assert src.descriptions == ("red", "green", "blue", "nir", "swir")
        assert ColorInterp.alpha not in src.colorinterp
        img, tr = src.read().astype(float), src.transform
    with rasterio.open(with_options["image_t2"]) as src:
        assert src.count == 3
    r, g, _, nir, swir = img
    ndvi = (nir - r) / np.maximum(nir + r, 1)
    mndwi = (g - swir) / np.maximum(g + swir, 1)
    burn = lambda gs: rasterize([(x, 1) for x in gs], out_shape=r.shape, transform=tr).astype(bool)  # noqa: E731
    conf = gpd.read_file(with_options["confusers"])
    slides = burn(gpd.read_file(with_options["inventory"]).geometry)
    water = burn(conf.geometry[conf["kind"] == "river_surface"])
    others = burn(conf.geometry[conf["kind"] != "river_surface"])
    veg = ~slides & ~water & ~others
    assert water.sum() > 50 and slides.sum() > 50 and others.sum() > 50
    assert ndvi[veg].mean() > ndvi[slides].mean() + 0.2, (ndvi[veg].mean(), ndvi[slides].mean())
    assert ndvi[veg].mean() > ndvi[others].mean() + 0.2
    assert mndwi[water].mean() > 0.5
    assert mndwi[water].mean() > max(mndwi[veg].mean(), mndwi[slides].mean(), mndwi[others].mean()) + 0.4
    assert swir[slides].mean() > swir[veg].mean()  # scars bright in SWIR, vegetation moderate


def test_geology_files_tile_the_scene(with_options):
    bounds = synthetic_bounds(TINY)
    scene = shapely.box(*bounds)
    lith = gpd.read_file(with_options["lithology"])
    assert pyogrio.list_layers(with_options["lithology"])[:, 0].tolist() == ["lithology"]
    assert set(lith.geom_type) == {"Polygon"} and lith.is_valid.all()
    assert set(lith["lithology"]) == set(LITHOLOGY_UNITS)
    assert 12 <= len(lith) <= 30
    assert lith.union_all().area == pytest.approx(scene.area, rel=1e-6)
    assert lith.area.sum() == pytest.approx(scene.area, rel=1e-6)  # no overlaps
    assert lith.union_all().symmetric_difference(scene).area < 1e-6 * scene.area
    left, right = lith.sindex.query(lith.geometry, predicate="intersects")
    pairs = left < right
    inter = shapely.area(shapely.intersection(lith.geometry.values[left[pairs]], lith.geometry.values[right[pairs]]))
    assert np.all(inter < 1e-6 * scene.area)
    faults = gpd.read_file(with_options["faults"])
    rivers = gpd.read_file(with_options["rivers"])
    assert faults.crs == rivers.crs == lith.crs and faults.crs.to_epsg() == 32648
    assert set(faults.geom_type) == {"LineString"} and 2 <= len(faults) <= 3
    assert faults["name"].is_unique and faults.within(scene.buffer(1e-6)).all()


def _association(paths: dict[str, Path], spec: SyntheticSpec) -> dict:
    """Landslide centroids per km² by unit; shares of the centroids and of the area within the fault buffer."""
    bounds = synthetic_bounds(spec)
    cen = gpd.read_file(paths["inventory"]).centroid
    lith = gpd.read_file(paths["lithology"])
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=cen), lith, predicate="within")
    dens = {u: (joined["lithology"] == u).sum() / (lith.area[lith["lithology"] == u].sum() / 1e6)
            for u in LITHOLOGY_UNITS}
    faults = gpd.read_file(paths["faults"]).union_all()
    buf = fault_buffer_m(bounds, spec.pixel_size_m)
    zone = faults.buffer(buf).intersection(shapely.box(*bounds))
    near = float((cen.distance(faults) <= buf).mean())
    return {"density": dens, "near_share": near, "near_area_share": zone.area / shapely.box(*bounds).area}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landslides_favour_soft_rock_and_faults(seed, tmp_path):
    paths = generate(MODERATE, seed=seed, out_dir=tmp_path)
    got = _association(paths, MODERATE)
    d = got["density"]
    assert d["soft rock"] > d["hard rock"], d
    assert got["near_share"] > got["near_area_share"], got
    meta = json.loads(paths["meta"].read_text())["geology"]
    assert meta["near_faults"]["landslide_share"] == pytest.approx(got["near_share"], abs=1e-3)
    assert meta["near_faults"]["area_share"] == pytest.approx(got["near_area_share"], abs=1e-3)
    assert sum(u["area_share"] for u in meta["units"].values()) == pytest.approx(1, abs=1e-3)
    assert sum(u["landslide_share"] for u in meta["units"].values()) == pytest.approx(1, abs=1e-3)


def test_ensure_synthetic_inputs_needs_the_geology_files_only_with_geology(tmp_path):
    base = load_profile(ROOT / "params/profiles/smoke.yaml")
    prof = lambda spec: base.model_copy(update={"data": base.data.model_copy(update={"synthetic": spec})})  # noqa
    plain, geo = prof(TINY), prof(TINY.model_copy(update={"geology": True}))
    assert ensure_synthetic_inputs(plain, tmp_path) is True
    assert not (tmp_path / GEOLOGY_FILES["faults"]).exists()
    assert ensure_synthetic_inputs(plain, tmp_path) is False  # complete without the geology files
    assert ensure_synthetic_inputs(geo, tmp_path) is True  # other settings
    assert ensure_synthetic_inputs(geo, tmp_path) is False
    (tmp_path / GEOLOGY_FILES["lithology"]).unlink()
    assert ensure_synthetic_inputs(geo, tmp_path) is True
    assert (tmp_path / GEOLOGY_FILES["lithology"]).exists()
