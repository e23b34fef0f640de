"""Command line: ``python -m landslide_utils {run,sweep,synth,predict,train,check,processes,measure-memory}``.

* ``run --profile P.yaml [--steps 01,02] [--experiments I,IV] [--force]``: execute the study's notebooks.
* ``sweep --sweep S.yaml [--workers N] [--scheduler tcp://HOST:PORT] [--force]``: notebook 04 over a grid of
  settings (``params/sweeps/*.yaml``), locally in parallel or on a dask.distributed cluster; ``--analyse-only``
  executes only notebook 07 again on the sweep's ``results.csv``.
* ``synth --profile P.yaml --out DIR``: write the synthetic study area of a profile (six GeoTIFF/vector files).
* ``predict --checkpoint CKPT --image scene.tif [--dem dem.tif] [--rivers rivers.gpkg] --out DIR``: map a
  whole scene of any size window by window (:mod:`landslide_utils.prediction.scene`).
* ``train --profile P.yaml (--experiment E.yaml | --all) [--device cuda] [--force]``: train one experiment, or
  every experiment of the profile (the checkpoints step 04 then reuses); started by ``torchrun --nproc_per_node N -m landslide_utils train ...`` it trains
  data-parallel over the N processes (:mod:`landslide_utils.training.distributed`).
* ``check --profile P.yaml [--experiment E.yaml ...]``: every check that needs no computing (parameter files,
  names against the registries, input files opened and inspected) and exit; writes nothing.
* ``processes --profile P.yaml [--devices N]``: how many ``torchrun`` processes split every experiment's batch
  evenly (``make paper``).
* ``measure-memory CKPT ... --tile-size N``: the peak memory of one prediction batch of each checkpoint as JSON
  (the fresh process behind :func:`landslide_utils.prediction.memory.prediction_memories`).

Errors are one ``error: ...`` line naming the file or key (exit 2 for bad input, 1 for a failed step or run);
Ctrl-C or SIGTERM prints what is kept and how to resume (exit 130 / 143). No traceback is shown unless
``LANDSLIDE_TRACEBACK=1`` is set.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_profile
from landslide_utils.paths import StudyPaths
from landslide_utils.runner.study_lock import study_lock

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
    swp.add_argument("--analyse-only", action="store_true", help="only execute notebook 07 again on the sweep's "
                                                                  "results.csv (runs nothing else)")
    swp.add_argument("--root", type=Path, default=None, help="project root (default: found from the sweep file)")
    swp.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")

    syn = sub.add_parser("synth", help="generate the synthetic study area of a profile")
    syn.add_argument("--profile", required=True, type=Path)
    syn.add_argument("--out", required=True, type=Path, help="output folder (created)")
    syn.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic set in --out")

    prd = sub.add_parser("predict", help="map landslides on a whole scene (any size) with a trained checkpoint: "
                                         "DIR/probability.tif, landslides.tif, landslides.gpkg")
    prd.add_argument("--checkpoint", required=True, type=Path,
                     help="e.g. data/quick/experiments/IV/checkpoint.pt (any model of the registry)")
    prd.add_argument("--image", required=True, type=Path, help="post-event GeoTIFF (RGB first; nodata/alpha kept)")
    prd.add_argument("--dem", type=Path, default=None, help="DEM GeoTIFF (needed by rgb+factors models)")
    prd.add_argument("--rivers", type=Path, default=None, help="river lines (needed by rgb+factors models)")
    prd.add_argument("--out", required=True, type=Path, help="output folder (created; never an input's folder "
                                                            "where an output would replace the input)")
    prd.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier prediction in --out")
    prd.add_argument("--window", type=int, default=512, help="window size in pixels, a multiple of 32 (512)")
    prd.add_argument("--overlap", type=int, default=64, help="pixels neighbouring windows share, blended (64)")
    prd.add_argument("--batch", type=int, default=8, help="windows per forward pass (8)")
    prd.add_argument("--threshold", type=float, default=None,
                     help="probability threshold (default: the checkpoint's validation threshold, else 0.5)")
    prd.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto",
                     help="auto: bfloat16 where the device computes it natively, else fp32 (auto)")
    prd.add_argument("--device", default="auto", help="cpu, cuda or auto (auto)")
    prd.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")

    trn = sub.add_parser("train", help="train one experiment outside the notebooks (step 04 reuses the finished "
                                       "checkpoint); under torchrun, data-parallel over its processes")
    trn.add_argument("--profile", required=True, type=Path)
    which = trn.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", type=Path, help="an experiment file, e.g. params/experiments/V.yaml")
    which.add_argument("--all", action="store_true", help="every experiment the profile runs (its experiments "
                                                          "list, else every file of params/experiments/), in order")
    trn.add_argument("--device", default=None, help="auto, cpu or cuda (default: the profile's device)")
    trn.add_argument("--force", action="store_true", help="retrain even when a finished checkpoint exists")
    trn.add_argument("--root", type=Path, default=None, help="project root (default: found from the cwd)")
    trn.add_argument("--no-progress", action="store_true", help="no progress bar")

    chk = sub.add_parser("check", help="check a profile, its experiments and its input files without computing "
                                       "anything, and exit")
    chk.add_argument("--profile", required=True, type=Path)
    chk.add_argument("--experiment", type=Path, action="append", default=[])
    prc = sub.add_parser("processes", help="print how many torchrun processes split every experiment's batch of a "
                                           "profile evenly (make paper)")
    prc.add_argument("--profile", required=True, type=Path)
    prc.add_argument("--devices", type=int, default=None, help="at most this many (default: the CUDA devices, else 1)")
    mem = sub.add_parser("measure-memory", help="peak memory of one prediction batch of each checkpoint, as JSON "
                                                "(Gao et al. 2021, Table IX; run in a fresh process)")
    mem.add_argument("checkpoints", type=Path, nargs="+")
    mem.add_argument("--tile-size", type=int, required=True)
    mem.add_argument("--batch", type=int, default=1)
    mem.add_argument("--device", default="cpu")
    mem.add_argument("--threads", type=int, default=2)
    return ap


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that temporary files are removed on the way out."""

    signal_name = "SIGTERM"


def _on_sigterm(signum: int, frame: object) -> None:  # noqa: ARG001 - the signal handler's signature
    raise _Terminated


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202, ARG001
    """Study warnings as one ``warning: ...`` line on stderr (others as Python shows them)."""
    from landslide_utils.notices import StudyWarning

    if issubclass(category, StudyWarning):
        print(f"warning: {message}", file=sys.stderr, flush=True)
    else:
        _DEFAULT_SHOW(message, category, filename, lineno, file, line)


_DEFAULT_SHOW = warnings.showwarning


def _project_root(given: Path | None, near: Path) -> Path:
    """--root, else the project around the working directory, else the project around the parameter file."""
    from landslide_utils.paths import find_root

    if given is not None:
        if not (Path(given) / "params" / "profiles").is_dir():
            raise ConfigError(f"--root {given}: not a project folder (it has no params/profiles/)")
        return Path(given)
    for start in (Path.cwd(), Path(near).resolve().parent):
        try:
            return find_root(start)
        except FileNotFoundError:
            continue
    raise ConfigError(f"no project folder (one with params/profiles/ and notebooks/) at or above the working "
                      f"directory {Path.cwd()} or {near}; run from inside the project, or give --root")


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (0 ok, 1 a step or run failed, 2 bad input, 130 interrupted)."""
    args = _parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    if main_thread:  # Ctrl-C interrupts even when the parent started us with SIGINT ignored (inherited SIG_IGN)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.showwarning = _show_warning
    try:
        return _dispatch(args)
    except KeyboardInterrupt as exc:
        from landslide_utils.runner.pipeline import RunInterrupted

        terminated = getattr(exc, "signal_name", "SIGINT") == "SIGTERM"
        if args.command in ("synth", "predict"):
            print(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: nothing was written to --out "
                  f"{args.out} (an earlier set there is kept whole); run the same command again", file=sys.stderr)
            return 143 if terminated else 130
        if isinstance(exc, RunInterrupted):
            done = f"{len(exc.finished)} step(s) finished in this run and are kept"
            where = f"; {exc.current} did not finish (no notebook written) and runs again" if exc.current else ""
        else:
            done, where = "finished steps and runs are kept", "; the one in progress did not finish and runs again"
        print(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: {done}{where} (training resumes from "
              "its last checkpoint); run the same command again to resume (unchanged steps are skipped)",
              file=sys.stderr)
        return 143 if terminated else 130
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        from landslide_utils.chips.formats import ChipError
        from landslide_utils.inputs.findings import InputError

        if os.environ.get("LANDSLIDE_TRACEBACK"):
            raise
        if isinstance(exc, (InputError, ChipError, FileNotFoundError, NotADirectoryError, PermissionError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"error: {type(exc).__name__}: {exc}\n  (an unexpected error; set LANDSLIDE_TRACEBACK=1 to see "
              "where it came from, and please report it)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = _DEFAULT_SHOW
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    """``run --profile P``: the study's notebooks (:mod:`landslide_utils.runner.pipeline`)."""
    from landslide_utils.runner.pipeline import StepFailed, normalise_steps, parse_list, run_pipeline

    with warnings.catch_warnings():  # its warnings are printed once, by run_pipeline
        warnings.simplefilter("ignore")
        load_profile(args.profile)  # a missing or broken profile is named before anything else
    root = _project_root(args.root, args.profile)
    try:
        with study_lock(StudyPaths.of(load_profile(args.profile), root).data):
            results = run_pipeline(
                profile_path=args.profile,
                steps=normalise_steps(parse_list(args.steps)),
                experiments=parse_list(args.experiments, option="--experiments"),
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


def _sweep(args: argparse.Namespace) -> int:
    """``sweep --sweep S``: notebook 04 over a grid of settings, then notebook 07 (:mod:`landslide_utils.sweeps`)."""
    from landslide_utils.sweeps.runner import analyse_sweep, run_sweep
    from landslide_utils.sweeps.spec import load_sweep

    if args.analyse_only:
        with study_lock(load_sweep(args.sweep, root=args.root).data_dir):
            analysis = analyse_sweep(args.sweep, root=args.root, kernel_name=args.kernel)
        if analysis != "ran":
            print(f"error: notebook 07 {analysis}", file=sys.stderr)
            return 1
        return 0
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    with study_lock(load_sweep(args.sweep, root=args.root).data_dir):
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


def _synth(args: argparse.Namespace) -> int:
    """``synth --profile P --out DIR``: the synthetic study area's input files (:mod:`landslide_utils.synthetic`)."""
    from landslide_utils.files.output_sets import check_outputs, staged_outputs
    from landslide_utils.synthetic import SYNTHETIC_FILES, generate_from_profile

    profile = load_profile(args.profile)
    if profile.data.source != "synthetic":
        print(f"error: {args.profile}: key 'data.source' is '{profile.data.source}', not 'synthetic'; "
              "there is nothing to generate", file=sys.stderr)
        return 2
    names = list(SYNTHETIC_FILES.values())
    check_outputs(args.out, names, inputs={}, overwrite=args.overwrite)
    try:
        with staged_outputs(args.out, names) as stage:  # a failure or Ctrl-C leaves an earlier set whole
            files = {k: args.out / p.name for k, p in generate_from_profile(profile, stage).items()}
    except OSError as exc:
        print(f"error: --out {args.out}: cannot write there ({exc.strerror or exc}); give a writable folder",
              file=sys.stderr)
        return 2
    for name, p in files.items():
        print(f"{name}: {p}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    """``predict --checkpoint C --image I --out DIR``: map a whole scene (:mod:`landslide_utils.prediction.scene`)."""
    from landslide_utils.prediction.scene import predict_scene

    try:
        res = predict_scene(checkpoint=args.checkpoint, image=args.image, dem=args.dem, rivers=args.rivers,
                            out_dir=args.out, window=args.window, overlap=args.overlap, batch_size=args.batch,
                            threshold=args.threshold, precision=args.precision, device=args.device,
                            num_threads=args.threads, overwrite=args.overwrite)
    except ValueError as exc:  # a corrupt checkpoint, the input checks (InputError)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{res['landslides']} landslide(s), {res['landslide_area_m2'] / 1e6:.3f} km2 at threshold "
          f"{res['threshold']:.3g} ({res['threshold_source']}); {res['windows_predicted']} of {res['windows']} "
          f"windows predicted in {res['seconds']:.0f} s ({res['precision']}, {res['device']})")
    for path in res["outputs"]:
        print(f"  {path}")
    return 0


def _processes(args: argparse.Namespace) -> int:
    """``processes --profile P [--devices N]``: how many torchrun processes split the batch sizes of every
    experiment of the profile evenly, at most N (default: the CUDA devices, else 1); ``make paper`` uses it."""
    import torch

    from landslide_utils.config.load import load_experiment
    from landslide_utils.config.overrides import training_for
    from landslide_utils.paths import find_root
    from landslide_utils.runner.plan import experiment_files
    from landslide_utils.training.distributed import processes_for, training_batch_sizes

    profile = load_profile(args.profile)
    root = find_root(Path(args.profile).resolve().parent)
    files = experiment_files(root, list(profile.experiments) if profile.experiments else None)
    sizes = [b for f in files for b in training_batch_sizes(training_for(profile, load_experiment(f))).values()]
    devices = args.devices if args.devices is not None else max(torch.cuda.device_count(), 1)
    print(processes_for(sizes, devices))
    return 0


def _measure_memory(args: argparse.Namespace) -> int:
    """``measure-memory CKPT ... --tile-size N``: the peak memory of one prediction batch of each checkpoint, as
    one JSON line (run in a fresh process by :func:`landslide_utils.prediction.memory.prediction_memories`)."""
    import json

    from landslide_utils.prediction.memory import measure_checkpoints

    print(json.dumps(measure_checkpoints([str(c) for c in args.checkpoints], tile_size=args.tile_size,
                                         batch=args.batch, device=args.device, threads=args.threads)))
    return 0


_COMMANDS = {"run": _run, "sweep": _sweep, "synth": _synth, "predict": _predict, "processes": _processes,
             "measure-memory": _measure_memory}


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "train":
        return _train(args)
    if args.command == "check":
        return _check(args)
    return _COMMANDS[args.command](args)


def _check(args: argparse.Namespace) -> int:
    """``check --profile P [--experiment E ...]``: every check that needs no computing (:mod:`landslide_utils.runner.preflight`)."""
    from landslide_utils.runner.preflight import preflight

    try:
        root: Path | None = _project_root(None, args.profile)
    except ConfigError:
        root = None
    pf = preflight(args.profile, experiments=list(args.experiment), root=root)
    word = {"error": "error", "warning": "warning", "info": "note"}
    for f in pf.findings:
        where = f"{f.file}: " if f.file else ""
        print(f"{word[f.level]}: {where}{f.message}", file=sys.stderr if f.level != "info" else sys.stdout)
    n_err, n_warn = len(pf.errors), sum(1 for f in pf.findings if f.level == "warning")
    if n_err:
        print(f"error: {args.profile}: {n_err} problem(s) found (listed above); nothing was written", file=sys.stderr)
        return 2
    names = ", ".join(e.name for e in pf.experiments) or "none"
    print(f"{args.profile}: valid profile '{pf.profile.name}' (experiments: {names}; inputs checked"
          + (f"; {n_warn} warning(s)" if n_warn else "") + ")")
    return 0


def _train(args: argparse.Namespace) -> int:
    """``train`` under the study's lock (:mod:`landslide_utils.runner.study_lock`), held by rank 0 of a torchrun job."""
    import contextlib

    held = os.environ.get("RANK", "0") == "0"
    data = StudyPaths.of(load_profile(args.profile), _project_root(args.root, args.profile)).data
    with study_lock(data) if held else contextlib.nullcontext():
        return _train_unlocked(args)


def _train_unlocked(args: argparse.Namespace) -> int:
    """``train``: one experiment (or all of a profile's), in this process or as one rank of a torchrun job.

    Every experiment's batch sizes are checked against the number of processes before anything trains. When the
    study has no tiles yet, rank 0 first runs steps 01-03 while the others wait (should it fail, it exits and
    torchrun stops the others)."""
    from landslide_utils.config.load import load_experiment
    from landslide_utils.config.overrides import training_for
    from landslide_utils.evaluation.validation_curve import validation_curve
    from landslide_utils.runner.pipeline import StepFailed, experiment_skip_reason, gpu_skip_reason, run_pipeline
    from landslide_utils.runner.plan import experiment_files
    from landslide_utils.training.checkpoint import resolve_device
    from landslide_utils.training.distributed import batch_problem, from_environment, training_batch_sizes
    from landslide_utils.training.experiment import train_experiment

    profile = load_profile(args.profile)
    root = _project_root(args.root, args.profile)
    if args.all:
        files = experiment_files(root, list(profile.experiments) if profile.experiments else None)
    else:
        files = [args.experiment]
    experiments = [load_experiment(f) for f in files]
    device = args.device or profile.device
    try:
        ctx = from_environment(resolve_device(device))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        chosen = []
        for experiment, path in zip(experiments, files):
            skipped = (gpu_skip_reason(profile, experiment.name) or experiment_skip_reason(profile, experiment)
                       if args.all else None)
            if skipped:
                if ctx.main:
                    print(f"skipped {experiment.name}: {skipped}", flush=True)
                continue
            for key, size in training_batch_sizes(training_for(profile, experiment)).items():
                problem = batch_problem(size, ctx.world, what=key)
                if problem:
                    print(f"error: {path}: {problem}", file=sys.stderr)
                    return 2
            chosen.append(experiment)
        if ctx.main and not StudyPaths.of(profile, root).tile_index.is_file():
            print("no tiles yet: running steps 01-03 first (data preparation, factors, background enhancement)",
                  flush=True)
            try:
                run_pipeline(profile_path=profile.prepared_by or args.profile, steps=["01", "02", "03"], root=root,
                             html=False, progress=not args.no_progress)  # a prepared_by profile: that one's
            except StepFailed as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        ctx.barrier()  # the other processes wait for the tiles
        for experiment in chosen:
            try:
                res = train_experiment(profile, experiment, root=root, force=args.force, device=device,
                                       progress=not args.no_progress, dist=ctx, validator=validation_curve)
            except ValueError as exc:  # settings or inputs this experiment cannot train with: named in the message
                print(f"error: {exc}", file=sys.stderr)
                return 2
            if ctx.main:
                how = "reused (already finished)" if res.reused else f"{res.steps} steps in {res.train_seconds:.0f} s"
                where = f" on {ctx.world} processes ({ctx.backend})" if ctx.active else ""
                print(f"trained {experiment.name}{where}: {how} -> {res.checkpoint}", flush=True)
    finally:
        if ctx.active:
            import torch.distributed as tdist

            tdist.destroy_process_group()
    return 0
