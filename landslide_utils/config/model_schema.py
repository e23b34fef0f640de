"""Schemas of a profile's model, training and evaluation sections: model sizes per family, the training budget
and schedule, and how the test area and the extra test sets are evaluated.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from landslide_utils.config.base import Strict
from landslide_utils.config.data_schema import ExtraTestSpec

__all__ = ['MaskRCNNSpec', 'SegmentationSpec', 'FCNSpec', 'DeepLabSpec', 'FCDenseNetSpec', 'SegNetSpec', 'ResUNetSpec', 'ModelsSpec', 'DEFAULT_LOSS', 'TrainingSpec', 'EvaluationSpec', 'MODEL_NAMES', 'MODEL_SPECS', 'EXPERIMENT_EVALUATION_KEYS']


class MaskRCNNSpec(Strict):
    backbone: str = "resnet18"
    trainable_layers: int = Field(default=5, ge=0, le=5)
    pretrained_weights: Path | None = None
    anchor_sizes: tuple[int, ...] = Field(default=(8, 16, 32, 64, 128), description="anchor size (pixels) per FPN "
                                                                                 "level P2-P6: five positive sizes")
    box_detections_per_img: int = Field(default=100, gt=0)
    rois_per_image: int = Field(default=200, gt=0, description="RoIs sampled per image in training (matterport: 200)")
    proposals_test: int = Field(default=1000, gt=0, description="RPN proposals kept at inference (matterport: 1000)")
    fpn_channels: int = Field(default=256, gt=0, description="channels of every FPN level and of the heads' input "
                                                             "(matterport TOP_DOWN_PYRAMID_SIZE: 256)")
    box_head_size: int = Field(default=1024, gt=0, description="width of the box head's two fully connected layers "
                                                               "(matterport FPN_CLASSIF_FC_LAYERS_SIZE: 1024)")
    mask_head_channels: int = Field(default=256, gt=0, description="channels of the mask head's four 3 x 3 "
                                                                   "convolutions and its deconvolution (matterport: 256)")
    fpn: Literal["standard", "bottom_up"] = Field(
        default="standard", description="standard FPN, or FPN + the bottom-up path augmentation of Liu et al. (2021)")
    mask_loss: Literal["bce", "bce+edge"] = Field(
        default="bce", description="mask loss: BCE, or BCE + the Sobel edge loss of Liu et al. (2021)")
    edge_weight: float = Field(default=1.0, ge=0, description="weight of the edge loss (Liu et al. 2021: 1)")


class SegmentationSpec(Strict):
    encoder: str = "resnet18"
    pretrained_weights: Path | None = None


class FCNSpec(SegmentationSpec):
    """The FCN of Chen et al. (2022): encoder features fused from 1/32 down to 1/``fuse_down_to``."""

    fuse_down_to: Literal[2, 8] = Field(
        default=2, description="finest encoder level fused: 2 = 1/32 ... 1/2 (Chen et al. 2022), 8 = 1/32 ... 1/8 "
                               "(FCN-8s, the original FCN of Long et al. 2015)")


class DeepLabSpec(SegmentationSpec):
    """DeepLabv3+ (Chen et al. 2018) as the semantic zoo of Yang S. et al. (2022) uses it."""

    output_stride: Literal[8, 16] = Field(default=8, description="encoder output stride (Yang S. et al.: 8)")
    atrous_rates: tuple[int, int, int] = Field(default=(6, 12, 18), description="ASPP dilation rates")


class FCDenseNetSpec(Strict):
    """FC-DenseNet (Jegou et al. 2017) as Gao et al. (2021) configure it; defaults: about 2.96 M parameters."""

    growth_rate: int = Field(default=16, gt=0)
    down_blocks: tuple[int, ...] = Field(default=(5, 6, 7, 8, 9), description="layers per dense block, down path "
                                         "(chosen to give the 2.96 M parameters of Gao et al.'s Table IX)")
    bottleneck_layers: int = Field(default=10, gt=0)
    first_filters: int = Field(default=48, gt=0)
    compression: float = Field(default=0.5, gt=0, le=1, description="theta of transition down (DenseNet-C)")
    dropout: float = Field(default=0.2, ge=0, lt=1)
    pretrained_weights: Path | None = None


class SegNetSpec(Strict):
    """SegNet (Badrinarayanan et al. 2017): VGG16-BN encoder, decoder upsampling with the pooling indices."""

    width: int = Field(default=64, gt=0, description="channels of the first stage (64 = the original)")
    pretrained_weights: Path | None = None


class ResUNetSpec(Strict):
    """ResU-Net (Zhang et al. 2018): a U-Net of pre-activation residual units."""

    filters: tuple[int, ...] = Field(default=(64, 128, 256, 512), description="channels of each encoder level")
    upsample: Literal["transposed", "nearest"] = Field(
        default="transposed", description="decoder upsampling: learned 2x2 transposed convolution (about Gao et "
                                          "al.'s 9.9 M parameters) or nearest (Zhang et al. 2018's 8.2 M)")
    pretrained_weights: Path | None = None


class ModelsSpec(Strict):
    maskrcnn: MaskRCNNSpec = MaskRCNNSpec()
    unet: SegmentationSpec = SegmentationSpec()
    pspnet: SegmentationSpec = SegmentationSpec()
    fcn: FCNSpec = FCNSpec()
    deeplabv3plus: DeepLabSpec = DeepLabSpec()
    fcdensenet: FCDenseNetSpec = FCDenseNetSpec()
    segnet: SegNetSpec = SegNetSpec()
    resunet: ResUNetSpec = ResUNetSpec()


DEFAULT_LOSS = "bce_dice"
"""``training.loss`` unless a file sets it: the loss the loss sweeps chose (docs/methods.md, "Loss and decision
threshold"); :mod:`landslide_utils.models.losses` and the empty-map guard read it from here."""


class TrainingSpec(Strict):
    """Optimiser and budget. The paper: SGD, lr 0.001, momentum 0.9, weight decay 0.005, clip 5, 20 x 1000."""

    steps: int = Field(gt=0)
    batch_size: int = Field(default=2, gt=0)
    learning_rate: float = Field(default=0.001, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.005, ge=0)
    grad_clip: float = Field(default=5.0, gt=0)
    checkpoint_every: int = Field(default=50, gt=0)
    augment: bool = True
    num_threads: int | None = Field(default=None, gt=0)
    loader_workers: int = Field(default=0, ge=0, le=64, description="threads that read the next steps' tiles while "
                                "the model trains (0: read in the loop); on CUDA the batches go through pinned "
                                "memory. The batches, and so the results, are the same for any value")
    weight_decay_scope: Literal["all", "weights"] = Field(
        default="all", description="decay every parameter, or only conv/linear weights (matterport: weights)")
    validation_share: float = Field(
        default=0.0, ge=0, lt=1, description="share of the training-area tiles held out as validation tiles "
                                             "(stratified by landslide/non-landslide; never test tiles)")
    loss: Literal["bce", "weighted_bce", "focal", "focal_dice", "bce_dice"] = Field(
        default=DEFAULT_LOSS, description="loss of the semantic models (U-Net, PSPNet); Mask R-CNN has its own. "
                                        "bce_dice was chosen by the loss sweeps (docs/methods.md)")
    pos_weight: float | None = Field(default=None, gt=0, description="weighted_bce: landslide weight "
                                                                      "(default: background/landslide pixel ratio)")
    focal_gamma: float = Field(default=2.0, ge=0, description="focal losses: focusing parameter gamma")
    focal_alpha: float | None = Field(default=None, ge=0, le=1,
                                      description="focal losses: class weight alpha (the other class 1 - alpha)")
    focal_alpha_on: Literal["landslide", "background"] = Field(
        default="landslide", description="the class alpha weighs: landslide (Lin et al. 2017) or background "
                                         "(as Chen et al. 2022 describe it); the other class gets 1 - alpha")
    landslide_augmentation: Literal["none", "chen2022"] = Field(
        default="none", description="chen2022: three more copies of every training tile with a landslide "
                                    "(left-right flip + mean filter, up-down flip + gamma, both flips + noise)")
    precision: Literal["fp32", "bf16", "auto"] = Field(
        default="fp32", description="fp32, bf16 (autocast, fp32 master weights) or auto (bf16 where the device "
                                    "computes it natively); landslide_utils/training/precision.py")
    optimizer: Literal["sgd", "adam", "adamw"] = Field(
        default="sgd", description="sgd (momentum, the paper's matterport default), adam (Gao et al. 2021, Yang S. "
                                   "et al. 2022; decay added to the gradient) or adamw (decay decoupled from the "
                                   "gradient, Loshchilov & Hutter 2019); momentum is SGD's only")
    schedule: Literal["constant", "cosine", "onecycle"] = Field(
        default="constant", description="learning-rate schedule over the steps: constant (the paper), cosine "
                                        "(decay to 0, Loshchilov & Hutter 2017) or onecycle (up from lr/25, then down "
                                        "to lr/25e4, Smith & Topin 2019); landslide_utils/training/schedule.py")
    warmup_steps: int = Field(default=0, ge=0, description="steps of linear warm-up from 0 to the learning rate "
                                                           "(constant, cosine), or the rising part of onecycle "
                                                           "(default there: 30 % of the steps)")
    eval_every: int = Field(default=0, ge=0, description="every N steps (and at the last) the validation tiles' "
                            "loss, AP and F1 are measured and logged in validation.csv beside loss.csv; 0 = never. "
                            "Needs validation_share > 0")
    keep: Literal["last", "best"] = Field(
        default="last", description="the checkpoint evaluated: the last step's weights, or those of the evaluation "
                                    "(eval_every) with the best validation AP")
    sampling: Literal["uniform", "balanced"] = Field(
        default="uniform", description="uniform: epoch-wise shuffles of all samples; balanced: landslide_share of "
                                       "every batch drawn from the samples that hold a landslide")
    landslide_share: float = Field(default=0.5, gt=0, lt=1, description="balanced sampling: share of each batch "
                                   "drawn from samples with a landslide (rounded, at least one)")
    class_weights: tuple[float, float] | None = Field(
        default=None, description="(background, landslide) weights of every pixel in the BCE / focal term of the "
                                  "semantic losses (Yang S. et al. 2022: [1, 2]); unset = equal")
    frozen_share: float = Field(default=0.0, ge=0, lt=1, description="share of the steps trained first with the "
                                "encoder frozen (weights and batch-norm statistics), then all layers train (Yang S. "
                                "et al. 2022: half of the epochs, 0.5)")
    frozen_learning_rate: float | None = Field(default=None, gt=0, description="learning rate of the frozen steps "
                                                                               "(default learning_rate)")
    frozen_batch_size: int | None = Field(default=None, gt=0, description="batch size of the frozen steps "
                                                                          "(default batch_size)")

    @model_validator(mode="after")
    def _validation_needed(self) -> TrainingSpec:
        if (self.eval_every or self.keep == "best") and self.validation_share == 0:
            raise ValueError("eval_every and keep: best measure the validation tiles: set validation_share > 0 "
                             "(e.g. 0.1)")
        if self.keep == "best" and not self.eval_every:
            raise ValueError("keep: best chooses among the evaluations: set eval_every (e.g. 25)")
        return self

    @field_validator("class_weights")
    @classmethod
    def _class_weights(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and (any(not math.isfinite(v) or v <= 0 for v in value)):
            raise ValueError("class weights are two positive numbers: (background, landslide)")
        return value


class EvaluationSpec(Strict):
    """From model output to a landslide map (Yang et al. 2022, sec. 4.1: fixed 0.5 thresholds).

    ``threshold`` is the decision threshold on the score map -- the landslide probability of U-Net/PSPNet, the
    instance score of Mask R-CNN: ``fixed`` (the paper: ``mask_threshold`` for U-Net/PSPNet, ``score_threshold``
    for Mask R-CNN), a number in [0, 1], or ``validation`` (the F1-optimal threshold on the validation tiles of
    the training areas, stored in the checkpoint; needs ``training.validation_share`` > 0).
    """

    score_threshold: float = Field(default=0.5, ge=0, le=1)
    mask_threshold: float = Field(default=0.5, ge=0, le=1)
    threshold: float | str = Field(
        default="fixed", description="decision threshold of the score map: fixed (the paper's 0.5 thresholds), a "
                                     "number in [0, 1], or validation (F1-optimal on the validation tiles)")
    size_classes_m2: tuple[float, ...] = Field(default=(100.0, 1000.0, 10000.0))
    precision: Literal["fp32", "bf16", "auto"] = Field(
        default="fp32", description="precision of step 04's prediction: fp32, bf16 or auto (bf16 where native)")
    batch_size: int = Field(
        default=4, gt=0, description="tiles per forward pass when step 04 predicts validation and test tiles; "
                                     "Mask R-CNN runs its mask head on every detection of the batch, so 1 lowers "
                                     "its peak memory (the lab profile), with the same maps up to rounding")
    cv_folds: int = Field(
        default=0, ge=0, le=20, description="k-fold cross-validation over the training tiles (Chen et al. 2022): "
                                            "0 = off, else k >= 2 models, each validated on one fold")

    @field_validator("cv_folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("cv_folds is 0 (off) or the number of folds, at least 2")
        return value

    @field_validator("size_classes_m2")
    @classmethod
    def _size_classes(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(v <= 0 for v in value) or any(b <= a for a, b in zip(value, value[1:])):
            raise ValueError("the size class edges must be positive and strictly increasing")
        return value
    extra_tests: tuple[ExtraTestSpec, ...] = Field(
        default=(), description="more chip datasets each experiment is also evaluated on (name, format, path); "
                                "metrics in reports/<profile>/metrics/<EXP>@<name>.json")

    @field_validator("extra_tests")
    @classmethod
    def _unique_tests(cls, value: tuple[ExtraTestSpec, ...]) -> tuple[ExtraTestSpec, ...]:
        names = [t.name for t in value]
        if len(set(names)) != len(names):
            raise ValueError(f"extra test names must be unique (got {names})")
        return value

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> float | str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value <= 1:
                raise ValueError("a threshold number must lie in [0, 1]")
            return float(value)
        if value in ("fixed", "validation"):
            return value
        raise ValueError("expected 'fixed', 'validation' or a number in [0, 1]")


#: the model families of the registry (:mod:`landslide_utils.models.registry` builds them); an experiment's
#: ``model`` is checked against these when the file is loaded
MODEL_NAMES: tuple[str, ...] = ("maskrcnn", "unet", "pspnet", "fcn", "deeplabv3plus", "fcdensenet", "segnet",
                                "resunet")


#: the schema of each model family's section of ``models``
MODEL_SPECS: dict[str, type[Strict]] = {"maskrcnn": MaskRCNNSpec, "unet": SegmentationSpec,
                                         "pspnet": SegmentationSpec, "fcn": FCNSpec, "deeplabv3plus": DeepLabSpec,
                                         "fcdensenet": FCDenseNetSpec, "segnet": SegNetSpec, "resunet": ResUNetSpec}


#: the evaluation keys an experiment file may set for itself (the others are the profile's)
EXPERIMENT_EVALUATION_KEYS: tuple[str, ...] = ("cv_folds",)
