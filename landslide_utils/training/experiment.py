"""The training of one experiment (Yang et al. 2022, Tables 3/4/6/7): its tiles and background-enhanced
samples, its budget, the loss options, the checkpoint's metadata, and k-fold ensembles (Chen et al. 2022).

The training loop itself is :func:`landslide_utils.training.loop.fit`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from landslide_utils.chips.study_tiles import factor_skip_reason
from landslide_utils.config.channels import channel_names
from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.config.overrides import evaluation_for, training_for
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.config.study_inputs import unavailable_channel
from landslide_utils.files.atomic import write_text
from landslide_utils.models import build_model, model_task, spec_for
from landslide_utils.models.ensemble import ProbabilityMean
from landslide_utils.paths import CHECKPOINT_FILE, StudyPaths
from landslide_utils.tiles.tiling import read_index
from landslide_utils.tiles.validation_split import split_validation, validation_paths
from landslide_utils.training.checkpoint import CheckpointMeta, resolve_device, save_checkpoint
from landslide_utils.training.crossval import stratified_folds
from landslide_utils.training.datasets import TileDataset, channel_stats, landslide_prevalence
from landslide_utils.training.distributed import SINGLE, DistContext
from landslide_utils.training.imbalance import landslide_copies, pixel_counts
from landslide_utils.training.loop import FitResult, fit
from landslide_utils.training.monitor import Validator, ValidatorFactory

__all__ = ["TrainResult", "training_tiles", "training_steps", "loss_options_for", "train_experiment"]


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_experiment` did."""

    experiment: str
    model: str
    checkpoint: Path
    loss_csv: Path
    steps: int
    train_seconds: float
    final_loss: float | None
    device: str
    reused: bool


def training_tiles(
    profile: Profile, experiment: Experiment, *, root: Path = Path(".")
) -> tuple[list[Path], list[Path]]:
    """(original training tiles, BE samples) of an experiment; BE samples only for ``original+be``.

    Validation tiles (``training.validation_share``) are left out of the originals.
    """
    paths = StudyPaths.of(profile, Path(root))
    index = read_index(paths.tile_index)
    train = index[index["split"] == "train"]
    if len(train) == 0:
        raise ValueError(f"{paths.tile_index}: no tile with split == 'train'; check the areas of the profile")
    training = training_for(profile, experiment)
    train, _ = split_validation(train, share=training.validation_share, seed=profile.seed)
    originals = [paths.tiles / p for p in train["path"]]
    be: list[Path] = []
    if experiment.training_data == "original+be":
        if not paths.enhanced_index.is_file():
            raise FileNotFoundError(
                f"{paths.enhanced_index}: background-enhanced samples not found; experiment "
                f"{experiment.name} trains on original+be, run step 03 (notebooks/03_enhance_background.ipynb) first"
            )
        be = [paths.enhanced / p for p in pd.read_csv(paths.enhanced_index)["path"]]
    return originals, be


def training_steps(profile: Profile, training: TrainingSpec, *, n_original: int, n_enhanced: int) -> int:
    """The number of optimiser steps: ``training.steps``, scaled for BE under ``enhance.budget: epoch_matched``."""
    if n_enhanced and profile.enhance.budget == "epoch_matched":
        return int(math.ceil(training.steps * (n_original + n_enhanced) / max(n_original, 1)))
    return training.steps


def _meta(profile: Profile, experiment: Experiment, spec: Any, training: TrainingSpec, mean: np.ndarray,
          std: np.ndarray, n_orig: int, n_be: int, n_copies: int = 0) -> CheckpointMeta:
    return CheckpointMeta(**{
        "experiment": experiment.name,
        "profile": profile.name,
        "model": experiment.model,
        "task": model_task(experiment.model),
        "spec": spec.model_dump(mode="json"),
        "channels": experiment.channels,
        "channel_names": list(channel_names(experiment.channels)),
        "in_channels": len(channel_names(experiment.channels)),
        "num_classes": 2,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "training_data": experiment.training_data,
        "training": training.model_dump(mode="json"),
        "enhance_budget": profile.enhance.budget if n_be else None,
        "seed": profile.seed,
        "tile_size": profile.tiling.tile_size,
        "factors": profile.factors.model_dump(mode="json"),  # river buffer and rings, for whole-scene prediction
        "n_train_tiles": n_orig,
        "n_be_samples": n_be,
        "n_augmented_copies": n_copies,
    })


def loss_options_for(training: TrainingSpec, originals: Sequence[Path]) -> dict[str, Any]:
    """Keyword arguments of the semantic loss; ``weighted_bce`` without ``pos_weight`` weighs landslide pixels
    by the background/landslide ratio of the original training tiles."""
    options: dict[str, Any] = {"name": training.loss, "focal_gamma": training.focal_gamma,
                               "focal_alpha": training.focal_alpha, "focal_alpha_on": training.focal_alpha_on,
                               "class_weights": tuple(training.class_weights) if training.class_weights else None}
    if training.loss == "weighted_bce":
        if training.pos_weight is not None:
            options["pos_weight"] = float(training.pos_weight)
        else:
            p = landslide_prevalence(originals)
            options["pos_weight"] = float((1 - p) / p) if p > 0 else 1.0
    return options


def _check_channels(profile: Profile, experiment: Experiment) -> None:
    """A factor experiment on a chip dataset without DEM, or channels the study's inputs cannot give, stop here."""
    reason = factor_skip_reason(profile) if experiment.channels != "rgb" else None
    if reason is not None:
        raise ValueError(f"experiment {experiment.name} ({experiment.channels}): {reason}")
    reason = unavailable_channel(profile, experiment.channels)
    if reason is not None:
        raise ValueError(f"experiment {experiment.name} (channels {experiment.channels}): {reason}; add the input "
                         "or choose other channels in the experiment file")


def _seeded_model(experiment: Experiment, *, spec: Any, in_channels: int, training: TrainingSpec, seed: int,
                  load_weights: bool) -> nn.Module:
    """The experiment's model, its weights initialised from ``seed`` (Python, NumPy and torch generators seeded)
    under the training thread count, so that the initialisation repeats on a CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    prev_threads = torch.get_num_threads()
    if training.num_threads:
        torch.set_num_threads(training.num_threads)
    try:
        return build_model(experiment.model, in_channels, spec=spec, load_weights=load_weights)
    finally:
        torch.set_num_threads(prev_threads)


def train_experiment(
    profile: Profile,
    experiment: Experiment,
    *,
    root: Path = Path("."),
    resume: bool = True,
    force: bool = False,
    device: str | None = None,
    progress: bool = True,
    dist: DistContext = SINGLE,
    validator: ValidatorFactory | None = None,
) -> TrainResult:
    """Train (or resume, or reuse) the model of one experiment with :func:`fit`; see the module docstring.

    Args:
        profile, experiment: loaded parameter files.
        root: project root holding the study's data folder.
        resume: continue an unfinished checkpoint (``False`` starts over).
        force: retrain even when a finished checkpoint exists.
        device: overrides ``profile.device`` (``auto``, ``cpu``, ``cuda``).
        progress: show a tqdm bar.
        dist: this process's place in a data-parallel run (``python -m landslide_utils train`` under
            ``torchrun``; :mod:`landslide_utils.training.distributed`): only rank 0 writes files.
        validator: builds the measurement of the validation tiles that ``training.eval_every`` and
            ``training.keep: best`` need (step 04 passes
            :func:`landslide_utils.evaluation.validation_curve.validation_curve`).

    Writes ``<data>/experiments/<EXP>/checkpoint.pt``, ``loss.csv`` (step, loss, lr, seconds) and, with
    ``training.eval_every``, ``validation.csv`` (:mod:`landslide_utils.training.monitor`).

    Raises:
        ValueError: a factor experiment on a chip dataset without DEM (:func:`landslide_utils.chips.study_tiles.
            factor_skip_reason`; the runner skips it instead); ``training.eval_every`` without a validator.
    """
    _check_channels(profile, experiment)
    paths = StudyPaths.of(profile, Path(root))
    out = paths.experiment(experiment.name)
    ckpt_path, loss_csv = out / CHECKPOINT_FILE, out / "loss.csv"
    training = training_for(profile, experiment)
    if training.eval_every and validator is None:
        raise ValueError(f"experiment {experiment.name}: training.eval_every is {training.eval_every} but no "
                         "validator was given; pass validator=landslide_utils.evaluation.validation_curve."
                         "validation_curve (as step 04 does) or set eval_every: 0")
    dev = resolve_device(device or profile.device)
    if dist.active and dev.type == "cuda":
        dev = torch.device("cuda", dist.local_rank)  # one GPU per process
    task = model_task(experiment.model)
    spec = spec_for(profile, experiment.model, experiment)

    originals, be = training_tiles(profile, experiment, root=Path(root))
    mean, std = channel_stats(originals, experiment.channels)
    folds = evaluation_for(profile, experiment).cv_folds
    copies_wanted = training.landslide_augmentation == "chen2022"
    counts = pixel_counts(originals) if folds or copies_wanted else []
    if folds and task != "semantic":
        raise ValueError(f"experiment {experiment.name}: evaluation.cv_folds averages landslide probabilities of "
                         f"semantic models; {experiment.model} is an instance model (use unet, pspnet or fcn)")
    fold_of = (stratified_folds([c[0] > 0 for c in counts], k=folds, seed=profile.seed) if folds
               else np.zeros(len(originals), np.int64))
    if force and dist.main:
        for old in [ckpt_path, *(out / f"fold_{f + 1}" / CHECKPOINT_FILE for f in range(folds))]:
            old.unlink(missing_ok=True)
    dist.barrier()
    members, results = [], []
    for f in range(max(folds, 1)):
        keep = [not folds or g != f for g in fold_of]
        tr = [p for p, k in zip(originals, keep) if k]
        copies, codes = (landslide_copies(tr, counts=[c for c, k in zip(counts, keep) if k]) if copies_wanted
                         else ([], []))
        meta = _meta(profile, experiment, spec, training, mean, std, len(tr), len(be), len(copies))
        where = out / f"fold_{f + 1}" if folds else out
        if folds:
            meta.update(fold=f + 1, folds=folds,
                        validation_fold=sorted(_rel_tile(p, paths.tiles) for p, g in zip(originals, fold_of) if g == f))
        steps = training_steps(profile, training, n_original=len(tr), n_enhanced=len(be))
        model = _seeded_model(experiment, spec=spec, in_channels=meta["in_channels"], training=training,
                              seed=profile.seed, load_weights=not (resume and (where / CHECKPOINT_FILE).is_file()))
        paths_ = [*tr, *be, *copies]
        cache = len(paths_) * profile.tiling.tile_size**2 * (meta["in_channels"] + 2) * 4 < 2**31
        ds = TileDataset(paths_, channels=experiment.channels, mean=mean, std=std, target=task, cache=cache,
                         variants=[0] * (len(tr) + len(be)) + codes, variant_seed=profile.seed)
        label = f"train {experiment.name} ({experiment.model})" + (f" fold {f + 1}/{folds}" if folds else "")
        options = loss_options_for(training, tr) if task == "semantic" else {}
        validate = _validate(profile, experiment, validator, training=training, paths=paths, meta=meta,
                             loss_options=options, device=dev)
        results.append(fit(model, ds, training=training, seed=profile.seed, checkpoint=where / CHECKPOINT_FILE,
                           meta=meta, steps=steps, loss_log=where / "loss.csv", loss_options=options,
                           device=dev, resume=resume, progress=progress, label=label, dist=dist, validate=validate))
        members.append(model)
    if not folds:
        result = results[0]
        return TrainResult(experiment.name, experiment.model, ckpt_path, loss_csv, result.steps,
                           result.train_seconds, result.final_loss, str(dev), reused=result.reused)
    if not dist.main:
        dist.barrier()  # rank 0 writes the averaged model
        return TrainResult(experiment.name, experiment.model, ckpt_path, loss_csv, results[0].steps,
                           sum(r.train_seconds for r in results), results[-1].final_loss, str(dev), reused=False)
    res = _save_ensemble(out, members, results, meta={**meta, "n_train_tiles": len(originals), "ensemble": folds},
                         experiment=experiment, device=str(dev))
    dist.barrier()
    return res


def _validate(profile: Profile, experiment: Experiment, validator: ValidatorFactory | None, *,
              training: TrainingSpec, paths: StudyPaths, meta: CheckpointMeta, loss_options: dict[str, Any],
              device: torch.device) -> Validator | None:
    """The measurement of the experiment's validation tiles while it trains (``training.eval_every``), or None."""
    if validator is None or not training.eval_every:
        return None
    tiles = validation_paths(read_index(paths.tile_index), paths.tiles, share=training.validation_share,
                             seed=profile.seed)
    return validator(meta=meta, tiles=tiles, evaluation=evaluation_for(profile, experiment),
                     loss_options=loss_options, device=device)


def _rel_tile(path: Path, tiles: Path) -> str:
    try:
        return Path(path).relative_to(tiles).as_posix()
    except ValueError:
        return str(path)


def _save_ensemble(out: Path, members: list[nn.Module], results: list[FitResult], *, meta: CheckpointMeta,
                   experiment: Experiment, device: str) -> TrainResult:
    """The checkpoint of a cross-validated experiment: the mean of its fold models; its loss log is the mean
    loss of the folds per step (each fold's own log is in ``fold_<f>/loss.csv``)."""
    for key in ("fold", "validation_fold"):
        meta.pop(key, None)
    meta["device"] = device
    ckpt_path, loss_csv = out / CHECKPOINT_FILE, out / "loss.csv"
    seconds = float(sum(r.train_seconds for r in results))
    finals = [r.final_loss for r in results if r.final_loss is not None]
    final = float(np.mean(finals)) if finals else None
    reused = all(r.reused for r in results) and ckpt_path.is_file()
    if not reused:
        save_checkpoint(ckpt_path, meta=meta, model=ProbabilityMean(members), optimizer=None, scaler=None,
                        step=results[0].steps, steps=results[0].steps, train_seconds=seconds, final_loss=final)
        logs = [pd.read_csv(out / f"fold_{f + 1}" / "loss.csv") for f in range(len(results))]
        mean_log = pd.concat(logs).groupby("step", as_index=False).mean()
        write_text(loss_csv, mean_log.to_csv(index=False, float_format="%.6g"))
    return TrainResult(experiment.name, experiment.model, ckpt_path, loss_csv, results[0].steps, seconds, final,
                       device, reused=reused)
