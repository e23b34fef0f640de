"""Training of one experiment (Yang et al. 2022, Tables 3/4/6/7): model x channels x training data.

Optimiser as in the paper's implementation (matterport Mask R-CNN): SGD with momentum, constant learning rate,
weight decay and gradient-norm clipping; the budget is ``training.steps`` mini-batches of
``training.batch_size`` (the paper: 20 epochs x 1000 steps). Losses: the sum of torchvision's Mask R-CNN losses
(RPN objectness and box, classifier, box regression, mask); for U-Net/PSPNet binary cross-entropy on the
landslide logit averaged over *valid* pixels only (padding never counts).

Reproducible and resumable: the batch of step ``s`` (tiles and rot90/flip codes) is a function of
``(seed, s)`` alone, and ``checkpoint.pt`` (every ``checkpoint_every`` steps and at the end) holds model,
optimiser and RNG states, so an interrupted run continues to the same weights on CPU. A finished checkpoint is
reused unless ``force=True``. The checkpoint carries everything prediction needs: model name and spec,
channel set and the per-channel statistics of the original training tiles. On CUDA, training uses mixed
precision (``torch.autocast`` + ``GradScaler``); GPU runs are not bit-exact (DESIGN.md, "Determinism").
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .config import CHANNEL_SETS, Experiment, MaskRCNNSpec, Profile, SegmentationSpec, TrainingSpec, training_for
from .datasets import TileDataset, channel_stats
from .io import atomic_path, write_text
from .models import build_model, model_task, spec_for
from .paths import StudyPaths

__all__ = ["TrainResult", "resolve_device", "read_tile_index", "training_tiles", "train_experiment",
           "load_checkpoint", "checkpoint_path"]

_FORMAT = 1
# training keys that may change without invalidating a checkpoint (steps: a longer budget continues training)
_FREE_KEYS = {"steps", "checkpoint_every", "num_threads"}


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


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is available; set device: auto or cpu")
    return torch.device(device)


def checkpoint_path(profile: Profile, experiment: Experiment, *, root: Path = Path(".")) -> Path:
    """``data/<profile>/experiments/<EXP>/checkpoint.pt``."""
    return StudyPaths(profile.name, Path(root)).experiment(experiment.name) / "checkpoint.pt"


def read_tile_index(paths: StudyPaths) -> Any:
    """The tile index (GeoDataFrame) of a study; a clear error when step 01 has not run."""
    from .tiling import read_index

    return read_index(paths.tile_index)


def training_tiles(
    profile: Profile, experiment: Experiment, *, root: Path = Path(".")
) -> tuple[list[Path], list[Path]]:
    """(original training tiles, BE samples) of an experiment; BE samples only for ``original+be``."""
    paths = StudyPaths(profile.name, Path(root))
    index = read_tile_index(paths)
    train = index[index["split"] == "train"]
    if len(train) == 0:
        raise ValueError(f"{paths.tile_index}: no tile with split == 'train'; check the areas of the profile")
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


def _batch_plan(seed: int, step: int, n: int, batch: int, augment: bool) -> tuple[list[int], list[int]]:
    """Tiles and augmentation codes of one step: epoch-wise shuffles, a pure function of (seed, step)."""
    idx = []
    for pos in range(step * batch, (step + 1) * batch):
        epoch, k = divmod(pos, n)
        idx.append(int(np.random.default_rng([seed, 0, epoch]).permutation(n)[k]))
    augs = np.random.default_rng([seed, 1, step]).integers(0, 8, batch) if augment else np.zeros(batch, int)
    return idx, [int(a) for a in augs]


def _loss(model: nn.Module, task: str, images: list[torch.Tensor], targets: list[dict[str, Any]]) -> torch.Tensor:
    if task == "instance":
        tg = [{k: t[k] for k in ("boxes", "labels", "masks")} for t in targets]
        losses = model(images, tg)
        return sum(losses.values())  # type: ignore[return-value]
    logits = model(torch.stack(images))[:, 0].float()
    mask = torch.stack([t["mask"] for t in targets])
    valid = torch.stack([t["valid"] for t in targets]).float()
    bce = F.binary_cross_entropy_with_logits(logits, mask, reduction="none")
    return (bce * valid).sum() / valid.sum().clamp(min=1.0)


def _train_step(
    model: nn.Module,
    task: str,
    images: list[torch.Tensor],
    targets: list[dict[str, Any]],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float,
) -> float:
    """One optimiser step; returns the loss (NaN for a step skipped by the mixed-precision scaler)."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    dev = images[0].device
    with torch.autocast(device_type=dev.type, dtype=torch.float16, enabled=scaler is not None):
        loss = _loss(model, task, images, targets)
    params = [p for p in model.parameters() if p.requires_grad]
    if scaler is None:
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()}; lower training.learning_rate or training.grad_clip"
            )
        loss.backward()
        nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        return float(loss.item())
    if not torch.isfinite(loss):
        scaler.update(scaler.get_scale() / 2.0)
        return float("nan")
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    nn.utils.clip_grad_norm_(params, grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return float(loss.item())


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
    random.setstate(_tuplify(state["python"]))


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def _meta(profile: Profile, experiment: Experiment, spec: Any, training: TrainingSpec, mean: np.ndarray,
          std: np.ndarray, n_orig: int, n_be: int) -> dict[str, Any]:
    return {
        "experiment": experiment.name,
        "profile": profile.name,
        "model": experiment.model,
        "task": model_task(experiment.model),
        "spec": spec.model_dump(mode="json"),
        "channels": experiment.channels,
        "channel_names": list(CHANNEL_SETS[experiment.channels]),
        "in_channels": len(CHANNEL_SETS[experiment.channels]),
        "num_classes": 2,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "training_data": experiment.training_data,
        "training": training.model_dump(mode="json"),
        "seed": profile.seed,
        "tile_size": profile.tiling.tile_size,
        "n_train_tiles": n_orig,
        "n_be_samples": n_be,
    }


def _check_compatible(path: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in ("model", "channels", "training_data", "spec", "seed", "mean", "std", "n_train_tiles", "n_be_samples"):
        if old.get(key) != new.get(key):
            raise ValueError(
                f"{path}: checkpoint was made with other settings ({key}: {old.get(key)!r} -> {new.get(key)!r}); "
                "pass force=True to retrain (or delete the experiment folder)"
            )
    for key, val in new["training"].items():
        if key not in _FREE_KEYS and old["training"].get(key) != val:
            raise ValueError(
                f"{path}: checkpoint was trained with training.{key}={old['training'].get(key)!r}, now {val!r}; "
                "pass force=True to retrain (or delete the experiment folder)"
            )


def _rebuild(meta: dict[str, Any]) -> nn.Module:
    cls = MaskRCNNSpec if meta["model"] == "maskrcnn" else SegmentationSpec
    spec = cls.model_validate_json(json.dumps(meta["spec"]))
    return build_model(meta["model"], int(meta["in_channels"]), spec=spec,
                       num_classes=int(meta["num_classes"]), load_weights=False)


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model of a checkpoint (eval mode, on ``device``) and return it with its metadata.

    ``meta`` holds experiment, model, spec, channels, in_channels, mean, std, training, seed, step, steps,
    finished, train_seconds, device.

    Raises:
        FileNotFoundError: no checkpoint (run the experiment first).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: checkpoint not found; run the experiment first (train_experiment or "
            "notebooks/04_run_experiment.ipynb)"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    meta = dict(ckpt["meta"])
    meta.update(step=ckpt["step"], steps=ckpt["steps"], finished=ckpt["finished"],
                train_seconds=ckpt["train_seconds"])
    model = _rebuild(meta)
    model.load_state_dict(ckpt["model_state"])
    model.to(torch.device(device)).eval()
    return model, meta


def _save(path: Path, obj: dict[str, Any]) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def _truncate_log(loss_csv: Path, step: int) -> None:
    if loss_csv.is_file():
        lines = loss_csv.read_text(encoding="utf-8").splitlines()
        kept = [lines[0]] + [ln for ln in lines[1:] if ln and int(ln.split(",")[0]) <= step]
        write_text(loss_csv, "\n".join(kept) + "\n")
    else:
        write_text(loss_csv, "step,loss,lr,seconds\n")


def train_experiment(
    profile: Profile,
    experiment: Experiment,
    *,
    root: Path = Path("."),
    resume: bool = True,
    force: bool = False,
    device: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume, or reuse) the model of one experiment; see the module docstring.

    Args:
        profile, experiment: loaded parameter files.
        root: project root holding ``data/<profile>``.
        resume: continue an unfinished checkpoint (``False`` starts over).
        force: retrain even when a finished checkpoint exists.
        device: overrides ``profile.device`` (``auto``, ``cpu``, ``cuda``).
        progress: show a tqdm bar.

    Writes ``data/<p>/experiments/<EXP>/checkpoint.pt`` and ``loss.csv`` (step, loss, lr, seconds).
    """
    paths = StudyPaths(profile.name, Path(root))
    out = paths.experiment(experiment.name)
    ckpt_path, loss_csv = out / "checkpoint.pt", out / "loss.csv"
    training = training_for(profile, experiment)
    dev = resolve_device(device or profile.device)
    task = model_task(experiment.model)
    spec = spec_for(profile, experiment.model)

    originals, be = training_tiles(profile, experiment, root=Path(root))
    mean, std = channel_stats(originals, experiment.channels)
    meta = _meta(profile, experiment, spec, training, mean, std, len(originals), len(be))

    ckpt: dict[str, Any] | None = None
    if ckpt_path.is_file() and not force:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        _check_compatible(ckpt_path, ckpt["meta"], meta)
        if ckpt["step"] > training.steps:
            raise ValueError(f"{ckpt_path}: checkpoint has {ckpt['step']} steps, more than training.steps="
                             f"{training.steps}; pass force=True to retrain")
        if ckpt["step"] == training.steps:
            return TrainResult(experiment.name, experiment.model, ckpt_path, loss_csv, ckpt["step"],
                               float(ckpt["train_seconds"]), ckpt.get("final_loss"), ckpt["meta"].get("device", ""),
                               reused=True)
        if not resume:
            ckpt = None
    if ckpt is None and ckpt_path.is_file():
        ckpt_path.unlink()  # starting over: never leave an older checkpoint behind a fresh loss log

    prev_threads = torch.get_num_threads()
    if training.num_threads:
        torch.set_num_threads(training.num_threads)
    try:
        random.seed(profile.seed)
        np.random.seed(profile.seed)
        torch.manual_seed(profile.seed)
        model = build_model(experiment.model, meta["in_channels"], spec=spec, load_weights=ckpt is None)
        model.to(dev)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=training.learning_rate, momentum=training.momentum,
                                    weight_decay=training.weight_decay)
        scaler = torch.amp.GradScaler("cuda") if dev.type == "cuda" else None
        start, seconds, final_loss = 0, 0.0, None
        if ckpt is not None:
            model.load_state_dict(ckpt["model_state"])
            optimizer.load_state_dict(ckpt["optimizer_state"])
            if scaler is not None and ckpt.get("scaler_state"):
                scaler.load_state_dict(ckpt["scaler_state"])
            _set_rng_state(ckpt["rng"])
            start, seconds = int(ckpt["step"]), float(ckpt["train_seconds"])
            _truncate_log(loss_csv, start)
        else:
            write_text(loss_csv, "step,loss,lr,seconds\n")
        meta["device"] = str(dev)

        total = len(originals) + len(be)
        cache = total * profile.tiling.tile_size**2 * (meta["in_channels"] + 2) * 4 < 2**31
        ds = TileDataset([*originals, *be], channels=experiment.channels, mean=mean, std=std, target=task,
                         cache=cache)
        bar = tqdm(total=training.steps, initial=start, desc=f"train {experiment.name} ({experiment.model})",
                   unit="step", disable=not progress, dynamic_ncols=True)
        window: list[float] = []
        epoch_steps = max(1, math.ceil(len(ds) / training.batch_size))
        with open(loss_csv, "a", encoding="utf-8") as log:
            for step in range(start, training.steps):
                t0 = time.perf_counter()
                idx, augs = _batch_plan(profile.seed, step, len(ds), training.batch_size, training.augment)
                samples = [ds.load(i, a) for i, a in zip(idx, augs)]
                images = [x.to(dev) for x, _ in samples]
                targets = [{k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in t.items()} for _, t in samples]
                loss = _train_step(model, task, images, targets, optimizer, scaler, training.grad_clip)
                seconds += time.perf_counter() - t0
                final_loss = loss
                window.append(loss)
                log.write(f"{step + 1},{loss:.6g},{training.learning_rate:.6g},{seconds:.3f}\n")
                log.flush()
                bar.update(1)
                bar.set_postfix(loss=f"{np.nanmean(window[-20:]):.4f}", refresh=False)
                done = step + 1 == training.steps
                if (step + 1) % epoch_steps == 0 or done:  # one line per epoch (DESIGN.md)
                    bar.write(f"{experiment.name}: epoch {math.ceil((step + 1) / epoch_steps)}, step "
                              f"{step + 1}/{training.steps}, loss {float(np.nanmean(window)):.4f}, {seconds:.0f} s")
                    window = []
                if (step + 1) % training.checkpoint_every == 0 or done:
                    _save(ckpt_path, {
                        "format": _FORMAT, "meta": meta, "model_state": model.state_dict(),
                        "optimizer_state": optimizer.state_dict(),
                        "scaler_state": scaler.state_dict() if scaler is not None else None,
                        "step": step + 1, "steps": training.steps, "finished": done,
                        "train_seconds": seconds, "final_loss": final_loss, "rng": _rng_state(),
                    })
        bar.close()
    finally:
        torch.set_num_threads(prev_threads)
    return TrainResult(experiment.name, experiment.model, ckpt_path, loss_csv, training.steps, seconds,
                       final_loss, str(dev), reused=False)
