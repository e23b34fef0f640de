"""Deep residual U-Net (ResUNet) of Zhang, Liu & Wang (2018, IEEE GRSL 15, "Road extraction by deep residual
U-Net"), a baseline of Gao et al. (2021, IEEE JSTARS 14, "FC-DenseNet for landslide recognition and mapping
with influencing factors").

Built from pre-activation residual units (He et al. 2016): BN-ReLU-3 x 3 convolution twice, plus an identity
shortcut, or a 1 x 1 convolution + BN where the channels or the size change. The first unit of the encoder
starts with a plain convolution (its input is the image, Zhang et al. Fig. 3); each further encoder level is a
residual unit whose first convolution has stride 2, and the last (deepest) one is the bridge. Each decoder level
upsamples x 2, concatenates the encoder skip of that size and applies a residual unit; a 1 x 1 convolution gives
the logits (Zhang et al.'s sigmoid is left to the loss).

The default has Zhang et al.'s widths, ``filters=(64, 128, 256, 512)`` (output stride 8). Gao et al. do not give
their layer settings; with Zhang et al.'s fixed upsampling (``upsample="nearest"``) this has 8,227,905 parameters
for 16 input bands and one logit, 16.7 % under Gao et al.'s Table IX (:data:`PAPER_PARAMETERS`, 9,874,437).
The default upsampling is therefore learned, a 2 x 2 transposed convolution of stride 2 that keeps the channels
(``upsample="transposed"``): 9,605,057 parameters for 16 bands (-2.7 %), 9,596,737 for 3 bands.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["ResUNet", "PAPER_PARAMETERS"]

#: parameters of Gao et al.'s ResUNet (their Table IX)
PAPER_PARAMETERS = 9_874_437


class _ResidualUnit(nn.Module):
    """Pre-activation residual unit; ``first``: the first unit of the encoder (plain convolution first)."""

    def __init__(self, cin: int, cout: int, *, stride: int = 1, first: bool = False) -> None:
        super().__init__()
        head = [] if first else [nn.BatchNorm2d(cin), nn.ReLU(inplace=False)]
        self.body = nn.Sequential(
            *head, nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, kernel_size=3, padding=1, bias=False))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class ResUNet(nn.Module):
    """Deep residual U-Net: residual encoder (stride-2 units), bridge, residual decoder with skips.

    Args:
        in_channels: input channels.
        classes: output logits (1 = the landslide logit).
        filters: channels per level, shallowest first; the last entry is the bridge. Zhang et al.:
            ``(64, 128, 256, 512)``.
        upsample: ``"transposed"`` (learned 2 x 2 transposed convolution) or ``"nearest"`` (Zhang et al.).

    Attributes:
        output_stride: total downsampling, ``2 ** (len(filters) - 1)``; inputs must be multiples of it.
    """

    def __init__(self, *, in_channels: int, classes: int = 1,
                 filters: tuple[int, ...] = (64, 128, 256, 512),
                 upsample: Literal["transposed", "nearest"] = "transposed") -> None:
        super().__init__()
        filters = tuple(filters)
        if len(filters) < 2:
            raise ValueError(f"filters needs at least two levels (encoder + bridge), got {filters}")
        if upsample not in ("transposed", "nearest"):
            raise ValueError(f"upsample must be 'transposed' or 'nearest', got {upsample!r}")
        self.output_stride = 2 ** (len(filters) - 1)
        self.encoder = nn.ModuleList([_ResidualUnit(in_channels, filters[0], first=True)])
        self.encoder.extend(_ResidualUnit(a, b, stride=2) for a, b in zip(filters[:-1], filters[1:]))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(c, c, kernel_size=2, stride=2) if upsample == "transposed"
            else nn.Upsample(scale_factor=2.0, mode="nearest") for c in filters[:0:-1])
        self.decoder = nn.ModuleList(
            _ResidualUnit(deep + skip, skip) for deep, skip in zip(filters[:0:-1], filters[-2::-1]))
        self.head = nn.Conv2d(filters[0], classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, classes, H, W) logits; H and W multiples of ``output_stride``."""
        s = self.output_stride
        if x.shape[-2] % s or x.shape[-1] % s:
            raise ValueError(f"input height/width must be a multiple of {s}, got {tuple(x.shape[-2:])}")
        skips = []
        for unit in self.encoder:
            x = unit(x)
            skips.append(x)
        for up, unit, skip in zip(self.up, self.decoder, reversed(skips[:-1])):
            x = unit(torch.cat([up(x), skip], dim=1))
        return self.head(x)
