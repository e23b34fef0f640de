"""Validation tiles (landslide_utils.tiles.validation_split): held out of the training areas, never test tiles."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landslide_utils.tiles.validation_split import split_validation, validation_paths


def _index(n_train: int, n_land: int, n_test: int = 5) -> pd.DataFrame:
    rows = [{"tile_id": f"tr{i:03d}", "split": "train", "has_landslide": i < n_land, "path": f"train/tr{i:03d}.tif"}
            for i in range(n_train)]
    rows += [{"tile_id": f"te{i:03d}", "split": "test", "has_landslide": i % 2 == 0, "path": f"test/te{i:03d}.tif"}
             for i in range(n_test)]
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(n_train=st.integers(0, 60), frac_land=st.floats(0, 1), share=st.floats(0, 0.9), seed=st.integers(0, 99))
def test_split_is_a_stratified_partition_of_training_tiles(n_train: int, frac_land: float, share: float,
                                                           seed: int) -> None:
    index = _index(n_train, int(frac_land * n_train))
    train = index[index["split"] == "train"]
    kept, val = split_validation(train, share=share, seed=seed)
    assert set(kept["tile_id"]).isdisjoint(val["tile_id"])
    assert set(kept["tile_id"]) | set(val["tile_id"]) == set(train["tile_id"])
    assert (val["split"] == "train").all()
    for flag in (True, False):  # every stratum keeps at least one training tile
        if (train["has_landslide"] == flag).any():
            assert (kept["has_landslide"] == flag).any()
    again = split_validation(train, share=share, seed=seed)[1]
    assert list(again["tile_id"]) == list(val["tile_id"])  # deterministic


def test_share_and_strata() -> None:
    train = _index(20, 5)
    train = train[train["split"] == "train"]
    _, val = split_validation(train, share=0.2, seed=0)
    assert val["has_landslide"].sum() == 1 and (~val["has_landslide"]).sum() == 3
    assert len(split_validation(train, share=0.0, seed=0)[1]) == 0


def test_validation_never_uses_test_tiles(tmp_path) -> None:
    index = _index(10, 4, n_test=30)
    paths = validation_paths(index, tmp_path, share=0.5, seed=3)
    assert paths and all(p.parent.name == "train" for p in paths)
    with pytest.raises(ValueError, match="training areas only"):
        split_validation(index, share=0.5, seed=0)
