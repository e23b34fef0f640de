"""U-Net (Ronneberger et al. 2015) and PSPNet (Zhao et al. 2017): the semantic-segmentation baselines of
Yang et al. (2022), Experiments V-VIII; and the FCN of Chen et al. (2022) (:mod:`.fcn`), wrapped the same way.

The paper took both from a Keras library without giving their settings; here they come from
segmentation_models_pytorch (smp) with a configurable encoder (``models.unet.encoder``,
``models.pspnet.encoder``), ``encoder_weights=None`` (nothing is downloaded) and one output logit for the
landslide class (binary; ``num_classes=2`` -> 1 logit, trained with a sigmoid / BCE loss).

smp needs inputs divisible by the encoder's output stride (32 for U-Net with depth 5, 8 for PSPNet with its
default depth 3 and upsampling 8). :class:`SegmentationNet` pads any tile (zeros = the channel mean after
normalisation) and crops the logits back, so every tile size works; PSPNet's output is upsampled to the input
size by smp itself.
"""

from __future__ import annotations

from typing import Literal

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn

from ..config import FCNSpec, SegmentationSpec
from .fcn import FCN

__all__ = ["SegmentationNet", "build_segmentation", "encoder_problem", "PRETRAINED_PREFIXES", "first_conv"]

#: where the keys of a local weights file may belong: this wrapper's own state dict (""), a whole smp model
#: ("net.") or an encoder / torchvision classification model ("net.encoder.").
PRETRAINED_PREFIXES: tuple[str, ...] = ("", "net.", "net.encoder.")

_ARCH = {"unet": smp.Unet, "pspnet": smp.PSPNet, "fcn": FCN}


class SegmentationNet(nn.Module):
    """An smp model that accepts any input size (pads to the output stride, crops the logits).

    Attributes:
        net: the smp model.
        divisor: input sizes are padded up to a multiple of this.
        out_channels: number of output logits (1 = binary landslide logit).
    """

    def __init__(self, net: nn.Module, *, divisor: int, out_channels: int) -> None:
        super().__init__()
        self.net = net
        self.divisor = int(divisor)
        self.out_channels = int(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised input -> (N, out_channels, H, W) logits."""
        h, w = x.shape[-2:]
        ph = (-h) % self.divisor
        pw = (-w) % self.divisor
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        out = self.net(x)
        return out[..., :h, :w]


def encoder_problem(encoder: str) -> str | None:
    """Why ``encoder`` is no segmentation-models-pytorch encoder name (with examples), or None."""
    encoders = smp.encoders.get_encoder_names()
    if encoder in encoders:
        return None
    examples = ", ".join(e for e in encoders if e.startswith(("resnet", "resnext")))
    return (f"unknown encoder {encoder!r}; see segmentation_models_pytorch.encoders.get_encoder_names(), e.g. "
            f"{examples}")


def build_segmentation(
    name: Literal["unet", "pspnet", "fcn"],
    in_channels: int,
    *,
    spec: SegmentationSpec,
    num_classes: int = 2,
) -> SegmentationNet:
    """Build an untrained U-Net, PSPNet or FCN for ``in_channels``-band tiles.

    Args:
        name: ``unet``, ``pspnet`` or ``fcn``.
        in_channels: input channels (3 for ``rgb``, 6 for ``rgb+factors``).
        spec: the profile's ``models.unet`` / ``models.pspnet`` / ``models.fcn`` section.
        num_classes: 2 (background, landslide) gives one landslide logit; more gives one logit per class.

    Raises:
        ValueError: unknown architecture or encoder (names the profile key).
    """
    if name not in _ARCH:
        raise ValueError(f"unknown segmentation model {name!r}; valid: {', '.join(_ARCH)}")
    problem = encoder_problem(spec.encoder)
    if problem:
        raise ValueError(f"models.{name}.encoder: {problem}")
    out = 1 if num_classes == 2 else num_classes
    if name == "fcn":
        net: nn.Module = FCN(spec.encoder, in_channels=in_channels, classes=out,
                             fuse_down_to=spec.fuse_down_to if isinstance(spec, FCNSpec) else 2)
    else:
        net = _ARCH[name](encoder_name=spec.encoder, encoder_weights=None, in_channels=in_channels, classes=out)
    divisor = int(getattr(net.encoder, "output_stride", 32))
    return SegmentationNet(net, divisor=divisor, out_channels=out)


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first convolution of a model built here (the encoder's stem)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError("model has no convolution")
