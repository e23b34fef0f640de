"""The aligned stack (``aligned.nc``, :mod:`landslide_utils.inputs.stack`) and the rioxarray resampling behind step 01
(:mod:`landslide_utils.inputs.grids`): round trips, equality with GDAL's warper called directly (rasterio, the code
before rioxarray), and the factor densities of the stack against those of the tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import Affine, from_origin
from rasterio.warp import reproject

from landslide_utils.analysis.density import factor_density, stack_density
from landslide_utils.config.load import load_profile
from landslide_utils.inputs.grids import match, resample
from landslide_utils.inputs.layers import align_layers, load_inputs
from landslide_utils.inputs.scene_windows import DemSource
from landslide_utils.inputs.stack import open_aligned, open_stack
from landslide_utils.inputs.terrain import slope_degrees
from landslide_utils.paths import STACK_FILE
from landslide_utils.steps.prepare import prepare_data
from tests.data.tiny_files import make_data as md


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    return md.make_inputs(tmp_path / "in")


def _read(path: Path, band: int = 1) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(band)


def _rasterio_on_grid(dem: DemSource, *, transform: Affine, shape: tuple[int, int], crs) -> tuple[np.ndarray, ...]:
    """DEM and slope on an image-grid window the way step 01 computed them before rioxarray: GDAL's warper
    through ``rasterio.warp.reproject`` directly."""
    out = np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    found = dem._work_for(transform=transform, shape=shape, crs=crs, min_size=2)
    assert found is not None
    work, wt = found
    work_slope = slope_degrees(work, xres=dem.xres, yres=dem.yres)
    for arr, dst in ((work, out[0]), (work_slope, out[1])):
        reproject(arr.astype(np.float32), dst, src_transform=wt, src_crs=dem.crs, dst_transform=transform,
                  dst_crs=crs, resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
    return out


@pytest.mark.parametrize("case", ["geographic", "shifted_projected", "odd_grid"])
def test_rioxarray_alignment_equals_gdal_called_directly(inputs: dict[str, Path], case: str) -> None:
    image_tr, shape = from_origin(md.X0, md.Y0, md.RES, md.RES), (md.SIZE, md.SIZE)
    if case == "shifted_projected":  # 7 m x 5 m DEM pixels, origin off the image grid, in the image CRS
        tr = from_origin(md.X0 - 43.3, md.Y0 + 37.9, 7.0, 5.0)
        x, y = tr @ np.meshgrid(np.arange(45) + 0.5, np.arange(56) + 0.5)
        md.write_raster(inputs["dem"], md.plane(x, y).astype(np.float32), transform=tr, crs=md.CRS, nodata=-9999.0)
    if case == "odd_grid":  # an image grid whose origin and pixel size are not round numbers
        image_tr, shape = from_origin(md.X0 + 0.137, md.Y0 - 0.291, 1.7321, 1.7321), (70, 83)
    with DemSource(inputs["dem"], image_crs=md.CRS) as dem:
        assert dem.warp == (case != "shifted_projected")
        want = _rasterio_on_grid(dem, transform=image_tr, shape=shape, crs=md.CRS)
        got = dem.on_grid(transform=image_tr, shape=shape, crs=md.CRS)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == shape
        assert np.isfinite(w).mean() > 0.9
        assert np.array_equal(g, w, equal_nan=True), np.nanmax(np.abs(g - w))
    assert np.nanmax(np.abs(got[1] - md.SLOPE_DEG)) < 0.1  # and still the plane's slope


@pytest.mark.parametrize("nodata", [0, None])
def test_second_image_by_reproject_match_equals_gdal_called_directly(tmp_path: Path, nodata) -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(1, 255, (3, 40, 40), dtype=np.uint8)
    src_tr = from_origin(md.X0 - 10, md.Y0 + 10, 5.5, 5.5)
    path = tmp_path / "t2.tif"
    md.write_raster(path, img, transform=src_tr, crs=md.CRS, nodata=nodata)
    dst_tr, shape = from_origin(md.X0, md.Y0, md.RES, md.RES), (md.SIZE, md.SIZE)
    want = np.zeros((3, *shape), np.uint8)
    for i in range(3):
        reproject(img[i], want[i], src_transform=src_tr, src_crs=md.CRS, dst_transform=dst_tr, dst_crs=md.CRS,
                  resampling=Resampling.bilinear, src_nodata=nodata, dst_nodata=nodata if nodata is not None else 0)
    import rioxarray

    with rioxarray.open_rasterio(path) as t2:
        got = match(t2, transform=dst_tr, shape=shape, crs=md.CRS, resampling=Resampling.bilinear,
                    nodata=nodata if nodata is not None else 0)
    assert got.rio.transform() == dst_tr and got.shape == (3, *shape)
    assert np.array_equal(got.values, want)


def test_resample_of_a_rotated_source_equals_gdal_called_directly() -> None:
    rng = np.random.default_rng(5)
    dem = rng.normal(1500, 20, (30, 30)).astype(np.float32)
    src_tr = Affine(3.0, 0.5, md.X0 - 20, 0.4, -3.0, md.Y0 + 20)  # rotated (and sheared) north-up-less grid
    dst_tr, shape = from_origin(md.X0, md.Y0, md.RES, md.RES), (20, 20)
    want = np.full(shape, np.nan, np.float32)
    reproject(dem, want, src_transform=src_tr, src_crs=md.CRS, dst_transform=dst_tr, dst_crs=md.CRS,
              resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
    got = resample(dem, src_transform=src_tr, src_crs=md.CRS, transform=dst_tr, shape=shape, crs=md.CRS,
                   resampling=Resampling.bilinear, nodata=np.nan)
    assert np.isfinite(want).mean() > 0.5 and np.array_equal(got, want, equal_nan=True)


def test_resample_keeps_classes_and_rejects_a_one_pixel_source() -> None:
    classes = np.array([[1, 2, 255], [3, 4, 5], [6, 7, 8]], np.uint8)
    tr = from_origin(0, 30, 10, 10)
    out = resample(classes, src_transform=tr, src_crs=md.CRS, transform=from_origin(0, 30, 5, 5), shape=(6, 6),
                   crs=md.CRS, resampling=Resampling.nearest, nodata=255)
    assert set(np.unique(out)) <= set(np.unique(classes)) and out[0, 0] == 1 and out[0, 5] == 255
    with pytest.raises(ValueError, match="too small"):
        resample(classes[:1], src_transform=tr, src_crs=md.CRS, transform=tr, shape=(1, 3), crs=md.CRS,
                 resampling=Resampling.nearest, nodata=255)


def test_stack_round_trips_with_crs_transform_and_values(inputs: dict[str, Path], tmp_path: Path) -> None:
    profile = load_profile(inputs["profile"])
    res = prepare_data(profile, root=tmp_path)
    aligned = res.aligned
    assert aligned.stack == tmp_path / "data/tiny/aligned" / STACK_FILE and aligned.stack.is_file()
    with open_aligned(profile, root=tmp_path) as ds:
        assert ds.rio.crs == aligned.crs and ds.rio.transform() == aligned.transform
        assert ds.slope.rio.crs == aligned.crs
        assert dict(ds.sizes) == {"band": 3, "y": md.SIZE, "x": md.SIZE}
        assert list(ds.band.values) == ["red", "green", "blue"]
        for var, path in (("elevation", aligned.dem), ("slope", aligned.slope), ("river_level", aligned.river_level),
                          ("instances", aligned.instances), ("valid", aligned.valid)):
            want = _read(path)
            assert ds[var].dtype == want.dtype and np.array_equal(ds[var].values, want, equal_nan=True), var
        assert ds.slope.attrs["units"] == "degree" and "Horn" in ds.slope.attrs["method"]
        assert ds.slope.attrs["source"] == str(inputs["dem"])
        assert "metres" in ds.river_level.attrs["method"] and "0-200 m" in ds.river_level.attrs["method"]
        assert np.isnan(ds.slope.encoding["_FillValue"])
        # the image's nodata (0) is its _FillValue: decoded as NaN, raw with mask_and_scale=False
        image = np.stack([_read(aligned.image, b) for b in (1, 2, 3)])
        assert np.isnan(ds.image.values[:, :4, :4]).all()
        ok = image > 0
        assert np.array_equal(ds.image.values[ok], image[ok].astype(ds.image.dtype))
        # the areas: codes 1..3 in areas.gpkg order, and their splits
        assert ds.area.attrs["flag_meanings"].split() == list(res.areas["name"])
        assert set(np.unique(ds.area.values)) == {1, 2, 3}
        assert set(np.unique(ds.split.values)) == {1, 2}
        import matplotlib.pyplot as plt

        from landslide_utils.plots.data import plot_stack
        from landslide_utils.plots.factors import plot_factor_histograms

        for fig in (plot_stack(ds, save=tmp_path / "stack.png"),
                    plot_factor_histograms(ds, save=tmp_path / "hist.png")):
            plt.close(fig)
        assert (tmp_path / "stack.png").stat().st_size > 0 and (tmp_path / "hist.png").stat().st_size > 0
    with open_stack(aligned.stack, mask_and_scale=False) as raw:
        assert raw.image.dtype == np.uint8 and np.array_equal(raw.image.values, image)


def test_stack_densities_equal_the_tiles_densities(inputs: dict[str, Path], tmp_path: Path) -> None:
    profile = load_profile(inputs["profile"])
    res = prepare_data(profile, root=tmp_path)
    tiles = factor_density([res.tiles_dir / p for p in res.tiles["path"]], spec=profile.factors)
    with open_aligned(profile, root=tmp_path) as ds:
        for rows in (7, 1024):  # blocks of rows do not change the sums
            stack = stack_density(ds, spec=profile.factors, block_rows=rows)
            for name in ("elevation", "slope", "river"):
                assert getattr(stack, name).equals(getattr(tiles, name)), name
            assert stack.share_20_50 == tiles.share_20_50 and stack.study_area_m2 == tiles.study_area_m2
            assert stack.landslide_area_m2 == tiles.landslide_area_m2 > 0


def test_open_aligned_says_what_to_do(inputs: dict[str, Path], tmp_path: Path) -> None:
    profile = load_profile(inputs["profile"])
    with pytest.raises(FileNotFoundError, match="run step 01"):
        open_aligned(profile, root=tmp_path)
    aligned = align_layers(profile, load_inputs(profile), out_dir=tmp_path / "data/tiny/aligned")
    aligned.stack.write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match=f"{aligned.stack}.*rerun step 01"):
        open_aligned(profile, root=tmp_path)
    chips = load_profile(Path(__file__).parents[1] / "params/profiles/bijie_sample.yaml")
    with pytest.raises(ValueError, match="chip dataset has no aligned study area"):
        open_aligned(chips, root=tmp_path)
