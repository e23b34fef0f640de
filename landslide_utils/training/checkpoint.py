"""Checkpoints: what a trained model carries, how it is saved, checked, reloaded and where it runs.

A checkpoint (``checkpoint.pt``, written atomically by :func:`save_checkpoint`) is a dict:

* ``format``: the checkpoint format version (:data:`FORMAT`);
* ``meta``: everything prediction needs and everything that decides whether a checkpoint can be resumed —
  experiment, profile, model name and spec, channel set and names, ``in_channels``, the per-channel ``mean`` and
  ``std`` of the original training tiles (normalisation travels with the model), training settings, seed, tile
  size, numbers of training tiles and BE samples, device, and for a fine-tuned model its ``finetune`` settings;
* ``model_state``, ``optimizer_state``, ``scaler_state`` (always ``None`` since bf16 needs no loss scaling;
  kept for the format);
* ``step``, ``steps``, ``finished``, ``train_seconds``, ``final_loss``;
* ``rng``: the Python, NumPy and torch (CPU and CUDA) random states, so that training resumed from a checkpoint
  continues bit-exactly on CPU;
* ``best`` (an unfinished run under ``training.keep: best``): the weights, step and validation AP of the best
  evaluation so far. A finished run's ``model_state`` is then those best weights.

Checkpoints are loaded with ``torch.load(weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
import torch
from torch import nn

from landslide_utils.config.base import ConfigError
from landslide_utils.config.model_schema import MODEL_SPECS, SegmentationSpec, TrainingSpec
from landslide_utils.files.atomic import atomic_path
from landslide_utils.models import build_model, model_task
from landslide_utils.models.ensemble import ProbabilityMean

__all__ = ["CheckpointMeta", "task_of", "FORMAT", "FREE_TRAINING_KEYS", "COMPATIBILITY_KEYS", "resolve_device", "rng_state", "set_rng_state",
           "save_checkpoint", "read_checkpoint", "update_meta", "check_compatible", "rebuild_model",
           "load_checkpoint"]

class CheckpointMeta(TypedDict, total=False):
    """The metadata a checkpoint carries (``ckpt["meta"]``): one declaration of its keys and their types.

    Written by step 04 (:func:`landslide_utils.training.experiment.train_experiment`); ``validation`` (the
    threshold chosen on validation tiles), ``validation_fold``, ``ensemble`` (k fold models) and ``finetune``
    (the multi-temporal fine-tuning) and ``kept`` (under ``training.keep: best``: the step and validation AP of the
    weights kept) are added where they apply; :func:`load_checkpoint` adds ``step``, ``steps``,
    ``finished`` and ``train_seconds`` from the checkpoint itself. It stays a plain dict in the file, so that
    ``torch.load(weights_only=True)`` reads it.
    """

    experiment: str
    profile: str
    model: str
    task: Literal["instance", "semantic"]
    spec: dict[str, Any]
    channels: str | list[str]
    channel_names: list[str]
    in_channels: int
    num_classes: int
    mean: list[float]
    std: list[float]
    training_data: str
    training: dict[str, Any]
    enhance_budget: str | None
    seed: int
    tile_size: int
    factors: dict[str, Any]
    n_train_tiles: int
    n_be_samples: int
    n_augmented_copies: int
    device: str
    validation: dict[str, Any]
    validation_fold: int
    ensemble: int
    finetune: dict[str, Any]
    kept: dict[str, Any]
    step: int
    steps: int
    finished: bool
    train_seconds: float


def task_of(meta: CheckpointMeta) -> Literal["instance", "semantic"]:
    """The model's task: the ``task`` the checkpoint records, else the one of its model family (older files)."""
    return meta.get("task") or model_task(meta["model"])


#: version of the checkpoint layout
FORMAT = 1
#: training keys that may change without invalidating a checkpoint (steps: a longer budget continues training)
FREE_TRAINING_KEYS = frozenset({"steps", "checkpoint_every", "num_threads", "loader_workers"})
#: training keys only the semantic models (U-Net, PSPNet) read: a Mask R-CNN checkpoint ignores them
SEMANTIC_LOSS_KEYS = frozenset({"loss", "pos_weight", "focal_gamma", "focal_alpha"})
#: metadata that must match for a checkpoint to be resumed or reused
COMPATIBILITY_KEYS = ("model", "channels", "training_data", "spec", "seed", "mean", "std", "n_train_tiles",
                      "n_be_samples", "finetune", "enhance_budget")


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is a :class:`ConfigError` naming the
    setting."""
    device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but no CUDA GPU is available here; set device: auto (CUDA "
                          "when present, else the CPU) or cpu, or --device auto")
    return torch.device(device)


def rng_state() -> dict[str, Any]:
    """The Python, NumPy and torch random states, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "python": random.getstate(),
    }


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
    random.setstate(_tuplify(state["python"]))


def save_checkpoint(
    path: str | Path,
    *,
    meta: CheckpointMeta,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scaler: torch.amp.GradScaler | None,
    step: int,
    steps: int,
    train_seconds: float,
    final_loss: float | None,
    rng_ranks: list[dict[str, Any]] | None = None,
    best: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file, then rename); see the module docstring for the layout.
    ``rng_ranks``: every process's random state in a data-parallel run (rank order), restored on resume;
    ``best``: under ``training.keep: best``, the best evaluation so far (``state``, ``step``, ``val_ap``) of an
    unfinished run."""
    path = Path(path)
    obj = {
        "format": FORMAT, "meta": meta, "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "scaler_state": scaler.state_dict() if scaler is not None else None,
        "step": int(step), "steps": int(steps), "finished": int(step) >= int(steps),
        "train_seconds": float(train_seconds), "final_loss": final_loss, "rng": rng_state(),
    }
    if rng_ranks is not None:
        obj["rng_ranks"] = rng_ranks
    if best is not None:
        obj["best"] = best
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)
    return path


#: file signatures named when something else is given as a checkpoint
_MAGIC = {b"II*\x00": "a TIFF image", b"MM\x00*": "a TIFF image", b"II+\x00": "a BigTIFF image",
          b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"SQLite format": "a GeoPackage/SQLite file",
          b"{": "a JSON or text file"}


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint file (on CPU).

    Raises:
        FileNotFoundError: no file (run the experiment first).
        ValueError: the file is not a checkpoint of this project or of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: checkpoint not found; run the experiment first (step 04, notebooks/04_run_experiment.ipynb, "
            "or landslide_utils.training.experiment.train_experiment)"
        )
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(8)
        kind = next((k for magic, k in _MAGIC.items() if head.startswith(magic)), "not a zip archive")
        raise ValueError(f"{path}: not a checkpoint of this project ({kind}; a checkpoint is the checkpoint.pt "
                         "that step 04 or train writes in data/<profile>/experiments/<EXP>/)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {first[:200]}); delete it and "
                         "retrain") from None
    if not isinstance(ckpt, dict) or "meta" not in ckpt or "model_state" not in ckpt:
        raise ValueError(f"{path}: not a checkpoint of this project (no 'meta'/'model_state'); delete it and retrain")
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format')!r}, this version reads {FORMAT}; "
                         "retrain the experiment")
    return ckpt


def check_compatible(path: str | Path, old: CheckpointMeta, new: CheckpointMeta) -> None:
    """Refuse to resume or reuse a checkpoint made with other settings.

    Raises:
        ValueError: naming the first differing setting and what to do.
    """
    for key in COMPATIBILITY_KEYS:
        if old.get(key) != new.get(key):
            raise ValueError(
                f"{path}: checkpoint was made with other settings ({key}: {old.get(key)!r} -> {new.get(key)!r}); "
                "pass force=True to retrain (or delete the experiment folder)"
            )
    old_training = old.get("training", {})
    unused = SEMANTIC_LOSS_KEYS if new.get("task") == "instance" else frozenset()
    for key, val in new.get("training", {}).items():
        # a key added to the schema after the checkpoint was written counts as its default
        was = old_training.get(key, TrainingSpec.model_fields[key].default if key in TrainingSpec.model_fields
                               else None)
        if key not in FREE_TRAINING_KEYS and key not in unused and was != val:
            raise ValueError(
                f"{path}: checkpoint was trained with training.{key}={was!r}, now {val!r}; pass force=True to "
                "retrain (or delete the experiment folder)"
            )


def rebuild_model(meta: CheckpointMeta) -> nn.Module:
    """An untrained model of the architecture a checkpoint's metadata describes."""
    cls = MODEL_SPECS.get(meta["model"], SegmentationSpec)
    spec = cls.model_validate_json(json.dumps(meta["spec"]))

    def one() -> nn.Module:
        return build_model(meta["model"], int(meta["in_channels"]), spec=spec,
                           num_classes=int(meta["num_classes"]), load_weights=False)

    if meta.get("ensemble"):  # a cross-validated experiment: the mean of its fold models (crossval)
        return ProbabilityMean([one() for _ in range(int(meta["ensemble"]))])
    return one()


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the model of a checkpoint (eval mode, on ``device``) and return it with its metadata.

    ``meta`` holds experiment, model, spec, channels, in_channels, mean, std, training, seed, step, steps,
    finished, train_seconds, device (and ``validation`` once a threshold was chosen on validation tiles).

    Raises:
        FileNotFoundError: no checkpoint (run the experiment first).
        ValueError: not a checkpoint of this project.
    """
    ckpt = read_checkpoint(path)
    meta = CheckpointMeta(**ckpt["meta"])
    meta.update(step=ckpt["step"], steps=ckpt["steps"], finished=ckpt["finished"],
                train_seconds=ckpt["train_seconds"])
    model = rebuild_model(meta)
    try:
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: its weights do not match the model its metadata describes ({meta.get('model')}, "
                         f"{meta.get('in_channels')} channels: {first[:200]}); the file was damaged or edited: "
                         "retrain the experiment") from None
    model.to(resolve_device(device)).eval()
    return model, meta


def update_meta(path: str | Path, **items: Any) -> CheckpointMeta:
    """Add or replace metadata items of a checkpoint in place (atomically), e.g. the validation threshold
    chosen after training; returns the new metadata."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    ckpt["meta"] = {**ckpt["meta"], **items}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(ckpt, tmp)
    return ckpt["meta"]
