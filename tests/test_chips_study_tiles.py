"""Chip datasets as a study's data (landslide_utils.chips.study_tiles): profile keys, the split, tiles on the mosaic,
background windows, per-chip tables and the bad inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from landslide_utils.chips.formats import ChipError
from landslide_utils.chips.study_tiles import (
    MANIFEST,
    background_windows,
    read_manifest,
    split_chips,
    tile_chip_dataset,
)
from landslide_utils.config.base import ConfigError
from landslide_utils.config.data_schema import ChipsSpec, EnhanceSpec
from landslide_utils.config.load import load_profile
from landslide_utils.enhance.samples import enhance_from_index
from landslide_utils.evaluation.chip_scores import chip_table
from landslide_utils.tiles.tile import read_tile
from landslide_utils.tiles.tiling import read_index
from tests.data.chips.make_data import SQUARES, make_chips, make_study_bijie


@pytest.fixture()
def chips(tmp_path: Path) -> dict[str, Path]:
    return make_chips(tmp_path / "chips")


def _profile(tmp_path: Path, data: dict, **extra: object) -> Path:
    body = {"name": "c", "data": data, "tiling": {"tile_size": 16}, "training": {"steps": 2}, **extra}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def test_chip_profile_keys_resolve_and_fail_clearly(tmp_path: Path) -> None:
    prof = load_profile(_profile(tmp_path, {"source": "chips", "chips": {"format": "folders", "train": "ds"}},
                                 evaluation={"extra_tests": [{"name": "l4s", "format": "landslide4sense",
                                                              "path": "../other", "bands": ["B4", "B3", "B2"]}]}))
    assert prof.data.chips.train == tmp_path / "ds"
    assert prof.data.chips.format == "folders"  # a string key of the section stays a string
    assert prof.evaluation.extra_tests[0].path == tmp_path / "../other"
    bad = [({"format": "bijie", "train": "ds"}, "data.chips.pixel_size_m"),
           ({"format": "folders", "train": "ds", "bands": ["B4", "B3", "B2"]}, "data.chips.bands"),
           ({"format": "landslide4sense", "train": "ds", "bands": ["B4", "B3", "X"]}, "unknown: X"),
           ({"format": "tiles", "train": "ds"}, "data.chips.format"),
           ({"format": "folders", "train": "ds", "test_fraction": 1.5}, "data.chips.test_fraction")]
    for chips, needle in bad:
        with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
            load_profile(_profile(tmp_path, {"source": "chips", "chips": chips}))
    with pytest.raises(ConfigError, match="'chips' section is missing"):
        load_profile(_profile(tmp_path, {"source": "chips"}))
    with pytest.raises(ConfigError, match="no map coordinates"):
        load_profile(_profile(tmp_path, {"source": "chips", "chips": {"format": "folders", "train": "ds"}},
                              areas=[{"name": "a", "split": "train", "bounds": [0, 0, 1, 1]},
                                     {"name": "b", "split": "test", "bounds": [0, 0, 1, 1]}]))
    with pytest.raises(ConfigError, match="unique"):
        load_profile(_profile(tmp_path, {"source": "chips", "chips": {"format": "folders", "train": "ds"}},
                              evaluation={"extra_tests": [{"name": "x", "format": "folders", "path": "a"},
                                                          {"name": "x", "format": "folders", "path": "b"}]}))


def test_the_split_is_seeded_stratified_and_keeps_both_sides(tmp_path: Path) -> None:
    root = make_study_bijie(tmp_path, n=8, negatives=3)
    spec = ChipsSpec(format="bijie", train=root, test_fraction=0.3, pixel_size_m=2.0)
    a, b = split_chips(spec), split_chips(spec)
    assert a == b
    test = [r for r, s in zip(a.refs, a.splits) if s == "test"]
    assert sum(r.mask is not None for r in test) == round(0.3 * 8)
    assert sum(r.mask is None for r in test) == 1  # negatives are split on their own
    other = split_chips(spec.model_copy(update={"split_seed": 5}))
    assert other.splits != a.splits and sorted(other.splits) == sorted(a.splits)
    other_root = shutil.copytree(root, tmp_path / "other")  # another dataset whose files are named alike
    given = split_chips(ChipsSpec(format="bijie", train=root, test=other_root, pixel_size_m=2.0))
    assert given.splits.count("test") == given.splits.count("train") == 11
    # a test dataset whose files are named like the train dataset's keeps its chips apart
    names = [r.name for r in given.refs]
    assert len(set(names)) == len(names) and "test/landslide/ls000" in names
    with pytest.raises(ValueError, match="is the train dataset itself"):
        ChipsSpec(format="bijie", train=root, test=root, pixel_size_m=2.0)


def test_chips_are_tiled_padded_and_laid_out_apart(chips: dict[str, Path], tmp_path: Path) -> None:
    split = split_chips(ChipsSpec(format="folders", train=chips["folders"], test_fraction=0.34))
    index, manifest = tile_chip_dataset(split, fmt="folders", tile_size=16, out_dir=tmp_path / "tiles",
                                        pixel_size_m=None, progress=False)
    recs = {r["name"]: r for r in manifest["chips"]}
    # c is 36 x 40 -> 3 x 3 tiles of 16 (the first tile row is under alpha 0 only for its upper four rows);
    # b is 16 x 16 -> one tile; a is 24 x 20 -> 2 x 2 tiles, padded
    assert recs["c"]["tiles"] == 9 and recs["b"]["tiles"] == 1 and recs["a"]["tiles"] == 4
    for name, (r, c, s) in SQUARES.items():
        assert recs[name]["landslides"] == 1 and recs[name]["landslide_pixels"] == s * s
        sel = index[(index["area"] == name) & (index["split"] != "background")]
        assert sel["landslide_pixels"].sum() == s * s
        assert sel["valid_pixels"].sum() == recs[name]["valid_pixels"]
    assert recs["c"]["valid_pixels"] == 36 * 40 - 4 * 40  # the alpha rows are invalid
    ids = [(r["first_id"], r["last_id"]) for r in manifest["chips"]]
    assert len({i for a, b in ids for i in range(a, b + 1)}) == sum(b - a + 1 for a, b in ids)
    boxes = [(r["row_off"], r["col_off"], r["height"], r["width"]) for r in manifest["chips"]]
    for i, (r0, c0, h0, w0) in enumerate(boxes):  # chips never touch on the mosaic
        for r1, c1, h1, w1 in boxes[i + 1:]:
            assert r0 + h0 < r1 or r1 + h1 < r0 or c0 + w0 < c1 or c1 + w1 < c0
    tile = read_tile(tmp_path / "tiles" / index["path"].iloc[0])
    assert tile.crs is None and tile.factors.shape == (3, 16, 16) and not tile.factors.any()
    assert read_manifest(tmp_path / "tiles")["format"] == "folders" and (tmp_path / "tiles" / MANIFEST).is_file()
    assert read_manifest(tmp_path) is None
    assert len(read_index(tmp_path / "tiles")) == len(index)


def test_a_damaged_chip_is_named_and_the_last_good_tiles_stay(chips: dict[str, Path], tmp_path: Path) -> None:
    spec = ChipsSpec(format="folders", train=chips["folders"], test_fraction=0.34)
    out = tmp_path / "tiles"
    tile_chip_dataset(split_chips(spec), fmt="folders", tile_size=16, out_dir=out, pixel_size_m=None, progress=False)
    before = sorted(p.name for p in out.rglob("*.tif"))
    png = chips["folders"] / "images" / "a.png"
    png.write_bytes(b"<html>rate limited</html>")  # a failed download saved under the chip's name
    with pytest.raises(ChipError, match="a.png"):
        tile_chip_dataset(split_chips(spec), fmt="folders", tile_size=16, out_dir=out, pixel_size_m=None,
                          progress=False)
    assert sorted(p.name for p in out.rglob("*.tif")) == before


def test_too_few_chips_to_split_is_a_clear_error(chips: dict[str, Path]) -> None:
    one = chips["folders"]
    for name in ("b", "c"):
        next((one / "images").glob(f"{name}.*")).unlink()
        next((one / "masks").glob(f"{name}.*")).unlink()
    with pytest.raises(ChipError, match="at least 2 chips"):
        split_chips(ChipsSpec(format="folders", train=one))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(8, 48), w=st.integers(8, 48), size=st.integers(4, 16), seed=st.integers(0, 10_000))
def test_background_windows_hold_no_landslide_and_never_overlap(h: int, w: int, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    land = rng.random((h, w)) < 0.01
    valid = rng.random((h, w)) > 0.005
    wins = background_windows(land, valid, size=size, limit=6)
    assert len(wins) <= 6
    for k, (r, c) in enumerate(wins):
        assert 0 <= r <= h - size and 0 <= c <= w - size
        assert not land[r:r + size, c:c + size].any() and valid[r:r + size, c:c + size].all()
        for r2, c2 in wins[k + 1:]:
            assert abs(r - r2) >= size or abs(c - c2) >= size


def test_enhancement_of_chips_draws_backgrounds_from_landslide_free_windows(tmp_path: Path) -> None:
    root = make_study_bijie(tmp_path, n=6, negatives=0)
    spec = ChipsSpec(format="bijie", train=root, test_fraction=0.3, pixel_size_m=2.0)
    index, manifest = tile_chip_dataset(split_chips(spec), fmt="bijie", tile_size=16, out_dir=tmp_path / "tiles",
                                        pixel_size_m=2.0, progress=False)
    windows = set(index.loc[index["split"] == "background", "tile_id"])
    assert windows and all(r["background_windows"] > 0 for r in manifest["chips"] if r["split"] == "train")
    samples = enhance_from_index(index, tmp_path / "tiles", EnhanceSpec(ratio=1.0, seed=0), out_dir=tmp_path / "be",
                                 progress=False)
    assert len(samples) == (index["split"] == "train").sum()
    train_free = set(index.loc[(index["split"] == "train") & ~index["has_landslide"], "tile_id"])
    used = {t for s in samples["source_tiles"] for t in s.split(";")}
    assert used & windows and not used & train_free
    tile = read_tile(tmp_path / "tiles" / index.loc[index["split"] == "background", "path"].iloc[0])
    assert tile.valid.all() and not tile.instances.any() and tile.factors[1].mean() > 0  # slope of the DEM


def test_the_chip_table_sums_tiles_per_chip_and_counts_hits() -> None:
    index = pd.DataFrame({"tile_id": ["a_0", "a_1", "b_0"], "area": ["a", "a", "b"]})
    tiles = pd.DataFrame({"tile_id": ["a_0", "a_1", "b_0"], "tp": [3, 1, 0], "fp": [1, 0, 2], "fn": [0, 4, 5],
                          "tn": [10, 10, 10]})
    manifest = {"chips": [{"name": "a", "first_id": 1, "last_id": 2}, {"name": "b", "first_id": 3, "last_id": 3},
                          {"name": "train_only", "first_id": 4, "last_id": 4}]}
    table = chip_table(tiles, index, manifest, hit_ids=np.array([2]), present_ids=np.array([1, 2, 3]))
    assert list(table["chip"]) == ["a", "b"]
    a = table.iloc[0]
    assert (a.tp, a.fp, a.fn, a.tn, a.landslides, a.hit) == (4, 1, 4, 20, 2, 1)
    assert a.precision == pytest.approx(0.8) and a.recall == pytest.approx(0.5)
    assert table.iloc[1].f1 == 0 and table.iloc[1].hit == 0
