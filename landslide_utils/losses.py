"""Losses of the semantic models (U-Net, PSPNet) on the landslide logit, over *valid* pixels only.

Yang et al. (2022) do not state the loss of their U-Net and PSPNet. ``training.loss`` chooses one:

* ``bce``: binary cross-entropy, the plain choice of a Keras segmentation library (the default until the loss
  sweeps: on rare landslides U-Net trained with it can score every pixel below 0.5);
* ``weighted_bce``: BCE with the positive class weighted by ``training.pos_weight`` or, when that is unset,
  by the ratio of background to landslide pixels of the training tiles (the imbalance ratio IR of
  Chen et al. 2022);
* ``focal``: the binary focal loss of Lin et al. (2017) as used for landslides by Chen et al. (2022)
  (``training.focal_gamma``, default 2; ``training.focal_alpha`` weights the landslide class by alpha and the
  background by 1 - alpha, or nothing when unset);
* ``focal_dice``: focal + soft Dice, the combination of Yang S. et al. (2022)'s
  comparison of semantic-segmentation models;
* ``bce_dice``: BCE + soft Dice, the default: the best mean rank of the five for U-Net and PSPNet on dense and
  sparse inventories in the loss sweeps (docs/methods.md, "Loss and decision threshold").

Padding and nodata never count: every term is a mean (or a sum, for Dice) over valid pixels.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from .config import DEFAULT_LOSS

__all__ = ["LOSSES", "LossName", "segmentation_loss", "bce", "focal", "soft_dice"]

LossName = Literal["bce", "weighted_bce", "focal", "focal_dice", "bce_dice"]
LOSSES: tuple[str, ...] = ("bce", "weighted_bce", "focal", "focal_dice", "bce_dice")


def _valid_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return (values * valid).sum() / valid.sum().clamp(min=1.0)


def bce(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, *, pos_weight: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy over valid pixels, the landslide class weighted by ``pos_weight``."""
    pw = None if pos_weight == 1.0 else torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none", pos_weight=pw)
    return _valid_mean(per_pixel, valid)


def focal(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, *, gamma: float = 2.0,
          alpha: float | None = None) -> torch.Tensor:
    """Binary focal loss (Lin et al. 2017): ``-(1 - p_t)^gamma log p_t``, optionally alpha-balanced.

    With ``gamma = 0`` and ``alpha = None`` it equals :func:`bce`.
    """
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    log_pt = target * log_p + (1 - target) * log_not_p
    pt = log_pt.exp()
    per_pixel = -((1 - pt).clamp(min=0) ** gamma) * log_pt if gamma else -log_pt
    if alpha is not None:
        per_pixel = per_pixel * (alpha * target + (1 - alpha) * (1 - target))
    return _valid_mean(per_pixel, valid)


def soft_dice(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, *, eps: float = 1.0) -> torch.Tensor:
    """1 − soft Dice of the landslide class over the valid pixels of the batch (Milletari et al. 2016)."""
    p = torch.sigmoid(logits) * valid
    t = target * valid
    return 1 - (2 * (p * t).sum() + eps) / (p.sum() + t.sum() + eps)


def segmentation_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    *,
    name: str = DEFAULT_LOSS,
    pos_weight: float = 1.0,
    focal_gamma: float = 2.0,
    focal_alpha: float | None = None,
) -> torch.Tensor:
    """The loss ``name`` (one of :data:`LOSSES`) of (B, H, W) logits against 0/1 targets on valid pixels.

    Raises:
        ValueError: an unknown loss name (the message lists the valid ones).
    """
    valid = valid.to(logits.dtype)
    if name == "bce":
        return bce(logits, target, valid)
    if name == "weighted_bce":
        return bce(logits, target, valid, pos_weight=pos_weight)
    if name == "focal":
        return focal(logits, target, valid, gamma=focal_gamma, alpha=focal_alpha)
    if name == "focal_dice":
        return focal(logits, target, valid, gamma=focal_gamma, alpha=focal_alpha) + soft_dice(logits, target, valid)
    if name == "bce_dice":
        return bce(logits, target, valid) + soft_dice(logits, target, valid)
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)} (key training.loss)")
