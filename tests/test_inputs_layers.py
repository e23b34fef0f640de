"""Alignment to the image grid and the data preparation (step 01), on a tiny set of real-format input files.

The input checks themselves are tested in test_inputs_checks.py."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from landslide_utils.config.load import load_profile
from landslide_utils.inputs.checks import check_inputs
from landslide_utils.inputs.layers import align_layers, load_inputs
from landslide_utils.steps.prepare import prepare_data
from landslide_utils.tiles.tiling import read_index
from tests.data.tiny_files import make_data as md


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    return md.make_inputs(tmp_path / "in")


def _pixel_centres(transform, shape):  # noqa: ANN001, ANN202
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return transform @ (cols + 0.5, rows + 0.5)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _align(inputs: dict[str, Path], out: Path):  # noqa: ANN202
    profile = load_profile(inputs["profile"])
    return align_layers(profile, load_inputs(profile), out_dir=out)


def test_geographic_dem_is_reprojected_and_slope_is_right(inputs: dict[str, Path], tmp_path: Path) -> None:
    aligned = _align(inputs, tmp_path / "aligned")
    assert any("geographic" in f.message for f in aligned.findings)
    slope, dem = _read(aligned.slope), _read(aligned.dem)
    assert np.isfinite(slope).all() and np.isfinite(dem).all()
    assert np.abs(slope - md.SLOPE_DEG).max() < 0.1
    x, y = _pixel_centres(aligned.transform, aligned.shape)
    assert np.abs(dem - md.plane(x, y)).max() < 0.05


def test_shifted_coarser_projected_dem_is_aligned(inputs: dict[str, Path], tmp_path: Path) -> None:
    # DEM on its own grid: 7 m x 5 m pixels, origin off the image grid, in the image CRS.
    tr = from_origin(md.X0 - 43.3, md.Y0 + 37.9, 7.0, 5.0)
    cols, rows = np.meshgrid(np.arange(45) + 0.5, np.arange(56) + 0.5)
    x, y = tr @ (cols, rows)
    md.write_raster(inputs["dem"], md.plane(x, y).astype(np.float32), transform=tr, crs=md.CRS, nodata=-9999.0)
    aligned = _align(inputs, tmp_path / "aligned")
    dem, slope = _read(aligned.dem), _read(aligned.slope)
    xi, yi = _pixel_centres(aligned.transform, aligned.shape)
    assert np.abs(dem - md.plane(xi, yi)).max() < 1e-3  # bilinear is exact on a plane
    assert np.abs(slope - md.SLOPE_DEG).max() < 0.1


def test_dem_nodata_hole_becomes_invalid(inputs: dict[str, Path], tmp_path: Path) -> None:
    tr = from_origin(md.X0 - 43.3, md.Y0 + 37.9, 7.0, 5.0)
    cols, rows = np.meshgrid(np.arange(45) + 0.5, np.arange(56) + 0.5)
    dem = md.plane(*(tr @ (cols, rows))).astype(np.float32)
    dem[25:27, 30:32] = -9999.0  # a void under the test area (x ~ X0 + 170, y ~ Y0 - 90)
    md.write_raster(inputs["dem"], dem, transform=tr, crs=md.CRS, nodata=-9999.0)
    aligned = _align(inputs, tmp_path / "aligned")
    valid = _read(aligned.valid).astype(bool)
    col, row = ~aligned.transform @ (tr @ (31, 26))
    assert not valid[int(row), int(col)]
    assert 0 < (~valid[4:, 4:]).sum() < 0.05 * 96 * 48
    assert any(f.level == "warning" and "no elevation" in f.message and "'test'" in f.message
               for f in aligned.findings)


def test_layers_and_valid_mask(inputs: dict[str, Path], tmp_path: Path) -> None:
    aligned = _align(inputs, tmp_path / "aligned")
    valid = _read(aligned.valid).astype(bool)
    assert not valid[:4, :4].any() and valid.sum() == 96 * 96 - 16  # the image's nodata corner
    inst = _read(aligned.instances)
    assert inst.dtype == np.int32 and set(np.unique(inst)) == set(range(len(md.LANDSLIDES) + 1))
    x0, y0, r = md.LANDSLIDES[2]
    col, row = ~aligned.transform @ (x0, y0)
    assert inst[int(row), int(col)] == 3  # ids follow the inventory order
    levels = _read(aligned.river_level)
    river_col = int((md.RIVER_X - md.X0) // md.RES)
    assert (levels[:, river_col] == 0).all() and (levels[:, 0] == 1).all()  # 100 m from the river: ring 0-200 m
    inv = gpd.read_file(aligned.inventory)
    assert inv.crs == aligned.crs and list(inv["instance_id"]) == [1, 2, 3, 4, 5]


def test_profile_area_bounds_and_nodata_warning(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_image(inputs["image_t1"], nodata=None)
    extra = ("areas:\n  - {name: west, split: train, bounds: [370000, 3002808, 370096, 3003000]}\n"
             "  - {name: east, split: test, bounds: [370096, 3002808, 370192, 3003000]}\n")
    profile = load_profile(md.write_profile(inputs["profile"].parent, areas_file=False, extra=extra))
    paths = load_inputs(profile)
    assert paths.areas is None
    findings = check_inputs(paths, profile=profile)
    assert any(f.level == "warning" and "nodata" in f.message and f.file == str(inputs["image_t1"]) for f in findings)
    aligned = align_layers(profile, paths, out_dir=tmp_path / "aligned")
    assert list(gpd.read_file(aligned.areas)["name"]) == ["west", "east"]
    assert _read(aligned.valid).all()


def test_second_image_on_other_grid_is_resampled(inputs: dict[str, Path], tmp_path: Path) -> None:
    t2 = inputs["image_t1"].parent / "image_t2.tif"
    img = np.full((3, 40, 40), 77, np.uint8)
    md.write_raster(t2, img, transform=from_origin(md.X0 - 10, md.Y0 + 10, 5.5, 5.5), crs=md.CRS, nodata=0)
    extra = "    image_t2: image_t2.tif\n"
    text = inputs["profile"].read_text().replace("    areas: areas.geojson\n", "    areas: areas.geojson\n" + extra)
    inputs["profile"].write_text(text)
    aligned = _align(inputs, tmp_path / "aligned")
    assert aligned.image_t2 == tmp_path / "aligned" / "image_t2.tif"
    with rasterio.open(aligned.image_t2) as src:
        assert src.transform == aligned.transform and src.shape == aligned.shape
        assert (src.read(1)[:150 // 2, :150 // 2] == 77).all()


def test_prepare_data_end_to_end_real_inputs(inputs: dict[str, Path], tmp_path: Path) -> None:
    """The real-input path: GeoTIFFs + vector files in several CRSs, ``data.source: files``."""
    profile = load_profile(inputs["profile"])
    res = prepare_data(profile, root=tmp_path)
    tiles_dir = tmp_path / "data" / "tiny" / "tiles"
    assert res.tiles_dir == tiles_dir and (tiles_dir / "index.gpkg").exists()
    index = read_index(tiles_dir)
    assert len(index) == len(res.tiles) == 14  # 2 x 2 tiles of 32 px in each train area, 2 x 3 in the test area
    assert set(index["split"]) == {"train", "test"}
    assert all((tiles_dir / p).exists() for p in index["path"])
    counts = res.counts
    assert counts.loc["total", "tiles"] == 14
    assert counts.loc["train", "landslide_tiles"] + counts.loc["train", "non_landslide_tiles"] == 8
    assert counts.loc["total", "landslides"] == len(md.LANDSLIDES)
    assert math.isclose(counts.loc["test", "area_km2"], 48 * 96 * 4 / 1e6)
    assert res.coco_train.exists()
    # Rerunning over existing outputs works (atomic overwrites).
    prepare_data(profile, root=tmp_path)
    from landslide_utils.plots.data import plot_aligned_layers, plot_tile_grid

    fig1 = plot_aligned_layers(res.aligned, res.areas, area="test", save=tmp_path / "layers.png")
    fig2 = plot_tile_grid(index, res.aligned.image, save=tmp_path / "grid.png")
    assert (tmp_path / "layers.png").stat().st_size > 0 and (tmp_path / "grid.png").stat().st_size > 0
    import matplotlib.pyplot as plt

    plt.close(fig1)
    plt.close(fig2)


def test_committed_fixture_prepares(tmp_path: Path) -> None:
    """The committed files of tests/data/tiny_files (written by its make_data.py) run through step 01."""
    profile = load_profile(Path(md.__file__).parent / "profile.yaml")
    res = prepare_data(profile, root=tmp_path)
    assert res.counts.loc["total", "tiles"] == 14 and not any(f.level == "error" for f in res.findings)
