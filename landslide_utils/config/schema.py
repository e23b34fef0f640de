"""The two parameter files: a *profile* (``params/profiles/*.yaml``) is a whole study: where the data come from,
tiling, factor classes, background enhancement, model sizes, training budgets, evaluation, device and seed; an
*experiment* (``params/experiments/*.yaml``) is one row of Yang et al. (2022) Tables 6/7: model, input channels,
training data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from landslide_utils.config.base import MAX_NAME, MAX_SEED, SAFE_NAME, SAFE_NAME_RULE, KeyedError, Strict
from landslide_utils.config.channels import channels_problem
from landslide_utils.config.data_schema import AreaSpec, DataSpec, EnhanceSpec, FactorSpec, TilingSpec, synthetic_bounds
from landslide_utils.config.model_schema import (
    EXPERIMENT_EVALUATION_KEYS,
    MODEL_NAMES,
    MODEL_SPECS,
    EvaluationSpec,
    ModelsSpec,
    TrainingSpec,
)

__all__ = ['PathsSpec', 'MultitemporalSpec', 'ExperimentOverride', 'Profile', 'Experiment']


class PathsSpec(Strict):
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


class MultitemporalSpec(Strict):
    finetune_tiles: int = Field(default=4, ge=0)
    finetune_steps: int = Field(default=20, ge=0)


class ExperimentOverride(Strict):
    """A profile's settings for the experiments whose name matches a pattern (e.g. a smaller budget for the
    related systems on a CPU profile); they win over the experiment file's own."""

    training: dict[str, Any] = Field(default_factory=dict)
    model_options: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "ExperimentOverride":
        _check_override_keys(self.training, {}, self.evaluation, None, "")
        return self


class Profile(Strict):
    """A whole study. See ``params/profiles/*.yaml`` for annotated examples."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    heap: Literal["default", "small"] = Field(
        default="default", description="the notebook kernels' malloc (glibc): 'small' returns every freed block of "
                                       "4 MB or more to the system at once (GLIBC_TUNABLES, set by the runner for its "
                                       "kernels): a lower memory peak for more page faults; the lab profile's (2 GB)")
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
            raise KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        if len(self.name) > MAX_NAME:
            raise KeyedError("name", f"has {len(self.name)} characters; at most {MAX_NAME} (it names folders and "
                                      "files, whose length the file system limits)")
        if self.evaluation.threshold == "validation" and self.training.validation_share == 0:
            raise KeyedError("evaluation.threshold", "'validation' needs validation tiles: set "
                              "training.validation_share (e.g. 0.1), or use 'fixed' or a number")
        if self.data.chips is not None and self.data.source == "chips":
            train = Path(self.data.chips.train).resolve()
            for i, t in enumerate(self.evaluation.extra_tests):
                if Path(t.path).resolve() == train:
                    raise KeyedError(f"evaluation.extra_tests.{i}.path", f"extra test '{t.name}' is the train "
                                      "dataset (data.chips.train) itself; a cross-region test needs other chips")
        if self.areas is not None and self.data.source == "chips":
            raise KeyedError("areas", "a chip dataset has no map coordinates: leave areas out and split with "
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
                        raise KeyedError(
                            f"areas.{i}.bounds",
                            f"area '{a.name}' {a.bounds} lies outside the synthetic scene "
                            f"({sx0}, {sy0}, {sx1}, {sy1})",
                        )
        return self


class Experiment(Strict):
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
            raise KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        if len(self.name) > MAX_NAME:
            raise KeyedError("name", f"has {len(self.name)} characters; at most {MAX_NAME} (it names folders and "
                                      "files)")
        if self.model not in MODEL_NAMES:
            raise KeyedError("model", f"unknown model {self.model!r}; valid: {', '.join(MODEL_NAMES)}")
        problem = channels_problem(self.channels)
        if problem:
            raise KeyedError("channels", problem)
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
        raise KeyedError(f"{where}training.{sorted(unknown)[0]}", "unknown training key; valid keys: "
                          + ", ".join(TrainingSpec.model_fields))
    if model is not None:
        fields = MODEL_SPECS[model].model_fields
        unknown = set(model_options) - set(fields)
        if unknown:
            raise KeyedError(f"{where}model_options.{sorted(unknown)[0]}", f"unknown key of models.{model}; "
                              "valid keys: " + ", ".join(fields))
    unknown = set(evaluation) - set(EXPERIMENT_EVALUATION_KEYS)
    if unknown:
        raise KeyedError(f"{where}evaluation.{sorted(unknown)[0]}", "an experiment sets only "
                          + ", ".join(EXPERIMENT_EVALUATION_KEYS) + " of the evaluation keys; the others are the "
                          "profile's")
