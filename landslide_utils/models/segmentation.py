"""U-Net (Ronneberger et al. 2015) and PSPNet (Zhao et al. 2017): the semantic-segmentation baselines of
Yang et al. (2022), Experiments V-VIII; DeepLabv3+ (Chen et al. 2018) of the zoo of Yang S. et al. (2022); the
FCN of Chen et al. (2022) (:mod:`.fcn`) and the FC-DenseNet, SegNet and ResU-Net of Gao et al. (2021)
(:mod:`.fcdensenet`, :mod:`.segnet`, :mod:`.resunet`), all wrapped the same way.

DeepLabv3+ keeps the zoo's settings: ASPP rates ``models.deeplabv3plus.atrous_rates`` (6, 12, 18) at encoder
output stride ``output_stride`` (8); PSPNet pools at bins 1, 2, 3 and 6 (smp's fixed pyramid). smp's own
``xception`` encoder cannot run dilated, so the zoo's DeepLabv3+ (Xception) uses timm's aligned Xception through
smp (``tu-xception41`` / ``tu-xception65``, the DeepLabv3+ paper's backbone), named as such in the reports.

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

from typing import Any

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import nn

from landslide_utils.config.model_schema import DeepLabSpec, FCDenseNetSpec, FCNSpec, ResUNetSpec, SegNetSpec
from landslide_utils.models.fcdensenet import FCDenseNet
from landslide_utils.models.fcn import FCN
from landslide_utils.models.resunet import ResUNet
from landslide_utils.models.segnet import SegNet

__all__ = ["SegmentationNet", "build_segmentation", "encoder_problem", "PRETRAINED_PREFIXES", "first_conv",
           "encoder_of", "OWN_ARCHITECTURES", "dilation_problem"]

#: where the keys of a local weights file may belong: this wrapper's own state dict (""), a whole smp model
#: ("net.") or an encoder / torchvision classification model ("net.encoder.").
PRETRAINED_PREFIXES: tuple[str, ...] = ("", "net.", "net.encoder.")

_ARCH = {"unet": smp.Unet, "pspnet": smp.PSPNet, "fcn": FCN, "deeplabv3plus": smp.DeepLabV3Plus,
         "fcdensenet": FCDenseNet, "segnet": SegNet, "resunet": ResUNet}
#: the families written here without an smp encoder (Gao et al. 2021's baselines and their FC-DenseNet)
OWN_ARCHITECTURES: tuple[str, ...] = ("fcdensenet", "segnet", "resunet")


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
    """Why ``encoder`` is no segmentation-models-pytorch encoder name (with examples), or None; ``tu-<name>`` names
    a timm model through smp's universal encoder."""
    encoders = smp.encoders.get_encoder_names()
    if encoder in encoders:
        return None
    if encoder.startswith("tu-"):  # a timm model through smp's universal encoder (e.g. tu-xception41)
        import timm  # noqa: PLC0415 - timm is asked only for a tu- encoder name

        if timm.is_model(encoder[3:]):
            return None
        return (f"unknown encoder {encoder!r}: timm has no model {encoder[3:]!r}; see timm.list_models(), e.g. "
                "tu-xception41, tu-resnet50")
    examples = ", ".join(e for e in encoders if e.startswith(("resnet", "resnext")))
    return (f"unknown encoder {encoder!r}; see segmentation_models_pytorch.encoders.get_encoder_names(), e.g. "
            f"{examples}")


def dilation_problem(encoder: str, output_stride: int) -> str | None:
    """Why ``encoder`` cannot run dilated at ``output_stride`` (DeepLabv3+; e.g. VGG and smp's Xception, whose
    pooling cannot be dilated), or None. Builds the encoder once, untrained (no weights are read)."""
    if encoder_problem(encoder) is not None or output_stride == 32:
        return None
    try:
        smp.encoders.get_encoder(encoder, in_channels=3, depth=5, weights=None, output_stride=output_stride)
    except (ValueError, NotImplementedError) as exc:
        return (f"encoder {encoder!r} cannot run at output stride {output_stride} as DeepLabv3+ needs ({exc}); "
                "choose a dilatable one, e.g. resnet50, mobilenet_v2 or tu-xception41")
    return None


def build_segmentation(
    name: str,
    in_channels: int,
    *,
    spec: Any,
    num_classes: int = 2,
) -> SegmentationNet:
    """Build an untrained semantic model for ``in_channels``-band tiles.

    Args:
        name: ``unet``, ``pspnet``, ``fcn``, ``deeplabv3plus``, ``fcdensenet``, ``segnet`` or ``resunet``.
        in_channels: input channels (3 for ``rgb``, 6 for ``rgb+factors``).
        spec: the profile's ``models.unet`` / ``models.pspnet`` / ``models.fcn`` section.
        num_classes: 2 (background, landslide) gives one landslide logit; more gives one logit per class.

    Raises:
        ValueError: unknown architecture or encoder (names the profile key).
    """
    if name not in _ARCH:
        raise ValueError(f"unknown segmentation model {name!r}; valid: {', '.join(_ARCH)}")
    out = 1 if num_classes == 2 else num_classes
    if name in OWN_ARCHITECTURES:
        own = _own(name, in_channels, spec, out)
        return SegmentationNet(own, divisor=int(own.output_stride), out_channels=out)
    problem = encoder_problem(spec.encoder)
    if problem:
        raise ValueError(f"models.{name}.encoder: {problem}")
    if name == "deeplabv3plus":
        opts = spec if isinstance(spec, DeepLabSpec) else DeepLabSpec(encoder=spec.encoder)
        net: nn.Module = smp.DeepLabV3Plus(encoder_name=spec.encoder, encoder_weights=None, in_channels=in_channels,
                                           classes=out, encoder_output_stride=opts.output_stride,
                                           decoder_atrous_rates=tuple(opts.atrous_rates))
        return SegmentationNet(net, divisor=32, out_channels=out)
    if name == "fcn":
        net = FCN(spec.encoder, in_channels=in_channels, classes=out,
                  fuse_down_to=spec.fuse_down_to if isinstance(spec, FCNSpec) else 2)
    else:
        net = _ARCH[name](encoder_name=spec.encoder, encoder_weights=None, in_channels=in_channels, classes=out)
    divisor = int(getattr(net.encoder, "output_stride", 32))
    return SegmentationNet(net, divisor=divisor, out_channels=out)


def _own(name: str, in_channels: int, spec: Any, out: int) -> nn.Module:
    if name == "fcdensenet":
        s = spec if isinstance(spec, FCDenseNetSpec) else FCDenseNetSpec()
        return FCDenseNet(in_channels=in_channels, classes=out, growth_rate=s.growth_rate,
                          down_blocks=tuple(s.down_blocks), bottleneck_layers=s.bottleneck_layers,
                          first_filters=s.first_filters, compression=s.compression, dropout=s.dropout)
    if name == "segnet":
        s = spec if isinstance(spec, SegNetSpec) else SegNetSpec()
        return SegNet(in_channels=in_channels, classes=out, width=s.width)
    s = spec if isinstance(spec, ResUNetSpec) else ResUNetSpec()
    return ResUNet(in_channels=in_channels, classes=out, filters=tuple(s.filters), upsample=s.upsample)


def encoder_of(model: nn.Module) -> nn.Module | None:
    """The pretrained-able encoder of a model built here (smp's ``net.encoder``), or None (Gao et al.'s
    architectures, trained from scratch as theirs were, have none to freeze)."""
    net = getattr(model, "net", None)
    return getattr(net, "encoder", None) if net is not None else None


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first convolution of a model built here (the encoder's stem)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError("model has no convolution")
