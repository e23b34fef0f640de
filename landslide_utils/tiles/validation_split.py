"""Validation tiles: a share of the training areas held out of training, for choosing a decision threshold.

Yang et al. (2022) evaluate at fixed thresholds (0.5) and keep no validation set. A threshold chosen on the
*test* area would flatter every model, so the project holds out ``training.validation_share`` of the
training-area tiles (stratified: the same share of landslide and of non-landslide tiles, drawn with the
profile's seed), never trains on them, and chooses the F1-optimal threshold of the landslide probability
(U-Net, PSPNet) or instance score (Mask R-CNN) on them. Test tiles are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["split_validation", "validation_paths"]


def split_validation(train: pd.DataFrame, *, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split training-area tiles into (training, validation) tiles.

    Args:
        train: tile index rows of the training areas (columns ``tile_id``, ``split``, ``has_landslide``).
        share: share of tiles held out per stratum (landslide / non-landslide), rounded; 0 holds out nothing.
            A stratum of two or more tiles gives at least one validation tile when ``share > 0``, and always
            keeps at least one for training.
        seed: the draw (the profile's seed).

    Returns:
        (training rows, validation rows), each in the input order.

    Raises:
        ValueError: rows of a split other than ``train`` were given (validation never uses test tiles).
    """
    if "split" in train.columns and (train["split"] != "train").any():
        bad = sorted(set(train["split"]) - {"train"})
        raise ValueError(f"validation tiles come from the training areas only; got tiles of split {bad}")
    if share <= 0 or len(train) == 0:
        return train, train.iloc[0:0]
    held: list[Any] = []
    for flag in (True, False):
        stratum = train[train["has_landslide"].astype(bool) == flag].sort_values("tile_id")
        n = len(stratum)
        if n < 2:
            continue
        k = min(max(1, int(round(share * n))), n - 1)
        order = np.random.default_rng([int(seed), 17, int(flag)]).permutation(n)
        held.extend(stratum["tile_id"].iloc[order[:k]].tolist())
    mask = train["tile_id"].isin(held)
    return train[~mask], train[mask]


def validation_paths(index: pd.DataFrame, tiles_dir: str | Path, *, share: float, seed: int) -> list[Path]:
    """The validation tiles' files of a tile index (empty when ``share`` is 0)."""
    _, val = split_validation(index[index["split"] == "train"], share=share, seed=seed)
    return [Path(tiles_dir) / p for p in val["path"]]
