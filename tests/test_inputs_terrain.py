"""Slope (Horn's method) and distance-from-river levels (Yang et al. 2022, section 2.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import Affine, from_origin
from shapely.geometry import LineString

from landslide_utils.inputs.terrain import RiverRings, river_levels, slope_degrees


def _plane(shape, *, gx: float, gy: float, xres: float, yres: float) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x = (cols + 0.5) * xres
    y = -(rows + 0.5) * yres  # north-up: rows go south
    return 1200.0 + gx * x + gy * y


@pytest.mark.parametrize(
    ("gx", "gy", "xres", "yres"),
    [(0.5, 0.0, 10.0, 10.0), (0.0, -0.8, 10.0, 10.0), (0.3, 0.4, 8.0, 8.0), (1.2, -0.7, 5.0, 12.5),
     (0.05, 2.0, 30.0, 2.0)],
)
def test_tilted_plane_slope_is_exact(gx: float, gy: float, xres: float, yres: float) -> None:
    dem = _plane((17, 23), gx=gx, gy=gy, xres=xres, yres=yres)
    slope = slope_degrees(dem, xres=xres, yres=yres)
    expected = math.degrees(math.atan(math.hypot(gx, gy)))
    assert slope.dtype == np.float32 and slope.shape == dem.shape
    assert np.abs(slope[1:-1, 1:-1] - expected).max() < 0.1
    assert np.abs(slope - expected).max() < 0.1  # edges by linear extrapolation are exact too


def test_horn_formula_by_hand() -> None:
    z = np.array([[50, 45, 50], [30, 30, 30], [8, 10, 10]], dtype=float)
    dzdx = ((50 + 2 * 30 + 10) - (50 + 2 * 30 + 8)) / (8 * 5.0)
    dzdy = ((8 + 2 * 10 + 10) - (50 + 2 * 45 + 50)) / (8 * 5.0)
    expected = math.degrees(math.atan(math.hypot(dzdx, dzdy)))
    assert slope_degrees(z, xres=5.0, yres=5.0)[1, 1] == pytest.approx(expected, abs=1e-4)


def test_nodata_propagates_as_nan() -> None:
    dem = _plane((9, 9), gx=0.2, gy=0.1, xres=1.0, yres=1.0)
    mask = np.zeros(dem.shape, bool)
    mask[4, 4] = True
    slope = slope_degrees(dem, xres=1.0, yres=1.0, nodata_mask=mask)
    assert np.isnan(slope[3:6, 3:6]).all()
    assert np.isfinite(slope).sum() == 81 - 9
    dem[0, 0] = np.nan
    assert np.isnan(slope_degrees(dem, xres=1.0, yres=1.0)[:2, :2]).all()


def test_slope_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="positive"):
        slope_degrees(np.zeros((4, 4)), xres=0.0, yres=1.0)
    with pytest.raises(ValueError, match="2 x 2"):
        slope_degrees(np.zeros((1, 4)), xres=1.0, yres=1.0)


# A north-south river through the centres of column 50 of a 10 m grid, 4 km wide.
RES = 10.0
TR = from_origin(0.0, 200.0, RES, RES)
SHAPE = (20, 400)
LINE = LineString([(505.0, 500.0), (505.0, -500.0)])


def _level_for(d_surface: float) -> int:
    if d_surface <= 0:
        return 0
    return 1 + int(np.digitize(d_surface, [200, 500, 1000, 2000], right=True))


def test_river_levels_match_the_distance_of_each_pixel_centre() -> None:
    """Every pixel's level is the ring of its centre's exact distance from the river surface."""
    diag = LineString([(0.0, 200.0), (4000.0, -100.0), (2500.0, 150.0)])
    levels = river_levels([diag], shape=SHAPE, transform=TR, buffer_m=30.0)
    rows, cols = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    xs, ys = TR @ (cols + 0.5, rows + 0.5)
    d = shapely.distance(shapely.points(xs.ravel(), ys.ravel()), diag).reshape(SHAPE) - 30.0
    expected = np.where(d <= 0, 0, 1 + np.digitize(d, [200, 500, 1000, 2000], right=True))
    # buffers are polygons whose chords stay within a tenth of a pixel of the true circle: only centres that
    # close to a ring edge may differ
    near_edge = np.min(np.abs(d[..., None] - np.array([0, 200, 500, 1000, 2000])), axis=-1) < 0.1 * RES
    assert (levels[~near_edge] == expected[~near_edge]).all()


@given(r0=st.integers(0, 19), c0=st.integers(0, 399), h=st.integers(1, 20), w=st.integers(1, 400))
@settings(max_examples=30, deadline=None)
def test_river_levels_of_a_window_equal_the_whole_grid(r0: int, c0: int, h: int, w: int) -> None:
    rings = RiverRings([LineString([(0.0, 300.0), (4000.0, -250.0)]), LINE], buffer_m=30.0)
    whole = rings.levels(shape=SHAPE, transform=TR)
    h, w = min(h, SHAPE[0] - r0), min(w, SHAPE[1] - c0)
    part = rings.levels(shape=(h, w), transform=TR @ Affine.translation(c0, r0))
    np.testing.assert_array_equal(part, whole[r0:r0 + h, c0:c0 + w])


@pytest.mark.parametrize(
    ("d_surface", "side"),
    [(0.0, 1), (100.0, 1), (350.0, 1), (750.0, 1), (1500.0, 1), (2500.0, 1), (3300.0, 1), (100.0, -1),
     (350.0, -1), (12.0, -1)],
)
def test_river_levels_at_known_distances(d_surface: float, side: int) -> None:
    """A point at a known distance from the river surface (x = 505 +- (30 m buffer + d)) gets its ring's level."""
    levels = river_levels([LINE], shape=SHAPE, transform=TR, buffer_m=30.0)
    x = 505.0 + side * (d_surface + 30.0 if d_surface > 0 else 0.0)
    col = int(x // RES)
    assert 0 <= col < SHAPE[1]
    assert levels.dtype == np.uint8
    assert levels[10, col] == _level_for(d_surface)


def test_rivers_outside_the_grid_count() -> None:
    outside = LineString([(4100.0, 500.0), (4100.0, -500.0)])  # 100 m east of the grid's edge (x = 4000)
    levels = river_levels([outside], shape=SHAPE, transform=TR, buffer_m=30.0)
    assert levels[0, -1] == 1  # ~65 m from the river surface
    assert levels[0, 0] == 5
    assert (river_levels([], shape=SHAPE, transform=TR) == 5).all()


def test_river_levels_reject_bad_edges() -> None:
    with pytest.raises(ValueError, match="increasing"):
        river_levels([LINE], shape=SHAPE, transform=TR, ring_edges_m=(500, 200))
