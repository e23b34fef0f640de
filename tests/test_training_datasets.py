"""Training samples (``landslide_utils.training.datasets``): normalisation statistics, model inputs, the eight
augmentations and the instance / semantic targets, on tiny 64 x 64 tiles written with tiles.write_tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from landslide_utils.tiles.tile import TileData, read_tile, write_tile
from landslide_utils.training.datasets import (
    TileDataset,
    augment_arrays,
    channel_stats,
    check_channels,
    instance_target,
    landslide_prevalence,
    normalise,
    tile_input,
)

# the tiny tiles of the training tests: 64 x 64 at 4 m, a noisy green background, brown rectangles = landslides
from .test_training_loop import TILE, TRAIN, make_tile  # noqa: E402


@pytest.fixture()
def train_tiles(tmp_path: Path) -> list[Path]:
    """The four training tiles, sorted by name: two landslides, none, one, one with 20 padded rows."""
    rng = np.random.default_rng(0)
    out = []
    for r, c, blobs, pad in TRAIN:
        out.append(write_tile(tmp_path / f"train_r{r // TILE:03d}_c{c // TILE:03d}.tif",
                              make_tile(rng, r, c, blobs, pad)))
    return sorted(out)


def small_tile(image: np.ndarray, factors: np.ndarray | None = None, valid: np.ndarray | None = None,
               instances: np.ndarray | None = None) -> TileData:
    """A tile from hand-written arrays (H, W from ``image``)."""
    h, w = image.shape[1:]
    return TileData(image=np.asarray(image, np.float32),
                    factors=np.zeros((3, h, w), np.float32) if factors is None else np.asarray(factors, np.float32),
                    instances=np.zeros((h, w), np.int32) if instances is None else instances,
                    valid=np.ones((h, w), bool) if valid is None else valid)


# ---------------------------------------------------------------- channel_stats


def test_channel_stats_use_valid_pixels_only(train_tiles: list[Path]) -> None:
    padded = train_tiles[3]  # train_r001_c000: 20 padded rows with image value 0
    assert padded.name == "train_r001_c000.tif"
    mean, std = channel_stats([padded], "rgb+factors")
    assert mean.shape == (6,) and std.shape == (6,)
    assert mean[0] > 60  # padding (0) excluded
    assert std[5] == 1.0  # constant river level: no division by zero


def test_channel_stats_pool_the_valid_finite_pixels_of_every_tile(tmp_path: Path) -> None:
    a = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    b = 10 + np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    valid_b = np.array([[True, False], [True, True]])
    fac_a = np.full((3, 2, 2), 5.0, np.float32)
    fac_a[0, 0, 0] = np.nan  # a non-finite DEM value is left out
    fac_b = np.stack([np.full((2, 2), 7.0), np.full((2, 2), 1.0), np.full((2, 2), 3.0)]).astype(np.float32)
    paths = [write_tile(tmp_path / "a.tif", small_tile(a, fac_a)),
             write_tile(tmp_path / "b.tif", small_tile(b, fac_b, valid_b))]
    mean, std = channel_stats(paths, "rgb+factors")
    for c in range(3):
        v = np.concatenate([a[c].ravel(), b[c][valid_b]])
        assert mean[c] == pytest.approx(v.mean()) and std[c] == pytest.approx(v.std())
    assert mean[3] == pytest.approx((3 * 5.0 + 3 * 7.0) / 6)  # 3 finite values of a, 3 valid of b
    assert mean[4] == pytest.approx((4 * 5.0 + 3 * 1.0) / 7) and std[4] > 1.5
    rgb_mean, _ = channel_stats(paths, "rgb")
    np.testing.assert_allclose(rgb_mean, mean[:3])


def test_channel_stats_refuse_no_tiles_and_no_valid_pixel(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no training tiles"):
        channel_stats([], "rgb")
    empty = write_tile(tmp_path / "empty.tif", small_tile(np.ones((3, 2, 2)), valid=np.zeros((2, 2), bool)))
    with pytest.raises(ValueError, match="no valid pixel"):
        channel_stats([empty], "rgb")


def test_landslide_prevalence_counts_valid_landslide_pixels(tmp_path: Path, train_tiles: list[Path]) -> None:
    inst = np.zeros((4, 5), np.int32)
    inst[0, :4] = 2  # 4 landslide pixels, one of them invalid
    valid = np.ones((4, 5), bool)
    valid[0, 0] = valid[3, 4] = False  # 18 valid pixels
    path = write_tile(tmp_path / "p.tif", small_tile(np.ones((3, 4, 5)), valid=valid, instances=inst))
    assert landslide_prevalence([path]) == pytest.approx(3 / 18)
    assert landslide_prevalence([path, path]) == pytest.approx(3 / 18)
    # the training tiles: 12*10 + 15*12, none, 16*16 and 4*20 (the rest is padding) landslide pixels
    assert landslide_prevalence(train_tiles) == pytest.approx(636 / (4 * 64 * 64 - 20 * 64))
    nothing = write_tile(tmp_path / "n.tif", small_tile(np.ones((3, 2, 2)), valid=np.zeros((2, 2), bool)))
    assert landslide_prevalence([nothing]) == 0.0 and landslide_prevalence([]) == 0.0


# ---------------------------------------------------------------- check_channels, normalise, tile_input


def test_check_channels_names_the_tile_and_the_channel_set() -> None:
    check_channels(np.zeros((3, 2, 2)), "rgb", "t.tif")
    check_channels(np.zeros((6, 2, 2)), "rgb+factors", "t.tif")
    with pytest.raises(ValueError, match=r"t\.tif: tile gives 3 channels but channel set 'rgb\+factors' needs 6"):
        check_channels(np.zeros((3, 2, 2)), "rgb+factors", "t.tif")
    with pytest.raises(ValueError, match="unknown channel set 'infrared'"):
        check_channels(np.zeros((3, 2, 2)), "infrared", "t.tif")


def test_normalise_per_channel_and_zero_where_invalid_or_not_finite() -> None:
    arr = np.array([[[1.0, 3.0], [5.0, np.nan]], [[10.0, 20.0], [np.inf, 40.0]]])
    valid = np.array([[True, True], [False, True]])
    out = normalise(arr, valid, mean=[1.0, 20.0], std=[2.0, 10.0])
    assert out.dtype == np.float32 and out.shape == (2, 2, 2)
    np.testing.assert_allclose(out[0], [[0.0, 1.0], [0.0, 0.0]])  # (5 - 1) / 2 is invalid, NaN -> 0
    np.testing.assert_allclose(out[1], [[-1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="input has 2 channels but the normalisation statistics have 3"):
        normalise(arr, valid, mean=[0, 0, 0], std=[1, 1, 1])


def test_tile_input_stacks_the_channel_set_and_normalises() -> None:
    image = np.stack([np.full((2, 3), v) for v in (10.0, 20.0, 30.0)])
    factors = np.stack([np.full((2, 3), v) for v in (1000.0, 30.0, 2.0)])
    valid = np.ones((2, 3), bool)
    valid[1, 2] = False
    tile = small_tile(image, factors, valid)
    x = tile_input(tile, "rgb+factors", mean=[0, 10, 20, 1000, 0, 0], std=[10, 10, 10, 1, 15, 4])
    assert x.shape == (6, 2, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], [1.0, 1.0, 1.0, 0.0, 2.0, 0.5])
    assert (x[:, 1, 2] == 0).all()
    assert tile_input(tile, "rgb", mean=[10, 20, 30], std=[1, 1, 1]).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="statistics have 3"):
        tile_input(tile, "rgb+factors", mean=[0, 0, 0], std=[1, 1, 1])
    with pytest.raises(ValueError, match=r"two\.tif: tile has 2 image bands; RGB \(3 bands\) is required"):
        tile_input(small_tile(np.zeros((2, 2, 3))), "rgb", mean=[0, 0, 0], std=[1, 1, 1], path="two.tif")


# ---------------------------------------------------------------- augment_arrays


def test_augment_arrays_are_the_eight_symmetries_of_the_square() -> None:
    a = np.arange(9).reshape(3, 3)
    outs = [augment_arrays(code, a)[0] for code in range(8)]
    np.testing.assert_array_equal(outs[0], a)
    np.testing.assert_array_equal(outs[1], np.rot90(a))
    np.testing.assert_array_equal(outs[6], np.rot90(a, 2)[:, ::-1])
    assert len({o.tobytes() for o in outs}) == 8  # all different
    assert all(o.flags.c_contiguous for o in outs)
    (r,) = augment_arrays(5, np.arange(6).reshape(2, 3))
    assert r.shape == (3, 2)


def test_augment_arrays_move_channels_masks_and_ids_together() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    inst = rng.integers(0, 3, (5, 4)).astype(np.int32)
    valid = rng.random((5, 4)) > 0.3
    for code in range(8):
        xa, ia, va = augment_arrays(code, x, inst, valid)
        assert xa.shape[0] == 3 and xa.shape[1:] == ia.shape == va.shape
        for c in range(3):
            np.testing.assert_array_equal(xa[c], augment_arrays(code, x[c])[0])
        np.testing.assert_array_equal(ia, augment_arrays(code, inst)[0])
        assert va.dtype == bool and va.sum() == valid.sum()


# ---------------------------------------------------------------- instance_target


def test_instance_target_boxes_and_masks_from_valid_pixels() -> None:
    inst = np.zeros((6, 8), np.int32)
    inst[1:3, 2:5] = 7  # rows 1-2, cols 2-4
    inst[3:6, 5:8] = 9  # bottom rows invalid below
    inst[0, 7] = 4  # only on an invalid pixel: dropped
    valid = np.ones((6, 8), bool)
    valid[5, :] = False
    valid[0, 7] = False
    t = instance_target(inst, valid)
    assert t["boxes"].dtype == torch.float32 and t["labels"].dtype == torch.int64 and t["masks"].dtype == torch.uint8
    assert t["boxes"].tolist() == [[2.0, 1.0, 5.0, 3.0], [5.0, 3.0, 8.0, 5.0]]  # x0, y0, x1, y1; ids 7, 9
    assert t["labels"].tolist() == [1, 1]
    assert t["masks"].shape == (2, 6, 8)
    assert t["masks"][0].sum() == 6 and t["masks"][1].sum() == 6 and t["masks"][1][5].sum() == 0


def test_instance_target_of_a_tile_without_landslides_is_empty() -> None:
    t = instance_target(np.zeros((4, 4), np.int32), np.ones((4, 4), bool))
    assert t["boxes"].shape == (0, 4) and t["labels"].shape == (0,) and t["masks"].shape == (0, 4, 4)
    t = instance_target(np.full((4, 4), 3, np.int32), np.zeros((4, 4), bool))  # all invalid
    assert t["boxes"].shape == (0, 4)


# ---------------------------------------------------------------- TileDataset


def test_dataset_targets_and_augmentation(train_tiles: list[Path]) -> None:
    tiles = train_tiles
    mean, std = channel_stats(tiles, "rgb")
    ds = TileDataset(tiles, channels="rgb", mean=mean, std=std, target="instance")
    x, t = ds[0]  # train_r000_c000: two landslides
    assert x.shape == (3, TILE, TILE) and x.dtype == torch.float32
    assert t["boxes"].shape == (2, 4) and t["masks"].shape == (2, TILE, TILE)
    assert t["boxes"][0].tolist() == [5.0, 5.0, 15.0, 17.0]
    empty = ds[1][1]
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)
    for code in range(8):
        xa, ta = ds.load(0, code)
        assert ta["masks"].sum() == t["masks"].sum()
        assert torch.allclose(xa.abs().sum(), x.abs().sum())
    seg = TileDataset(tiles, channels="rgb", mean=mean, std=std, target="semantic")
    _, ts = seg.load(3, 0)  # padded tile: padding is invalid and never landslide
    assert not ts["valid"][-20:].any() and ts["mask"][-20:].sum() == 0


def test_channel_mismatch_in_stats_is_clear(train_tiles: list[Path]) -> None:
    mean, std = channel_stats(train_tiles, "rgb")
    with pytest.raises(ValueError, match="channel set 'rgb\\+factors' has 6"):
        TileDataset(train_tiles, channels="rgb+factors", mean=mean, std=std, target="semantic")


def test_dataset_refuses_unknown_target_and_channel_set(train_tiles: list[Path]) -> None:
    with pytest.raises(ValueError, match="target must be 'instance' or 'semantic'"):
        TileDataset(train_tiles, channels="rgb", mean=[0] * 3, std=[1] * 3, target="boxes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown channel set 'rgbn'"):
        TileDataset(train_tiles, channels="rgbn", mean=[0] * 4, std=[1] * 4, target="semantic")


def test_dataset_semantic_sample_matches_the_tile(train_tiles: list[Path]) -> None:
    mean, std = channel_stats(train_tiles, "rgb+factors")
    ds = TileDataset(train_tiles, channels="rgb+factors", mean=mean, std=std, target="semantic")
    assert len(ds) == 4
    x, t = ds.load(3, 5)
    tile = read_tile(train_tiles[3])
    want_x, want_inst, want_valid = augment_arrays(5, tile_input(tile, "rgb+factors", mean, std),
                                                   tile.instances, tile.valid)
    np.testing.assert_allclose(x.numpy(), want_x)
    np.testing.assert_array_equal(t["mask"].numpy(), ((want_inst > 0) & want_valid).astype(np.float32))
    np.testing.assert_array_equal(t["valid"].numpy(), want_valid)
    assert t["mask"].dtype == torch.float32 and t["path"] == str(train_tiles[3])
    assert set(t) == {"mask", "valid", "path"}


def test_dataset_targets_leave_out_landslide_pixels_without_data(tmp_path: Path) -> None:
    inst = np.zeros((4, 4), np.int32)
    inst[1:4, 1:4] = 5
    valid = np.ones((4, 4), bool)
    valid[3, :] = False  # e.g. image nodata inside the landslide
    path = write_tile(tmp_path / "t.tif", small_tile(np.ones((3, 4, 4)), valid=valid, instances=inst))
    _, ts = TileDataset([path], channels="rgb", mean=[0] * 3, std=[1] * 3, target="semantic")[0]
    assert ts["mask"].sum() == 6 and ts["mask"][3].sum() == 0 and ts["mask"][1:3, 1:4].all()
    _, ti = TileDataset([path], channels="rgb", mean=[0] * 3, std=[1] * 3, target="instance")[0]
    assert ti["boxes"].tolist() == [[1.0, 1.0, 4.0, 3.0]] and ti["masks"].sum() == 6


def test_dataset_never_hands_out_its_cached_arrays(train_tiles: list[Path]) -> None:
    mean, std = channel_stats(train_tiles, "rgb")
    ds = TileDataset(train_tiles, channels="rgb", mean=mean, std=std, target="semantic", cache=True)
    x, t = ds[0]
    x += 100.0
    t["valid"][:] = False
    x2, t2 = ds[0]
    assert x2.abs().max() < 50 and t2["valid"].all()
    nocache = TileDataset(train_tiles, channels="rgb", mean=mean, std=std, target="semantic", cache=False)
    assert torch.equal(nocache[0][0], x2)
