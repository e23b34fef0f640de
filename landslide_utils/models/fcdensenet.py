"""FC-DenseNet of Gao et al. (2021, IEEE JSTARS 14, "FC-DenseNet for landslide recognition and mapping with
influencing factors"): the Tiramisu of Jégou et al. (2017, "The One Hundred Layers Tiramisu: fully
convolutional DenseNets for semantic segmentation") with the DenseNet-BC layers of Huang et al. (2017).

Down path: a first 3 x 3 convolution, then dense blocks, each followed by a transition down (BN-ReLU-1 x 1
convolution compressing the channels by ``compression``, dropout, 2 x 2 max pooling); the block outputs (before
compression) are the skip connections. A bottleneck dense block; then, per up block, a transition up (3 x 3
transposed convolution, stride 2, applied only to the new feature maps of the previous block, as in the
Tiramisu), concatenation with the skip and a dense block. A final 1 x 1 convolution gives the logits.

Each dense layer is BN-ReLU-1 x 1 convolution to ``4 * growth_rate`` (the BC bottleneck), BN-ReLU-3 x 3
convolution to ``growth_rate``, dropout.

Gao et al. do not give their Table IV layer counts per block in the text; the defaults here
(``growth_rate=16`` as in the Tiramisu, ``down_blocks=(5, 6, 7, 8, 9)``, ``bottleneck_layers=10``,
``first_filters=48``) were chosen so that the parameter count for their 16-band input (7 Landsat 8 bands + 9
influencing factors) and one logit matches their Table IX (:data:`PAPER_PARAMETERS`, 2,961,676): 2,944,817 here
(-0.6 %; 2,939,201 for 3 bands). FC-DenseNet103's blocks (4, 5, 7, 10, 12) + 15 with these BC layers have
4,046,907 (k = 16) or 2,306,963 (k = 12).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FCDenseNet", "PAPER_PARAMETERS"]

#: parameters of Gao et al.'s FC-DenseNet, 16 input bands (their Table IX)
PAPER_PARAMETERS = 2_961_676


class _DenseLayer(nn.Sequential):
    def __init__(self, channels: int, growth_rate: int, dropout: float) -> None:
        super().__init__(
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, 4 * growth_rate, kernel_size=1, bias=False),
            nn.BatchNorm2d(4 * growth_rate), nn.ReLU(inplace=True),
            nn.Conv2d(4 * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False),
            nn.Dropout2d(dropout),
        )


class _DenseBlock(nn.Module):
    """``layers`` dense layers; returns the input and all new maps, or only the new maps (``new_only``)."""

    def __init__(self, channels: int, layers: int, growth_rate: int, dropout: float, *, new_only: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _DenseLayer(channels + i * growth_rate, growth_rate, dropout) for i in range(layers))
        self.new_only = new_only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, dim=1)))
        return torch.cat(feats[1:] if self.new_only else feats, dim=1)


class FCDenseNet(nn.Module):
    """FC-DenseNet (Tiramisu with DenseNet-BC layers and compressed transitions down).

    Args:
        in_channels: input channels.
        classes: output logits (1 = the landslide logit).
        growth_rate: new feature maps per dense layer (k).
        down_blocks: dense layers per block of the down path (one 2 x downsampling each).
        bottleneck_layers: dense layers of the bottleneck block.
        up_blocks: dense layers per block of the up path; default ``down_blocks`` reversed.
        first_filters: filters of the first 3 x 3 convolution.
        compression: channel compression (theta) of each transition down.
        dropout: dropout rate of the dense layers and transitions down.

    Attributes:
        output_stride: total downsampling, ``2 ** len(down_blocks)``; inputs must be multiples of it.
    """

    def __init__(self, *, in_channels: int, classes: int = 1, growth_rate: int = 16,
                 down_blocks: tuple[int, ...] = (5, 6, 7, 8, 9), bottleneck_layers: int = 10,
                 up_blocks: tuple[int, ...] | None = None, first_filters: int = 48, compression: float = 0.5,
                 dropout: float = 0.2) -> None:
        super().__init__()
        up_blocks = tuple(reversed(down_blocks)) if up_blocks is None else tuple(up_blocks)
        if len(up_blocks) != len(down_blocks):
            raise ValueError(f"up_blocks {up_blocks} must have as many blocks as down_blocks {down_blocks}")
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1], got {compression!r}")
        k = growth_rate
        self.output_stride = 2 ** len(down_blocks)
        self.first = nn.Conv2d(in_channels, first_filters, kernel_size=3, padding=1, bias=False)
        self.down = nn.ModuleList()
        self.trans_down = nn.ModuleList()
        skips = []
        channels = first_filters
        for layers in down_blocks:
            self.down.append(_DenseBlock(channels, layers, k, dropout, new_only=False))
            channels += layers * k
            skips.append(channels)
            out = int(channels * compression)
            self.trans_down.append(nn.Sequential(
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                nn.Conv2d(channels, out, kernel_size=1, bias=False), nn.Dropout2d(dropout), nn.MaxPool2d(2)))
            channels = out
        self.bottleneck = _DenseBlock(channels, bottleneck_layers, k, dropout, new_only=True)
        new = bottleneck_layers * k
        self.trans_up = nn.ModuleList()
        self.up = nn.ModuleList()
        for i, (layers, skip) in enumerate(zip(up_blocks, reversed(skips))):
            last = i == len(up_blocks) - 1
            self.trans_up.append(nn.ConvTranspose2d(new, new, kernel_size=3, stride=2, padding=1,
                                                    output_padding=1, bias=False))
            self.up.append(_DenseBlock(new + skip, layers, k, dropout, new_only=not last))
            channels = new + skip + layers * k
            new = layers * k
        self.head = nn.Conv2d(channels, classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, classes, H, W) logits; H and W multiples of ``output_stride``."""
        s = self.output_stride
        if x.shape[-2] % s or x.shape[-1] % s:
            raise ValueError(f"input height/width must be a multiple of {s}, got {tuple(x.shape[-2:])}")
        x = self.first(x)
        skips = []
        for block, trans in zip(self.down, self.trans_down):
            x = block(x)
            skips.append(x)
            x = trans(x)
        x = self.bottleneck(x)
        for trans, block, skip in zip(self.trans_up, self.up, reversed(skips)):
            x = block(torch.cat([trans(x), skip], dim=1))
        return self.head(x)
