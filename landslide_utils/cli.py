"""Command line: ``python -m landslide_utils {run,sweep,synth,check}``.

* ``run --profile P.yaml [--steps 01,02] [--experiments I,IV] [--force]``: execute the study's notebooks.
* ``sweep --sweep S.yaml [--workers N] [--scheduler tcp://HOST:PORT] [--force]``: notebook 04 over a grid of
  settings (``params/sweeps/*.yaml``), locally in parallel or on a dask.distributed cluster.
* ``synth --profile P.yaml --out DIR``: write the synthetic study area of a profile (six GeoTIFF/vector files).
* ``check --profile P.yaml [--experiment E.yaml ...]``: validate parameter files and exit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, load_experiment, load_profile

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m landslide_utils", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the numbered notebooks with papermill into reports/<profile>/")
    run.add_argument("--profile", required=True, type=Path, help="a profile, e.g. params/profiles/quick.yaml")
    run.add_argument("--steps", help="comma-separated step numbers (default: all), e.g. 01,02")
    run.add_argument("--experiments", help="experiments for step 04 (default: all), e.g. I,IV")
    run.add_argument("--force", action="store_true", help="rerun steps even when nothing changed")
    run.add_argument("--root", type=Path, default=None, help="project root (default: found from the cwd)")
    run.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export of executed notebooks")

    swp = sub.add_parser("sweep", help="train experiments over a grid of settings (params/sweeps/*.yaml) into "
                                       "reports/<profile>/sweeps/<name>/")
    swp.add_argument("--sweep", required=True, type=Path, help="a sweep file, e.g. params/sweeps/smoke.yaml")
    swp.add_argument("--workers", type=int, default=None,
                     help="local worker processes (default: the sweep's 'workers', else 1); each run gets "
                          "cores // workers torch threads")
    swp.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                     help="run every point on this dask.distributed scheduler instead of local processes")
    swp.add_argument("--force", action="store_true", help="rerun runs and shared steps even when nothing changed")
    swp.add_argument("--root", type=Path, default=None, help="project root (default: found from the sweep file)")
    swp.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")

    syn = sub.add_parser("synth", help="generate the synthetic study area of a profile")
    syn.add_argument("--profile", required=True, type=Path)
    syn.add_argument("--out", required=True, type=Path, help="output folder (created)")

    chk = sub.add_parser("check", help="validate a profile (and experiment files) and exit")
    chk.add_argument("--profile", required=True, type=Path)
    chk.add_argument("--experiment", type=Path, action="append", default=[])
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from .paths import find_root
            from .pipeline import StepFailed, normalise_steps, parse_list, run_pipeline

            root = args.root or find_root()
            try:
                results = run_pipeline(
                    profile_path=args.profile,
                    steps=normalise_steps(parse_list(args.steps)),
                    experiments=parse_list(args.experiments),
                    force=args.force,
                    root=root,
                    kernel_name=args.kernel,
                    html=not args.no_html,
                )
            except StepFailed as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            ran = sum(1 for _, s in results if s == "ran")
            print(f"finished: {ran} step(s) ran, {len(results) - ran} skipped", flush=True)
            return 0
        if args.command == "sweep":
            from .sweep_runner import run_sweep

            if args.workers is not None and args.workers < 1:
                print("error: --workers must be at least 1", file=sys.stderr)
                return 2
            res = run_sweep(args.sweep, workers=args.workers, scheduler=args.scheduler, force=args.force,
                            root=args.root, kernel_name=args.kernel)
            counts = {s: sum(1 for o in res.outcomes if o.status == s) for s in ("ran", "skipped", "failed")}
            print(f"finished: {counts['ran']} run(s) ran, {counts['skipped']} skipped, {counts['failed']} failed; "
                  f"analysis {res.analysis}", flush=True)
            if res.failures or res.analysis.startswith("failed"):
                for o in res.failures:
                    where = f" in cell {o.cell}" if o.cell is not None else ""
                    print(f"error: {o.point} {o.experiment} failed{where}: {o.message}", file=sys.stderr)
                if res.analysis.startswith("failed"):
                    print(f"error: notebook 07 {res.analysis}", file=sys.stderr)
                return 1
            return 0
        if args.command == "synth":
            from .synthetic import generate_from_profile

            profile = load_profile(args.profile)
            if profile.data.source != "synthetic":
                print(f"error: {args.profile}: key 'data.source' is '{profile.data.source}', not 'synthetic'; "
                      "there is nothing to generate", file=sys.stderr)
                return 2
            files = generate_from_profile(profile, args.out)
            for name, p in files.items():
                print(f"{name}: {p}")
            return 0
        if args.command == "check":
            prof = load_profile(args.profile)
            print(f"{args.profile}: valid profile '{prof.name}'")
            for e in args.experiment:
                exp = load_experiment(e)
                print(f"{e}: valid experiment '{exp.name}'")
            return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2
