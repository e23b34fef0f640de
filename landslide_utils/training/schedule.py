"""Learning-rate schedules: the learning rate of each optimiser step as a pure function of the step.

Yang et al. (2022) train with the constant learning rate of the matterport implementation; the papers are silent
on schedules for training from random weights on a CPU budget, where a warm-up and a decay to zero are the usual
remedies (docs/methods.md, "Training schedule"). Because the rate of step ``s`` depends on ``s`` alone, a run
resumed from a checkpoint continues with exactly the rates it would have used.

* ``constant``: the learning rate, after an optional linear warm-up of ``warmup_steps`` (Goyal et al. 2017);
* ``cosine``: warm-up, then half a cosine from the learning rate to 0 over the remaining steps (SGDR without
  restarts, Loshchilov & Hutter 2017);
* ``onecycle``: a cosine rise from lr/25 to lr over ``warmup_steps`` (default 30 % of the steps), then a cosine
  fall to lr/(25 * 10^4) (Smith & Topin 2019, as ``torch.optim.lr_scheduler.OneCycleLR`` without momentum cycling).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "lr_factor", "ONECYCLE_START", "ONECYCLE_END", "ONECYCLE_RISE"]

#: the schedules ``training.schedule`` may name
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "onecycle")
#: onecycle: first rate = lr / 25 (OneCycleLR's div_factor)
ONECYCLE_START = 1 / 25
#: onecycle: last rate = lr / (25 * 10^4) (OneCycleLR's final_div_factor)
ONECYCLE_END = 1 / 25e4
#: onecycle: share of the steps that rise when ``warmup_steps`` is 0 (OneCycleLR's pct_start)
ONECYCLE_RISE = 0.3


def _cos(t: float, start: float, end: float) -> float:
    """Half a cosine from ``start`` (t = 0) to ``end`` (t = 1)."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


def lr_factor(schedule: str, *, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """The factor the learning rate is multiplied by at optimiser step ``step`` (0-based) of ``total_steps``.

    Args:
        schedule: ``constant``, ``cosine`` or ``onecycle``.
        step: the step, 0 <= step < total_steps.
        total_steps: the budget.
        warmup_steps: linear warm-up steps (constant, cosine: the factor of step s < w is (s + 1) / (w + 1));
            for onecycle the rising steps (0: 30 % of the budget).

    Raises:
        ValueError: an unknown schedule or a step outside the budget.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"training.schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}")
    if not 0 <= step < total_steps:
        raise ValueError(f"step {step} outside the budget of {total_steps} steps")
    if schedule == "onecycle":
        rise = warmup_steps or max(1, round(ONECYCLE_RISE * total_steps))
        rise = min(rise, total_steps - 1) if total_steps > 1 else 1
        if step < rise:
            return _cos(step / rise, ONECYCLE_START, 1.0)
        return _cos((step - rise) / max(total_steps - 1 - rise, 1), 1.0, ONECYCLE_END)
    warm = min(warmup_steps, total_steps - 1)
    if step < warm:
        return (step + 1) / (warm + 1)
    if schedule == "constant":
        return 1.0
    return _cos((step - warm) / max(total_steps - warm, 1), 1.0, 0.0)
