"""An experiment's settings within a profile: the profile's sections with the experiment file's keys and the
profile's matching ``experiment_overrides`` applied and validated, and the profile's ``gpu_only`` rows.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from landslide_utils.config.load import coerce_values, format_validation
from landslide_utils.config.model_schema import MODEL_SPECS, EvaluationSpec, TrainingSpec
from landslide_utils.config.schema import Experiment, Profile

__all__ = ['overrides_for', 'unmatched_overrides', 'gpu_only_reason', 'training_for', 'model_spec_for', 'evaluation_for']


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
        raise format_validation(experiment.source_path or Path("<experiment>"), exc, prefix="training.") from None


def model_spec_for(profile: Profile, experiment: Experiment) -> Any:
    """The profile's ``models.<model>`` section with the experiment's ``model_options`` (and the profile's
    matching ``experiment_overrides``) applied, validated."""
    base = getattr(profile.models, experiment.model)
    merged = {**base.model_dump(), **overrides_for(profile, experiment, "model_options")}
    try:
        return MODEL_SPECS[experiment.model].model_validate(coerce_values(merged))
    except ValidationError as exc:
        raise format_validation(experiment.source_path or Path("<experiment>"), exc,
                                 prefix="model_options.") from None


def evaluation_for(profile: Profile, experiment: Experiment) -> EvaluationSpec:
    """The profile's evaluation settings with the experiment's own keys (``cv_folds``) applied, validated."""
    merged = {**profile.evaluation.model_dump(), **overrides_for(profile, experiment, "evaluation")}
    try:
        return EvaluationSpec.model_validate(coerce_values(merged))
    except ValidationError as exc:
        raise format_validation(experiment.source_path or Path("<experiment>"), exc,
                                 prefix="evaluation.") from None
