"""SegNet (Badrinarayanan, Kendall & Cipolla 2017, IEEE TPAMI 39, "SegNet: a deep convolutional encoder-decoder
architecture for image segmentation"), a baseline of Gao et al. (2021, IEEE JSTARS 14, "FC-DenseNet for
landslide recognition and mapping with influencing factors").

Encoder: the 13 convolutions of VGG16 with batch normalisation (3 x 3 convolution-BN-ReLU; stages of 2, 2, 3, 3
and 3 convolutions), each stage ending in 2 x 2 max pooling that keeps its indices. Decoder: the mirror image;
each stage unpools (``MaxUnpool2d``) with the indices of its encoder stage and applies the mirrored
convolutions (the last of a stage reduces the channels to those of the next stage). The mirror of the first
encoder convolution is the head: a 3 x 3 convolution to the logits (no BN-ReLU), as in the original SegNet.

Built from scratch (no pretrained VGG weights). With ``width=64``, 16 input bands and one logit this has
29,443,137 parameters, 0.06 % under Gao et al.'s Table IX (:data:`PAPER_PARAMETERS`, 29,461,253); 29,435,649 for
3 bands.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SegNet", "PAPER_PARAMETERS"]

#: parameters of Gao et al.'s SegNet (their Table IX)
PAPER_PARAMETERS = 29_461_253

#: convolutions per VGG16 stage and each stage's channels at width 64
_STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SegNet(nn.Module):
    """SegNet: VGG16-BN encoder, decoder unpooling with the encoder's max-pooling indices.

    Args:
        in_channels: input channels.
        classes: output logits (1 = the landslide logit).
        width: channels of the first stage; the stages have 1, 2, 4, 8 and 8 times ``width / 64`` x 64
            (64 = VGG16).

    Attributes:
        output_stride: total downsampling (32); inputs must be multiples of it.
    """

    def __init__(self, *, in_channels: int, classes: int = 1, width: int = 64) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be positive, got {width!r}")
        stages = [(n, max(1, c * width // 64)) for n, c in _STAGES]
        self.output_stride = 2 ** len(stages)
        self.encoder = nn.ModuleList()
        cin = in_channels
        for n, c in stages:
            self.encoder.append(nn.Sequential(*(_conv(cin if i == 0 else c, c) for i in range(n))))
            cin = c
        self.decoder = nn.ModuleList()
        outs = [c for _, c in stages[:-1]][::-1] + [stages[0][1]]  # channels after each decoder stage
        for j, ((n, c), cout) in enumerate(zip(reversed(stages), outs)):
            n -= j == len(stages) - 1  # the mirror of the first convolution is the head
            self.decoder.append(nn.Sequential(*(_conv(c, cout if i == n - 1 else c) for i in range(n))))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.head = nn.Conv2d(stages[0][1], classes, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, classes, H, W) logits; H and W multiples of ``output_stride``."""
        s = self.output_stride
        if x.shape[-2] % s or x.shape[-1] % s:
            raise ValueError(f"input height/width must be a multiple of {s}, got {tuple(x.shape[-2:])}")
        indices = []
        for stage in self.encoder:
            x, idx = self.pool(stage(x))
            indices.append(idx)
        for stage, idx in zip(self.decoder, reversed(indices)):
            x = stage(self.unpool(x, idx))
        return self.head(x)
