"""Influencing factors and factor analyses of Gao et al. (2021): aspect, curvature, NDVI / MNDWI, distances,
lithology codes, natural breaks, frequency ratios and random-forest importance."""

from __future__ import annotations

import math
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from landslide_utils.analysis.importance import frequency_ratio, natural_breaks, rf_importance
from landslide_utils.inputs.factor_rasters import (
    ASPECT_CLASSES,
    aspect_classes,
    aspect_degrees,
    curvature,
    distance_to_lines,
    mndwi,
    ndvi,
    rasterize_classes,
)

TR = from_origin(500000, 4000000, 10, 10)


def _xy(shape, transform=TR):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    return x, y


# downslope direction (azimuth) -> expected class name; the plane descends towards the azimuth
@pytest.mark.parametrize(("azimuth", "name"), [(0, "N"), (45, "NE"), (90, "E"), (135, "SE"), (180, "S"),
                                               (225, "SW"), (270, "W"), (315, "NW")])
def test_tilted_planes_face_their_direction(azimuth: float, name: str) -> None:
    x, y = _xy((7, 9))
    east, north = math.sin(math.radians(azimuth)), math.cos(math.radians(azimuth))
    dem = 800.0 - 0.3 * ((x - 500000) * east + (y - 4000000) * north)  # descends towards (east, north)
    asp = aspect_degrees(dem, transform=TR)
    cls = aspect_classes(dem, transform=TR)
    assert asp.dtype == np.float32 and cls.dtype == np.uint8
    err = np.abs((asp - azimuth + 180) % 360 - 180)
    assert err.max() < 1e-3  # exact on the border too (linear extension)
    assert (cls == ASPECT_CLASSES.index(name)).all()


def test_plane_rising_to_the_north_faces_south_also_with_rows_going_north() -> None:
    x, y = _xy((5, 5))
    dem = 0.5 * (y - 4000000)
    assert np.allclose(aspect_degrees(dem, transform=TR), 180.0)
    assert (aspect_classes(dem, transform=TR) == ASPECT_CLASSES.index("S")).all()
    flipped = from_origin(500000, 4000000, 10, -10)  # e > 0: row 0 is the southernmost
    xf, yf = _xy((5, 5), flipped)
    assert np.allclose(aspect_degrees(0.5 * yf, transform=flipped), 180.0)


def test_non_square_pixels_give_the_true_azimuth() -> None:
    tr = from_origin(500000, 4000000, 5, 20)
    x, y = _xy((6, 6), tr)
    dem = -(x - 500000) - (y - 4000000)  # descends to the north-east at 1 m/m each way
    assert np.allclose(aspect_degrees(dem, transform=tr), 45.0, atol=1e-4)


def test_flat_and_gentle_slopes_are_class_0_and_nodata_is_255() -> None:
    flat = np.full((4, 5), 120.0)
    assert np.isnan(aspect_degrees(flat, transform=TR)).all()
    assert (aspect_classes(flat, transform=TR) == 0).all()
    x, _ = _xy((5, 5))
    gentle = 0.01 * (x - 500000)  # 0.57 degrees, facing west
    assert (aspect_classes(gentle, transform=TR) == 0).all()
    assert (aspect_classes(gentle, transform=TR, flat_slope_deg=0.5) == ASPECT_CLASSES.index("W")).all()
    dem = 0.5 * x
    dem[2, 2] = np.nan
    cls = aspect_classes(dem, transform=TR)
    assert (cls[1:4, 1:4] == 255).all() and (cls == 255).sum() == 9
    assert np.isnan(aspect_degrees(dem, transform=TR)[1:4, 1:4]).all()


def test_aspect_by_hand_and_rotated_grid_rejected() -> None:
    z = np.array([[50, 45, 50], [30, 30, 30], [8, 10, 10]], dtype=float)
    dzdx = ((50 + 2 * 30 + 10) - (50 + 2 * 30 + 8)) / 80.0
    dzdy_north = ((50 + 2 * 45 + 50) - (8 + 2 * 10 + 10)) / 80.0
    expected = math.degrees(math.atan2(-dzdx, -dzdy_north)) % 360
    assert aspect_degrees(z, transform=TR)[1, 1] == pytest.approx(expected, abs=1e-4)
    with pytest.raises(ValueError, match="rotated"):
        aspect_degrees(z, transform=TR @ rasterio.Affine.rotation(10))


@pytest.mark.skipif(shutil.which("gdaldem") is None, reason="gdaldem (GDAL command line) not installed")
def test_aspect_equals_gdaldem_on_a_random_dem(tmp_path) -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0, 5, (12, 15)).astype(np.float32)  # near 0: gdaldem's float32 sums lose little
    z[4:7, 4:8] = 2  # a flat patch: gdaldem's nodata, our NaN
    path, out = tmp_path / "dem.tif", tmp_path / "aspect.tif"
    with rasterio.open(path, "w", driver="GTiff", width=15, height=12, count=1, dtype="float32", transform=TR,
                       crs="EPSG:32648") as dst:
        dst.write(z, 1)
    subprocess.run(["gdaldem", "aspect", "-q", str(path), str(out)], check=True)
    with rasterio.open(out) as src:
        ref = src.read(1)[1:-1, 1:-1]  # gdaldem leaves the border nodata
    ours = aspect_degrees(z, transform=TR)[1:-1, 1:-1]
    assert (np.isnan(ours) == (ref == -9999)).all() and np.isnan(ours).sum() == 2
    ok = ~np.isnan(ours)
    assert np.abs((ours[ok] - ref[ok] + 180) % 360 - 180).max() < 1e-3


def test_curvature_of_paraboloid_and_plane() -> None:
    for tr in (TR, from_origin(0, 0, 5, 20)):
        x, y = _xy((6, 7), tr)
        x, y = x - x.mean(), y - y.mean()
        c = 0.002
        curv = curvature(c * (x**2 + y**2), transform=tr)
        # D = ((z4 + z6) / 2 - z5) / Lx^2 = c exactly, E = c: -2 (D + E) * 100
        assert curv.dtype == np.float32
        assert np.allclose(curv, -2 * (c + c) * 100, atol=1e-4)  # border included (quadratic extension)
        assert np.allclose(curvature(3.0 * x - 2.0 * y + 50, transform=tr), 0.0, atol=1e-4)
    ridge = -c * x**2  # convex along x only
    assert np.allclose(curvature(ridge, transform=from_origin(0, 0, 5, 20)), 200 * c, atol=1e-4)


def test_curvature_by_hand_nan_and_small_dem() -> None:
    z = np.array([[1, 4, 1], [2, 3, 6], [1, 0, 1]], dtype=float)
    d = ((2 + 6) / 2 - 3) / 100.0
    e = ((4 + 0) / 2 - 3) / 100.0
    assert curvature(z, transform=TR)[1, 1] == pytest.approx(-2 * (d + e) * 100, abs=1e-6)
    dem = np.zeros((7, 7))
    dem[3, 3] = np.nan
    curv = curvature(dem, transform=TR)
    assert np.isnan(curv[2:5, 2:5]).all() and np.isnan(curv).sum() == 9
    with pytest.raises(ValueError, match="3 x 3"):
        curvature(np.zeros((2, 5)), transform=TR)


def test_ndvi_and_mndwi_by_hand() -> None:
    red = np.array([[0.1, 0.0], [0.3, np.nan]])
    nir = np.array([[0.5, 0.0], [0.1, 0.4]])
    out = ndvi(red, nir)
    assert out.dtype == np.float32
    assert out[0, 0] == pytest.approx(0.4 / 0.6) and out[1, 0] == pytest.approx(-0.2 / 0.4)
    assert np.isnan(out[0, 1]) and np.isnan(out[1, 1])
    green = np.array([[30, 10], [0, 5]], dtype=np.uint16)
    swir = np.array([[10, 30], [0, 5]], dtype=np.uint16)  # unsigned: no wrap-around
    w = mndwi(green, swir)
    assert w[0, 0] == pytest.approx(0.5) and w[0, 1] == pytest.approx(-0.5) and np.isnan(w[1, 0]) and w[1, 1] == 0
    with pytest.raises(ValueError, match="shape"):
        ndvi(red, nir[:1])


def test_distance_to_a_vertical_line() -> None:
    shape = (4, 8)
    line = LineString([(500033, 4000100), (500033, 3999800)])  # through column 3 (centre x = 500035)
    dist = distance_to_lines([line], shape=shape, transform=TR)
    assert dist.dtype == np.float32 and dist.shape == shape
    x, _ = _xy(shape)
    exact = np.abs(x - 500033)
    assert np.abs(dist - exact).max() <= 5.0  # within half a pixel
    assert (dist[:, 3] == 0).all() and np.allclose(dist[:, 5], 20)  # between pixel centres


def test_distance_to_lines_outside_the_raster_is_exact(monkeypatch) -> None:
    import landslide_utils.inputs.factor_rasters as inf

    shape = (5, 6)
    x, y = _xy(shape)
    outside = LineString([(499900, 4000500), (499900, 3999000)])  # 100 m west: beyond the 6-pixel margin
    dist = distance_to_lines([outside], shape=shape, transform=TR)
    assert np.allclose(dist, x - 499900, atol=1e-3)
    # a line inside at the east edge and one just outside the west edge (in the margin): both count
    inside = LineString([(500055, 4000100), (500055, 3999900)])
    near = LineString([(499998, 4000100), (499998, 3999900)])
    true = np.minimum(np.abs(x - 500055), x - 499998)
    h = 0.5 * math.hypot(10, 10)
    dist = distance_to_lines(gpd.GeoSeries([inside, near]), shape=shape, transform=TR)
    assert np.abs(dist - true).max() <= h + 1e-3 and dist[0, 0] < 20  # not the 50 m to the inside line
    monkeypatch.setattr(inf, "_PAD_PX", 0)  # no margin: the west columns get the exact distance instead
    dist = distance_to_lines(gpd.GeoSeries([inside, near]), shape=shape, transform=TR)
    assert np.abs(dist - true).max() <= h + 1e-3 and np.allclose(dist[:, :2], true[:, :2], atol=1e-3)
    with pytest.raises(ValueError, match="no geometry"):
        distance_to_lines([], shape=shape, transform=TR)
    with pytest.raises(ValueError, match="empty"):
        distance_to_lines([LineString()], shape=shape, transform=TR)


def test_rasterize_classes_codes_and_errors() -> None:
    shape = (4, 6)
    left = box(500000, 3999960, 500030, 4000000)  # columns 0-2
    right = box(500030, 3999960, 500060, 4000000)  # columns 3-5
    gdf = gpd.GeoDataFrame({"lithology": ["shale", "granite"], "other": [1, 2]}, geometry=[left, right])
    codes, names = rasterize_classes(gdf, column="lithology", shape=shape, transform=TR)
    assert names == ("granite", "shale") and codes.dtype == np.uint8
    assert (codes[:, :3] == 2).all() and (codes[:, 3:] == 1).all()
    codes, names = rasterize_classes(gdf, column="lithology", shape=shape, transform=TR,
                                     classes=["shale", "sandstone", "granite"])
    assert names == ("shale", "sandstone", "granite")
    assert (codes[:, :3] == 1).all() and (codes[:, 3:] == 3).all()
    small = gpd.GeoDataFrame({"lithology": ["shale"]}, geometry=[box(500000, 3999980, 500020, 4000000)])
    codes, _ = rasterize_classes(small, column="lithology", shape=shape, transform=TR)
    assert codes.sum() == 4 and (codes[2:] == 0).all()
    with pytest.raises(ValueError, match=r"'rock'.*lithology, other"):
        rasterize_classes(gdf, column="rock", shape=shape, transform=TR)
    with pytest.raises(ValueError, match="'granite'"):
        rasterize_classes(gdf, column="lithology", shape=shape, transform=TR, classes=["shale"])


def test_natural_breaks_separate_three_clusters() -> None:
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(0, 1, 3000), rng.normal(30, 1, 2000), rng.normal(70, 2, 1000), [np.nan]])
    truth = np.repeat([0, 1, 2], [3000, 2000, 1000])
    b = natural_breaks(v, k=3, sample=10000)  # every value
    assert len(b) == 3 and b[2] == np.nanmax(v)
    cls = np.searchsorted(b, v[:-1])  # class j: b[j-1] < v <= b[j]; each cluster is one class
    assert np.array_equal(cls, truth) and b[0] == v[:3000].max() and b[1] == v[3000:5000].max()
    b = natural_breaks(v, k=3, sample=2000)  # a sample: its class maxima, a little below the clusters' maxima
    assert b[2] == np.nanmax(v) and (np.searchsorted(b, v[:-1]) == truth).mean() > 0.995
    assert 2 < b[0] <= v[:3000].max() and 32 < b[1] <= v[3000:5000].max()
    assert np.array_equal(b, natural_breaks(v, k=3, sample=2000))  # deterministic
    state = np.random.get_state()[1].copy()
    natural_breaks(v, k=3, seed=5)
    assert np.array_equal(state, np.random.get_state()[1])  # the global generator is left as it was
    with pytest.raises(ValueError, match="distinct"):
        natural_breaks(np.array([1.0, 1.0, 2.0]), k=3)


def test_frequency_ratio_breaks_mode_by_hand() -> None:
    values = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, np.nan, 12]])
    landslide = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]], bool)
    valid = np.ones_like(landslide)
    valid[2, 3] = False  # left out with the NaN: 10 counted pixels, landslides at 7, 8, 9
    t = frequency_ratio(values, landslide, valid, bounds=[4, 8, 12])
    assert list(t.columns) == ["class", "lower", "upper", "pixels", "landslide_pixels", "area_share",
                               "landslide_share", "frequency_ratio"]
    assert t["class"].tolist() == ["1–4", "4–8", "8–12"]
    assert t["pixels"].tolist() == [4, 4, 2] and t["landslide_pixels"].tolist() == [0, 2, 1]
    assert np.allclose(t["area_share"], [0.4, 0.4, 0.2]) and np.allclose(t["landslide_share"], [0, 2 / 3, 1 / 3])
    assert np.allclose(t["frequency_ratio"], [0, (2 / 3) / 0.4, (1 / 3) / 0.2])
    assert (t["area_share"] * t["frequency_ratio"]).sum() == pytest.approx(1.0)
    t = frequency_ratio(values, landslide, valid, bounds=[4, 8, 10, 12])
    assert t["pixels"].tolist()[-1] == 0 and np.isnan(t["frequency_ratio"].iloc[-1])
    assert np.nansum(t["area_share"] * t["frequency_ratio"]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="exceed the last bound"):
        frequency_ratio(values, landslide, valid, bounds=[4, 8])
    t = frequency_ratio(values, landslide, valid, k=2)  # natural breaks of the counted values
    assert len(t) == 2 and t["upper"].iloc[-1] == 10 and t["pixels"].sum() == 10


def test_frequency_ratio_categorical_mode_by_hand() -> None:
    codes = np.array([[1, 1, 2, 2], [3, 3, 3, 0]])
    landslide = np.array([[1, 0, 0, 0], [1, 1, 0, 1]])  # the landslide on code 0 is not counted
    t = frequency_ratio(codes, landslide, None, classes=["weak", "medium", "strong"])
    assert t["class"].tolist() == ["weak", "medium", "strong"] and t["lower"].isna().all()
    assert t["pixels"].tolist() == [2, 2, 3] and t["landslide_pixels"].tolist() == [1, 0, 2]
    assert np.allclose(t["frequency_ratio"], [(1 / 3) / (2 / 7), 0, (2 / 3) / (3 / 7)])
    assert (t["area_share"] * t["frequency_ratio"]).sum() == pytest.approx(1.0)
    t = frequency_ratio(codes, landslide, None, classes=dict(enumerate(ASPECT_CLASSES[:4])))
    assert t["class"].tolist() == ["flat", "N", "NE", "E"] and t["pixels"].tolist() == [1, 2, 2, 3]
    assert np.isnan(t["frequency_ratio"]).sum() == 0
    with pytest.raises(ValueError, match="not both"):
        frequency_ratio(codes, landslide, None, classes=["a"], bounds=[1])
    with pytest.raises(ValueError, match="no landslide"):
        frequency_ratio(codes, np.zeros_like(codes), None, classes=["a", "b", "c"])


def test_rf_importance_finds_the_factor_that_is_the_label() -> None:
    rng = np.random.default_rng(0)
    shape = (60, 60)
    landslide = rng.random(shape) < 0.1
    features = {
        "noise_a": rng.normal(size=shape),
        "label_like": landslide + rng.normal(0, 0.2, shape),
        "noise_b": rng.normal(size=shape),
    }
    valid = np.ones(shape, bool)
    valid[0] = False
    t = rf_importance(features, landslide, valid, n_samples=1000, n_estimators=30)
    assert list(t.columns) == ["factor", "importance"] and t["factor"].iloc[0] == "label_like"
    assert t["importance"].iloc[0] > 0.6 and t["importance"].sum() == pytest.approx(1.0)
    assert t["importance"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(t, rf_importance(features, landslide, valid, n_samples=1000, n_estimators=30))
    assert valid[0].sum() == 0  # the caller's mask is untouched
    t = rf_importance(features, landslide, valid, n_samples=1000, n_estimators=30, balance=False)
    assert t["factor"].iloc[0] == "label_like"
    with pytest.raises(ValueError, match="'noise_b'"):
        rf_importance({**features, "noise_b": np.zeros((3, 3))}, landslide, valid)
    with pytest.raises(ValueError, match="no landslide"):
        rf_importance(features, np.zeros(shape, bool), valid)


def test_distance_row_blocks_match_one_block(monkeypatch) -> None:
    import landslide_utils.inputs.factor_rasters as inf

    shape = (9, 7)
    lines = [LineString([(499000, 4001000), (499500, 3999000)]), shapely.Point(500200, 3999950)]
    whole = distance_to_lines(lines, shape=shape, transform=TR)
    monkeypatch.setattr(inf, "_BLOCK_POINTS", 10)  # one row per block
    assert np.array_equal(whole, distance_to_lines(lines, shape=shape, transform=TR))
    x, y = _xy(shape)
    pts = shapely.points(x.ravel(), y.ravel())
    exact = np.minimum(shapely.distance(pts, lines[0]), shapely.distance(pts, lines[1])).reshape(shape)
    assert np.allclose(whole, exact, atol=1e-2)
