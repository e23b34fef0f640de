"""Losses of the semantic models (landslide_utils.models.losses) on hand-made logits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from landslide_utils.models.losses import LOSSES, bce, focal, segmentation_loss, soft_dice


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 8, 8, generator=g) * 3
    target = (torch.rand(2, 8, 8, generator=g) < 0.2).float()
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    valid[:, -2:] = False
    return logits, target, valid


def test_bce_counts_valid_pixels_only() -> None:
    logits, target, valid = _data()
    want = F.binary_cross_entropy_with_logits(logits[valid], target[valid])
    assert bce(logits, target, valid.float()).item() == pytest.approx(want.item(), rel=1e-6)
    garbage = logits.clone()
    garbage[~valid] = 1e4  # invalid pixels cannot move the loss
    assert bce(garbage, target, valid.float()).item() == pytest.approx(want.item(), rel=1e-6)


def test_focal_with_gamma_zero_is_bce() -> None:
    logits, target, valid = _data()
    assert focal(logits, target, valid.float(), gamma=0.0).item() == pytest.approx(
        bce(logits, target, valid.float()).item(), rel=1e-6)


def test_focal_down_weights_easy_pixels() -> None:
    target = torch.tensor([[1.0, 0.0]])
    valid = torch.ones(1, 2)
    easy = torch.tensor([[6.0, -6.0]])
    assert focal(easy, target, valid, gamma=2.0).item() < 1e-3 * bce(easy, target, valid).item()
    # alpha weights the landslide class by alpha and the background by 1 - alpha
    only_pos = torch.tensor([[0.0, -30.0]])
    assert focal(only_pos, target, valid, gamma=0.0, alpha=0.25).item() == pytest.approx(0.25 * math.log(2) / 2,
                                                                                          rel=1e-4)


def test_positive_weight_moves_the_optimum() -> None:
    """For a constant prediction p on data with prevalence q, weighted BCE is minimal at
    p* = w q / (w q + 1 - q): a larger weight moves the optimum towards predicting landslide."""
    target = torch.tensor([[1.0, 0.0, 0.0, 0.0]])  # q = 0.25
    valid = torch.ones(1, 4)
    grid = torch.linspace(-6, 6, 2401)

    def argmin_p(w: float) -> float:
        losses = [bce(torch.full((1, 4), float(z)), target, valid, pos_weight=w).item() for z in grid]
        return torch.sigmoid(grid[int(torch.tensor(losses).argmin())]).item()

    assert argmin_p(1.0) == pytest.approx(0.25, abs=0.01)
    assert argmin_p(3.0) == pytest.approx(0.5, abs=0.01)


def test_dice_is_zero_for_a_perfect_prediction_and_every_loss_is_named() -> None:
    target = torch.tensor([[1.0, 0.0, 1.0]])
    valid = torch.ones(1, 3)
    assert soft_dice(torch.tensor([[30.0, -30.0, 30.0]]), target, valid, eps=0.0).item() == pytest.approx(0.0,
                                                                                                       abs=1e-6)
    logits, tgt, v = _data()
    for name in LOSSES:
        loss = segmentation_loss(logits.requires_grad_(), tgt, v, name=name, pos_weight=4.0)
        assert torch.isfinite(loss) and loss.item() > 0
    with pytest.raises(ValueError, match="training.loss"):
        segmentation_loss(logits, tgt, v, name="hinge")
