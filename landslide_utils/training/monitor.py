"""Watching a run on its validation tiles: the loss there, the learning curve's log, and the best weights.

``training.eval_every`` measures the model on the validation tiles (held out of the training areas,
:mod:`landslide_utils.tiles.validation_split`; never test tiles) every N steps and at the last step, and writes a
line to ``validation.csv`` beside ``loss.csv``: ``step``, ``seconds`` (training seconds so far, evaluations left
out), ``val_loss``, ``val_ap``, ``val_f1`` (at the F1-optimal threshold of those tiles) and ``val_threshold``.
``training.keep: best`` makes the weights of the evaluation with the highest validation AP the run's result
(early stopping's model choice without stopping, Prechelt 1998; the papers keep the last weights).

What is measured is not decided here: :func:`landslide_utils.training.loop.fit` is handed a :data:`Validator`
(the caller's; step 04's measures AP with the project's metrics, :mod:`landslide_utils.evaluation.validation_curve`).
A validator must not change the model or draw from the global random generators: :func:`fit` runs it under
``torch.no_grad`` with the generators forked, so that a run with evaluations trains the same weights as one
without, and resumes bit-exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from landslide_utils.config.model_schema import EvaluationSpec
from landslide_utils.files.atomic import write_text
from landslide_utils.models.losses import segmentation_loss
from landslide_utils.training.checkpoint import CheckpointMeta

__all__ = ["Validator", "ValidatorFactory", "VALIDATION_COLUMNS", "validation_loss", "ValidationLog", "better",
           "frozen_statistics", "still_rising"]

#: ``validator(model)`` -> ``{"val_loss": ..., "val_ap": ..., "val_f1": ..., "val_threshold": ...}``
Validator = Callable[[nn.Module], dict[str, float]]



class ValidatorFactory(Protocol):
    """Builds the :data:`Validator` of one model: its checkpoint metadata (channels, normalisation, task), the
    validation tiles, the evaluation settings, the loss options of its training and the device."""

    def __call__(self, *, meta: CheckpointMeta, tiles: Sequence[Path], evaluation: EvaluationSpec,
                 loss_options: dict[str, Any], device: torch.device) -> Validator: ...


#: the columns of ``validation.csv``
VALIDATION_COLUMNS: tuple[str, ...] = ("step", "seconds", "val_loss", "val_ap", "val_f1", "val_threshold")


@contextmanager
def frozen_statistics(model: nn.Module) -> Iterator[None]:
    """The model in training mode (the mode its losses need) with every batch-norm layer in eval mode, so that a
    forward pass leaves the running statistics as they were; the modes are restored afterwards."""
    modes = {m: m.training for m in model.modules()}
    model.train()
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)):
            m.eval()
    try:
        yield
    finally:
        for m, mode in modes.items():
            m.training = mode


def validation_loss(model: nn.Module, task: str, samples: Sequence[tuple[torch.Tensor, dict[str, Any]]], *,
                    loss_options: dict[str, Any], device: torch.device, batch_size: int = 4) -> float:
    """The training loss on validation samples (mean over batches; no gradient, batch-norm statistics kept).

    For Mask R-CNN the sum of torchvision's losses (its proposal sampling draws random numbers: call it with the
    generators forked); for U-Net and PSPNet the semantic loss of ``loss_options`` over valid pixels.
    """
    if not samples:
        return float("nan")
    total, batches = 0.0, 0
    with torch.no_grad(), frozen_statistics(model):
        for i in range(0, len(samples), batch_size):
            chunk = samples[i:i + batch_size]
            images = [x.to(device) for x, _ in chunk]
            if task == "instance":
                targets = [{k: t[k].to(device) for k in ("boxes", "labels", "masks")} for _, t in chunk]
                loss = sum(model(images, targets).values())
            else:
                logits = model(torch.stack(images))[:, 0].float()
                loss = segmentation_loss(logits, torch.stack([t["mask"].to(device) for _, t in chunk]),
                                         torch.stack([t["valid"].to(device) for _, t in chunk]), **loss_options)
            total += float(loss)
            batches += 1
    return total / batches


def better(ap: float, best: float | None) -> bool:
    """Whether validation AP ``ap`` beats the best so far (NaN never does; the first finite one does; ties keep
    the earlier weights)."""
    return math.isfinite(ap) and (best is None or ap > best)


class ValidationLog:
    """``validation.csv``: started afresh, or cut to the resumed step (a line per evaluation)."""

    def __init__(self, path: Path, *, resumed_at: int | None) -> None:
        self.path = path
        header = ",".join(VALIDATION_COLUMNS)
        lines = [header]
        if resumed_at is not None and path.is_file():
            old = path.read_text(encoding="utf-8").splitlines()
            lines += [ln for ln in old[1:] if ln and int(ln.split(",")[0]) <= resumed_at]
        write_text(path, "\n".join(lines) + "\n")

    def write(self, step: int, seconds: float, values: dict[str, float]) -> None:
        row = [str(step), f"{seconds:.3f}"] + [f"{float(values.get(k, math.nan)):.6g}" for k in VALIDATION_COLUMNS[2:]]
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(",".join(row) + "\n")


def still_rising(steps: Sequence[int], val_ap: Sequence[float], *, reach: float = 0.95,
                 min_evaluations: int = 3) -> str | None:
    """A sentence for the console when a run's validation AP (``val_ap`` at ``steps``, its learning curve) was
    still rising at its last evaluation, else None.

    "Still rising" is the convergence rule's budget read on one run (docs/methods.md, "Choosing the training
    defaults"; :func:`landslide_utils.sweeps.convergence.budget_check`): the first evaluation reaching ``reach``
    (95 %) of the run's best validation AP is its last one, so the budget ended while the curve was still climbing
    towards a level it had not reached. A curve that levelled off and gained a little at the end is not flagged:
    stricter than ``budget_check``'s ``still_rising`` column (best AP at the last evaluation), so that the console
    speaks only where a longer budget is likely to help.
    None as well with fewer than ``min_evaluations`` finite points (nothing to read).
    """
    points = [(int(step), float(ap)) for step, ap in zip(steps, val_ap) if math.isfinite(float(ap))]
    if len(points) < min_evaluations:
        return None
    best = max(ap for _, ap in points)
    first = next(step for step, ap in points if ap >= reach * best - 1e-12)
    last = points[-1][0]
    if first != last:
        return None
    earlier = max(ap for _, ap in points[:-1])
    return (f"validation AP was still rising when training stopped at step {last} (best before: {earlier:.3f}; "
            f"last evaluation: {best:.3f}): the budget may be short for these data; try a longer training.steps "
            "and compare the learning curves")
