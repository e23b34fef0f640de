"""The learning curve on validation tiles: what ``training.eval_every`` measures while a model trains.

At each evaluation the model predicts the validation tiles (held out of the training areas, never test tiles;
:mod:`landslide_utils.tiles.validation_split`) exactly as step 04 predicts the test area
(:func:`landslide_utils.prediction.tiles.predict_tiles` with the whole score map), and the curve gets:

* ``val_ap``: the threshold-free average precision of the score map (the quantity ``training.keep: best`` and the
  convergence rule of docs/methods.md read);
* ``val_f1`` and ``val_threshold``: the F1 at the F1-optimal threshold of these tiles, and that threshold;
* ``val_loss``: the training loss on them (:func:`landslide_utils.training.monitor.validation_loss`).

Yang et al. (2022) keep no validation set; the curve is this project's addition (docs/methods.md, "Training
schedule").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from landslide_utils.config.model_schema import EvaluationSpec
from landslide_utils.evaluation.metrics import average_precision, best_threshold
from landslide_utils.prediction.tiles import predict_tiles, score_evaluation
from landslide_utils.tiles.tile import read_tile
from landslide_utils.training.checkpoint import CheckpointMeta, task_of
from landslide_utils.training.datasets import TileDataset
from landslide_utils.training.monitor import Validator, validation_loss

__all__ = ["validation_curve"]


def validation_curve(*, meta: CheckpointMeta, tiles: Sequence[Path], evaluation: EvaluationSpec,
                     loss_options: dict[str, Any], device: torch.device) -> Validator:
    """The :data:`~landslide_utils.training.monitor.Validator` of one model on ``tiles`` (read once, kept in
    memory): a function of the model giving ``val_loss``, ``val_ap``, ``val_f1`` and ``val_threshold``.

    Args:
        meta: the model's checkpoint metadata (task, channels, normalisation).
        tiles: the validation tiles (none: every value NaN).
        evaluation: thresholds of the score map (Mask R-CNN's mask threshold).
        loss_options: the semantic loss's options (as the training uses them).
        device: where the model runs.
    """
    task = task_of(meta)
    data = [(Path(p).stem, read_tile(p)) for p in tiles]
    samples = TileDataset(list(tiles), channels=meta["channels"], mean=meta["mean"], std=meta["std"], target=task)
    loaded = [samples[i] for i in range(len(samples))]
    truth = np.concatenate([(t.instances > 0).ravel() for _, t in data]) if data else np.zeros(0, bool)
    valid = np.concatenate([t.valid.ravel() for _, t in data]) if data else np.zeros(0, bool)
    scoring = score_evaluation(meta, evaluation)

    def validate(model: nn.Module) -> dict[str, float]:
        if not data:
            return {"val_loss": float("nan"), "val_ap": float("nan"), "val_f1": float("nan"),
                    "val_threshold": float("nan")}
        was_training = model.training
        try:
            loss = validation_loss(model, task, loaded, loss_options=loss_options, device=device)
            scores = np.concatenate([p.score.ravel() for p in predict_tiles(model, meta, data, device=device,
                                                                            evaluation=scoring)])
        finally:
            model.train(was_training)
        threshold, f1 = best_threshold(scores, truth, valid)
        return {"val_loss": loss, "val_ap": average_precision(scores, truth, valid), "val_f1": f1,
                "val_threshold": threshold}

    return validate
