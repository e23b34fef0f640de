"""Losses of the semantic models (U-Net, PSPNet) on the landslide logit, over *valid* pixels only.

Yang et al. (2022) do not state the loss of their U-Net and PSPNet. ``training.loss`` chooses one:

* ``bce``: binary cross-entropy, the plain choice of a Keras segmentation library (the default until the loss
  sweeps: on rare landslides U-Net trained with it can score every pixel below 0.5);
* ``weighted_bce``: BCE with the positive class weighted by ``training.pos_weight`` or, when that is unset,
  by the ratio of background to landslide pixels of the training tiles (the imbalance ratio IR of
  Chen et al. 2022);
* ``focal``: the binary focal loss of Lin et al. (2017) as used for landslides by Chen et al. (2022)
  (``training.focal_gamma``, default 2; ``training.focal_alpha`` weights one class by alpha and the other by
  1 - alpha, or nothing when unset; ``training.focal_alpha_on`` names the class alpha weighs: ``landslide`` as
  Lin et al. define it, or ``background`` as Chen et al. describe theirs, "a low alpha reduces the weight of the
  non-landslide samples");
* ``focal_dice``: focal + soft Dice, the combination of Yang S. et al. (2022)'s
  comparison of semantic-segmentation models;
* ``bce_dice``: BCE + soft Dice, the default: the best mean rank of the five for U-Net and PSPNet on dense and
  sparse inventories in the loss sweeps (docs/methods.md, "Loss and decision threshold").

Padding and nodata never count: every term is a mean (or a sum, for Dice) over valid pixels.
``training.class_weights`` (background, landslide) weighs every pixel of the BCE or focal term by its class, as
the zoo of Yang S. et al. (2022) weighs its focal + Dice loss ([1, 2]); the Dice term, of the landslide class
alone, is not weighted.

:func:`sobel_edge_loss` is the edge loss Liu et al. (2021) add to the mask loss of their improved Mask R-CNN.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from landslide_utils.config.model_schema import DEFAULT_LOSS

__all__ = ["LOSSES", "LossName", "segmentation_loss", "bce", "focal", "soft_dice", "sobel_edge_loss", "SOBEL_X",
           "SOBEL_Y"]

LossName = Literal["bce", "weighted_bce", "focal", "focal_dice", "bce_dice"]
LOSSES: tuple[str, ...] = ("bce", "weighted_bce", "focal", "focal_dice", "bce_dice")


def _valid_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return (values * valid).sum() / valid.sum().clamp(min=1.0)


def _class_weighted(valid: torch.Tensor, target: torch.Tensor,
                    class_weights: tuple[float, float] | None) -> torch.Tensor:
    """``valid`` times the weight of each pixel's class (background, landslide); ``valid`` when unset."""
    if class_weights is None:
        return valid
    wb, wl = (float(w) for w in class_weights)
    return valid * (wb * (1 - target) + wl * target)


def bce(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, *, pos_weight: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy over valid pixels, the landslide class weighted by ``pos_weight``."""
    pw = None if pos_weight == 1.0 else torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none", pos_weight=pw)
    return _valid_mean(per_pixel, valid)


def focal(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, *, gamma: float = 2.0,
          alpha: float | None = None, alpha_on: str = "landslide") -> torch.Tensor:
    """Binary focal loss (Lin et al. 2017): ``-(1 - p_t)^gamma log p_t``, optionally alpha-balanced.

    ``alpha`` weighs the class ``alpha_on`` (``landslide`` or ``background``), the other class gets
    ``1 - alpha``. With ``gamma = 0`` and ``alpha = None`` it equals :func:`bce`.
    """
    if alpha_on not in ("landslide", "background"):
        raise ValueError(f"alpha_on must be 'landslide' or 'background', got {alpha_on!r} "
                         "(key training.focal_alpha_on)")
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    log_pt = target * log_p + (1 - target) * log_not_p
    pt = log_pt.exp()
    per_pixel = -((1 - pt).clamp(min=0) ** gamma) * log_pt if gamma else -log_pt
    if alpha is not None:
        a = alpha if alpha_on == "landslide" else 1 - alpha
        per_pixel = per_pixel * (a * target + (1 - a) * (1 - target))
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
    focal_alpha_on: str = "landslide",
    class_weights: tuple[float, float] | None = None,
) -> torch.Tensor:
    """The loss ``name`` (one of :data:`LOSSES`) of (B, H, W) logits against 0/1 targets on valid pixels.

    Raises:
        ValueError: an unknown loss name (the message lists the valid ones).
    """
    valid = valid.to(logits.dtype)
    weighted = _class_weighted(valid, target, class_weights)  # the valid means become class-weighted means
    if name == "bce":
        return bce(logits, target, weighted)
    if name == "weighted_bce":
        return bce(logits, target, weighted, pos_weight=pos_weight)
    if name == "focal":
        return focal(logits, target, weighted, gamma=focal_gamma, alpha=focal_alpha, alpha_on=focal_alpha_on)
    if name == "focal_dice":
        return focal(logits, target, weighted, gamma=focal_gamma, alpha=focal_alpha,
                     alpha_on=focal_alpha_on) + soft_dice(logits, target, valid)
    if name == "bce_dice":
        return bce(logits, target, weighted) + soft_dice(logits, target, valid)
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)} (key training.loss)")


#: the Sobel kernels of Liu et al. (2021), eq. 3: horizontal and vertical gradient
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
SOBEL_Y = ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0))


def sobel_edge_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The edge loss of Liu et al. (2021), eq. 4: mean squared error between the Sobel responses (x and y
    kernels, fixed) of predicted mask probabilities and of the target masks.

    Args:
        pred: (N, H, W) predicted probabilities in [0, 1] (differentiable).
        target: (N, H, W) target masks in [0, 1].

    Borders are replicated before filtering, so a mask that fills its box has no edge at the box's border.
    An empty batch gives a zero that still carries the graph of ``pred``.
    """
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(f"pred and target must both be (N, H, W); got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.shape[0] == 0:
        return pred.sum() * 0
    k = torch.tensor([SOBEL_X, SOBEL_Y], dtype=pred.dtype, device=pred.device)[:, None]
    both = torch.cat([pred, target.to(pred.dtype)])[:, None]
    edges = F.conv2d(F.pad(both, (1, 1, 1, 1), mode="replicate"), k)
    n = pred.shape[0]
    return F.mse_loss(edges[:n], edges[n:])
