"""Precision settings: what ``auto`` picks, bfloat16 autocast in training and prediction, repeatability."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from landslide_utils.training.loop import train_step
from landslide_utils.training.precision import autocast, bf16_native, resolve_precision


def test_auto_picks_bf16_only_where_native() -> None:
    assert resolve_precision("auto", "cpu") == ("bf16" if bf16_native("cpu") else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="fp32, bf16, auto"):
        resolve_precision("fp16", "cpu")


def test_autocast_computes_in_bfloat16_and_fp32_does_not() -> None:
    a = torch.randn(8, 8)
    with autocast("bf16", "cpu"):
        assert (a @ a).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (a @ a).dtype == torch.float32


def _step(precision: str) -> tuple[float, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xs = [torch.randn(3, 16, 16) for _ in range(2)]
    tg = [{"mask": (torch.rand(16, 16) > 0.7).float(), "valid": torch.ones(16, 16, dtype=torch.bool)} for _ in range(2)]
    loss = train_step(model, "semantic", xs, tg, opt, 5.0, {}, precision)
    return loss, model[0].weight.detach().clone()


def test_bf16_training_keeps_fp32_master_weights_and_repeats() -> None:
    loss, weight = _step("bf16")
    assert weight.dtype == torch.float32 and torch.isfinite(weight).all()
    again, weight2 = _step("bf16")
    assert loss == again and torch.equal(weight, weight2)  # CPU runs repeat exactly
    fp32_loss, fp32_weight = _step("fp32")
    assert abs(fp32_loss - loss) < 0.05 and not torch.equal(fp32_weight, weight)  # close, not the same numbers
