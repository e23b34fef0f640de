"""Whole-scene prediction: windows, blending, strip labelling, instance merging, window-local factors, outputs."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.features import shapes
from rasterio.transform import from_origin
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import LineString, shape
from torch import nn

from landslide_utils.config.load import load_profile
from landslide_utils.files.vector_stream import VectorStream
from landslide_utils.inputs.findings import InputError
from landslide_utils.inputs.layers import align_layers, load_inputs
from landslide_utils.inputs.scene_windows import open_scene
from landslide_utils.prediction import scene as scene_mod
from landslide_utils.prediction.blend import (
    InstanceMerger,
    Piece,
    StripBlender,
    StripLabels,
    taper,
    window_grid,
    window_starts,
    window_weight,
)
from landslide_utils.prediction.tiles import predict_tiles
from landslide_utils.synthetic import generate_from_profile
from landslide_utils.tiles.tile import TileData
from tests.data.tiny_files import make_data as md

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:32648"


# --- windows and weights ---------------------------------------------------------------------------------------

@given(length=st.integers(1, 3000), window=st.integers(8, 600), frac=st.floats(0, 0.49))
def test_window_starts_cover_the_axis(length: int, window: int, frac: float) -> None:
    overlap = int(window * frac)
    starts = window_starts(length, window=window, overlap=overlap)
    assert starts[0] == 0 and starts == sorted(set(starts))
    covered = np.zeros(length, bool)
    for s in starts:
        assert 0 <= s and (s + window <= length or length <= window)
        covered[s:s + window] = True
    assert covered.all()
    assert all(b - a <= window - overlap for a, b in zip(starts, starts[1:]))


@given(overlap=st.integers(1, 40))
def test_tapers_sum_to_one_where_windows_overlap_exactly(overlap: int) -> None:
    n = 3 * overlap + 5
    first = taper(n, overlap=overlap, start=False, end=True)
    second = taper(n, overlap=overlap, start=True, end=False)
    np.testing.assert_allclose(first[n - overlap:] + second[:overlap], 1.0, atol=1e-6)
    assert first[0] == 1.0 and second[-1] == 1.0 and (first > 0).all() and (second > 0).all()


def test_zero_overlap_weights_are_one() -> None:
    w = window_weight((64, 64), row_off=64, col_off=64, height=256, width=256, overlap=0)
    assert (w == 1.0).all()


def _blend_constant(height: int, width: int, window: int, overlap: int, value: float, align: int) -> tuple:
    got = np.full((height, width), -1.0, np.float32)
    seen = np.zeros((height, width), int)

    def emit(row0: int, score: np.ndarray, valid: np.ndarray) -> None:
        got[row0:row0 + score.shape[0]] = np.where(valid, score, np.nan)
        seen[row0:row0 + score.shape[0]] += 1
        assert row0 % align == 0
        assert align == 1 or score.shape[0] <= align  # strips of at most a block: small temporaries downstream

    b = StripBlender(height=height, width=width, emit=emit, align=align)
    most = 0
    for r, c in window_grid(height, width, window=window, overlap=overlap):
        b.finish_before(r)
        h, w = min(window, height - r), min(window, width - c)
        wt = window_weight((h, w), row_off=r, col_off=c, height=height, width=width, overlap=overlap)
        b.add(row_off=r, col_off=c, score=np.full((h, w), value, np.float32), weight=wt, valid=np.ones((h, w), bool))
        most = max(most, b.buffered_rows)
    b.close()
    return got, seen, most


@settings(max_examples=25, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), window=st.sampled_from([32, 64, 96]),
       frac=st.floats(0, 0.45), value=st.floats(0.01, 1.0), align=st.sampled_from([1, 16, 64]))
def test_no_seam_for_a_constant_model_and_every_row_emitted_once(height: int, width: int, window: int,
                                                                  frac: float, value: float, align: int) -> None:
    got, seen, most = _blend_constant(height, width, window, int(window * frac), value, align)
    assert (seen == 1).all()
    np.testing.assert_allclose(got, value, rtol=1e-5)
    assert most <= window + align + window  # a window row (and the unaligned rest), never the scene


@settings(max_examples=25, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 120), window=st.sampled_from([32, 64, 96]),
       frac=st.floats(0, 0.45), align=st.sampled_from([1, 16, 64]))
def test_blender_sized_for_a_window_row_never_allocates_again(height: int, width: int, window: int, frac: float,
                                                              align: int) -> None:
    """Given ``rows = window + align - 1`` (as predict_scene does), the buffers allocated at the start are the
    ones used to the end: streaming a scene allocates no strip-wide array per window row."""
    overlap = int(window * frac)
    b = StripBlender(height=height, width=width, emit=lambda *_: None, align=align, rows=window + align - 1)
    buffers = (id(b.acc), id(b.wsum))
    for r, c in window_grid(height, width, window=window, overlap=overlap):
        b.finish_before(r)
        h, w = min(window, height - r), min(window, width - c)
        b.add(row_off=r, col_off=c, score=np.ones((h, w), np.float32), weight=np.ones((h, w), np.float32),
              valid=np.ones((h, w), bool))
        assert (id(b.acc), id(b.wsum)) == buffers
    b.close()
    assert (id(b.acc), id(b.wsum)) == buffers and b.buffered_rows == 0


# --- strips of labels and instance merging ---------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 39), max_size=6))
def test_strip_labels_equal_whole_labels(seed: int, cuts: list[int]) -> None:
    """Polygons handed back strip by strip equal the whole raster's polygonisation: the same count, the same
    pixels (areas), the same geometries; each is handed back once, as soon as no later strip can reach it."""
    rng = np.random.default_rng(seed)
    mask = ndimage.binary_opening(rng.random((40, 30)) < 0.55)
    score = rng.random((40, 30)).astype(np.float32)
    labels = StripLabels(transform=from_origin(0, 40, 1, 1))
    edges = [0, *sorted(set(cuts)), 40]
    comps = []
    for a, b in zip(edges, edges[1:]):
        got = labels.add(a, mask[a:b], score[a:b])
        whole_above, _ = ndimage.label(mask[:b], structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
        open_ids = set(np.unique(whole_above[-1])) - {0}
        closed_now = sum(1 for i in range(1, whole_above.max() + 1) if i not in open_ids)
        comps += got
        assert len(comps) == closed_now  # exactly the components the strips so far have closed
    comps += labels.finish()
    whole, n = ndimage.label(mask, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    assert len(comps) == n
    expected = sorted((shape(g) for g, _ in shapes(whole.astype(np.int32), mask=whole > 0, connectivity=4,
                                                    transform=from_origin(0, 40, 1, 1))),
                      key=lambda g: (g.area, g.bounds))
    got = sorted((g for g, _, _ in comps), key=lambda g: (g.area, g.bounds))
    assert [g.area for g in got] == [g.area for g in expected]
    assert all(a.symmetric_difference(b).area == 0 for a, b in zip(got, expected))
    assert sorted(px for _, px, _ in comps) == sorted(int((whole == i).sum()) for i in range(1, n + 1))
    for geom, px, mean in comps:
        assert geom.area == pytest.approx(px)  # 1 x 1 pixels: the polygon holds exactly its pixels
        assert 0 <= mean <= 1


def _piece(mask: np.ndarray, window: tuple[int, int, int, int], score: float = 0.9) -> Piece:
    r, c, h, w = window
    full = np.zeros((h, w), bool)
    full[:] = mask[r:r + h, c:c + w]
    rows, cols = np.flatnonzero(full.any(1)), np.flatnonzero(full.any(0))
    return Piece(r + rows[0], c + cols[0], full[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], score, window)


def test_instances_cut_by_a_window_edge_are_merged_and_neighbours_are_not() -> None:
    scene = np.zeros((64, 100), bool)
    scene[10:30, 40:70] = True   # crosses the shared zone of windows A (cols 0..64) and B (cols 36..100)
    other = np.zeros_like(scene)
    other[40:50, 5:15] = True    # only in window A
    a, b = (0, 0, 64, 64), (0, 36, 64, 64)
    m = InstanceMerger()
    m.add(a, [_piece(scene, a, 0.8), _piece(other, a, 0.7)])
    m.add(b, [_piece(scene, b, 0.95)])
    out = m.instances()
    assert len(out) == 2
    big = max(out, key=lambda p: p.mask.sum())
    assert big.mask.sum() == 20 * 30 and big.score == 0.95 and (big.r0, big.c0) == (10, 40)


def test_touching_windows_merge_pieces_that_meet_at_the_edge() -> None:
    scene = np.zeros((64, 128), bool)
    scene[5:20, 50:80] = True
    separate = np.zeros_like(scene)
    separate[40:50, 66:70] = True  # in window B only, not touching the edge at column 64
    a, b = (0, 0, 64, 64), (0, 64, 64, 64)
    m = InstanceMerger()
    m.add(a, [_piece(scene, a)])
    m.add(b, [_piece(scene, b), _piece(separate, b)])
    sizes = sorted(int(p.mask.sum()) for p in m.instances())
    assert sizes == [40, 15 * 30]


def test_two_landslides_overlapping_a_little_stay_apart() -> None:
    one, two = np.zeros((64, 100), bool), np.zeros((64, 100), bool)
    one[10:30, 38:56] = True
    two[10:30, 52:62] = True  # shares 4 columns with `one` inside the zone both windows see
    a, b = (0, 0, 64, 64), (0, 36, 64, 64)
    m = InstanceMerger()
    m.add(a, [_piece(one, a)])
    m.add(b, [_piece(two, b)])
    assert len(m.instances()) == 2


# --- a scene on disk and fake models ---------------------------------------------------------------------------

class RedSeg(nn.Module):
    """A fixed 'U-Net': a 5 x 5 convolution of the red channel (its output near a window edge depends on the
    padding, like a real CNN's), squashed to a logit."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 5, padding=2, bias=False)
        torch.manual_seed(0)
        nn.init.uniform_(self.conv.weight, 0.0, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * 4.0


class Constant(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 1, *x.shape[-2:]), 0.3)


class BlobInstances(nn.Module):
    """A 'Mask R-CNN': one instance per bright blob of the window (normalised red > 2), score 0.9."""

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outs = []
        for x in images:
            lab, n = ndimage.label((x[0] > 2.0).numpy())
            masks = [torch.from_numpy(lab == i).float() for i in range(1, n + 1)] or [torch.zeros(x.shape[-2:])]
            outs.append({"boxes": torch.zeros(n, 4), "labels": torch.ones(n, dtype=torch.int64),
                         "scores": torch.full((n,), 0.9), "masks": torch.stack(masks)[:n, None]})
        return outs


def _meta(model: str = "unet", channels: str = "rgb") -> dict:
    n = 3 if channels == "rgb" else 6
    return {"model": model, "task": "instance" if model == "maskrcnn" else "semantic", "channels": channels,
            "in_channels": n, "mean": [100.0] * n, "std": [50.0] * n, "experiment": "T",
            "factors": {"elevation_bin_m": 100.0, "slope_bin_deg": 10.0, "river_buffer_m": 30.0,
                        "river_ring_edges_m": [200.0, 500.0, 1000.0, 2000.0]}}


def _scene(path: Path, height: int = 300, width: int = 420, nodata_box: bool = True) -> Path:
    rng = np.random.default_rng(1)
    img = (rng.random((3, height, width)) * 120 + 40).astype(np.uint8)
    img[0, 100:160, 170:260] = 250  # a bright blob across window edges
    if nodata_box:
        img[:, :20, :30] = 0
    with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=3, dtype="uint8", crs=CRS,
                       transform=from_origin(500_000, 3_000_000, 2.0, 2.0), nodata=0) as dst:
        dst.write(img)
    return path


def _fake(monkeypatch: pytest.MonkeyPatch, model: nn.Module, meta: dict) -> None:
    monkeypatch.setattr(scene_mod, "load_checkpoint", lambda path, device: (model, meta))


def _predict(tmp_path: Path, **kw) -> dict:  # noqa: ANN003
    opts = {"checkpoint": tmp_path / "c.pt", "image": tmp_path / "scene.tif", "out_dir": tmp_path / "out",
            "window": 128, "overlap": 32, "batch_size": 3, "progress": False, "precision": "fp32", **kw}
    return scene_mod.predict_scene(**opts)


def test_constant_model_gives_a_constant_map_and_nodata_stays_nodata(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _scene(tmp_path / "scene.tif")
    _fake(monkeypatch, Constant(), _meta())
    res = _predict(tmp_path)
    with rasterio.open(tmp_path / "out/probability.tif") as src:
        prob = src.read(1)
        assert src.crs.to_string() == CRS and src.nodata != src.nodata  # NaN
        assert src.block_shapes[0] == (128, 128) or src.block_shapes[0] == (256, 256)
    with rasterio.open(tmp_path / "out/landslides.tif") as src:
        binary = src.read(1)
    expected = 1 / (1 + np.exp(-0.3))
    assert np.isnan(prob[:20, :30]).all() and (binary[:20, :30] == 255).all()
    rest = np.ones(prob.shape, bool)
    rest[:20, :30] = False
    np.testing.assert_allclose(prob[rest], expected, rtol=1e-6)
    assert (binary[rest] == 1).all()
    assert res["windows"] == len(window_grid(300, 420, window=128, overlap=32))
    gdf = gpd.read_file(tmp_path / "out/landslides.gpkg")
    assert len(gdf) == 1 and gdf.crs.to_string() == CRS
    assert gdf["area_m2"].iloc[0] == pytest.approx((300 * 420 - 600) * 4.0)
    assert json.loads((tmp_path / "out/prediction.json").read_text())["threshold_source"] == "fixed"


def test_blend_equals_tile_by_tile_where_windows_do_not_overlap(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _scene(tmp_path / "scene.tif", nodata_box=False)
    model, meta = RedSeg().eval(), _meta()
    _fake(monkeypatch, model, meta)
    _predict(tmp_path)
    with rasterio.open(tmp_path / "out/probability.tif") as src:
        prob = src.read(1)
    height, width = prob.shape
    grid = window_grid(height, width, window=128, overlap=32)
    cover = np.zeros(prob.shape, int)
    for r, c in grid:
        cover[r:r + 128, c:c + 128] += 1
    with rasterio.open(path) as src:
        tiles = [(f"{r},{c}", TileData(image=src.read(window=Window(c, r, 128, 128)).astype(np.float32),
                                       factors=np.zeros((3, 128, 128), np.float32),
                                       instances=np.zeros((128, 128), np.int32), valid=np.ones((128, 128), bool)))
                 for r, c in grid]
    alone = np.full(prob.shape, np.nan, np.float32)
    lo, hi = np.full(prob.shape, np.inf, np.float32), np.full(prob.shape, -np.inf, np.float32)
    for (r, c), p in zip(grid, predict_tiles(model, meta, tiles)):
        single = cover[r:r + 128, c:c + 128] == 1
        alone[r:r + 128, c:c + 128][single] = p.score[single]
        np.minimum(lo[r:r + 128, c:c + 128], p.score, out=lo[r:r + 128, c:c + 128])
        np.maximum(hi[r:r + 128, c:c + 128], p.score, out=hi[r:r + 128, c:c + 128])
    once = cover == 1
    assert once.sum() > 0.3 * once.size and (cover > 1).sum() > 0.1 * once.size
    np.testing.assert_array_equal(prob[once], alone[once])
    # where windows overlap, the blend is a weighted mean of the windows' own predictions
    assert (prob >= lo - 1e-6).all() and (prob <= hi + 1e-6).all()


def test_mask_rcnn_instances_are_merged_across_window_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scene(tmp_path / "scene.tif", nodata_box=False)
    _fake(monkeypatch, BlobInstances(), _meta("maskrcnn"))
    res = _predict(tmp_path)
    gdf = gpd.read_file(tmp_path / "out/landslides.gpkg")
    assert len(gdf) == 1 and res["landslides"] == 1  # the blob spans several windows: one landslide
    assert gdf["area_m2"].iloc[0] == pytest.approx(60 * 90 * 4.0)
    assert gdf["score"].iloc[0] == pytest.approx(0.9)
    minx, miny, maxx, maxy = gdf.total_bounds
    assert (minx, maxy) == (500_000 + 170 * 2.0, 3_000_000 - 100 * 2.0)
    assert (maxx, miny) == (500_000 + 260 * 2.0, 3_000_000 - 160 * 2.0)


def test_scene_smaller_than_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scene(tmp_path / "scene.tif", height=50, width=70)
    _fake(monkeypatch, Constant(), _meta())
    res = _predict(tmp_path, window=128)
    with rasterio.open(tmp_path / "out/probability.tif") as src:
        assert src.shape == (50, 70) and np.isnan(src.read(1)[:20, :30]).all()
    assert res["windows"] == 1


# --- window-local factors equal step 01's -----------------------------------------------------------------------

def _windows_equal_aligned(image: Path, dem: Path, rivers: Path, aligned, profile,  # noqa: ANN001
                           atol: tuple[float, float] = (1e-4, 1e-4)) -> None:
    with open_scene(image, dem=dem, rivers=rivers, needs_factors=True, factors=profile.factors) as sc:
        with rasterio.open(aligned.dem) as a, rasterio.open(aligned.slope) as b, \
                rasterio.open(aligned.river_level) as c, rasterio.open(aligned.valid) as v:
            full = [a.read(1), b.read(1), c.read(1).astype(np.float32)]
            valid = v.read(1) > 0
        height, width = sc.image.shape
        for r, c_, h, w in [(0, 0, 64, 96), (height - 50, width - 70, 50, 70), (height // 3, width // 2, 40, 33)]:
            got = sc.window(r, c_, h, w)
            for k, tol in enumerate((*atol, 0.0)):  # river levels: exactly
                np.testing.assert_allclose(got["factors"][k], full[k][r:r + h, c_:c_ + w], atol=tol, rtol=0,
                                           equal_nan=True)
            np.testing.assert_array_equal(got["valid"], valid[r:r + h, c_:c_ + w])


def test_window_factors_equal_step_01_on_the_synthetic_area(tmp_path: Path) -> None:
    profile = load_profile(ROOT / "params/profiles/smoke.yaml")
    files = generate_from_profile(profile, tmp_path / "in")
    paths = load_inputs(profile, input_dir=tmp_path / "in")
    aligned = align_layers(profile, paths, out_dir=tmp_path / "aligned")
    _windows_equal_aligned(files["image_t1"], files["dem"], files["rivers"], aligned, profile)


def test_window_factors_equal_step_01_with_a_geographic_dem(tmp_path: Path) -> None:
    inputs = md.make_inputs(tmp_path / "in")
    profile = load_profile(inputs["profile"])
    aligned = align_layers(profile, load_inputs(profile), out_dir=tmp_path / "aligned")
    _windows_equal_aligned(inputs["image_t1"], inputs["dem"], inputs["rivers"], aligned, profile)


# --- clear errors ----------------------------------------------------------------------------------------------

def test_factor_model_without_dem_or_rivers_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scene(tmp_path / "scene.tif")
    _fake(monkeypatch, Constant(), _meta(channels="rgb+factors"))
    with pytest.raises(InputError, match="give --dem") as exc:
        _predict(tmp_path)
    assert "give --rivers" in str(exc.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_dem_that_does_not_cover_the_scene_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scene(tmp_path / "scene.tif")
    dem = tmp_path / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", height=40, width=40, count=1, dtype="float32", crs=CRS,
                       transform=from_origin(500_000, 3_000_000, 10.0, 10.0)) as dst:
        dst.write(np.full((1, 40, 40), 500.0, np.float32))
    gpd.GeoDataFrame(geometry=[LineString([(500_000, 2_999_500), (500_800, 2_999_500)])], crs=CRS).to_file(
        tmp_path / "rivers.gpkg")
    _fake(monkeypatch, Constant(), _meta(channels="rgb+factors"))
    with pytest.raises(InputError, match=r"covers \d+\.\d % of the image"):
        _predict(tmp_path, dem=dem, rivers=tmp_path / "rivers.gpkg")


def test_geographic_image_is_refused_with_the_utm_zone(tmp_path: Path) -> None:
    path = tmp_path / "geo.tif"
    with rasterio.open(path, "w", driver="GTiff", height=10, width=10, count=3, dtype="uint8", crs="EPSG:4326",
                       transform=from_origin(103.5, 27.2, 0.0001, 0.0001)) as dst:
        dst.write(np.ones((3, 10, 10), np.uint8))
    with pytest.raises(InputError, match="EPSG:32648"):
        open_scene(path)


def test_cli_reports_bad_options_and_files_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from landslide_utils.cli import main

    _scene(tmp_path / "scene.tif")
    base = ["predict", "--image", str(tmp_path / "scene.tif"), "--out", str(tmp_path / "out"),
            "--checkpoint", str(tmp_path / "none.pt")]
    assert main(base + ["--window", "100"]) == 2
    assert "--window 100: must be a multiple of 32" in capsys.readouterr().err
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "none.pt" in err and "Traceback" not in err and err.startswith("error: ")


def test_cli_maps_a_scene_with_a_real_checkpoint_and_factors(tmp_path: Path) -> None:
    """The whole path: a saved PSPNet checkpoint (rgb+factors), DEM and rivers in another CRS, the command line."""
    from landslide_utils.models import build_model
    from landslide_utils.training.checkpoint import save_checkpoint

    profile = load_profile(ROOT / "params/profiles/smoke.yaml")
    spec = profile.models.pspnet
    torch.manual_seed(0)
    model = build_model("pspnet", 6, spec=spec, num_classes=2, load_weights=False)
    meta = {**_meta("pspnet", "rgb+factors"), "spec": spec.model_dump(mode="json"), "num_classes": 2}
    save_checkpoint(tmp_path / "c.pt", meta=meta, model=model, optimizer=None, scaler=None, step=1, steps=1,
                    train_seconds=0.0, final_loss=None)
    _scene(tmp_path / "scene.tif", height=200, width=260)
    with rasterio.open(tmp_path / "dem.tif", "w", driver="GTiff", height=60, width=70, count=1, dtype="int16",
                       crs="EPSG:32648", transform=from_origin(499_900, 3_000_100, 10.0, 10.0), nodata=-32768) as d:
        dem = (1500 + np.add.outer(np.arange(60), np.arange(70)) * 3).astype(np.int16)
        dem[30:33, 30:33] = -32768  # a void: those pixels are not predicted
        d.write(dem[None])
    gpd.GeoDataFrame(geometry=[LineString([(500_100, 3_000_050), (500_300, 2_999_500)])], crs=CRS).to_crs(
        "EPSG:4326").to_file(tmp_path / "rivers.geojson")
    out = subprocess.run([sys.executable, "-m", "landslide_utils", "predict", "--checkpoint", str(tmp_path / "c.pt"),
                          "--image", str(tmp_path / "scene.tif"), "--dem", str(tmp_path / "dem.tif"),
                          "--rivers", str(tmp_path / "rivers.geojson"), "--out", str(tmp_path / "maps"),
                          "--window", "128", "--overlap", "16", "--batch", "2", "--threshold", "0.5"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "landslide(s)" in out.stdout and "windows predicted" in out.stdout
    with rasterio.open(tmp_path / "maps/probability.tif") as src:
        prob = src.read(1)
        assert src.crs.to_string() == CRS and src.shape == (200, 260)
    with rasterio.open(tmp_path / "maps/landslides.tif") as src:
        binary = src.read(1)
        assert src.nodata == 255
    assert np.isnan(prob[:20, :30]).all() and (binary[:20, :30] == 255).all()  # image nodata
    void = np.isnan(prob[100:140, 100:140])
    assert 0 < void.sum() < void.size  # the DEM void (with its slope neighbourhood) is nodata
    finite = prob[np.isfinite(prob)]
    assert ((finite >= 0) & (finite <= 1)).all()
    np.testing.assert_array_equal(binary[np.isfinite(prob)], (finite >= 0.5).astype(np.uint8))
    summary = json.loads((tmp_path / "maps/prediction.json").read_text())
    assert summary["threshold_source"] == "value" and summary["channels"] == "rgb+factors"
    assert gpd.read_file(tmp_path / "maps/landslides.gpkg").crs.to_string() == CRS


def test_a_scene_on_another_value_scale_than_the_training_tiles_is_named() -> None:
    meta = {"mean": [100.0, 110.0, 90.0, 1500.0], "std": [30.0, 30.0, 30.0, 200.0]}
    assert scene_mod.value_range_warning(np.array([105.0, 100.0, 95.0]), meta, image=Path("s.tif")) is None
    msg = scene_mod.value_range_warning(np.array([256 * 105.0, 256 * 100.0, 256 * 95.0]), meta, image=Path("s.tif"))
    assert msg is not None and msg.startswith("s.tif: ") and "another value scale" in msg and "100 ± 30" in msg
    assert scene_mod.value_range_warning(None, meta, image=Path("s.tif")) is None  # no valid pixel: nothing known
    assert scene_mod.value_range_warning(np.array([1e4, 1e4, 1e4]), {}, image=Path("s.tif")) is None


def test_polygons_written_strip_by_strip_equal_the_whole_rasters(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The GeoPackage, written as landslides close strip by strip (256-row strips; features in batches of 25),
    holds the polygons of the whole binary raster: the same count, areas and shapes, numbered 1..n."""
    with rasterio.open(_scene(tmp_path / "scene.tif", height=600, width=200), "r+") as dst:
        img = dst.read()
        img[:, 200:320, 40:80] = 250  # a bright landslide across the first strip edge (row 256)
        dst.write(img)
    _fake(monkeypatch, RedSeg().eval(), _meta())
    monkeypatch.setattr(scene_mod, "VectorStream", functools.partial(VectorStream, batch=25))
    res = _predict(tmp_path, window=64, overlap=16, threshold=0.98)
    with rasterio.open(tmp_path / "out/landslides.tif") as src:
        binary, transform = src.read(1), src.transform
    whole = [shape(g) for g, _ in shapes(binary.astype(np.uint8), mask=binary == 1, connectivity=4,
                                         transform=transform)]
    gdf = gpd.read_file(tmp_path / "out/landslides.gpkg")
    assert len(whole) > 50 and len(gdf) == len(whole) == res["landslides"]
    edge = 3_000_000 - scene_mod.BLOCK * 2.0  # a strip edge, in map y
    assert any(g.bounds[1] < edge < g.bounds[3] for g in whole)  # some landslide spans two strips
    assert gdf["landslide_id"].tolist() == list(range(1, len(gdf) + 1))
    key = (lambda g: (round(g.area, 6), g.bounds))  # noqa: E731
    for got, want in zip(sorted(gdf.geometry, key=key), sorted(whole, key=key)):
        assert got.symmetric_difference(want).area == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(sorted(gdf["area_m2"]), sorted(g.area for g in whole))
    assert res["landslide_area_m2"] == pytest.approx(float((binary == 1).sum()) * 4.0)


def test_large_blocks_are_mapped_on_glibc() -> None:
    """The prediction fixes glibc's mmap threshold (memory flat over a scene's windows); elsewhere it says it did
    not."""
    import platform

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert scene_mod._map_large_blocks() is glibc
