"""Benchmark: does the quick profile (the paper's study, Experiments I-VIII) fit its CPU budget of 25 minutes
on 2 cores?

Two parts:

* **measured**: where the time of the last committed run went (``reports/<profile>/``): each notebook's papermill
  duration, and for each experiment its training seconds, steps, seconds a step, evaluation seconds and the rest
  of its notebook (kernel start, imports, figures), the total as a ratio of the budget;
* **projected**: on random tiles of the profile's size, the seconds of one training step (and of predicting one
  tile) of each of the profile's experiments, projected over its budget. A fixed reference workload (a float32
  matrix product, the baseline) is timed in the same run, so the step times are ratios of the baseline,
  comparable across machines. Random tiles with one box make lighter Mask R-CNN steps than real tiles.

    .venv/bin/python benchmarks/bench_quick_budget.py [--profile params/profiles/quick.yaml] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_limits import make_batch  # noqa: E402 - the sibling script (benchmarks/ is on sys.path)

from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.overrides import training_for
from landslide_utils.models import build_model, model_task, spec_for
from landslide_utils.paths import StudyPaths
from landslide_utils.training.loop import train_step

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


def measured(prof) -> None:  # noqa: ANN001 - a loaded profile
    """The notebook durations and per-experiment times of the profile's last committed run."""
    reports = StudyPaths.of(prof, ROOT).reports
    notebooks = sorted(reports.glob("0[0-9]_*.ipynb"))
    if not notebooks:
        print(f"measured: no executed notebook in {reports.relative_to(ROOT)} (run the study first)")
        return
    total = 0.0
    print(f"measured ({reports.relative_to(ROOT)}, papermill durations of the committed run):")
    for nb in notebooks:
        seconds = float(json.loads(nb.read_text(encoding="utf-8"))["metadata"]["papermill"]["duration"])
        total += seconds
        line = f"  {nb.stem:<34} {seconds:7.1f} s"
        metrics = reports / "metrics" / f"{nb.stem.removeprefix('04_run_experiment_')}.json"
        if nb.stem.startswith("04_") and metrics.is_file():
            m = json.loads(metrics.read_text(encoding="utf-8"))
            train, evals, steps = float(m["train_seconds"]), float(m["eval_seconds"]), int(m["steps"])
            line += (f"  = train {train:6.1f} s ({steps} steps, {train / max(steps, 1):.2f} s a step)"
                     f" + evaluate {evals:5.1f} s + notebook {seconds - train - evals:5.1f} s")
        print(line)
    print(f"  total {total:.0f} s = {total / 60:.1f} min = {total / BUDGET_S:.2f} x the 25-minute budget")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default=str(ROOT / "params/profiles/quick.yaml"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    prof = load_profile(args.profile)
    measured(prof)
    torch.set_num_threads(prof.training.num_threads or torch.get_num_threads())
    base = _baseline(args.repeats)
    print(f"projected: baseline (10 x 1024^2 float32 matmul): {base:.3f} s")
    size, bs = prof.tiling.tile_size, prof.training.batch_size
    n_test = 32  # quick: test area of 8 x 4 tiles
    total = 0.0
    names = list(prof.experiments or [p.stem for p in sorted((ROOT / "params/experiments").glob("*.yaml"))])
    for name in names:
        exp = load_experiment(next((ROOT / "params/experiments").rglob(f"{name}.yaml")))
        steps = training_for(prof, exp).steps
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
    print(f"projected training + evaluation of the {len(names)} experiments: {total:.0f} s = "
          f"{total / BUDGET_S:.2f} x the 25-minute budget")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
