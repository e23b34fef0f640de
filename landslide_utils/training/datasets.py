"""Training samples: tiles (and background-enhanced samples) as normalised tensors with their targets.

Inputs are the channels of a tile (``rgb`` or ``rgb+factors``, Yang et al. 2022 sections 3.1 and 3.4) normalised per
channel with the mean and standard deviation of the *original training tiles' valid pixels* (never a fixed
/255; the statistics travel with the checkpoint). Invalid pixels (padding, nodata) are set to 0, i.e. the
channel mean, and carry ``valid = False`` so the segmentation loss and the metrics ignore them.

Targets:
* ``instance`` (Mask R-CNN): ``boxes`` (N, 4) float32 x0, y0, x1, y1 in pixels, ``labels`` (N,) int64 = 1,
  ``masks`` (N, H, W) uint8; a tile without landslides gives empty targets (boxes of shape (0, 4)).
* ``semantic`` (U-Net, PSPNet): ``mask`` (H, W) float32 landslide 0/1 and ``valid`` (H, W) bool.

Augmentation: the eight rotations/flips of the square (rot90 x flip, as in Liu et al. 2021), chosen by an integer
code 0..7, so a training step is reproducible from its seed alone. A sample may also be a fixed augmented copy of
a tile (``variants``: the landslide-tile copies of Chen et al. 2022, :mod:`landslide_utils.training.imbalance`), made from
the raw values before normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from landslide_utils.config.channels import FACTOR_CHANNELS, channel_names, channels_problem
from landslide_utils.tiles.tile import TileData, read_tile, tile_channels
from landslide_utils.training.imbalance import augment_variant

__all__ = ["channel_stats", "landslide_prevalence", "tile_input", "normalise", "augment_arrays", "instance_target", "TileDataset",
           "check_channels"]

Target = Literal["instance", "semantic"]


def check_channels(arr: np.ndarray, channels: str, path: str | Path) -> None:
    """Raise a clear error when a tile does not give the channels of ``channels``."""
    problem = channels_problem(channels)
    if problem:
        raise ValueError(problem)
    names = channel_names(channels)
    if arr.shape[0] != len(names):
        raise ValueError(
            f"{path}: tile gives {arr.shape[0]} channels but channel set {channels!r} needs {len(names)} "
            f"({', '.join(names)}); regenerate the tiles (step 01) or use other channels"
        )


def leading_image_channels(channels: str) -> int:
    """How many channels at the start of ``channels`` are image bands (the radiometric augmentations of
    :mod:`landslide_utils.training.imbalance` touch only those)."""
    n = 0
    for name in channel_names(channels):
        if name in FACTOR_CHANNELS:
            break
        n += 1
    return n


def _channels_of(tile: TileData, channels: str, path: str | Path) -> np.ndarray:
    if tile.image.shape[0] < 3:
        raise ValueError(f"{path}: tile has {tile.image.shape[0]} image bands; RGB (3 bands) is required")
    try:
        arr = tile_channels(tile, channels)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    check_channels(arr, channels, path)
    return arr


def tile_input(
    tile: TileData, channels: str, mean: Sequence[float], std: Sequence[float], *, path: str | Path = "<tile>"
) -> np.ndarray:
    """The normalised model input of a tile, (C, H, W) float32 (invalid pixels = 0).

    Raises:
        ValueError: the tile does not give the channels of ``channels`` or the statistics do not match.
    """
    return normalise(_channels_of(tile, channels, path), tile.valid, mean, std)


def channel_stats(paths: Sequence[str | Path], channels: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over the valid, finite pixels of the given tiles.

    Call it with the original training tiles only (not BE samples, not test tiles). A channel with (almost)
    zero spread gets std 1 so normalisation never divides by zero.

    Returns:
        (mean, std), each a float64 array of length ``len(channel_names(channels))``.

    Raises:
        ValueError: no tile, no valid pixel, or a tile with the wrong channels.
    """
    if len(paths) == 0:
        raise ValueError("channel_stats: no training tiles given; run step 01 (prepare data) first")
    n_ch = len(channel_names(channels))
    s = np.zeros(n_ch)
    ss = np.zeros(n_ch)
    n = np.zeros(n_ch)
    for p in paths:
        tile = read_tile(p)
        arr = _channels_of(tile, channels, p).astype(np.float64)
        for c in range(n_ch):
            v = arr[c][tile.valid]
            v = v[np.isfinite(v)]
            s[c] += v.sum()
            ss[c] += np.square(v).sum()
            n[c] += v.size
    if np.any(n == 0):
        raise ValueError("channel_stats: the training tiles hold no valid pixel; check the areas and inputs")
    mean = s / n
    var = np.maximum(ss / n - mean**2, 0.0)
    std = np.sqrt(var)
    std[std < 1e-6] = 1.0
    return mean, std


def normalise(arr: np.ndarray, valid: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(x - mean) / std per channel; invalid or non-finite pixels become 0 (the mean). float32."""
    m = np.asarray(mean, np.float32)[:, None, None]
    sd = np.asarray(std, np.float32)[:, None, None]
    if arr.shape[0] != m.shape[0]:
        raise ValueError(
            f"input has {arr.shape[0]} channels but the normalisation statistics have {m.shape[0]}; "
            "the model was trained on another channel set"
        )
    out = (arr.astype(np.float32) - m) / sd
    out[:, ~valid] = 0.0
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def augment_arrays(code: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Apply one of the 8 dihedral transforms (``code`` 0..7: rot90 by ``code % 4``, then a horizontal flip
    when ``code >= 4``) to the last two axes of every array; code 0 is the identity."""
    k, flip = code % 4, code >= 4
    out = []
    for a in arrays:
        b = np.rot90(a, k, axes=(-2, -1))
        if flip:
            b = b[..., ::-1]
        out.append(np.ascontiguousarray(b))
    return tuple(out)


def instance_target(instances: np.ndarray, valid: np.ndarray) -> dict[str, torch.Tensor]:
    """torchvision detection target of a tile: one box/label/mask per landslide instance (valid pixels)."""
    ids = np.where(valid, instances, 0)
    h, w = ids.shape
    uniq = np.unique(ids)
    uniq = uniq[uniq > 0]
    boxes, masks = [], []
    for i in uniq:
        m = ids == i
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        boxes.append([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
        masks.append(m)
    if boxes:
        return {
            "boxes": torch.as_tensor(np.asarray(boxes, np.float32)),
            "labels": torch.ones(len(boxes), dtype=torch.int64),
            "masks": torch.as_tensor(np.stack(masks).astype(np.uint8)),
        }
    return {
        "boxes": torch.zeros((0, 4), dtype=torch.float32),
        "labels": torch.zeros((0,), dtype=torch.int64),
        "masks": torch.zeros((0, h, w), dtype=torch.uint8),
    }


class TileDataset(Dataset):
    """Tiles as model inputs and targets.

    ``ds.load(i, aug)`` gives sample ``i`` with augmentation code ``aug``; ``ds[i]`` gives it without
    augmentation. A sample is ``(image (C, H, W) float32 tensor, target dict)`` with the target of
    :data:`Target` kind plus ``valid`` (H, W) bool and ``path``.

    Args:
        paths: tile files (original tiles and/or BE samples).
        channels: ``rgb`` or ``rgb+factors``.
        mean, std: normalisation statistics (from :func:`channel_stats` on the original training tiles).
        target: ``instance`` (Mask R-CNN) or ``semantic`` (U-Net, PSPNet).
        cache: keep the decoded tiles in memory (small profiles).
        variants: per sample, 0 (the tile) or the code of a fixed augmented copy
            (:func:`landslide_utils.training.imbalance.augment_variant`); default all 0.
        variant_seed: seed of the copies' random draws.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        channels: str,
        mean: Sequence[float],
        std: Sequence[float],
        target: Target,
        cache: bool = True,
        variants: Sequence[int] | None = None,
        variant_seed: int = 0,
    ) -> None:
        if target not in ("instance", "semantic"):
            raise ValueError(f"target must be 'instance' or 'semantic', got {target!r}")
        problem = channels_problem(channels)
        if problem:
            raise ValueError(problem)
        n_ch = len(channel_names(channels))
        if len(mean) != n_ch or len(std) != n_ch:
            raise ValueError(
                f"normalisation statistics have {len(mean)} channels; channel set {channels!r} has {n_ch}"
            )
        self.paths = [Path(p) for p in paths]
        self.variants = [int(v) for v in variants] if variants is not None else [0] * len(self.paths)
        if len(self.variants) != len(self.paths):
            raise ValueError(f"{len(self.variants)} variant codes for {len(self.paths)} samples")
        self.variant_seed = int(variant_seed)
        self.channels = channels
        self.mean = np.asarray(mean, np.float64)
        self.std = np.asarray(std, np.float64)
        self.target = target
        self.cache = cache
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def _arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if i in self._cache:
            return self._cache[i]
        tile = read_tile(self.paths[i])
        if self.variants[i]:
            raw, inst, valid = augment_variant(
                self.variants[i], _channels_of(tile, self.channels, self.paths[i]), tile.instances, tile.valid,
                image_bands=leading_image_channels(self.channels), rng=np.random.default_rng([self.variant_seed, 23, i, self.variants[i]]))
            item = (normalise(raw, valid, self.mean, self.std), inst, valid)
        else:
            x = tile_input(tile, self.channels, self.mean, self.std, path=self.paths[i])
            item = (x, tile.instances, tile.valid)
        if self.cache:
            self._cache[i] = item
        return item

    def load(self, i: int, aug: int = 0) -> tuple[torch.Tensor, dict[str, Any]]:
        """Sample ``i`` with augmentation code ``aug`` (0..7, 0 = none)."""
        x, inst, valid = self._arrays(i)
        if aug:
            x, inst, valid = augment_arrays(int(aug), x, inst, valid)
        else:  # never hand out the cached arrays themselves
            x, inst, valid = x.copy(), inst.copy(), valid.copy()
        if self.target == "instance":
            tgt: dict[str, Any] = instance_target(inst, valid)
        else:
            tgt = {"mask": torch.as_tensor(((inst > 0) & valid).astype(np.float32))}
        tgt["valid"] = torch.as_tensor(np.ascontiguousarray(valid))
        tgt["path"] = str(self.paths[i])
        return torch.as_tensor(np.ascontiguousarray(x)), tgt

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, Any]]:
        return self.load(i, 0)

    def holds_landslide(self, i: int) -> bool:
        """Whether sample ``i`` has a landslide pixel among its valid pixels (balanced sampling,
        :mod:`landslide_utils.training.sampling`)."""
        _, inst, valid = self._arrays(i)
        return bool(((inst > 0) & valid).any())


def landslide_prevalence(paths: Sequence[str | Path]) -> float:
    """Share of landslide pixels among the valid pixels of tiles (0 when none is valid).

    The imbalance of the training data: ``(1 - p) / p`` is the imbalance ratio IR of Chen et al. (2022,
    Remote Sens. 14, 5517, sec. 3.3)."""
    pos = tot = 0
    for p in paths:
        tile = read_tile(p)
        pos += int(((tile.instances > 0) & tile.valid).sum())
        tot += int(tile.valid.sum())
    return pos / tot if tot else 0.0
