"""Parameter files: schemas, loading and validation.

A *profile* (``params/profiles/*.yaml``) is a whole study: where the data come from (the embedded synthetic
area or the user's own files), tiling, factor classes, background enhancement, model sizes, training budgets,
evaluation, device and seed. An *experiment* (``params/experiments/*.yaml``) is one row of Yang et al. (2022)
Tables 6/7: model, input channels, training data.

Every file is validated with a strict schema: an unknown key, a wrong type or an impossible value stops with
a :class:`ConfigError` naming the file and the dotted key. Relative paths inside a profile are resolved against
the directory of the profile file.
"""

from __future__ import annotations

import fnmatch
import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .paths import StudyPaths, find_root

__all__ = [
    "ConfigError",
    "SAFE_NAME",
    "check_safe_name",
    "validation_messages",
    "read_yaml_mapping",
    "Profile",
    "Experiment",
    "load_profile",
    "load_experiment",
    "CHANNEL_SETS",
    "IMAGE_CHANNELS",
    "FACTOR_CHANNELS",
    "FACTOR_NEEDS",
    "channels_problem",
    "channel_names",
    "channels_label",
    "uses_factors",
    "infrared_bands",
    "unavailable_channel",
    "DEFAULT_LOSS",
    "CHIP_FORMATS",
    "MODEL_NAMES",
    "MODEL_SPECS",
    "has_second_date",
    "training_for",
    "model_spec_for",
    "evaluation_for",
    "overrides_for",
    "gpu_only_reason",
    "unmatched_overrides",
    "PREPARED_SECTIONS",
    "MAX_NAME",
]


class ConfigError(ValueError):
    """A parameter file is missing, unreadable or invalid. The message names the file and the key."""


#: names that become folder or file names (profiles, experiments, extra test sets, sweeps): a letter or digit,
#: then letters, digits, ``_``, ``-`` and ``.``; so no ``..``, no hidden names, no path separators
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
#: the longest profile or experiment name (it becomes a folder and part of file names; file systems allow 255 bytes)
MAX_NAME = 100
SAFE_NAME_RULE = ("must start with a letter or digit and contain only letters, digits, '_', '-' and '.' (it names "
                  "folders and files, so '..', '/' and hidden names are refused)")


def check_safe_name(value: str) -> str:
    """``value`` when it matches :data:`SAFE_NAME`; else a ValueError saying the rule."""
    if not re.fullmatch(SAFE_NAME, value):
        raise ValueError(f"name {value!r} {SAFE_NAME_RULE}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


PosInt = int
#: the largest seed numpy and torch accept everywhere (2**32 - 1)
MAX_SEED = 2**32 - 1
Bounds = tuple[float, float, float, float]


class SyntheticSpec(_Strict):
    """Settings of the embedded synthetic study area, a stand-in for Ludian (docs/methods.md, "Synthetic study
    area")."""

    width_px: int = Field(gt=31, le=8192, description="scene width in image pixels (at most 8192: the generator "
                                                       "holds the scene in memory)")
    height_px: int = Field(gt=31, le=8192, description="scene height in image pixels (at most 8192)")
    pixel_size_m: float = Field(gt=0, description="ground resolution of the image (metres)")
    dem_pixel_size_m: float = Field(gt=0, description="DEM resolution (metres); coarser than the image")
    crs: str = Field(default="EPSG:32648", description="projected CRS of every layer (UTM 48N as Ludian)")
    origin_x: float = Field(default=370000.0, description="easting of the scene's upper-left corner")
    origin_y: float = Field(default=3003000.0, description="northing of the scene's upper-left corner")
    n_landslides: int = Field(gt=0, description="number of landslides to place")
    landslide_median_area_m2: float = Field(default=600.0, gt=0, description="median of the log-normal areas")
    landslide_area_sigma: float = Field(default=0.8, gt=0, description="sigma of log(area)")
    landslide_free_share: float = Field(default=0.35, ge=0, lt=1,
                                        description="approximate share of the scene where landslides cluster out")
    base_elevation_m: float = Field(default=1500.0, description="elevation of the lowest valley floor")
    relief_m: float = Field(default=900.0, gt=0, description="elevation range of the terrain")
    n_tributaries: int = Field(default=3, ge=0, description="tributary rivers joining the main river")
    n_roads: int = Field(default=2, ge=0, description="roads (confusers)")
    n_fields: int = Field(default=6, ge=0, description="bare fields on flat ground (confusers)")
    n_buildings: int = Field(default=20, ge=0, description="buildings (confusers)")
    revegetated_share: float = Field(default=0.4, ge=0, le=1, description="share of landslides re-vegetated at t2")
    infrared_bands: bool = Field(default=False, description="add near-infrared (band 4) and short-wave-infrared "
                                                            "(band 5) bands to image_t1.tif (NDVI, MNDWI; Gao et "
                                                            "al. 2021); RGB stays as without them")
    geology: bool = Field(default=False, description="also write fault lines (faults.geojson) and lithology "
                                                     "polygons (lithology.gpkg), with landslides more frequent on "
                                                     "weak units and near faults (Gao et al. 2021)")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="seed of the scene; the profile's seed (training, validation "
                                                   "split) varies apart from it, so seeds of a sweep share one area")


def _no_empty_path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty path; give a file (relative paths are relative to the profile file), or leave an "
                         "optional key out")
    return value


class InputFiles(_Strict):
    """The user's own inputs (docs/methods.md, "Inputs of a study area")."""

    image_t1: Path
    dem: Path
    rivers: Path
    inventory: Path
    image_t2: Path | None = None
    areas: Path | None = None
    faults: Path | None = Field(default=None, description="fault lines (vector); gives the fault_distance channel "
                                                          "(Gao et al. 2021)")
    lithology: Path | None = Field(default=None, description="lithology polygons (vector) with the column "
                                                             "factors.lithology_column; gives the lithology channel")

    _paths = field_validator("*", mode="before")(classmethod(lambda cls, v: _no_empty_path(v)))


CHIP_FORMATS: tuple[str, ...] = ("folders", "bijie", "landslide4sense")


def _check_chip_keys(spec: "ChipsSpec | ExtraTestSpec", where: str) -> None:
    """Checks shared by a chip data source and an extra test set: the keys its format needs or refuses."""
    if spec.format == "bijie" and spec.pixel_size_m is None:
        raise _KeyedError(f"{where}pixel_size_m", "the bijie format derives slope from each chip's DEM and needs "
                          "the pixel size in metres (0.8 for the Bijie dataset of Ji et al. 2020)")
    if spec.bands is not None and spec.format != "landslide4sense":
        raise _KeyedError(f"{where}bands", f"bands selects Landslide4Sense bands; the {spec.format} format reads "
                          "every image band (leave bands out)")
    if spec.bands is not None:
        from .chips import L4S_BANDS  # noqa: PLC0415 - chips imports nothing of config

        bad = [b for b in spec.bands if b not in L4S_BANDS]
        if bad or len(spec.bands) < 3:
            raise _KeyedError(f"{where}bands", "give at least three Landslide4Sense band names (the first three "
                              f"are the model's red, green, blue); valid: {', '.join(L4S_BANDS)}"
                              + (f"; unknown: {', '.join(bad)}" if bad else ""))


class ChipsSpec(_Strict):
    """A chip dataset as the study's data (docs/methods.md, "Chip datasets"): image/mask pairs instead of a scene."""

    format: Literal["folders", "bijie", "landslide4sense"] = Field(
        description="folders (images/ + masks/), bijie (Ji et al. 2020) or landslide4sense (Ghorbanzadeh et al. "
                    "2022)")
    train: Path = Field(description="the dataset to train on (relative paths: relative to the profile file)")
    test: Path | None = Field(default=None, description="a second dataset to test on; without it, test_fraction "
                                                        "of the train chips are held out")
    test_fraction: float = Field(default=0.3, gt=0, lt=1, description="share of the train chips held out as test "
                                                                       "chips when test is not given")
    split_seed: int = Field(default=0, ge=0, le=MAX_SEED, description="seed of that split; fixed apart from the profile's seed, "
                                                         "so the seeds of a sweep share one test set")
    pixel_size_m: float | None = Field(default=None, gt=0, description="ground size of a pixel; areas, object "
                                       "sizes and the slope of a Bijie DEM need it (without it sizes are pixels)")
    bands: tuple[str, ...] | None = Field(default=None, description="landslide4sense: image bands to use, the first "
                                          "three as red, green, blue (default B4, B3, B2)")

    @model_validator(mode="after")
    def _check(self) -> "ChipsSpec":
        _check_chip_keys(self, "")
        if self.test is not None and Path(self.test).resolve() == Path(self.train).resolve():
            raise _KeyedError("test", "is the train dataset itself: the test would score chips the models trained "
                              "on. Give another dataset, or leave test out to hold out test_fraction of the chips")
        return self


class DataSpec(_Strict):
    source: Literal["synthetic", "files", "chips"]
    synthetic: SyntheticSpec | None = None
    files: InputFiles | None = None
    chips: ChipsSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "DataSpec":
        if self.source == "synthetic" and self.synthetic is None:
            raise ValueError("source is 'synthetic' but the 'synthetic' section is missing")
        if self.source == "files" and self.files is None:
            raise ValueError("source is 'files' but the 'files' section is missing")
        if self.source == "chips" and self.chips is None:
            raise ValueError("source is 'chips' but the 'chips' section is missing (format, train, ...)")
        return self


class AreaSpec(_Strict):
    name: str = Field(min_length=1)
    split: Literal["train", "test"]
    bounds: Bounds = Field(description="xmin, ymin, xmax, ymax in the image CRS")

    @model_validator(mode="after")
    def _ordered(self) -> "AreaSpec":
        xmin, ymin, xmax, ymax = self.bounds
        if not (xmax > xmin and ymax > ymin):
            raise ValueError(f"area '{self.name}': bounds must be xmin < xmax and ymin < ymax")
        return self


class TilingSpec(_Strict):
    tile_size: int = Field(gt=0, le=8192, description="tile edge in pixels (1024 in the paper; at most 8192)")


class FactorSpec(_Strict):
    elevation_bin_m: float = Field(default=100.0, gt=0)
    slope_bin_deg: float = Field(default=10.0, gt=0)
    river_buffer_m: float = Field(default=30.0, gt=0, description="river surface half-width (level 0)")
    river_ring_edges_m: tuple[float, ...] = Field(default=(200.0, 500.0, 1000.0, 2000.0))
    nir_band: int | None = Field(default=None, ge=1, description="1-based image band holding near-infrared (NDVI); "
                                 "the synthetic area with infrared_bands: 4")
    swir_band: int | None = Field(default=None, ge=1, description="1-based image band holding short-wave infrared "
                                  "(MNDWI); the synthetic area with infrared_bands: 5")
    lithology_column: str = Field(default="lithology", min_length=1,
                                  description="column of the lithology polygons naming the unit")
    lithology_units: tuple[str, ...] | None = Field(
        default=None, description="unit names in code order 1..K (weak to strong rock, as Gao et al. 2021 order "
                                  "them); default: the units' names sorted")
    aspect_flat_deg: float = Field(default=1.0, ge=0, lt=90, description="slopes below this are the aspect class "
                                                                         "'flat'")
    natural_breaks: int = Field(default=5, ge=2, le=12, description="classes of the natural-breaks frequency "
                                                                   "ratios (Gao et al. 2021: 5)")
    importance_samples: int = Field(default=20000, ge=100, description="pixels sampled for the random-forest "
                                                                       "importance of the factors")

    @model_validator(mode="after")
    def _increasing(self) -> "FactorSpec":
        e = self.river_ring_edges_m
        if len(e) == 0 or any(b <= a for a, b in zip(e, e[1:])) or e[0] <= 0:
            raise ValueError("river_ring_edges_m must be positive and strictly increasing")
        if self.nir_band is not None and self.nir_band == self.swir_band:
            raise ValueError("nir_band and swir_band name the same band")
        return self


class EnhanceSpec(_Strict):
    """Background enhancement (Yang et al. 2022, section 3.3)."""

    n_samples: int | None = Field(default=None, ge=0, description="number of BE samples (wins over ratio)")
    ratio: float = Field(default=600 / 531, ge=0, description="BE samples per original training tile")
    splice_share: float = Field(default=0.5, ge=0, le=1, description="share of splicing (rest is CutMix)")
    splice_mode: Literal["resize", "crop"] = "resize"
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    budget: Literal["fixed_steps", "epoch_matched"] = Field(
        default="fixed_steps", description="fixed_steps: BE samples take steps from the originals; epoch_matched: "
                                           "steps grow so each original tile is seen as often as without BE")
    cutmix_factors: Literal["landslide", "background"] = Field(
        default="landslide", description="CutMix box carries the factor channels of the landslide's tile, or "
                                         "keeps the background tile's factors (no DEM/slope edge)")


class MaskRCNNSpec(_Strict):
    backbone: str = "resnet18"
    trainable_layers: int = Field(default=5, ge=0, le=5)
    pretrained_weights: Path | None = None
    anchor_sizes: tuple[int, ...] = Field(default=(8, 16, 32, 64, 128), description="anchor size (pixels) per FPN "
                                                                                 "level P2-P6: five positive sizes")
    box_detections_per_img: int = Field(default=100, gt=0)
    rois_per_image: int = Field(default=200, gt=0, description="RoIs sampled per image in training (matterport: 200)")
    proposals_test: int = Field(default=1000, gt=0, description="RPN proposals kept at inference (matterport: 1000)")
    fpn: Literal["standard", "bottom_up"] = Field(
        default="standard", description="standard FPN, or FPN + the bottom-up path augmentation of Liu et al. (2021)")
    mask_loss: Literal["bce", "bce+edge"] = Field(
        default="bce", description="mask loss: BCE, or BCE + the Sobel edge loss of Liu et al. (2021)")
    edge_weight: float = Field(default=1.0, ge=0, description="weight of the edge loss (Liu et al. 2021: 1)")


class SegmentationSpec(_Strict):
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


class FCDenseNetSpec(_Strict):
    """FC-DenseNet (Jegou et al. 2017) as Gao et al. (2021) configure it; defaults: about 2.96 M parameters."""

    growth_rate: int = Field(default=16, gt=0)
    down_blocks: tuple[int, ...] = Field(default=(5, 6, 7, 8, 9), description="layers per dense block, down path "
                                         "(chosen to give the 2.96 M parameters of Gao et al.'s Table IX)")
    bottleneck_layers: int = Field(default=10, gt=0)
    first_filters: int = Field(default=48, gt=0)
    compression: float = Field(default=0.5, gt=0, le=1, description="theta of transition down (DenseNet-C)")
    dropout: float = Field(default=0.2, ge=0, lt=1)
    pretrained_weights: Path | None = None


class SegNetSpec(_Strict):
    """SegNet (Badrinarayanan et al. 2017): VGG16-BN encoder, decoder upsampling with the pooling indices."""

    width: int = Field(default=64, gt=0, description="channels of the first stage (64 = the original)")
    pretrained_weights: Path | None = None


class ResUNetSpec(_Strict):
    """ResU-Net (Zhang et al. 2018): a U-Net of pre-activation residual units."""

    filters: tuple[int, ...] = Field(default=(64, 128, 256, 512), description="channels of each encoder level")
    upsample: Literal["transposed", "nearest"] = Field(
        default="transposed", description="decoder upsampling: learned 2x2 transposed convolution (about Gao et "
                                          "al.'s 9.9 M parameters) or nearest (Zhang et al. 2018's 8.2 M)")
    pretrained_weights: Path | None = None


class ModelsSpec(_Strict):
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
threshold"); :mod:`landslide_utils.losses` and the empty-map guard read it from here."""


class TrainingSpec(_Strict):
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
                                    "computes it natively); landslide_utils/precision.py")
    optimizer: Literal["sgd", "adam"] = Field(
        default="sgd", description="sgd (momentum, the paper's matterport default) or adam (Gao et al. 2021, "
                                   "Yang S. et al. 2022); momentum is SGD's only")
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

    @field_validator("class_weights")
    @classmethod
    def _class_weights(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and (any(not math.isfinite(v) or v <= 0 for v in value)):
            raise ValueError("class weights are two positive numbers: (background, landslide)")
        return value


class ExtraTestSpec(_Strict):
    """One more chip dataset every experiment is also tested on (a cross-region test: trained here, tested there)."""

    name: str = Field(min_length=1, description="names the metrics file <EXP>@<name>.json")
    format: Literal["folders", "bijie", "landslide4sense"]
    path: Path
    pixel_size_m: float | None = Field(default=None, gt=0)
    bands: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> "ExtraTestSpec":
        if not re.fullmatch(SAFE_NAME, self.name):
            raise _KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        _check_chip_keys(self, "")
        return self


class EvaluationSpec(_Strict):
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


class PathsSpec(_Strict):
    """Where a study's files go, when not in the default ``data/<name>/`` and ``reports/<name>/``.

    Relative paths are resolved against the profile file's folder, like every path of a profile. Used by the
    sweep runner (each sweep point shares the tiles of step 01 and the samples of step 03) and by users who keep
    generated data on another disk.
    """

    data: Path | None = Field(default=None, description="checkpoints, stamps, predictions (default data/<name>)")
    reports: Path | None = Field(default=None, description="executed notebooks, metrics, figures (default "
                                                            "reports/<name>)")
    prepared: Path | None = Field(default=None, description="outputs of step 01: inputs/, aligned/, tiles/ "
                                                             "(default: the data folder)")
    enhanced: Path | None = Field(default=None, description="background-enhanced samples of step 03 (default "
                                                             "<data>/enhanced)")


class MultitemporalSpec(_Strict):
    finetune_tiles: int = Field(default=4, ge=0)
    finetune_steps: int = Field(default=20, ge=0)


class ExperimentOverride(_Strict):
    """A profile's settings for the experiments whose name matches a pattern (e.g. a smaller budget for the
    related systems on a CPU profile); they win over the experiment file's own."""

    training: dict[str, Any] = Field(default_factory=dict)
    model_options: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "ExperimentOverride":
        _check_override_keys(self.training, {}, self.evaluation, None, "")
        return self


class Profile(_Strict):
    """A whole study. See ``params/profiles/*.yaml`` for annotated examples."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    data: DataSpec
    areas: tuple[AreaSpec, ...] | None = None
    tiling: TilingSpec
    factors: FactorSpec = FactorSpec()
    enhance: EnhanceSpec = EnhanceSpec()
    models: ModelsSpec = ModelsSpec()
    training: TrainingSpec
    evaluation: EvaluationSpec = EvaluationSpec()
    multitemporal: MultitemporalSpec = MultitemporalSpec()
    paths: PathsSpec = PathsSpec()
    experiments: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="experiments step 04 runs by default (names of params/experiments/*.yaml); "
                                  "all when unset; --experiments overrides")
    experiment_overrides: dict[str, ExperimentOverride] = Field(
        default_factory=dict, description="settings of the experiments whose name matches a key (a name or an "
                                          "fnmatch pattern such as 'liu2021_*'); they win over the experiment file's")
    gpu_only: dict[str, str] = Field(
        default_factory=dict, description="experiments (a name or an fnmatch pattern) that do not learn within this "
                                          "profile's CPU budget, each with the reason: step 04 skips them on a CPU "
                                          "and runs them on a GPU")
    prepared_by: Path | None = Field(
        default=None, description="a profile whose steps 01-03 prepared the data this one trains on: its data, "
                                  "areas, tiling, factors and enhance sections and its tiles and BE samples are used, "
                                  "and steps 01-03 are not run for this profile")
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> "Profile":
        if not re.fullmatch(SAFE_NAME, self.name):
            raise _KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        if len(self.name) > MAX_NAME:
            raise _KeyedError("name", f"has {len(self.name)} characters; at most {MAX_NAME} (it names folders and "
                                      "files, whose length the file system limits)")
        if self.evaluation.threshold == "validation" and self.training.validation_share == 0:
            raise _KeyedError("evaluation.threshold", "'validation' needs validation tiles: set "
                              "training.validation_share (e.g. 0.1), or use 'fixed' or a number")
        if self.data.chips is not None and self.data.source == "chips":
            train = Path(self.data.chips.train).resolve()
            for i, t in enumerate(self.evaluation.extra_tests):
                if Path(t.path).resolve() == train:
                    raise _KeyedError(f"evaluation.extra_tests.{i}.path", f"extra test '{t.name}' is the train "
                                      "dataset (data.chips.train) itself; a cross-region test needs other chips")
        if self.areas is not None and self.data.source == "chips":
            raise _KeyedError("areas", "a chip dataset has no map coordinates: leave areas out and split with "
                              "data.chips.test or data.chips.test_fraction")
        if self.areas is not None:
            splits = [a.split for a in self.areas]
            if "train" not in splits or "test" not in splits:
                raise ValueError("areas need at least one 'train' and one 'test' area")
            names = [a.name for a in self.areas]
            if len(set(names)) != len(names):
                raise ValueError("area names must be unique")
            if self.data.synthetic is not None and self.data.source == "synthetic":
                sx0, sy0, sx1, sy1 = synthetic_bounds(self.data.synthetic)
                for i, a in enumerate(self.areas):
                    xmin, ymin, xmax, ymax = a.bounds
                    if xmin < sx0 or ymin < sy0 or xmax > sx1 or ymax > sy1:
                        raise _KeyedError(
                            f"areas.{i}.bounds",
                            f"area '{a.name}' {a.bounds} lies outside the synthetic scene "
                            f"({sx0}, {sy0}, {sx1}, {sy1})",
                        )
        return self


#: the model families of the registry (:mod:`landslide_utils.models.registry` builds them); an experiment's
#: ``model`` is checked against these when the file is loaded
MODEL_NAMES: tuple[str, ...] = ("maskrcnn", "unet", "pspnet", "fcn", "deeplabv3plus", "fcdensenet", "segnet",
                                "resunet")
#: the schema of each model family's section of ``models``
MODEL_SPECS: dict[str, type[_Strict]] = {"maskrcnn": MaskRCNNSpec, "unet": SegmentationSpec,
                                         "pspnet": SegmentationSpec, "fcn": FCNSpec, "deeplabv3plus": DeepLabSpec,
                                         "fcdensenet": FCDenseNetSpec, "segnet": SegNetSpec, "resunet": ResUNetSpec}
#: the evaluation keys an experiment file may set for itself (the others are the profile's)
EXPERIMENT_EVALUATION_KEYS: tuple[str, ...] = ("cv_folds",)


class Experiment(_Strict):
    """One experiment of Yang et al. (2022), Tables 3/4/6/7 (docs/methods.md, "Experiments I–VIII")."""

    name: str = Field(min_length=1)
    description: str = ""
    model: str
    channels: str = Field(
        description="a channel set (rgb, rgb+factors, rgb+factors9) or a list of channel names (kept as "
                    "name+name+...; see IMAGE_CHANNELS, FACTOR_CHANNELS)")
    training_data: Literal["original", "original+be"]
    training: dict[str, Any] = Field(default_factory=dict, description="overrides of the profile's training keys")
    model_options: dict[str, Any] = Field(default_factory=dict, description="overrides of the profile's "
                                          "models.<model> keys (e.g. a backbone, the FPN, the mask loss)")
    evaluation: dict[str, Any] = Field(default_factory=dict, description="evaluation keys of this experiment "
                                       "(cv_folds)")
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _check(self) -> "Experiment":
        if not re.fullmatch(SAFE_NAME, self.name):
            raise _KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        if len(self.name) > MAX_NAME:
            raise _KeyedError("name", f"has {len(self.name)} characters; at most {MAX_NAME} (it names folders and "
                                      "files)")
        if self.model not in MODEL_NAMES:
            raise _KeyedError("model", f"unknown model {self.model!r}; valid: {', '.join(MODEL_NAMES)}")
        problem = channels_problem(self.channels)
        if problem:
            raise _KeyedError("channels", problem)
        return self

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_list(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("an empty list of channels; name at least one")
            if not all(isinstance(v, str) for v in value):
                raise ValueError("channel names are text, e.g. [red, green, blue, slope]")
            return "+".join(value)
        return value

    @model_validator(mode="after")
    def _check_overrides(self) -> "Experiment":
        _check_override_keys(self.training, self.model_options, self.evaluation, self.model, "")
        return self


def _check_override_keys(training: dict[str, Any], model_options: dict[str, Any], evaluation: dict[str, Any],
                         model: str | None, where: str) -> None:
    """Unknown keys of an experiment's (or a profile's per-experiment) overrides, named with the valid ones."""
    unknown = set(training) - set(TrainingSpec.model_fields)
    if unknown:
        raise _KeyedError(f"{where}training.{sorted(unknown)[0]}", "unknown training key; valid keys: "
                          + ", ".join(TrainingSpec.model_fields))
    if model is not None:
        fields = MODEL_SPECS[model].model_fields
        unknown = set(model_options) - set(fields)
        if unknown:
            raise _KeyedError(f"{where}model_options.{sorted(unknown)[0]}", f"unknown key of models.{model}; "
                              "valid keys: " + ", ".join(fields))
    unknown = set(evaluation) - set(EXPERIMENT_EVALUATION_KEYS)
    if unknown:
        raise _KeyedError(f"{where}evaluation.{sorted(unknown)[0]}", "an experiment sets only "
                          + ", ".join(EXPERIMENT_EVALUATION_KEYS) + " of the evaluation keys; the others are the "
                          "profile's")




CHANNEL_SETS: dict[str, tuple[str, ...]] = {
    "rgb": ("red", "green", "blue"),
    "rgb+factors": ("red", "green", "blue", "dem", "slope", "river_level"),
    # Gao et al. (2021): the nine influencing factors behind the image (their Landsat bands; RGB here)
    "rgb+factors9": ("red", "green", "blue", "dem", "slope", "aspect", "curvature", "ndvi", "mndwi",
                     "river_distance", "fault_distance", "lithology"),
}
#: every channel a tile can carry: image bands (``band<k>`` for the k-th image band beyond RGB) and factors
IMAGE_CHANNELS: tuple[str, ...] = ("red", "green", "blue", "nir", "swir")
FACTOR_CHANNELS: tuple[str, ...] = ("dem", "slope", "river_level", "aspect", "curvature", "ndvi", "mndwi",
                                    "river_distance", "fault_distance", "lithology")
#: what a study needs to give each factor beyond DEM, slope and river level (for messages)
FACTOR_NEEDS: dict[str, str] = {
    "aspect": "a DEM", "curvature": "a DEM", "river_distance": "river lines",
    "ndvi": "a near-infrared image band (factors.nir_band)",
    "mndwi": "a short-wave-infrared image band (factors.swir_band)",
    "fault_distance": "fault lines (data.files.faults; the synthetic area: synthetic.geology: true)",
    "lithology": "lithology polygons (data.files.lithology; the synthetic area: synthetic.geology: true)",
}


def _is_channel_name(name: str) -> bool:
    return name in IMAGE_CHANNELS or name in FACTOR_CHANNELS or re.fullmatch(r"band[4-9]|band[1-9][0-9]+", name) \
        is not None


def channels_problem(channels: Any) -> str | None:
    """Why ``channels`` (an experiment's key) is neither a channel set nor a list of channel names (given as a
    list or joined by ``+``), or None."""
    if isinstance(channels, str):
        if channels in CHANNEL_SETS:
            return None
        names = channels.split("+")
        if not all(_is_channel_name(n) for n in names):
            return (f"unknown channel set {channels!r}; valid: {', '.join(CHANNEL_SETS)}, or a list of channel "
                    f"names ({', '.join(IMAGE_CHANNELS + FACTOR_CHANNELS)} or band<k>, the k-th image band)")
    else:
        names = list(channels)
    if not names:
        return "an empty list of channels; name at least one"
    bad = [n for n in names if not isinstance(n, str) or not _is_channel_name(n)]
    if bad:
        return (f"unknown channel name {bad[0]!r}; valid: {', '.join(IMAGE_CHANNELS + FACTOR_CHANNELS)} or band<k> "
                "(the k-th image band)")
    if len(set(names)) != len(names):
        return f"a channel is named twice in {names}"
    return None


def channel_names(channels: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The channel names of a set name (:data:`CHANNEL_SETS`) or of a list of names, in input order."""
    problem = channels_problem(channels)
    if problem:
        raise ValueError(problem)
    if isinstance(channels, str):
        return CHANNEL_SETS[channels] if channels in CHANNEL_SETS else tuple(channels.split("+"))
    return tuple(channels)


def channels_label(channels: str | tuple[str, ...] | list[str]) -> str:
    """A set name as it is, a list as ``name+name+...`` (tables, reports)."""
    return channels if isinstance(channels, str) else "+".join(channels)


def infrared_bands(profile: "Profile") -> tuple[int | None, int | None]:
    """1-based image bands of near- and short-wave infrared: ``factors.nir_band`` / ``swir_band``, or 4 and 5 for
    the synthetic area generated with ``infrared_bands: true``."""
    f = profile.factors
    syn = profile.data.synthetic
    if profile.data.source == "synthetic" and syn is not None and syn.infrared_bands:
        return (f.nir_band or 4, f.swir_band or 5)
    return (f.nir_band, f.swir_band)


def unavailable_channel(profile: "Profile", channels: str | tuple[str, ...] | list[str]) -> str | None:
    """Why a study's inputs cannot give one of ``channels`` (naming the channel and what to add), or None.

    DEM, slope, river level, aspect, curvature and distance to river come from the DEM and the rivers every
    study area has (chip datasets: only DEM, slope and river level, where the format has a DEM); NDVI and MNDWI
    need the infrared bands, fault distance and lithology their vector layers (Gao et al. 2021)."""
    names = channel_names(channels)
    nir, swir = infrared_bands(profile)
    have = {"dem", "slope", "river_level", "red", "green", "blue"}
    if profile.data.source != "chips":
        have |= {"aspect", "curvature", "river_distance"}
        if nir is not None:
            have |= {"nir", "ndvi"}
        if swir is not None:
            have |= {"swir", "mndwi"}
        files, syn = profile.data.files, profile.data.synthetic
        geology = (syn is not None and syn.geology) if profile.data.source == "synthetic" else False
        if geology or (files is not None and files.faults is not None):
            have.add("fault_distance")
        if geology or (files is not None and files.lithology is not None):
            have.add("lithology")
    for name in names:
        if name in have or name.startswith("band"):
            continue
        need = FACTOR_NEEDS.get(name) or {"nir": FACTOR_NEEDS["ndvi"], "swir": FACTOR_NEEDS["mndwi"]}.get(name, "")
        where = "a chip dataset gives only the image, DEM, slope and river level" if profile.data.source == "chips" \
            else f"it needs {need}"
        return f"the study's inputs give no {name!r} channel: {where}"
    return None


def uses_factors(channels: str | tuple[str, ...] | list[str]) -> bool:
    """Whether the channels include any factor (not only image bands)."""
    return any(n in FACTOR_CHANNELS for n in channel_names(channels))


class _KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def has_second_date(profile: Profile) -> bool:
    """Whether the study has a second-date image (always for the synthetic area; ``data.files.image_t2``)."""
    if profile.data.source == "synthetic":
        return True
    return profile.data.files is not None and profile.data.files.image_t2 is not None


def synthetic_bounds(spec: SyntheticSpec) -> Bounds:
    """(xmin, ymin, xmax, ymax) of the synthetic scene in its CRS."""
    xmax = spec.origin_x + spec.width_px * spec.pixel_size_m
    ymin = spec.origin_y - spec.height_px * spec.pixel_size_m
    return (spec.origin_x, ymin, xmax, spec.origin_y)


class _DuplicateKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that records keys given twice in one mapping (PyYAML silently keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []  # (key, first line, repeated line)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # noqa: FBT001
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append((str(key), seen[key], line))
            else:
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: Path, *, what: str = "a YAML parameter file",
                      examples: str = "params/profiles/ and params/experiments/") -> dict[str, Any]:
    """The top-level mapping of a YAML parameter file; a clear error naming the file otherwise (missing, a
    folder, not text, not YAML, not a mapping).

    A key given twice in one mapping is a :class:`landslide_utils.notices.StudyWarning` naming both lines (the
    last value is used, as YAML loaders do), so it reaches the console."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found. Give the path of {what} (examples in {examples}).")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a file. Give the path of {what} (examples in {examples}).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8); give the path of {what} "
                          f"(examples in {examples})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: a binary file, not YAML; give the path of {what} (examples in {examples})")
    loader = _DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{path}: expected a mapping of keys at the top level (key: value lines), got {got}")
    if loader.duplicates:
        from .notices import notify  # noqa: PLC0415 - notices imports nothing of config

        for key, first, again in loader.duplicates:
            notify(f"{path}: key '{key}' is given twice (lines {first} and {again}); the value of line {again} is "
                   "used. Delete one of them")
    return data


def validation_messages(exc: ValidationError, *, unknown_hint: str = "") -> list[tuple[str, str]]:
    """(dotted key, message) of every error of a pydantic validation, with the value that caused it.

    Model-level checks that name their own key (areas, experiment training keys) report that key."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _KeyedError):
            loc = ".".join(filter(None, [loc, ctx_err.key]))
            msg = ctx_err.message
        elif err["type"] == "extra_forbidden":
            msg = "unknown key" + unknown_hint
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = err.get("input")
        if err["type"] not in ("extra_forbidden", "missing") and not isinstance(got, dict):
            msg += f" (got {got!r})"
        out.append((loc or "<top level>", msg))
    return out


def _format_validation(path: Path, exc: ValidationError, *, prefix: str = "") -> ConfigError:
    hint = " (check the spelling; see params/profiles/paper.yaml for every key)"
    lines = [f"  key '{prefix}{loc}': {msg}" for loc, msg in validation_messages(exc, unknown_hint=hint)]
    return ConfigError(f"{path}: invalid parameters:\n" + "\n".join(lines))


def _coerce(data: Any) -> Any:
    """YAML gives lists; the schema's tuples are strict. Paths arrive as strings."""
    if isinstance(data, dict):
        return {k: _coerce(v) for k, v in data.items()}
    if isinstance(data, list):
        return tuple(_coerce(v) for v in data)
    return data


_PATH_FIELDS = {"pretrained_weights", "prepared_by"}
#: the sections that define a study's prepared data (steps 01-03); a profile with ``prepared_by`` takes them from
#: that profile
PREPARED_SECTIONS: tuple[str, ...] = ("data", "areas", "tiling", "factors", "enhance")
#: sections whose listed keys are paths (every key of ``files`` and ``paths`` is)
_PATH_KEYS_OF = {"chips": {"train", "test"}, "extra_tests": {"path"}}


def _resolve_paths(data: Any, base: Path, key: str | None = None, in_files: bool = False,
                   keys_here: frozenset[str] = frozenset()) -> Any:
    """Resolve the path values of a profile against ``base``; ``keys_here``: the path keys of the mapping that
    holds ``data`` (a list's items share their list's key)."""
    if isinstance(data, dict):
        mine = frozenset(_PATH_KEYS_OF.get(key or "", ()))
        return {k: _resolve_paths(v, base, k, in_files or k in ("files", "paths"), mine) for k, v in data.items()}
    if isinstance(data, tuple):
        return tuple(_resolve_paths(v, base, key, in_files, keys_here) for v in data)
    if isinstance(data, str) and (in_files or key in _PATH_FIELDS or key in keys_here):
        if not data.strip():
            return data  # refused by the schema: an empty path would mean the profile's own folder
        p = Path(data).expanduser()
        return p if p.is_absolute() else (base / p)
    return data


def _coerced(path: Path) -> Any:
    try:
        return _coerce(read_yaml_mapping(path))
    except RecursionError:
        raise ConfigError(f"{path}: a YAML alias refers to itself (e.g. 'a: &x [*x]'); write the values out") from None


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile; relative input paths are resolved against the profile's folder.

    Raises:
        ConfigError: naming the file and every offending key.
    """
    path = Path(path)
    data = _resolve_paths(_coerced(path), path.resolve().parent)
    if isinstance(data, dict) and data.get("prepared_by") is not None:
        data = _with_preparer(path, data)
    try:
        prof = Profile.model_validate(data)
    except ValidationError as exc:
        raise _format_validation(path, exc) from None
    return prof.model_copy(update={"source_path": path})


def _with_preparer(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a profile with ``prepared_by``) completed with the preparing profile's data sections and with
    ``paths.prepared`` / ``paths.enhanced`` pointing at that profile's step 01 and step 03 outputs."""
    owner_path = Path(data["prepared_by"])
    if not owner_path.is_file():
        raise ConfigError(f"{path}: key 'prepared_by': {owner_path} not found; name the profile whose steps 01-03 "
                          "prepared the data (a path relative to this file, e.g. quick.yaml)")
    if owner_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: key 'prepared_by' names this profile itself; name another profile")
    given = [k for k in PREPARED_SECTIONS if k in data] + \
        [f"paths.{k}" for k in ("prepared", "enhanced") if k in (data.get("paths") or {})]
    if given:
        raise ConfigError(f"{path}: key '{given[0]}': set by the profile named in prepared_by ({owner_path.name}); "
                          "remove it here (steps 01-03 and their settings are that profile's)")
    owner = load_profile(owner_path)
    if owner.prepared_by is not None:
        raise ConfigError(f"{path}: key 'prepared_by': {owner_path.name} is itself prepared by "
                          f"{owner.prepared_by.name}; name that profile instead")
    dumped = owner.model_dump(mode="python", exclude={"source_path"})
    try:  # the preparing profile's data lie under the project holding it (else the one run from)
        root = find_root(owner_path.resolve().parent)
    except FileNotFoundError:
        try:
            root = find_root()
        except FileNotFoundError:
            root = Path.cwd()
    owner_paths = StudyPaths.of(owner, root)
    return {**data, **{k: dumped[k] for k in PREPARED_SECTIONS if dumped.get(k) is not None},
            "prepared_by": owner_path.resolve(),
            "paths": {**(data.get("paths") or {}), "prepared": owner_paths.prepared.resolve(),
                      "enhanced": owner_paths.enhanced.resolve()}}


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file (``params/experiments/*.yaml``); a relative
    ``model_options.pretrained_weights`` is resolved against the file's folder, as a profile's paths are.

    Raises:
        ConfigError: naming the file and every offending key.
    """
    path = Path(path)
    data = _coerced(path)
    if isinstance(data, dict) and isinstance(data.get("model_options"), dict):  # weights beside the file
        data["model_options"] = _resolve_paths(data["model_options"], path.resolve().parent)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise _format_validation(path, exc) from None
    return exp.model_copy(update={"source_path": path})


def overrides_for(profile: Profile, experiment: Experiment, section: str) -> dict[str, Any]:
    """The experiment file's ``section`` overrides, then those of every matching ``experiment_overrides`` key of
    the profile (in the profile's order)."""
    merged = dict(getattr(experiment, section))
    for pattern, over in profile.experiment_overrides.items():
        if fnmatch.fnmatchcase(experiment.name, pattern):
            merged.update(getattr(over, section))
    return merged


def unmatched_overrides(profile: Profile, names: list[str] | tuple[str, ...]) -> list[str]:
    """The keys (``experiment_overrides.<pattern>``, ``gpu_only.<pattern>``) that match none of ``names`` (the
    project's experiments): a misspelt pattern would otherwise change nothing without a word."""
    keys = [("experiment_overrides", k) for k in profile.experiment_overrides] + [("gpu_only", k) for k in
                                                                                  profile.gpu_only]
    return [f"{section}.{k}" for section, k in keys if not any(fnmatch.fnmatchcase(n, k) for n in names)]


def gpu_only_reason(profile: Profile, name: str) -> str | None:
    """The reason the profile gives for training experiment ``name`` on a GPU only (``gpu_only``), or None."""
    for pattern, reason in profile.gpu_only.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def training_for(profile: Profile, experiment: Experiment) -> TrainingSpec:
    """The profile's training settings with the experiment's overrides applied (validated): the experiment
    file's ``training``, then the profile's ``experiment_overrides`` matching the experiment's name."""
    merged = {**profile.training.model_dump(), **overrides_for(profile, experiment, "training")}
    try:
        return TrainingSpec.model_validate(merged)
    except ValidationError as exc:
        raise _format_validation(experiment.source_path or Path("<experiment>"), exc, prefix="training.") from None


def model_spec_for(profile: Profile, experiment: Experiment) -> Any:
    """The profile's ``models.<model>`` section with the experiment's ``model_options`` (and the profile's
    matching ``experiment_overrides``) applied, validated."""
    base = getattr(profile.models, experiment.model)
    merged = {**base.model_dump(), **overrides_for(profile, experiment, "model_options")}
    try:
        return MODEL_SPECS[experiment.model].model_validate(_coerce(merged))
    except ValidationError as exc:
        raise _format_validation(experiment.source_path or Path("<experiment>"), exc,
                                 prefix="model_options.") from None


def evaluation_for(profile: Profile, experiment: Experiment) -> EvaluationSpec:
    """The profile's evaluation settings with the experiment's own keys (``cv_folds``) applied, validated."""
    merged = {**profile.evaluation.model_dump(), **overrides_for(profile, experiment, "evaluation")}
    try:
        return EvaluationSpec.model_validate(_coerce(merged))
    except ValidationError as exc:
        raise _format_validation(experiment.source_path or Path("<experiment>"), exc,
                                 prefix="evaluation.") from None
