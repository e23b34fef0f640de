"""The mean of several semantic models' landslide probabilities, as one model (the k fold models of a
cross-validated experiment, Chen et al. 2022: :mod:`landslide_utils.training.crossval`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ProbabilityMean"]

_EPS = 1e-6


class ProbabilityMean(nn.Module):
    """``forward(x)`` = logit(mean_k sigmoid(member_k(x))): the landslide logit of the averaged probability, so
    every caller that applies a sigmoid gets the members' mean probability."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.stack([torch.sigmoid(m(x).float()) for m in self.members]).mean(0)
        return torch.logit(p.clamp(_EPS, 1 - _EPS))
