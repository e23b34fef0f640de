"""The model registry: one name per model family, and local pretrained weights for any of them.

``build_model(name, in_channels, spec=...)`` gives Mask R-CNN (``maskrcnn``: Yang et al. 2022, Experiments
I-IV; with the options of Liu et al. 2021's improved Mask R-CNN), U-Net (``unet``: V, VI), PSPNet (``pspnet``:
VII, VIII), DeepLabv3+ (``deeplabv3plus``, the zoo of Yang S. et al. 2022), the FCN of Chen et al. (2022)
(``fcn``) or Gao et al. (2021)'s FC-DenseNet, SegNet and ResU-Net (``fcdensenet``, ``segnet``, ``resunet``). Pretrained weights load only from a local file named
in the profile (``models.<name>.pretrained_weights``); nothing is downloaded. When the model has more input
channels than the weights (RGB + factors), the extra input filters of the first convolution start as the mean
of the RGB filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from landslide_utils.config.model_schema import MODEL_NAMES, MODEL_SPECS, MaskRCNNSpec, SegmentationSpec
from landslide_utils.config.overrides import model_spec_for
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.models import maskrcnn as _mrcnn
from landslide_utils.models import segmentation as _seg

__all__ = ["build_model", "model_task", "spec_for", "load_pretrained", "first_conv", "spec_problems", "model_option_problem", "encoder_of"]

Task = Literal["instance", "semantic"]


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}")


def spec_problems(profile: Profile) -> list[tuple[str, str]]:
    """(profile key, message) for every name of the profile's ``models`` section that the registry cannot
    resolve (a Mask R-CNN backbone, a U-Net/PSPNet encoder) and every pretrained-weights file that does not exist;
    nothing is built (``check --profile``)."""
    out: list[tuple[str, str]] = []
    mr = profile.models.maskrcnn
    if mr.backbone not in _mrcnn.BACKBONES:
        out.append(("models.maskrcnn.backbone", f"unknown backbone {mr.backbone!r}; valid: "
                                                f"{', '.join(_mrcnn.BACKBONES)}"))
    if len(mr.anchor_sizes) != _mrcnn.FPN_LEVELS or any(a <= 0 for a in mr.anchor_sizes):
        out.append(("models.maskrcnn.anchor_sizes", f"needs {_mrcnn.FPN_LEVELS} positive sizes (one per FPN level "
                                                    f"P2-P6), got {list(mr.anchor_sizes)}"))
    for name in MODEL_NAMES:
        spec = getattr(profile.models, name)
        if hasattr(spec, "encoder"):
            problem = model_option_problem(name, spec)
            if problem:
                out.append((f"models.{name}.encoder", problem))
        if spec.pretrained_weights is not None and not Path(spec.pretrained_weights).is_file():
            out.append((f"models.{name}.pretrained_weights", f"{spec.pretrained_weights}: weights file not found; "
                                                             "put a local file there or set the key to null"))
    return out


def model_option_problem(name: str, spec: Any) -> str | None:
    """Why an experiment's merged ``models.<name>`` settings name no backbone or encoder the registry can build,
    or None."""
    if name == "maskrcnn":
        if spec.backbone not in _mrcnn.BACKBONES:
            return f"unknown backbone {spec.backbone!r}; valid: {', '.join(_mrcnn.BACKBONES)}"
        return None
    if not hasattr(spec, "encoder"):
        return None
    problem = _seg.encoder_problem(spec.encoder)
    if problem is None and name == "deeplabv3plus":
        problem = _seg.dilation_problem(spec.encoder, spec.output_stride)
    return problem


def model_task(name: str) -> Task:
    """``instance`` for Mask R-CNN (targets: boxes, labels, masks), ``semantic`` for U-Net/PSPNet/FCN."""
    _check_name(name)
    return "instance" if name == "maskrcnn" else "semantic"


def spec_for(profile: Profile, name: str, experiment: Experiment | None = None) -> MaskRCNNSpec | SegmentationSpec:
    """The profile's ``models.<name>`` section; with ``experiment``, its ``model_options`` applied
    (:func:`landslide_utils.config.overrides.model_spec_for`)."""
    _check_name(name)
    if experiment is not None:
        return model_spec_for(profile, experiment)
    return getattr(profile.models, name)


def encoder_of(model: nn.Module) -> nn.Module | None:
    """The part of a model that ``training.frozen_share`` freezes: a semantic model's smp encoder or Mask
    R-CNN's backbone body (ResNet); None for architectures without one (Gao et al.'s)."""
    if hasattr(model, "backbone"):
        return model.backbone.body
    return _seg.encoder_of(model)


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first convolution (input layer) of a model built by :func:`build_model`."""
    if hasattr(model, "backbone"):
        return _mrcnn.first_conv(model)
    return _seg.first_conv(model)


def build_model(
    name: str,
    in_channels: int,
    *,
    spec: MaskRCNNSpec | SegmentationSpec | None = None,
    num_classes: int = 2,
    load_weights: bool = True,
    **kwargs: Any,
) -> nn.Module:
    """Build a model by name.

    Args:
        name: ``maskrcnn``, ``unet``, ``pspnet`` or ``fcn``.
        in_channels: input channels (3 = ``rgb``, 6 = ``rgb+factors``).
        spec: the profile's ``models.<name>`` section (defaults if ``None``).
        num_classes: including background (2 = background, landslide).
        load_weights: load ``spec.pretrained_weights`` when set. ``False`` builds the same architecture
            (frozen batch norm when the spec names weights) without reading the file, e.g. before a checkpoint.
        **kwargs: passed to the family's builder (e.g. Mask R-CNN sampling sizes).

    Raises:
        ValueError: unknown name (the message lists the valid names), backbone or encoder.
        FileNotFoundError: ``spec.pretrained_weights`` names a missing file.
    """
    _check_name(name)
    if name == "maskrcnn":
        spec = spec if spec is not None else MaskRCNNSpec()
        if not isinstance(spec, MaskRCNNSpec):
            raise TypeError(f"model 'maskrcnn' needs a MaskRCNNSpec, got {type(spec).__name__}")
    else:
        spec = spec if spec is not None else MODEL_SPECS[name]()  # type: ignore[assignment]
        if not isinstance(spec, MODEL_SPECS[name]):
            raise TypeError(f"model {name!r} needs a {MODEL_SPECS[name].__name__}, got {type(spec).__name__}")
    weights = spec.pretrained_weights
    if load_weights and weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(
            f"{weights}: pretrained weights file not found (profile key models.{name}.pretrained_weights). "
            "Put a local weights file there or set the key to null; nothing is downloaded."
        )
    if name == "maskrcnn":
        model: nn.Module = _mrcnn.build_maskrcnn(
            in_channels, spec=spec, num_classes=num_classes, pretrained=weights is not None, **kwargs
        )
        prefixes = _mrcnn.PRETRAINED_PREFIXES
    else:
        model = _seg.build_segmentation(name, in_channels, spec=spec, num_classes=num_classes, **kwargs)  # type: ignore[arg-type]
        prefixes = _seg.PRETRAINED_PREFIXES
    if load_weights and weights is not None:
        load_pretrained(model, weights, prefixes=prefixes)
    return model


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    for key in ("model", "state_dict", "model_state"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: not a state dict of tensors (nor a checkpoint holding one)")
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def load_pretrained(
    model: nn.Module, path: str | Path, *, prefixes: tuple[str, ...] = ("",)
) -> dict[str, list[str]]:
    """Copy matching tensors of a local weights file into ``model``.

    The file holds a state dict (or a checkpoint with ``model``/``state_dict``). Its keys are tried with each
    prefix (e.g. a plain ResNet file belongs under ``backbone.body.``); the prefix matching most keys wins.
    Tensors of equal shape are copied; a 4-D input filter with fewer input channels (RGB weights, a model
    with RGB + factors) is widened: the first channels are copied and each extra channel gets the mean of
    the first three (RGB) filters. Other mismatches (e.g. a COCO class head) are skipped.

    Returns:
        ``{"loaded": [...], "widened": [...], "skipped": [...]}`` model keys.

    Raises:
        FileNotFoundError: missing file. ValueError: not a state dict, or no tensor matches the model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pretrained weights file not found; nothing is downloaded")
    src = _unwrap(torch.load(path, map_location="cpu", weights_only=True), path)
    target = model.state_dict()
    best = max(prefixes, key=lambda p: sum((p + k) in target for k in src))
    report: dict[str, list[str]] = {"loaded": [], "widened": [], "skipped": []}
    new_state = {}
    for k, v in src.items():
        key = best + k
        if key not in target:
            continue
        t = target[key]
        if t.shape == v.shape:
            new_state[key] = v.to(t.dtype)
            report["loaded"].append(key)
        elif v.ndim == 4 and t.ndim == 4 and v.shape[0] == t.shape[0] and v.shape[2:] == t.shape[2:] \
                and v.shape[1] < t.shape[1]:
            w = torch.empty_like(t)
            w[:, : v.shape[1]] = v
            w[:, v.shape[1]:] = v[:, :3].mean(dim=1, keepdim=True)
            new_state[key] = w
            report["widened"].append(key)
        else:
            report["skipped"].append(key)
    if not new_state:
        raise ValueError(
            f"{path}: no tensor of this file matches the model ({type(model).__name__}); "
            "is it a weights file for the configured backbone/encoder?"
        )
    model.load_state_dict(new_state, strict=False)
    return report
