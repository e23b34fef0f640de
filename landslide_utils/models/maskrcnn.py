"""Mask R-CNN for landslide instances (He et al. 2017), as used by Yang et al. (2022), section 3.2.

The paper used the matterport Keras implementation (ResNet-101 + FPN, COCO-pretrained). This is torchvision's
Mask R-CNN with the same structure and matterport's training defaults where torchvision differs:

* backbone: any torchvision ResNet/ResNeXt (``resnet18`` ... ``resnet152``, ``resnext50_32x4d`` ...) + FPN with
  five levels P2-P6; one anchor size per level (``models.maskrcnn.anchor_sizes``), aspect ratios 0.5/1/2;
* the first convolution takes any number of input channels (RGB + DEM, slope, river level = 6 for
  Experiments II/IV), see :func:`widen_first_conv`;
* RoIAlign's backward pass on the CPU is a sparse matrix product (:mod:`landslide_utils.models.roi_align`;
  the same gradient, 5-7 x faster than torchvision's one-thread loop);
* no resizing: tiles keep their ground resolution (:class:`NoResizeTransform`); no mean/std inside the model,
  because inputs arrive normalised with the training tiles' per-channel statistics;
* two classes (background, landslide); 200 sampled RoIs per image with 33 % positives and 256 RPN anchors per
  image (matterport ``TRAIN_ROIS_PER_IMAGE``, ``ROI_POSITIVE_RATIO``, ``RPN_TRAIN_ANCHORS_PER_IMAGE``);
* the widths of the FPN (256), of the box head's fully connected layers (1024) and of the mask head's convolutions
  (256) are matterport's by default and keys of ``models.maskrcnn`` (``fpn_channels``, ``box_head_size``,
  ``mask_head_channels``): the CPU profiles narrow them, because on a CPU the mask head, run on every positive RoI,
  costs more than the ResNet-18 backbone (docs/methods.md, "Mask R-CNN on two CPU cores").

Two options give the improved Mask R-CNN of Liu et al. (2021, ISPRS Int. J. Geo-Inf. 10, 168), sec. 2.2-2.3
(``backbone: resnext50_32x4d`` is their feature extractor):

* ``fpn: bottom_up`` -- the bottom-up path augmentation after the FPN (:class:`BottomUpPath`): N2 = P2,
  N(i+1) = conv3x3(conv3x3_stride2(N i) + P(i+1)) for the levels P3-P6, each convolution followed by ReLU (as
  in PANet, Liu S. et al. 2018, where the path comes from; the paper draws the path without naming the
  activation); the RPN and RoI heads then read N2-N6 instead of P2-P6;
* ``mask_loss: bce+edge`` -- the mask loss plus ``edge_weight`` x the Sobel edge loss
  (:func:`landslide_utils.models.losses.sobel_edge_loss`) between the predicted mask probabilities of the positive RoIs
  and their 28 x 28 targets (:class:`EdgeLossRoIHeads`).

Without pretrained weights every layer trains and batch normalisation is ordinary ``BatchNorm2d`` (as
torchvision does when training from scratch); with a local pretrained file batch norm is frozen and
``trainable_layers`` counts the trainable ResNet stages from the top (5 = all).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection import roi_heads as tv_roi_heads
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool
from torchvision.ops.misc import FrozenBatchNorm2d

from landslide_utils.config.model_schema import MaskRCNNSpec
from landslide_utils.models.losses import sobel_edge_loss
from landslide_utils.models.roi_align import FastMultiScaleRoIAlign

__all__ = ["BACKBONES", "FPN_LEVELS", "NoResizeTransform", "build_maskrcnn", "widen_first_conv", "first_conv",
           "PRETRAINED_PREFIXES", "MATTERPORT_DEFAULTS", "BottomUpPath", "BottomUpBackbone", "EdgeLossRoIHeads",
           "mask_loss_with_edge"]

BACKBONES: tuple[str, ...] = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
)

#: where the keys of a local weights file may belong: a whole torchvision Mask R-CNN ("") or a plain
#: torchvision ResNet/ResNeXt classification model ("backbone.body.").
PRETRAINED_PREFIXES: tuple[str, ...] = ("", "backbone.body.")

FPN_LEVELS = 5

#: matterport Mask R-CNN defaults (TRAIN_ROIS_PER_IMAGE, ROI_POSITIVE_RATIO, RPN_TRAIN_ANCHORS_PER_IMAGE,
#: POST_NMS_ROIS_TRAINING, POST_NMS_ROIS_INFERENCE), the implementation Yang et al. (2022) used
MATTERPORT_DEFAULTS: dict[str, float] = {"rois_per_image": 200, "positive_fraction": 0.33,
                                         "rpn_anchors_per_image": 256, "proposals_train": 2000,
                                         "proposals_test": 1000}


class NoResizeTransform(GeneralizedRCNNTransform):
    """torchvision's detection transform without the resize step: tiles keep their ground resolution.

    Images are still padded to a multiple of 32 when batched; predictions come back at the input size.
    """

    def resize(self, image, target=None):  # type: ignore[override]
        return image, target


class BottomUpPath(nn.Module):
    """The bottom-up path augmentation of Liu et al. (2021), Figure 4(2): from the FPN levels P2 ... P6 to
    N2 ... N6 with N2 = P2 and N(i+1) = ReLU(conv3x3(ReLU(conv3x3_stride2(N i)) + P(i+1))).

    Args:
        channels: channels of every FPN level (256 in torchvision); the N levels keep them.
        levels: number of FPN levels (5: P2-P6).
    """

    def __init__(self, channels: int, levels: int = FPN_LEVELS) -> None:
        super().__init__()
        if levels < 2:
            raise ValueError(f"a bottom-up path needs at least two levels, got {levels}")
        self.down = nn.ModuleList(nn.Conv2d(channels, channels, 3, stride=2, padding=1) for _ in range(levels - 1))
        self.fuse = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(levels - 1))
        for m in [*self.down, *self.fuse]:
            nn.init.kaiming_uniform_(m.weight, a=1)
            nn.init.zeros_(m.bias)

    def forward(self, p: "OrderedDict[str, torch.Tensor]") -> "OrderedDict[str, torch.Tensor]":
        keys = list(p)
        if len(keys) != len(self.down) + 1:
            raise ValueError(f"expected {len(self.down) + 1} FPN levels, got {len(keys)}")
        n = [p[keys[0]]]
        for i, key in enumerate(keys[1:]):
            down = F.relu(self.down[i](n[-1]))
            lateral = p[key]
            if down.shape[-2:] != lateral.shape[-2:]:  # odd sizes: the strided conv rounds like the FPN's pool
                down = F.interpolate(down, size=lateral.shape[-2:], mode="nearest")
            n.append(F.relu(self.fuse[i](down + lateral)))
        return OrderedDict(zip(keys, n))


class BottomUpBackbone(nn.Module):
    """A torchvision ``BackboneWithFPN`` followed by :class:`BottomUpPath`; ``body`` and ``fpn`` keep
    torchvision's names, so whole-model and ResNet weight files still load."""

    def __init__(self, fpn_backbone: nn.Module) -> None:
        super().__init__()
        self.body = fpn_backbone.body
        self.fpn = fpn_backbone.fpn
        self.out_channels = int(fpn_backbone.out_channels)
        self.bottom_up = BottomUpPath(self.out_channels, FPN_LEVELS)

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.bottom_up(self.fpn(self.body(x)))


def mask_loss_with_edge(mask_logits: torch.Tensor, proposals: list[torch.Tensor], gt_masks: list[torch.Tensor],
                        gt_labels: list[torch.Tensor], mask_matched_idxs: list[torch.Tensor], *,
                        edge_weight: float) -> torch.Tensor:
    """torchvision's Mask R-CNN mask loss (BCE of each positive RoI's mask against its 28 x 28 target) plus
    ``edge_weight`` x :func:`~landslide_utils.models.losses.sobel_edge_loss` of the same masks (Liu et al. 2021, eq. 2)."""
    size = mask_logits.shape[-1]
    labels = torch.cat([lab[idx] for lab, idx in zip(gt_labels, mask_matched_idxs)], dim=0)
    targets = torch.cat([tv_roi_heads.project_masks_on_boxes(m, p, i, size)
                         for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)], dim=0)
    if targets.numel() == 0:
        return mask_logits.sum() * 0
    logits = mask_logits[torch.arange(labels.shape[0], device=labels.device), labels]
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    return bce + edge_weight * sobel_edge_loss(torch.sigmoid(logits), targets)


_LOSS_SWAP = threading.Lock()


@contextlib.contextmanager
def _edge_mask_loss(edge_weight: float) -> Iterator[None]:
    """torchvision's RoIHeads calls the module-level ``maskrcnn_loss``; within this block (one at a time) that
    name is the BCE + edge loss. Outside it, and for every other model, torchvision's own loss stays."""
    with _LOSS_SWAP:
        original = tv_roi_heads.maskrcnn_loss
        tv_roi_heads.maskrcnn_loss = lambda *a: mask_loss_with_edge(*a, edge_weight=edge_weight)
        try:
            yield
        finally:
            tv_roi_heads.maskrcnn_loss = original


class EdgeLossRoIHeads(tv_roi_heads.RoIHeads):
    """torchvision's RoI heads whose training mask loss adds the Sobel edge loss (Liu et al. 2021); inference
    is unchanged. ``edge_weight`` is set by :func:`build_maskrcnn`."""

    edge_weight: float = 1.0

    def forward(self, features, proposals, image_shapes, targets=None):  # type: ignore[override]
        if not self.training:
            return super().forward(features, proposals, image_shapes, targets)
        with _edge_mask_loss(self.edge_weight):
            return super().forward(features, proposals, image_shapes, targets)


def widen_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` with ``in_channels`` inputs (same kernel, stride, padding, bias), freshly initialised.

    Pretrained filters, if any, are copied in later by :func:`landslide_utils.models.registry.load_pretrained`
    (extra channels = mean of the RGB filters).
    """
    if conv.in_channels == in_channels:
        return conv
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        kernel_size=conv.kernel_size,  # type: ignore[arg-type]
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    return new


def _set_fpn_width(backbone: nn.Module, channels: int) -> None:
    """Give torchvision's FPN ``channels`` per level (the same structure; names kept, so weight files still load)."""
    if channels != backbone.out_channels:
        inputs = [int(block[0].in_channels) for block in backbone.fpn.inner_blocks]  # type: ignore[union-attr]
        backbone.fpn = FeaturePyramidNetwork(inputs, channels, extra_blocks=LastLevelMaxPool())
        backbone.out_channels = channels


def _heads(spec: MaskRCNNSpec, *, width: int, anchors: AnchorGenerator, num_classes: int) -> dict[str, nn.Module]:
    """The RPN, box and mask heads at the spec's widths for FPN levels of ``width`` channels, built in
    torchvision's own order (mask, RPN, box), so that matterport's widths give the weights torchvision's defaults
    give for the same seed; 7 = the box RoIAlign's output size (matterport POOL_SIZE)."""
    mask_width, fc = spec.mask_head_channels, spec.box_head_size
    heads = {"mask_head": MaskRCNNHeads(width, (mask_width,) * 4, 1),
             "mask_predictor": MaskRCNNPredictor(mask_width, mask_width, num_classes)}
    heads["rpn_head"] = RPNHead(width, anchors.num_anchors_per_location()[0])
    heads["box_head"] = TwoMLPHead(width * 7**2, fc)
    heads["box_predictor"] = FastRCNNPredictor(fc, num_classes)
    return heads


def build_maskrcnn(
    in_channels: int,
    *,
    spec: MaskRCNNSpec,
    num_classes: int = 2,
    pretrained: bool = False,
    rois_per_image: int | None = None,
    positive_fraction: float | None = None,
    rpn_anchors_per_image: int | None = None,
    proposals_train: int | None = None,
    proposals_test: int | None = None,
) -> MaskRCNN:
    """Build an (untrained) Mask R-CNN for ``in_channels``-band tiles.

    Args:
        in_channels: number of input channels (3 for ``rgb``, 6 for ``rgb+factors``).
        spec: the profile's ``models.maskrcnn`` section (backbone, trainable_layers, anchor_sizes,
            box_detections_per_img, fpn, mask_loss, edge_weight).
        num_classes: including background (2 = background, landslide).
        pretrained: weights will be loaded from a local file afterwards: freeze batch norm and honour
            ``trainable_layers`` (without pretrained weights all layers train).
        rois_per_image, positive_fraction, rpn_anchors_per_image, proposals_train, proposals_test: sampling
            sizes. Each comes from this argument, else from a field of the same name in ``spec`` (should the
            profile schema gain one), else matterport's default as in the paper's implementation
            (200, 0.33, 256, 2000, 1000).

    Raises:
        ValueError: unknown backbone or wrong number of anchor sizes (names the profile key).
    """
    if spec.backbone not in BACKBONES or not hasattr(tv_resnet, spec.backbone):
        raise ValueError(
            f"models.maskrcnn.backbone: unknown backbone {spec.backbone!r}; valid: {', '.join(BACKBONES)}"
        )
    if len(spec.anchor_sizes) != FPN_LEVELS:
        raise ValueError(
            f"models.maskrcnn.anchor_sizes: needs {FPN_LEVELS} sizes (one per FPN level P2-P6), "
            f"got {len(spec.anchor_sizes)}: {list(spec.anchor_sizes)}"
        )
    if in_channels < 1:
        raise ValueError(f"in_channels must be positive, got {in_channels}")
    sizes = {}
    for key, given in (("rois_per_image", rois_per_image), ("positive_fraction", positive_fraction),
                       ("rpn_anchors_per_image", rpn_anchors_per_image), ("proposals_train", proposals_train),
                       ("proposals_test", proposals_test)):
        sizes[key] = given if given is not None else getattr(spec, key, None)
        if sizes[key] is None:
            sizes[key] = MATTERPORT_DEFAULTS[key]
    trainable = spec.trainable_layers
    if not pretrained and trainable != 5:
        warnings.warn(
            f"models.maskrcnn.trainable_layers={trainable} has no effect without pretrained weights; "
            "training all layers (as torchvision does)",
            stacklevel=2,
        )
        trainable = 5
    norm_layer = FrozenBatchNorm2d if pretrained else nn.BatchNorm2d
    backbone = resnet_fpn_backbone(
        backbone_name=spec.backbone, weights=None, trainable_layers=trainable, norm_layer=norm_layer
    )
    body = backbone.body
    old = body.conv1
    body.conv1 = widen_first_conv(old, in_channels)
    # the widened first convolution always trains (its extra filters are new); otherwise follow the stages
    body.conv1.requires_grad_(in_channels != 3 or trainable == 5)
    _set_fpn_width(backbone, spec.fpn_channels)
    if spec.fpn == "bottom_up":
        backbone = BottomUpBackbone(backbone)

    anchors = AnchorGenerator(
        sizes=tuple((int(s),) for s in spec.anchor_sizes),
        aspect_ratios=((0.5, 1.0, 2.0),) * FPN_LEVELS,
    )
    model = MaskRCNN(
        backbone,
        rpn_anchor_generator=anchors,
        **_heads(spec, width=backbone.out_channels, anchors=anchors, num_classes=num_classes),
        image_mean=[0.0] * in_channels,
        image_std=[1.0] * in_channels,
        rpn_batch_size_per_image=int(sizes["rpn_anchors_per_image"]),
        rpn_pre_nms_top_n_train=int(sizes["proposals_train"]),
        rpn_post_nms_top_n_train=int(sizes["proposals_train"]),
        rpn_pre_nms_top_n_test=int(sizes["proposals_test"]),
        rpn_post_nms_top_n_test=int(sizes["proposals_test"]),
        box_batch_size_per_image=int(sizes["rois_per_image"]),
        box_positive_fraction=float(sizes["positive_fraction"]),
        box_detections_per_img=spec.box_detections_per_img,
    )
    for pool in (model.roi_heads.box_roi_pool, model.roi_heads.mask_roi_pool):
        pool.__class__ = FastMultiScaleRoIAlign  # same state and outputs; a faster backward pass on the CPU
    if spec.mask_loss == "bce+edge":
        model.roi_heads.__class__ = EdgeLossRoIHeads  # same state, the training mask loss adds the edge term
        model.roi_heads.edge_weight = float(spec.edge_weight)
    model.transform = NoResizeTransform(
        min_size=1, max_size=1, image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels, size_divisible=32
    )
    return model


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first convolution of a Mask R-CNN built here (``backbone.body.conv1``)."""
    conv = model.backbone.body.conv1  # type: ignore[union-attr]
    assert isinstance(conv, nn.Conv2d)
    return conv

