"""The fully convolutional network of Chen et al. (2022, Remote Sens. 14, 5517), sec. 3.4 and Figure 4.

An FCN (Long et al. 2015) whose decoder fuses the encoder's feature maps from 1/32 down to 1/2 of the input
(the original FCN-8s stops at 1/8; Chen et al. add the 1/4 and 1/2 maps for landslide boundaries): a 1 x 1
convolution scores each level, the coarser score map is upsampled x 2 and added to the next finer one, and the
finest sum is upsampled to the input size. ``models.fcn.fuse_down_to`` chooses 2 (Chen et al.) or 8 (FCN-8s).

Upsampling is bilinear and fixed (Long et al. learn it from a bilinear start and report little difference);
the encoder is any segmentation-models-pytorch encoder with five stages (``models.fcn.encoder``; Chen et al.
used VGG16: ``vgg16``), built without downloaded weights.
"""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FCN"]

#: encoder stage of each output stride in smp's feature list (stage 0 is the input itself)
_STAGE = {2: 1, 4: 2, 8: 3, 16: 4, 32: 5}


class FCN(nn.Module):
    """Encoder + skip-fused score maps (1/32 ... 1/``fuse_down_to``).

    Args:
        encoder: segmentation-models-pytorch encoder name.
        in_channels: input channels.
        classes: output logits (1 = the landslide logit).
        fuse_down_to: finest output stride fused, 2 or 8.
    """

    def __init__(self, encoder: str, *, in_channels: int, classes: int = 1, fuse_down_to: int = 2) -> None:
        super().__init__()
        if fuse_down_to not in (2, 8):
            raise ValueError(f"models.fcn.fuse_down_to must be 2 or 8, got {fuse_down_to!r}")
        self.encoder = smp.encoders.get_encoder(encoder, in_channels=in_channels, depth=5, weights=None)
        channels = self.encoder.out_channels
        self.strides = [s for s in (32, 16, 8, 4, 2) if s >= fuse_down_to]
        self.score = nn.ModuleList(nn.Conv2d(channels[_STAGE[s]], classes, kernel_size=1) for s in self.strides)
        self.output_stride = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        out = self.score[0](feats[_STAGE[self.strides[0]]])
        for conv, s in zip(self.score[1:], self.strides[1:]):
            finer = conv(feats[_STAGE[s]])
            out = F.interpolate(out, size=finer.shape[-2:], mode="bilinear", align_corners=False) + finer
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
