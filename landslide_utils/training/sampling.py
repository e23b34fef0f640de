"""Which samples each optimiser step trains on: the batch plan, a pure function of ``(seed, step)``.

``training.sampling: uniform`` (the default) draws every batch from epoch-wise shuffles of all samples, so each
sample is seen once per epoch (as the paper's epochs over its tiles). ``balanced`` draws a share of every batch
(``training.landslide_share``, rounded, at least one sample) from epoch-wise shuffles of the samples that hold a
landslide and the rest from the uniform stream: the usual remedy when landslides are rare, since a uniform batch
of a sparse inventory often holds no landslide pixel at all (docs/methods.md, "Balanced sampling"; the papers are
silent). A frozen-encoder first phase (``training.frozen_share``, Yang S. et al. 2022) may use another batch size;
each stream then continues where the previous phase left it.

Nothing here draws from the global random generators, so a resumed run gets the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landslide_utils.config.model_schema import TrainingSpec

__all__ = ["batch_plan", "phase_of", "landslide_slots", "step_samples"]


def _stream(seed: int, stream: int, first: int, count: int, n: int) -> list[int]:
    """``count`` positions from ``first`` of the stream of epoch-wise shuffles of ``range(n)``."""
    out = []
    for pos in range(first, first + count):
        epoch, k = divmod(pos, n)
        out.append(int(np.random.default_rng([seed, stream, epoch]).permutation(n)[k]))
    return out


def batch_plan(seed: int, step: int, n: int, batch: int, augment: bool, *,
               start: int | None = None) -> tuple[list[int], list[int]]:
    """Samples and augmentation codes of one uniform step: epoch-wise shuffles, a pure function of ``(seed, step)``.

    ``start`` is the position of the step's first sample in the stream of samples (default ``step * batch``;
    after a phase of another batch size, the samples that phase drew)."""
    first = step * batch if start is None else int(start)
    idx = _stream(seed, 0, first, batch, n)
    augs = np.random.default_rng([seed, 1, step]).integers(0, 8, batch) if augment else np.zeros(batch, int)
    return idx, [int(a) for a in augs]


def phase_of(training: TrainingSpec, step: int, n: int, total_steps: int) -> tuple[bool, float, int, int]:
    """``(frozen, learning rate, batch size, first sample position)`` of optimiser step ``step`` (0-based) when
    the first ``training.frozen_share`` of ``total_steps`` train with the encoder frozen (Yang S. et al. 2022:
    frozen backbone, lr 1e-4, batch 8; then all layers, lr 1e-5, batch 4). Batch sizes are capped at the ``n``
    samples. The learning rate is the phase's base rate, before the schedule (:mod:`.schedule`)."""
    fb = min(training.frozen_batch_size or training.batch_size, n)
    b = min(training.batch_size, n)
    k = int(round(training.frozen_share * total_steps))
    if step < k:
        return True, float(training.frozen_learning_rate or training.learning_rate), fb, step * fb
    return False, float(training.learning_rate), b, k * fb + (step - k) * b


def landslide_slots(batch: int, share: float) -> int:
    """Samples of a batch of ``batch`` drawn from the landslide samples under balanced sampling: ``share`` of
    the batch, rounded, at least one."""
    return min(batch, max(1, int(round(share * batch))))


def step_samples(training: TrainingSpec, *, seed: int, step: int, n: int, total_steps: int,
                 landslide: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """Sample indices and augmentation codes of optimiser step ``step`` under ``training.sampling``.

    Args:
        training: batch sizes, phases, ``sampling`` and ``landslide_share``.
        seed: the seed of the plan.
        step: the step (0-based).
        n: number of samples.
        total_steps: the budget (places the frozen phase).
        landslide: indices of the samples that hold a landslide (needed for ``balanced``).

    Raises:
        ValueError: balanced sampling without any landslide sample.
    """
    _, _, batch, first = phase_of(training, step, n, total_steps)
    if training.sampling == "uniform":
        return batch_plan(seed, step, n, batch, training.augment, start=first)
    if not landslide:
        raise ValueError("training.sampling: balanced needs training samples that hold a landslide; none of the "
                         "training tiles does (use sampling: uniform, or check the inventory)")
    frozen_steps = int(round(training.frozen_share * total_steps))
    before = [(min(step, frozen_steps), phase_of(training, 0, n, total_steps)[2]),
              (max(step - frozen_steps, 0), phase_of(training, total_steps - 1, n, total_steps)[2])]
    k = landslide_slots(batch, training.landslide_share)
    drawn_k = sum(s * landslide_slots(b, training.landslide_share) for s, b in before)
    drawn_rest = sum(s * b for s, b in before) - drawn_k
    picks = [int(landslide[i]) for i in _stream(seed, 2, drawn_k, k, len(landslide))]
    picks += _stream(seed, 0, drawn_rest, batch - k, n)
    augs = (np.random.default_rng([seed, 1, step]).integers(0, 8, batch) if training.augment
            else np.zeros(batch, int))
    return picks, [int(a) for a in augs]
