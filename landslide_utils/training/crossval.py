"""k-fold cross-validation over the training tiles (Chen et al. 2022, Remote Sens. 14, 5517, sec. 3.6: FCN-FLK).

``evaluation.cv_folds: k`` (an experiment key) splits the experiment's original training tiles into k folds,
stratified by whether a tile holds a landslide (the same share of landslide tiles in every fold, as Chen et al.
label their samples 1/0 before splitting); fold model f trains on the other k - 1 folds and is validated on
fold f. The experiment's model is then the mean of the k models' landslide probabilities
(:class:`~landslide_utils.models.ensemble.ProbabilityMean`), saved as one checkpoint; step 04 reports its test
metrics as the experiment's, and each fold's validation and test metrics with their mean and standard deviation.

Choices where the paper is silent: the folds are drawn from the tiles left after the profile's validation tiles
(``training.validation_share``) are held out, so the decision threshold is chosen exactly as for every other
experiment; every fold model starts from the same initial weights (the profile's seed), so the folds differ by
their data only; normalisation statistics come from all k folds (one input scale for the averaged models).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["stratified_folds"]


def stratified_folds(has_landslide: Sequence[bool], *, k: int, seed: int) -> np.ndarray:
    """The fold (0 ... k - 1) of each tile: each stratum (landslide / no landslide) shuffled with ``seed`` and
    dealt round-robin, continuing across strata, so fold sizes differ by at most one and each fold's landslide
    tiles by at most one.

    Raises:
        ValueError: ``k`` < 2 or fewer tiles than folds.
    """
    flags = np.asarray(has_landslide, bool)
    n = len(flags)
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {k} (key evaluation.cv_folds)")
    if n < k:
        raise ValueError(f"{n} training tiles cannot make {k} folds (key evaluation.cv_folds); use fewer folds")
    fold = np.empty(n, np.int64)
    offset = 0
    for flag in (True, False):
        idx = np.flatnonzero(flags == flag)
        order = np.random.default_rng([int(seed), 31, int(flag)]).permutation(len(idx))
        fold[idx[order]] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold
