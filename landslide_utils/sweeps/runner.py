"""Running a sweep (:mod:`landslide_utils.sweeps.spec`): shared steps 01/03, notebook 04 per point x experiment on a
local process pool or a dask.distributed cluster, skip and resume, warm starts along ``training.steps``,
``results.csv`` and notebook 07.

``python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml [--workers N] [--scheduler tcp://HOST:PORT]
[--force]``; see :mod:`landslide_utils.sweeps.spec` for the file format and the layout on disk.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm import tqdm

from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.overrides import training_for
from landslide_utils.evaluation.metrics import TABLE_METRICS
from landslide_utils.files.atomic import remove_temporaries, write_csv, write_json, write_text
from landslide_utils.paths import StudyPaths, relative_path
from landslide_utils.runner.notebook import execute_notebook
from landslide_utils.runner.plan import plan_steps
from landslide_utils.runner.stamps import digest_of, package_digest, stamp_digest, stamp_path
from landslide_utils.sweeps.spec import Run, Sweep, format_value, load_sweep, plain_data
from landslide_utils.sweeps.workers import (
    DaskPool,
    LocalPool,
    RunOutcome,
    SharedTask,
    SweepTask,
    execute_chain,
    execute_shared,
)

__all__ = ["SweepResult", "run_sweep", "analyse_sweep", "results_table", "outcome_line", "METRIC_ORDER"]

#: the metric columns of results.csv: the table metrics, then AP and F1 at the validation threshold
METRIC_ORDER = (*TABLE_METRICS, "ap", "f1_val_threshold")
"""Metric columns of ``results.csv`` first, in this order; other numbers of the metrics JSON follow."""
_NOTEBOOK_04 = "04_run_experiment.ipynb"
_NOTEBOOK_07 = "07_analyse_sweep.ipynb"

# --------------------------------------------------------------------------------------------------------------
# planning


def _write_yaml(path: Path, data: dict[str, Any], header: str) -> None:
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)


def _shared_dir(sweep: Sweep, key: str) -> Path:
    return sweep.data_dir / "shared" / key


def _write_shared(sweep: Sweep, key: str) -> Path:
    folder = _shared_dir(sweep, key)
    prof = copy.deepcopy(sweep.shared_profiles[key])
    paths: dict[str, Any] = {"data": folder, "reports": folder / "reports"}
    if key.startswith("03-"):
        prep = next(sweep.prepare_keys[p] for p, k in sweep.enhance_keys.items() if k == key)
        paths.update(prepared=_shared_dir(sweep, prep), enhanced=folder / "enhanced")
    prof["paths"] = paths
    out = folder / "profile.yaml"
    _write_yaml(out, plain_data(prof, folder, sweep.root),
                f"# Shared step {key[:2]} of the sweep {sweep.name} ({relative_path(sweep.path, sweep.root)}); written by the "
                "runner, do not edit.\n")
    return out


def _plan_runs(sweep: Sweep, threads: int) -> list[Run]:
    runs = []
    for pt in sweep.points:
        folder = sweep.data_dir / pt.name
        rep = sweep.reports_dir / pt.name
        prof = copy.deepcopy(sweep.derived_profiles[pt.name])
        if "training.num_threads" not in pt.values:
            prof["training"]["num_threads"] = threads
        prep, be = sweep.prepare_keys[pt.name], sweep.enhance_keys[pt.name]
        prof["paths"] = {"data": folder, "reports": rep, "prepared": _shared_dir(sweep, prep),
                         "enhanced": _shared_dir(sweep, be) / "enhanced"}
        prof_path = folder / "profile.yaml"
        _write_yaml(prof_path, plain_data(prof, folder, sweep.root),
                    f"# Point {pt.name} of the sweep {sweep.name} ({relative_path(sweep.path, sweep.root)}); written by the "
                    "runner, do not edit.\n")
        for e in sweep.spec.experiments:
            ed = sweep.derived_experiments[(pt.name, e)]
            exp_path = folder / f"experiment_{e}.yaml"
            _write_yaml(exp_path, plain_data(ed, folder, sweep.root),
                        f"# Experiment {e} at point {pt.name} of the sweep {sweep.name}; written by the runner.\n")
            runs.append(Run(
                point=pt, experiment=e, profile_path=prof_path, experiment_path=exp_path,
                notebook_out=rep / f"04_run_experiment_{e}.ipynb", metrics_path=rep / "metrics" / f"{e}.json",
                stamp_path=folder / ".stamps" / f"04_run_experiment_{e}.json", prepare_key=prep,
                enhance_key=be if ed["training_data"] == "original+be" else None,
                model=ed["model"], channels=ed["channels"], training_data=ed["training_data"],
            ))
    return runs


def _shared_digest(sweep: Sweep, key: str) -> str | None:
    """The digest in the pipeline's stamp of a shared step (None when it has not run)."""
    prof_path = _shared_dir(sweep, key) / "profile.yaml"
    step = plan_steps(root=sweep.root, profile_path=prof_path, steps=[key[:2]])[0]
    return stamp_digest(stamp_path(StudyPaths.of(load_profile(prof_path), sweep.root), step))


def _run_digest(sweep: Sweep, run: Run, package: str, shared: dict[str, str | None]) -> str:
    prof = yaml.safe_load(run.profile_path.read_text(encoding="utf-8"))
    if "training.num_threads" not in run.point.values:
        prof["training"].pop("num_threads", None)
    record = {
        "profile": prof,
        "experiment": yaml.safe_load(run.experiment_path.read_text(encoding="utf-8")),
        "notebook": hashlib.sha256((sweep.root / "notebooks" / _NOTEBOOK_04).read_bytes()).hexdigest(),
        "package": package,
        "shared": {k: shared.get(k) for k in (run.prepare_key, run.enhance_key) if k},
    }
    return digest_of(record)


# --------------------------------------------------------------------------------------------------------------
# the runner


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`: every run's outcome (plan order), the shared steps that failed, the table."""

    sweep: Sweep
    outcomes: list[RunOutcome]
    table: Any
    results_path: Path
    analysis: str = "skipped"

    @property
    def failures(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def outcome_line(k: int, n: int, o: RunOutcome) -> str:
    """The console line of the k-th of n finished runs; a run that ran adds its guard warnings, indented."""
    head = f"[{k}/{n}] {o.point} {o.experiment}: "
    if o.status == "ran":  # a message of a run that ran holds the guard's warnings
        return head + f"done in {o.seconds:.0f} s" + "".join(f"\n  {w}" for w in o.message.splitlines())
    if o.status == "skipped":
        return head + "skipped"
    first = o.message.strip().splitlines()[0] if o.message.strip() else "unknown error"
    return head + (f"FAILED in cell {o.cell}: {first}" if o.cell is not None else f"FAILED: {first}")


def _shared_steps(sweep: Sweep, runs: list[Run], *, pool: LocalPool | DaskPool, force: bool, threads: int,
                  scheduler: str | None) -> tuple[dict[str, str], dict[str, str | None]]:
    """Run the shared steps 01 (once per distinct data setting), then 03 (per BE setting) on the pool; return the
    errors of those that failed and the stamp digests of the others."""
    shared_error: dict[str, str] = {}
    needed_03 = sorted({r.enhance_key for r in runs if r.enhance_key})
    for keys in (sorted({r.prepare_key for r in runs}), needed_03):
        tasks = []
        for key in keys:
            prof = _write_shared(sweep, key)
            if key.startswith("03-"):
                prep = next(sweep.prepare_keys[p] for p, k in sweep.enhance_keys.items() if k == key)
                if prep in shared_error:
                    shared_error[key] = f"its step 01 ({prep}) failed"
                    continue
            tasks.append(SharedTask(str(sweep.root), key, str(prof), force, threads, quiet=not scheduler))
        for key, error, secs in pool.map_unordered(execute_shared, tasks,
                                                   lambda t, exc: (t.key, f"{type(exc).__name__}: {exc}", 0.0)):
            if error:
                shared_error[key] = error
                print(f"shared step {key[:2]} [{key}]: FAILED: {error.strip()}", flush=True)
            else:
                print(f"shared step {key[:2]} [{key}]: ready ({secs:.0f} s)", flush=True)
    shared = {k: _shared_digest(sweep, k) for k in set(sweep.prepare_keys.values()) | set(needed_03)
              if k not in shared_error}

    return shared_error, shared


def _tasks(sweep: Sweep, runs: list[Run], *, shared_error: dict[str, str], shared: dict[str, str | None],
           package: str, force: bool, threads: int, kernel_name: str | None,
           notebook: Path) -> tuple[list[SweepTask], list[RunOutcome]]:
    """The runs to execute, and the outcomes of those settled without running: failed (a shared step they need
    failed) or skipped (their stamp's digest is current)."""
    tasks: list[SweepTask] = []
    settled: list[RunOutcome] = []
    for r in runs:
        broken = [key for key in (r.prepare_key, r.enhance_key) if key and key in shared_error]
        if broken:
            settled.append(RunOutcome(r.point.name, r.experiment, "failed",
                                      message=f"shared step {broken[0][:2]} [{broken[0]}] failed: "
                                              f"{shared_error[broken[0]].strip().splitlines()[0]}"))
            continue
        digest = _run_digest(sweep, r, package, shared)
        if not force and r.notebook_out.is_file() and r.metrics_path.is_file() and stamp_digest(r.stamp_path) == digest:
            settled.append(RunOutcome(r.point.name, r.experiment, "skipped"))
            continue
        tasks.append(SweepTask(
            root=str(sweep.root), point=r.point.name, experiment=r.experiment, notebook=str(notebook),
            output=str(r.notebook_out), profile=relative_path(r.profile_path, sweep.root),
            experiment_file=relative_path(r.experiment_path, sweep.root), metrics=str(r.metrics_path),
            stamp=str(r.stamp_path), digest=digest, threads=threads, kernel_name=kernel_name,
            checkpoint_dir=str(sweep.data_dir / r.point.name / "experiments" / r.experiment),
        ))
    return tasks, settled


def run_sweep(
    path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    root: str | Path | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep: shared steps 01/03, then notebook 04 per point x experiment, the table and notebook 07.

    Args:
        path: the sweep file.
        workers: local worker processes (default: the sweep's ``workers``, else 1); ignored with ``scheduler``.
        scheduler: address of a running dask.distributed scheduler (``tcp://HOST:PORT``); every run is a task.
        force: rerun shared steps and runs whose inputs are unchanged.
        root: project root (default: found above the sweep file).
        kernel_name: Jupyter kernel (default: the notebook's).
        progress: show a progress bar (the per-run lines are printed either way).

    Raises:
        ConfigError: the sweep file or a derived parameter file is invalid (before anything runs).
    """

    sweep = load_sweep(path, root=root)
    for w in sweep.warnings:
        print(f"warning: {w}", flush=True)
    for folder in (sweep.reports_dir, sweep.data_dir):  # temporary files of an interrupted or killed sweep
        remove_temporaries(folder)
    n_workers = workers or sweep.spec.workers or 1
    cores = os.cpu_count() or 1
    pool: LocalPool | DaskPool = DaskPool(scheduler) if scheduler else LocalPool(n_workers)
    outcomes: dict[tuple[str, str], RunOutcome] = {}
    interrupted, bar = False, None
    try:
        threads = pool.threads() if isinstance(pool, DaskPool) else max(1, cores // n_workers)
        runs = _plan_runs(sweep, threads)
        where = f"dask scheduler {scheduler}" if scheduler else f"{n_workers} local worker(s)"
        print(f"sweep {sweep.name}: {len(sweep.points)} point(s) x {len(sweep.spec.experiments)} experiment(s) "
              f"= {len(runs)} run(s) on {where}, {threads} torch thread(s) each", flush=True)

        shared_error, shared = _shared_steps(sweep, runs, pool=pool, force=force, threads=threads,
                                             scheduler=scheduler)

        package = package_digest()
        nb04 = sweep.root / "notebooks" / _NOTEBOOK_04
        n, k = len(runs), 0
        bar = tqdm(total=n, desc=f"sweep {sweep.name}", unit="run", disable=not progress, dynamic_ncols=True)
        emit = bar.write if progress else (lambda s: print(s, flush=True))

        def report(o: RunOutcome) -> None:
            nonlocal k
            k += 1
            outcomes[(o.point, o.experiment)] = o
            emit(outcome_line(k, n, o))
            bar.update(1)

        tasks, settled = _tasks(sweep, runs, shared_error=shared_error, shared=shared, package=package, force=force,
                                threads=threads, kernel_name=kernel_name, notebook=nb04)
        for o in settled:
            report(o)
        for chain_outcomes in pool.map_unordered(execute_chain, _chains(sweep, runs, tasks), lambda ch, exc: [
                RunOutcome(t.point, t.experiment, "failed", message=f"worker lost: {type(exc).__name__}: {exc}")
                for t in ch]):
            for o in chain_outcomes:
                report(o)
        bar.close()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through the command line: stop the workers, keep what finished
        interrupted = True
        if bar is not None:
            bar.close()  # the bar's line ends before the command line says what happened
        raise
    finally:
        pool.close(interrupted=interrupted)

    ordered = [outcomes[(r.point.name, r.experiment)] for r in runs]
    table = results_table(sweep, runs, ok={(o.point, o.experiment) for o in ordered if o.status != "failed"})
    results_path = sweep.reports_dir / "results.csv"
    write_csv(results_path, table, index=False)
    print(f"results: {len(table)} row(s) -> {relative_path(results_path, sweep.root)}", flush=True)
    result = SweepResult(sweep, ordered, table, results_path)
    result.analysis = _analyse(sweep, results_path, package, force=force, kernel_name=kernel_name)
    return result


def _chains(sweep: Sweep, runs: list[Run], tasks: list[SweepTask]) -> list[list[SweepTask]]:
    """Group the tasks into chains of one experiment at points equal but for ``training.steps`` (smallest
    first, each warm-started from the one before); without a steps grid every chain is one task."""
    steps_key = "training.steps"
    by_run = {(r.point.name, r.experiment): r for r in runs}
    groups: dict[tuple[str, str], list[tuple[int, SweepTask]]] = {}
    for t in tasks:
        values = by_run[(t.point, t.experiment)].point.values
        rest = digest_of({k: v for k, v in values.items() if k != steps_key})
        groups.setdefault((rest, t.experiment), []).append((int(values.get(steps_key, 0) or 0), t))
    chains = []
    for members in groups.values():
        members.sort(key=lambda m: m[0])
        chain: list[SweepTask] = []
        for _, t in members:
            prev = chain[-1].checkpoint_dir if chain and steps_key in sweep.keys else None
            chain.append(dataclasses.replace(t, warm_from=prev))
        chains.append(chain)
    return chains


#: training keys every row of results.csv records with the run's effective value (profile, experiment file,
#: ``experiment_overrides`` and the point's keys applied), grid key or not: which settings a result came from
RECORDED_TRAINING = ("steps", "batch_size", "optimizer", "learning_rate", "weight_decay", "schedule", "warmup_steps",
                     "sampling", "keep", "loss", "validation_share")


def run_settings(sweep: Sweep, run: Run) -> dict[str, Any]:
    """``training.<key>`` of a run's effective training settings: the keys of :data:`RECORDED_TRAINING` and every
    other key whose value differs from what the sweep's profile gives that experiment. Empty when the run's
    derived parameter files are gone (a table rebuilt elsewhere)."""
    if not (run.profile_path.is_file() and run.experiment_path.is_file()):
        return {}
    exp = load_experiment(run.experiment_path)
    effective = training_for(load_profile(run.profile_path), exp).model_dump()
    base = training_for(sweep.profile, exp).model_dump()
    return {f"training.{k}": format_value(v) if isinstance(v, (list, tuple, dict)) else v
            for k, v in effective.items() if k in RECORDED_TRAINING or v != base.get(k)}


def results_table(sweep: Sweep, runs: list[Run], *, ok: set[tuple[str, str]] | None = None) -> Any:
    """One row per point x experiment with metrics (runs not in ``ok`` are left out): ``point``,
    ``experiment``, ``model``, ``channels``, ``training_data``, the grid/zip keys, the run's training settings
    (:func:`run_settings`), every number of the metrics JSON (:data:`METRIC_ORDER` first), ``train_seconds``,
    ``steps``, ``metrics_path`` (relative to the root)."""

    rows = []
    for r in runs:
        if (ok is not None and (r.point.name, r.experiment) not in ok) or not r.metrics_path.is_file():
            continue
        m = json.loads(r.metrics_path.read_text(encoding="utf-8"))
        row: dict[str, Any] = {"point": r.point.name, "experiment": r.experiment,
                               "model": m.get("model", r.model), "channels": m.get("channels", r.channels),
                               "training_data": m.get("training_data", r.training_data)}
        for k in sweep.keys:
            v = r.point.values[k]
            row[k] = format_value(v) if isinstance(v, (list, tuple, dict)) else v
        for k, v in run_settings(sweep, r).items():
            row.setdefault(k, v)
        numbers = {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        tail = {k: numbers.pop(k) for k in ("train_seconds", "steps") if k in numbers}
        for k in METRIC_ORDER:
            if k in numbers:
                row[k] = numbers.pop(k)
        for k, v in numbers.items():
            row.setdefault(k, v)
        row.update(tail)
        row["metrics_path"] = relative_path(r.metrics_path, sweep.root)
        rows.append(row)
    cols = ["point", "experiment", "model", "channels", "training_data", *sweep.keys]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(cols + [c for row in rows for c in row])))


def analyse_sweep(path: str | Path, *, root: str | Path | None = None, kernel_name: str | None = None) -> str:
    """Execute notebook 07 again on a sweep's ``results.csv`` (e.g. the committed one) without running any point:
    the analysis of a finished sweep with the current notebook and package. Returns ``ran`` or the failure.

    Raises:
        FileNotFoundError: the sweep has no results table yet (run the sweep first).
    """
    sweep = load_sweep(path, root=root)
    results = sweep.reports_dir / "results.csv"
    if not results.is_file():
        raise FileNotFoundError(f"{results}: no results table of sweep {sweep.name}; run the sweep first "
                                f"(python -m landslide_utils sweep --sweep {relative_path(sweep.path, sweep.root)})")
    return _analyse(sweep, results, package_digest(), force=True, kernel_name=kernel_name)


def _analyse(sweep: Sweep, results: Path, package: str, *, force: bool, kernel_name: str | None) -> str:
    """Execute notebook 07 on the sweep (skipped when absent or when nothing it reads changed)."""
    nb = sweep.root / "notebooks" / _NOTEBOOK_07
    if not nb.is_file():
        print(f"analysis: notebooks/{_NOTEBOOK_07} not found, skipped", flush=True)
        return "absent"
    out = sweep.reports_dir / _NOTEBOOK_07
    stamp = sweep.data_dir / ".stamps" / "07_analyse_sweep.json"
    digest = digest_of({"notebook": hashlib.sha256(nb.read_bytes()).hexdigest(), "package": package,
                    "sweep": hashlib.sha256(sweep.path.read_bytes()).hexdigest(),
                    "results": hashlib.sha256(results.read_bytes()).hexdigest()})
    if not force and out.is_file() and stamp_digest(stamp) == digest:
        print("analysis: unchanged, skipped", flush=True)
        return "skipped"
    t0 = time.perf_counter()
    stamp.unlink(missing_ok=True)
    fail = execute_notebook(nb, out, parameters={"sweep": relative_path(sweep.path, sweep.root)}, root=sweep.root,
                            kernel_name=kernel_name)
    if fail is not None:
        print(f"analysis: FAILED in cell {fail.cell}: {fail.error}", flush=True)
        return f"failed in cell {fail.cell}: {fail.error}"
    write_json(stamp, {"digest": digest})
    print(f"analysis: done in {time.perf_counter() - t0:.0f} s -> {relative_path(out, sweep.root)}", flush=True)
    return "ran"
