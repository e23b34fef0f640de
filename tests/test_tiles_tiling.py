"""Tiling round trips: tiles stitched back equal the aligned layers exactly (Yang et al. 2022, section 2.2)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.transform import Affine
from rasterio.windows import Window
from shapely.geometry import Polygon

from landslide_utils.tiles.tile import read_tile
from landslide_utils.tiles.tiling import INDEX_COLUMNS, area_window, make_tiles, read_index, stitch
from tests.data.tiny_aligned.make_data import EPSG, RES, X0, Y0, make_aligned
from tests.data.tiny_aligned.make_data import tiling_profile as _profile

BANDS = {"red": ("image", 0), "green": ("image", 1), "blue": ("image", 2), "dem": ("dem", None),
         "slope": ("slope", None), "river_level": ("river_level", None), "instance_id": ("instances", None),
         "valid": ("valid", None)}


def _source(src: dict, band: str) -> np.ndarray:
    key, k = BANDS[band]
    return (src[key][k] if k is not None else src[key]).astype(np.float32)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(5, 32),
    width=st.integers(5, 32),
    tile_size=st.integers(5, 20),
    split_frac=st.floats(0.0, 0.9),
    seed=st.integers(0, 10_000),
)
def test_tiles_stitch_back_to_the_source(height: int, width: int, tile_size: int, split_frac: float,
                                          seed: int) -> None:
    split_col = int(split_frac * width)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        aligned, areas, src = make_aligned(tmp / "aligned", height=height, width=width, split_col=split_col, seed=seed)
        index = make_tiles(_profile(tile_size), aligned, areas, out_dir=tmp / "tiles")
        assert list(index.columns[:-1]) == list(INDEX_COLUMNS)
        full = Window(0, 0, width, height)
        for band in ("red", "dem", "instance_id"):  # by band name
            np.testing.assert_array_equal(stitch(index, tmp / "tiles", band=band, window=full), _source(src, band))
        stacked = stitch(index, tmp / "tiles", band=lambda row: read_tile(tmp / "tiles" / row["path"]).stack(),
                         window=full)  # every band at once, by a getter
        np.testing.assert_array_equal(stacked, np.stack([_source(src, b) for b in BANDS]))
        # Per split: the split's window holds exactly its columns; tile origins are exact.
        for split in set(areas["split"]):
            sel = index[index["split"] == split]
            win = area_window(index, split, shape=(height, width))
            got = stitch(sel, tmp / "tiles", band="instance_id", window=win)
            c0 = 0 if split == "train" or split_col <= 0 else split_col
            c1 = split_col if split == "train" else width  # the split's own columns; the rest is padding
            assert int(win.col_off) == c0 and int(win.row_off) == 0
            expected = np.zeros_like(got)
            expected[:, : c1 - c0] = _source(src, "instance_id")[:, c0:c1]
            np.testing.assert_array_equal(got, expected)
        for _, row in index.iterrows():
            tile = read_tile(tmp / "tiles" / row["path"])
            assert tile.transform == aligned.transform @ Affine.translation(row["col_off"], row["row_off"])
            assert tile.transform.c == (aligned.transform @ (row["col_off"], row["row_off"]))[0]
            assert tile.shape == (tile_size, tile_size)
            assert int(tile.valid.sum()) == row["valid_pixels"]
            assert row["has_landslide"] == tile.has_landslide
        assert read_index(tmp / "tiles").equals(index)


def test_edge_tiles_are_padded_and_outside_the_polygon_is_invalid(tmp_path: Path) -> None:
    # A triangular test area over a 30 x 30 scene, tiles of 16: padding beyond the scene and outside the triangle.
    tri = Polygon([(X0, Y0), (X0 + 29.7 * RES, Y0), (X0, Y0 - 29.7 * RES)])
    areas = gpd.GeoDataFrame({"name": ["tri"], "split": ["test"]}, geometry=[tri], crs=EPSG)
    aligned, areas, src = make_aligned(tmp_path / "a", height=30, width=30, areas=areas, n_instances=10, seed=3)
    index = make_tiles(_profile(16), aligned, areas, out_dir=tmp_path / "tiles")
    assert set(index["tile_id"]) == {"tri_r000_c000", "tri_r000_c001", "tri_r001_c000"}  # r1 c1 is empty
    assert not (tmp_path / "tiles" / "test" / "tri_r001_c001.tif").exists()
    tile = read_tile(tmp_path / "tiles" / "test" / "tri_r000_c001.tif")
    assert not tile.valid[:, 14:].any()  # beyond the 30-pixel scene: padding
    assert (tile.image[:, ~tile.valid] == 0).all() and (tile.instances[~tile.valid] == 0).all()
    valid = stitch(index, tmp_path / "tiles", band="valid", window=Window(0, 0, 30, 30)).astype(bool)
    rows, cols = np.mgrid[0:30, 0:30]
    np.testing.assert_array_equal(valid, rows + cols + 1 < 30)  # pixel centres inside the triangle
    inst = stitch(index, tmp_path / "tiles", band="instance_id", window=Window(0, 0, 30, 30))
    np.testing.assert_array_equal(inst[valid], src["instances"][valid])


def test_stitch_with_a_getter_and_area_window_errors(tmp_path: Path) -> None:
    aligned, areas, src = make_aligned(tmp_path / "a", height=20, width=26, split_col=10)
    index = make_tiles(_profile(8), aligned, areas, out_dir=tmp_path / "tiles")

    def prediction(row):  # noqa: ANN001, ANN202 - a fake per-tile model output: the row offset everywhere
        return np.full((2, 8, 8), row["row_off"], dtype=np.int16)

    win = area_window(index, "test")
    out = stitch(index[index["split"] == "test"], tmp_path / "tiles", band=prediction, window=win)
    assert out.shape == (2, int(win.height), int(win.width)) and out.dtype == np.int16
    assert (out[:, 8:16] == 8).all()
    with pytest.raises(ValueError, match="choose one of"):
        area_window(index, "nowhere")
    with pytest.raises(ValueError, match="no band"):
        stitch(index, tmp_path / "tiles", band="nir", window=win)
    # Rewriting with another tile size removes stale tiles.
    make_tiles(_profile(12), aligned, areas, out_dir=tmp_path / "tiles")
    assert len(list((tmp_path / "tiles").rglob("*.tif"))) == len(read_index(tmp_path / "tiles"))
    with rasterio.open(next((tmp_path / "tiles").rglob("*.tif"))) as ds:
        assert ds.crs == aligned.crs and ds.descriptions[-2:] == ("instance_id", "valid")
