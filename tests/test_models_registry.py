"""Model registry: Mask R-CNN, U-Net, PSPNet with 3 and 6 channels on 64 x 64 tiles; local pretrained weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

from landslide_utils.config.model_schema import MODEL_NAMES, MaskRCNNSpec, SegmentationSpec
from landslide_utils.models import build_model, first_conv, load_pretrained

MRCNN = MaskRCNNSpec(backbone="resnet18", anchor_sizes=(8, 16, 32, 64, 128))
SEG = SegmentationSpec(encoder="resnet18")


def _target(size: int = 64) -> dict[str, torch.Tensor]:
    masks = torch.zeros(1, size, size, dtype=torch.uint8)
    masks[0, 10:30, 12:28] = 1
    return {"boxes": torch.tensor([[12.0, 10.0, 28.0, 30.0]]), "labels": torch.tensor([1]), "masks": masks}


@pytest.mark.parametrize("channels", [3, 6])
def test_maskrcnn_forward_backward(channels: int) -> None:
    torch.manual_seed(0)
    model = build_model("maskrcnn", channels, spec=MRCNN)
    assert first_conv(model).in_channels == channels
    model.train()
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64),
             "masks": torch.zeros(0, 64, 64, dtype=torch.uint8)}
    losses = model([torch.randn(channels, 64, 64), torch.randn(channels, 64, 64)], [_target(), empty])
    assert {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"} == set(losses)
    sum(losses.values()).backward()
    assert first_conv(model).weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model([torch.randn(channels, 64, 64)])[0]
    assert out["masks"].shape[-2:] == (64, 64)  # no resizing: predictions at tile resolution
    images, _ = model.transform([torch.randn(channels, 64, 64)])
    assert tuple(images.image_sizes[0]) == (64, 64) and images.tensors.shape[-2:] == (64, 64)


def test_maskrcnn_widths_are_keys_and_matterports_by_default() -> None:
    """``fpn_channels``, ``box_head_size`` and ``mask_head_channels`` (docs/methods.md, "Mask R-CNN on two CPU
    cores"): matterport's widths give torchvision's own model (same weights for the same seed); narrower ones
    narrow every level and head, and the model still trains and predicts."""
    torch.manual_seed(0)
    ours = build_model("maskrcnn", 3, spec=MRCNN).state_dict()
    anchors = build_model("maskrcnn", 3, spec=MRCNN).rpn.anchor_generator
    torch.manual_seed(0)
    backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5,
                                   norm_layer=torch.nn.BatchNorm2d)
    theirs = MaskRCNN(backbone, num_classes=2, rpn_anchor_generator=anchors).state_dict()  # torchvision's heads
    assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    narrow = MRCNN.model_copy(update={"fpn_channels": 32, "box_head_size": 64, "mask_head_channels": 16})
    model = build_model("maskrcnn", 6, spec=narrow)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["backbone.fpn.layer_blocks.0.0.weight"] == (32, 32, 3, 3)
    assert shapes["rpn.head.conv.0.0.weight"] == (32, 32, 3, 3)
    assert shapes["roi_heads.box_head.fc6.weight"] == (64, 32 * 7 * 7)
    assert shapes["roi_heads.box_predictor.cls_score.weight"] == (2, 64)
    assert shapes["roi_heads.mask_head.0.0.weight"] == (16, 32, 3, 3)
    assert shapes["roi_heads.mask_predictor.mask_fcn_logits.weight"] == (2, 16, 1, 1)
    model.train()
    losses = model([torch.randn(6, 64, 64)], [_target()])
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        assert model([torch.randn(6, 64, 64)])[0]["masks"].shape[-2:] == (64, 64)


@pytest.mark.parametrize("name", ["unet", "pspnet"])
@pytest.mark.parametrize("channels", [3, 6])
def test_segmentation_forward_backward(name: str, channels: int) -> None:
    model = build_model(name, channels, spec=SEG)
    assert first_conv(model).in_channels == channels
    model.train()
    out = model(torch.randn(2, channels, 64, 64))
    assert out.shape == (2, 1, 64, 64)
    out.mean().backward()
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, channels, 72, 40)).shape == (1, 1, 72, 40)  # padded, cropped back


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError) as err:
        build_model("deeplab", 3)
    for name in MODEL_NAMES:
        assert name in str(err.value)


def test_unknown_backbone_and_anchors() -> None:
    with pytest.raises(ValueError, match="models.maskrcnn.backbone.*resnet50"):
        build_model("maskrcnn", 3, spec=MaskRCNNSpec(backbone="vgg16"))
    with pytest.raises(ValueError, match="anchor_sizes: needs 5"):
        build_model("maskrcnn", 3, spec=MaskRCNNSpec(anchor_sizes=(8, 16)))
    with pytest.raises(ValueError, match="models.unet.encoder"):
        build_model("unet", 3, spec=SegmentationSpec(encoder="nope"))


def test_missing_weights_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "coco.pth"
    with pytest.raises(FileNotFoundError, match="coco.pth.*pretrained_weights"):
        build_model("maskrcnn", 3, spec=MaskRCNNSpec(backbone="resnet18", pretrained_weights=missing))
    with pytest.raises(FileNotFoundError, match="coco.pth"):
        build_model("pspnet", 3, spec=SegmentationSpec(pretrained_weights=missing))


def test_local_resnet_weights_widen_first_conv(tmp_path: Path) -> None:
    torch.manual_seed(1)
    src = resnet18().state_dict()  # a fake local ImageNet file (random weights, torchvision key names)
    path = tmp_path / "resnet18.pth"
    torch.save(src, path)
    rgb = src["conv1.weight"]
    model = build_model("maskrcnn", 6, spec=MaskRCNNSpec(backbone="resnet18", pretrained_weights=path,
                                                         trainable_layers=3, anchor_sizes=(8, 16, 32, 64, 128)))
    w = first_conv(model).weight.detach()
    assert torch.equal(w[:, :3], rgb)
    for k in range(3, 6):
        assert torch.allclose(w[:, k], rgb.mean(dim=1))
    assert torch.equal(model.backbone.body.layer4[0].conv1.weight, src["layer4.0.conv1.weight"])
    assert first_conv(model).weight.requires_grad  # the widened input layer always trains
    assert not model.backbone.body.layer1[0].conv1.weight.requires_grad  # trainable_layers=3
    seg = build_model("unet", 6, spec=SegmentationSpec(encoder="resnet18", pretrained_weights=path))
    ws = first_conv(seg).weight.detach()
    assert torch.equal(ws[:, :3], rgb) and torch.allclose(ws[:, 5], rgb.mean(dim=1))


def test_full_model_weights_and_bad_file(tmp_path: Path) -> None:
    torch.manual_seed(2)
    ref = build_model("pspnet", 3, spec=SEG)
    path = tmp_path / "psp.pth"
    torch.save({"state_dict": ref.net.state_dict()}, path)  # an smp checkpoint
    model = build_model("pspnet", 6, spec=SEG)
    report = load_pretrained(model, path, prefixes=("", "net.", "net.encoder."))
    assert "net.encoder.conv1.weight" in report["widened"] and report["loaded"]
    torch.save({"foo.bar": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="no tensor"):
        load_pretrained(model, path, prefixes=("", "net."))
