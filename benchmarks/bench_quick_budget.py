"""Benchmark: does the quick profile fit its CPU budget (issue: all eight experiments in < 25 min, the whole
study in < 30 min on 2 cores)?

Measures, on random tiles of the quick profile's size, the seconds of one training step (and of predicting one
tile) for each model, projects the quick study's training + evaluation time from the profile's budgets, and
prints it as a ratio of the 25-minute budget. A fixed reference workload (a float32 matrix product, the
baseline) is timed in the same run, so the step times are also printed as ratios of the baseline, comparable
across machines.

    .venv/bin/python benchmarks/bench_quick_budget.py [--profile params/profiles/quick.yaml] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from landslide_utils.config import load_experiment, load_profile
from landslide_utils.models import build_model, model_task, spec_for
from landslide_utils.train import train_step

from bench_limits import make_batch  # noqa: E402 - the sibling script (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 25 * 60


def _baseline(repeats: int) -> float:
    a = torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(10):
            a @ a
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default=str(ROOT / "params/profiles/quick.yaml"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    prof = load_profile(args.profile)
    torch.set_num_threads(prof.training.num_threads or torch.get_num_threads())
    base = _baseline(args.repeats)
    print(f"baseline (10 x 1024^2 float32 matmul): {base:.3f} s")
    size, bs, steps = prof.tiling.tile_size, prof.training.batch_size, prof.training.steps
    n_test = 32  # quick: test area of 8 x 4 tiles
    total = 0.0
    for exp_path in sorted((ROOT / "params/experiments").glob("*.yaml")):
        exp = load_experiment(exp_path)
        ch = 6 if exp.channels == "rgb+factors" else 3
        task = model_task(exp.model)
        torch.manual_seed(0)
        model = build_model(exp.model, ch, spec=spec_for(prof, exp.model))
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
        xs, tg = make_batch(task, bs, ch, size)
        train_step(model, task, xs, tg, opt, 5.0, {})  # warm-up
        t_step = min(_timed(lambda: train_step(model, task, xs, tg, opt, 5.0, {})) for _ in range(args.repeats))
        model.eval()
        with torch.inference_mode():
            fwd = (lambda: model(xs[:1])) if task == "instance" else (lambda: model(torch.stack(xs[:1])))
            t_pred = min(_timed(fwd) for _ in range(args.repeats))
        proj = steps * t_step + n_test * t_pred
        total += proj
        print(f"{exp.name:>5} {exp.model:<8} {ch} ch: step {t_step:.3f} s ({t_step / base:.1f} x baseline), "
              f"predict {t_pred:.3f} s/tile, projected {proj:.0f} s")
    print(f"projected training + evaluation of the eight experiments: {total:.0f} s = "
          f"{total / BUDGET_S:.2f} x the 25-minute budget")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
