"""Training: the one training loop of the project, :func:`fit` (Yang et al. 2022, section 4.1; Tables 3/4/6/7).

What one experiment trains on and with which budget is :mod:`landslide_utils.training.experiment`.

Optimiser as in the paper's implementation (matterport Mask R-CNN) by default: SGD with momentum, constant
learning rate, weight decay and gradient-norm clipping; the budget is ``training.steps`` mini-batches of
``training.batch_size`` (the paper: 20 epochs x 1000 steps). The CPU profiles, training from random weights, may
choose AdamW (``training.optimizer``), a warm-up and a decaying schedule (``training.schedule``,
:mod:`landslide_utils.training.schedule`), balanced batches (``training.sampling``,
:mod:`landslide_utils.training.sampling`), evaluations on the validation tiles every ``training.eval_every`` steps
and the weights of the best one (``training.keep: best``, :mod:`landslide_utils.training.monitor`). ``training.weight_decay_scope: weights`` decays
only convolution and linear weights, as matterport does; ``all`` decays every parameter. Losses: the sum of
torchvision's Mask R-CNN losses (RPN objectness and box, classifier, box regression, mask); for U-Net/PSPNet the
loss named by ``training.loss`` (:mod:`landslide_utils.models.losses`) over *valid* pixels only.

Reproducible and resumable: the batch of step ``s`` (tiles and rot90/flip codes) is a function of
``(seed, s)`` alone, and the checkpoint (every ``checkpoint_every`` steps and at the end; layout in
:mod:`landslide_utils.training.checkpoint`) holds model, optimiser and RNG states, so an interrupted run continues to
the same weights on CPU. A finished checkpoint is reused unless ``force=True``. ``training.precision`` (``fp32``
by default; ``bf16`` or ``auto``, :mod:`landslide_utils.training.precision`) sets the forward pass's precision on any
device; GPU runs are not bit-exact.

Background enhancement and the budget (``enhance.budget``): ``fixed_steps`` keeps ``training.steps`` (BE samples
take looks away from the original tiles, as a fixed number of epochs over a larger set does);
``epoch_matched`` multiplies the steps by (originals + BE samples) / originals so that each original tile is
seen as often as without BE. Validation tiles (``training.validation_share``) are held out of the training
areas and never trained on (:mod:`landslide_utils.tiles.validation_split`). ``training.landslide_augmentation: chen2022`` adds
three augmented copies of each original landslide tile (:mod:`landslide_utils.training.imbalance`); an experiment with
``evaluation.cv_folds: k`` trains k fold models and saves their mean as its model (:mod:`landslide_utils.training.crossval`).
"""

from __future__ import annotations

import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.files.atomic import write_text
from landslide_utils.models.losses import segmentation_loss
from landslide_utils.models.registry import encoder_of
from landslide_utils.training.checkpoint import (
    CheckpointMeta,
    check_compatible,
    read_checkpoint,
    resolve_device,
    rng_state,
    save_checkpoint,
    set_rng_state,
    task_of,
)
from landslide_utils.training.datasets import TileDataset
from landslide_utils.training.distributed import SINGLE, DistContext, batch_problem, shard
from landslide_utils.training.monitor import ValidationLog, Validator, better
from landslide_utils.training.precision import autocast
from landslide_utils.training.sampling import phase_of, step_samples
from landslide_utils.training.schedule import lr_factor

__all__ = ["FitResult", "fit", "make_optimizer", "train_step"]


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` did: the steps reached, seconds spent training, last loss, and whether a finished
    checkpoint was reused instead of training."""

    steps: int
    train_seconds: float
    final_loss: float | None
    reused: bool


def make_optimizer(model: nn.Module, training: TrainingSpec) -> torch.optim.Optimizer:
    """SGD with momentum (or Adam or AdamW, ``training.optimizer``) and weight decay on every trainable parameter
    (``weight_decay_scope: all``) or on convolution and linear weights only (``weights``, as the matterport
    implementation of the paper). Adam's decay is L2 added to the gradient, as Keras' Adam; AdamW's is decoupled
    from it (Loshchilov & Hutter 2019)."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if training.weight_decay_scope == "all":
        groups: list[dict[str, Any]] = [{"params": [p for _, p in params]}]
    else:
        decayed = {id(m.weight) for m in model.modules()
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and m.weight is not None}
        groups = [{"params": [p for _, p in params if id(p) in decayed]},
                  {"params": [p for _, p in params if id(p) not in decayed], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    if training.optimizer == "adam":
        return torch.optim.Adam(groups, lr=training.learning_rate, weight_decay=training.weight_decay)
    if training.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=training.learning_rate, weight_decay=training.weight_decay)
    return torch.optim.SGD(groups, lr=training.learning_rate, momentum=training.momentum,
                           weight_decay=training.weight_decay)


def _loss(model: nn.Module, task: str, images: list[torch.Tensor], targets: list[dict[str, Any]],
          loss_options: dict[str, Any]) -> torch.Tensor:
    if task == "instance":
        tg = [{k: t[k] for k in ("boxes", "labels", "masks")} for t in targets]
        losses = model(images, tg)
        return sum(losses.values())  # type: ignore[return-value]
    logits = model(torch.stack(images))[:, 0].float()
    mask = torch.stack([t["mask"] for t in targets])
    valid = torch.stack([t["valid"] for t in targets])
    return segmentation_loss(logits, mask, valid, **loss_options)


def train_step(model: nn.Module, task: str, images: list[torch.Tensor], targets: list[dict[str, Any]],
               optimizer: torch.optim.Optimizer, grad_clip: float, loss_options: dict[str, Any],
               precision: str = "fp32", frozen: nn.Module | None = None) -> float:
    """One optimiser step; returns the loss. ``precision`` ``bf16`` (or ``auto`` where bf16 is native) runs the
    forward pass and the loss under bfloat16 autocast; weights, gradients and the update stay float32.
    ``frozen`` (a part of the model) keeps its weights and its batch-norm statistics: no gradient, eval mode."""
    model.train()
    if frozen is not None:
        frozen.eval()
    optimizer.zero_grad(set_to_none=True)
    dev = images[0].device
    with autocast(precision, dev):
        loss = _loss(model, task, images, targets, loss_options)
    loss = loss.float()
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"training loss became {loss.item()}; lower training.learning_rate or training.grad_clip"
        )
    loss.backward()
    params = [p for g in optimizer.param_groups for p in g["params"]]
    nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    return float(loss.item())


def _truncate_log(loss_csv: Path, step: int) -> None:
    if loss_csv.is_file():
        lines = loss_csv.read_text(encoding="utf-8").splitlines()
        kept = [lines[0]] + [ln for ln in lines[1:] if ln and int(ln.split(",")[0]) <= step]
        write_text(loss_csv, "\n".join(kept) + "\n")
    else:
        write_text(loss_csv, "step,loss,lr,seconds\n")


def fit(
    model: nn.Module,
    dataset: TileDataset,
    *,
    training: TrainingSpec,
    seed: int,
    checkpoint: str | Path,
    meta: CheckpointMeta,
    steps: int | None = None,
    loss_log: str | Path | None = None,
    loss_options: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
    resume: bool = True,
    progress: bool = True,
    label: str = "train",
    dist: DistContext = SINGLE,
    validate: Validator | None = None,
    validation_log: str | Path | None = None,
) -> FitResult:
    """Train ``model`` on ``dataset`` for ``steps`` (default ``training.steps``) optimiser steps, resumably.

    The one training loop of the project: step 04 (:func:`train_experiment`) and the multi-temporal
    fine-tuning call it. The caller builds the model (and seeds the global RNGs before building it, as
    weight initialisation draws from them); ``fit`` does not reseed, so a run is a function of the caller's
    seed and ``seed`` (which fixes the batches and augmentations of every step).

    Args:
        model: the model (moved to ``device``; on return it holds the trained weights).
        dataset: samples (:class:`~landslide_utils.training.datasets.TileDataset`, target kind = the model's task).
        training: optimiser, batch size, clipping, checkpoint interval, augmentation, threads.
        seed: seed of the batch plan.
        checkpoint: checkpoint file; an unfinished one with compatible ``meta`` is resumed (``resume=True``),
            a finished one is reused (its weights are loaded into ``model``).
        meta: checkpoint metadata (:mod:`landslide_utils.training.checkpoint`); compared with an existing checkpoint's.
        steps: the budget (default ``training.steps``).
        loss_log: CSV of ``step,loss,lr,seconds`` (truncated to the resumed step).
        loss_options: keyword arguments of :func:`landslide_utils.models.losses.segmentation_loss` (semantic models).
        device: ``cpu``, ``cuda`` or ``auto`` (the forward pass's precision is ``training.precision``).
        resume: continue an unfinished checkpoint (``False`` starts over and deletes it).
        progress: show a tqdm bar.
        label: name on the progress bar and the per-epoch lines.
        dist: this process's place in a data-parallel run (:mod:`landslide_utils.training.distributed`; started by
            ``torchrun``): the model trains wrapped in ``DistributedDataParallel``, each process on its share of
            every step's global batch; only rank 0 writes the checkpoint (with every rank's random state) and
            the loss log, which holds the mean loss over the processes.
        validate: measures the model on the validation tiles every ``training.eval_every`` steps and at the last
            (:mod:`landslide_utils.training.monitor`; needed when ``eval_every`` > 0); under ``training.keep: best``
            the weights of the evaluation with the best validation AP are the result.
        validation_log: CSV of the evaluations (default: ``validation.csv`` beside ``loss_log``).

    Raises:
        ValueError: the existing checkpoint was made with other settings, or has more steps than asked; a
            global batch that does not split evenly over the processes.
        FloatingPointError: the loss became NaN/inf (lower the learning rate).
    """
    if training.eval_every and validate is None:
        raise ValueError(f"{label}: training.eval_every is {training.eval_every} but no validator was given (step 04 "
                         "passes landslide_utils.evaluation.validation_curve.validation_curve); set eval_every: 0")
    ckpt_path = Path(checkpoint)
    log_path = Path(loss_log) if loss_log is not None else None
    total_steps = int(steps if steps is not None else training.steps)
    dev = resolve_device(device)
    ckpt, reused = _resume_point(ckpt_path, model=model, meta=meta, total_steps=total_steps, resume=resume,
                                 device=dev, dist=dist)
    if reused is not None:
        return reused
    _check_batches(training, n=len(dataset), total_steps=total_steps, dist=dist)
    prev_threads = torch.get_num_threads()
    if training.num_threads:
        torch.set_num_threads(training.num_threads)
    try:
        model.to(dev)
        optimizer = make_optimizer(model, training)
        encoder = encoder_of(model) if training.frozen_share else None
        if training.frozen_share and encoder is None:
            raise ValueError(f"training.frozen_share: model {meta.get('model')!r} has no encoder to freeze (Gao et "
                             "al.'s architectures train from scratch); set frozen_share to 0")
        start, seconds, final_loss = _restore(ckpt, model=model, optimizer=optimizer, dist=dist, log_path=log_path)
        run = _Loop(model=model, optimizer=optimizer, encoder=encoder, training=training, task=task_of(meta),
                    loss_options=dict(loss_options or {}), device=dev, dist=dist, label=label,
                    total_steps=total_steps, n_samples=len(dataset), checkpoint=ckpt_path,
                    meta={**meta, "device": str(dev)}, seconds=seconds, final_loss=final_loss,
                    validate=validate if training.eval_every else None,
                    best=dict(ckpt["best"]) if ckpt is not None and ckpt.get("best") else None)
        where = (Path(validation_log) if validation_log is not None else
                 (log_path.parent if log_path is not None else ckpt_path.parent) / "validation.csv")
        if run.validate is not None and dist.main:
            run.vlog = ValidationLog(where, resumed_at=start if ckpt is not None else None)
        elif ckpt is None and dist.main:
            where.unlink(missing_ok=True)  # no curve of an earlier run stays beside a fresh one
        bar = tqdm(total=total_steps, initial=start, desc=label, unit="step", disable=not (progress and dist.main),
                   dynamic_ncols=True)
        log = open(log_path, "a", encoding="utf-8") if log_path is not None and dist.main else None
        loader = _StepLoader(dataset, training, seed=seed, total_steps=total_steps, dist=dist,
                             pin=dev.type == "cuda" and training.loader_workers > 0)
        try:
            for step in range(start, total_steps):
                run.train(step, loader, log=log, bar=bar)
        finally:
            loader.close()
            if log is not None:
                log.close()
            bar.close()
            if encoder is not None:
                encoder.requires_grad_(True)
    finally:
        torch.set_num_threads(prev_threads)
    return FitResult(total_steps, run.seconds, run.final_loss, reused=False)


#: how to retrain when a checkpoint cannot serve the budget asked for, from the command line and from Python
_RETRAIN = ("to retrain from scratch, delete this checkpoint file and run the step again (from Python: "
            "train_experiment(..., force=True))")


def _resume_point(ckpt_path: Path, *, model: nn.Module, meta: CheckpointMeta, total_steps: int, resume: bool,
                  device: torch.device, dist: DistContext) -> tuple[dict[str, Any] | None, FitResult | None]:
    """The checkpoint to continue from (None: start over), or the result of a finished one whose weights are
    loaded into ``model`` (nothing to train). An earlier checkpoint is removed when starting over, so that no
    older checkpoint stays behind a fresh loss log."""
    ckpt: dict[str, Any] | None = None
    if ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path)
        check_compatible(ckpt_path, ckpt["meta"], meta)
        if ckpt["step"] > total_steps:
            raise ValueError(f"{ckpt_path}: checkpoint has {ckpt['step']} steps, more than the budget of "
                             f"{total_steps}; {_RETRAIN}")
        if _budget_shapes_run(meta) and int(ckpt["steps"]) != total_steps:
            raise ValueError(f"{ckpt_path}: checkpoint was trained for a budget of {ckpt['steps']} steps; under "
                             "training.schedule cosine/onecycle, keep: best or frozen_share the budget shapes every "
                             f"step, so it cannot continue to {total_steps}; {_RETRAIN}")
        if ckpt["step"] == total_steps:
            model.load_state_dict(ckpt["model_state"])
            model.to(device)
            return None, FitResult(int(ckpt["step"]), float(ckpt["train_seconds"]), ckpt.get("final_loss"),
                                   reused=True)
        if not resume:
            ckpt = None
    dist.barrier()  # every process has read the checkpoint before rank 0 may remove it
    if ckpt is None and ckpt_path.is_file() and dist.main:
        ckpt_path.unlink()
    return ckpt, None


def _budget_shapes_run(meta: CheckpointMeta) -> bool:
    """Whether the budget changes the steps before it (a decaying schedule, the choice of the best weights, a frozen
    first phase whose length is a share of the budget), so that a checkpoint cannot be continued to a longer
    budget."""
    training = meta.get("training") or {}
    return (training.get("schedule", "constant") != "constant" or training.get("keep", "last") == "best"
            or float(training.get("frozen_share") or 0.0) > 0)


def _check_batches(training: TrainingSpec, *, n: int, total_steps: int, dist: DistContext) -> None:
    """Every phase's global batch must split evenly over the processes: checked before the first step."""
    for frozen, _, b, _ in {phase_of(training, s, n, total_steps) for s in (0, total_steps - 1)}:
        problem = batch_problem(b, dist.world, what="training.frozen_batch_size" if frozen else "training.batch_size")
        if problem:
            raise ValueError(problem)


def _restore(ckpt: dict[str, Any] | None, *, model: nn.Module, optimizer: torch.optim.Optimizer, dist: DistContext,
             log_path: Path | None) -> tuple[int, float, float | None]:
    """Model, optimiser and random states of the checkpoint to continue (the loss log cut to its step), or a new
    loss log; returns the first step, the seconds trained so far and the last loss."""
    if ckpt is None:
        if log_path is not None and dist.main:
            write_text(log_path, "step,loss,lr,seconds\n")
        return 0, 0.0, None
    model.load_state_dict(ckpt["model_state"])
    optimizer.load_state_dict(ckpt["optimizer_state"])
    ranks = ckpt.get("rng_ranks") or []
    set_rng_state(ranks[dist.rank] if len(ranks) == dist.world else ckpt["rng"])
    start = int(ckpt["step"])
    if log_path is not None and dist.main:
        _truncate_log(log_path, start)
    return start, float(ckpt["train_seconds"]), ckpt.get("final_loss")


@dataclass
class _Loop:
    """The training loop's state from one step to the next: the (DDP-wrapped) network of the current phase, the
    seconds trained, the last loss and this epoch's losses."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    encoder: nn.Module | None
    training: TrainingSpec
    task: str
    loss_options: dict[str, Any]
    device: torch.device
    dist: DistContext
    label: str
    total_steps: int
    n_samples: int
    checkpoint: Path
    meta: CheckpointMeta
    seconds: float
    final_loss: float | None
    validate: Validator | None = None
    best: dict[str, Any] | None = None
    vlog: ValidationLog | None = None
    net: nn.Module | None = None
    frozen_now: bool | None = None
    window: list[float] = field(default_factory=list)

    def train(self, step: int, loader: _StepLoader, *, log: Any, bar: Any) -> None:
        """One optimiser step on this process's samples of ``step``, then its log line, epoch line and checkpoint."""
        t0 = time.perf_counter()
        frozen, base_lr, _, _ = phase_of(self.training, step, self.n_samples, self.total_steps)
        lr = base_lr * lr_factor(self.training.schedule, step=step, total_steps=self.total_steps,
                                 warmup_steps=self.training.warmup_steps)
        if self.net is None:
            self.net = self.model
        if self.encoder is not None and frozen != self.frozen_now:
            self.encoder.requires_grad_(not frozen)
            self.frozen_now = frozen
            self.net = self.model  # a new phase trains other parameters: DDP is wrapped again below
        if self.dist.active and self.net is self.model:
            self.net = _ddp(self.model, self.dist, unused=self.task == "instance")
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        samples = loader.get(step)
        dev = self.device
        images = [x.to(dev, non_blocking=True) for x, _ in samples]
        targets = [{k: (v.to(dev, non_blocking=True) if torch.is_tensor(v) else v) for k, v in t.items()}
                   for _, t in samples]
        loss = train_step(self.net, self.task, images, targets, self.optimizer, self.training.grad_clip,
                          self.loss_options, self.training.precision, frozen=self.encoder if frozen else None)
        loss = self.dist.mean(loss)
        self.seconds += time.perf_counter() - t0
        self.final_loss = loss
        self.window.append(loss)
        if log is not None:
            log.write(f"{step + 1},{loss:.6g},{lr:.6g},{self.seconds:.3f}\n")
            log.flush()
        bar.update(1)
        bar.set_postfix(loss=f"{np.nanmean(self.window[-20:]):.4f}", refresh=False)
        if self.validate is not None and ((step + 1) % self.training.eval_every == 0 or step + 1 == self.total_steps):
            self._evaluate(step + 1, bar)
        self._epoch_and_checkpoint(step, bar)

    def _evaluate(self, step: int, bar: Any) -> None:
        """Measure the model on the validation tiles (generators forked, no gradient: training goes on as without
        it), log the line and keep the weights if they are the best so far (``training.keep: best``)."""
        assert self.validate is not None
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            np_state, py_state = np.random.get_state(), random.getstate()
            values = self.validate(self.model)  # every process holds the same weights: the same values
            np.random.set_state(np_state)
            random.setstate(py_state)
        if self.vlog is not None:
            self.vlog.write(step, self.seconds, values)
        ap = float(values.get("val_ap", float("nan")))
        bar.write(f"{self.label}: step {step}, validation AP {ap:.3f}, F1 {values.get('val_f1', float('nan')):.3f}, "
                  f"loss {values.get('val_loss', float('nan')):.4f}")
        if self.training.keep == "best" and better(ap, self.best["val_ap"] if self.best else None):
            self.best = {"state": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
                         "step": step, "val_ap": ap}

    def _epoch_and_checkpoint(self, step: int, bar: Any) -> None:
        done = step + 1 == self.total_steps
        epoch_steps = max(1, math.ceil(self.n_samples / min(self.training.batch_size, self.n_samples)))
        if ((step + 1) % epoch_steps == 0 or done) and self.dist.main:  # one line per epoch
            bar.write(f"{self.label}: epoch {math.ceil((step + 1) / epoch_steps)}, step {step + 1}/{self.total_steps}, "
                      f"loss {float(np.nanmean(self.window)):.4f}, {self.seconds:.0f} s")
            self.window = []
        if (step + 1) % self.training.checkpoint_every == 0 or done:
            ranks = self.dist.gather(rng_state()) if self.dist.active else None
            if done and self.best is not None:  # keep: best -- the best evaluation's weights are the result
                self.model.load_state_dict(self.best["state"])
                self.meta = {**self.meta, "kept": {"rule": "best validation AP", "step": self.best["step"],
                                                   "val_ap": self.best["val_ap"]}}
            if self.dist.main:
                save_checkpoint(self.checkpoint, meta=self.meta, model=self.model, optimizer=self.optimizer,
                                scaler=None, step=step + 1, steps=self.total_steps, train_seconds=self.seconds,
                                final_loss=self.final_loss, rng_ranks=ranks,
                                best=None if done else self.best)
            self.dist.barrier()  # the checkpoint exists for every process before any goes on


class _StepLoader:
    """This process's samples of each step (its share of the batch plan), read ahead by
    ``training.loader_workers`` threads (none: read when asked), pinned when read ahead for a CUDA device (the
    copy then overlaps the computation). Which samples a step
    gets never depends on the workers, so neither do the results."""

    def __init__(self, dataset: TileDataset, training: TrainingSpec, *, seed: int, total_steps: int,
                 dist: DistContext, pin: bool) -> None:
        self.dataset, self.training, self.seed, self.total, self.dist = dataset, training, seed, total_steps, dist
        self.pin = pin
        self.landslide = ([i for i in range(len(dataset)) if dataset.holds_landslide(i)]
                          if training.sampling == "balanced" else None)
        self.pool = None
        self.ahead: dict[int, Any] = {}
        if training.loader_workers:

            self.pool = ThreadPoolExecutor(max_workers=training.loader_workers, thread_name_prefix="tiles")

    def _read(self, step: int) -> list[tuple[torch.Tensor, dict[str, Any]]]:
        idx, augs = step_samples(self.training, seed=self.seed, step=step, n=len(self.dataset), total_steps=self.total,
                                 landslide=self.landslide)
        samples = [self.dataset.load(i, a) for i, a in shard(list(zip(idx, augs)), self.dist)]
        if self.pin:
            samples = [(x.pin_memory(), {k: (v.pin_memory() if torch.is_tensor(v) else v) for k, v in t.items()})
                       for x, t in samples]
        return samples

    def get(self, step: int) -> list[tuple[torch.Tensor, dict[str, Any]]]:
        if self.pool is None:
            return self._read(step)
        for s in range(step, min(step + 1 + self.training.loader_workers, self.total)):
            if s not in self.ahead:
                self.ahead[s] = self.pool.submit(self._read, s)
        return self.ahead.pop(step).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _ddp(model: nn.Module, dist: DistContext, *, unused: bool) -> nn.Module:
    """``model`` wrapped for data-parallel training over the processes of ``dist``; ``unused``: some parameters
    may get no gradient in a step (Mask R-CNN's heads on a tile without landslides). A frozen encoder needs no
    such allowance: the wrapper is built again per phase, over the parameters that then train."""

    dev = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None,
                                   find_unused_parameters=unused)


