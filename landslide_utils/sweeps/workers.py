"""The sweep's work in worker processes (local or on a dask cluster): one run's notebook 04, a shared step 01/03,
chains of runs that share a warm start, and the two pools that execute them. Planned and collected by
:mod:`landslide_utils.sweeps.runner`.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import shutil
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landslide_utils.config.base import ConfigError
from landslide_utils.files.atomic import atomic_path, write_json
from landslide_utils.paths import CHECKPOINT_FILE, relative_path
from landslide_utils.runner.notebook import execute_notebook
from landslide_utils.runner.pipeline import StepFailed, metrics_warnings, run_pipeline

__all__ = ["RunOutcome", "SweepTask", "SharedTask", "execute_chain", "execute_shared",
           "LocalPool", "DaskPool"]

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run: ``status`` is ``ran``, ``skipped`` or ``failed`` (``message`` says why; for a run
    that ran, the guard's warnings of its metrics)."""

    point: str
    experiment: str
    status: str
    seconds: float = 0.0
    message: str = ""
    cell: int | None = None


@dataclass(frozen=True)
class SweepTask:
    root: str
    point: str
    experiment: str
    notebook: str
    output: str
    profile: str
    experiment_file: str
    metrics: str
    stamp: str
    digest: str
    threads: int
    kernel_name: str | None
    checkpoint_dir: str = ""
    warm_from: str | None = None  # checkpoint folder of the same run at the next-smaller training.steps


@dataclass(frozen=True)
class SharedTask:
    root: str
    key: str
    profile: str
    force: bool
    threads: int
    quiet: bool  # swallow the pipeline's lines (local processes; redirecting stdout is unsafe in dask threads)


def _set_threads(threads: int) -> None:
    for var in _THREAD_ENV:
        os.environ[var] = str(threads)


def _execute_run(task: SweepTask) -> RunOutcome:
    """Execute notebook 04 for one point x experiment and write its record; never raises."""
    t0 = time.perf_counter()
    try:
        _set_threads(task.threads)
        root = Path(task.root)
        out, stamp = Path(task.output), Path(task.stamp)
        stamp.unlink(missing_ok=True)
        fail = execute_notebook(Path(task.notebook), out, root=root, kernel_name=task.kernel_name,
                                parameters={"profile": task.profile, "experiment": task.experiment_file, "maps": False})
        secs = time.perf_counter() - t0
        if fail is not None:
            return RunOutcome(task.point, task.experiment, "failed", secs,
                              f"{fail.error}\n  the partly executed notebook is at {relative_path(fail.kept, root)}",
                              fail.cell)
        if not Path(task.metrics).is_file():
            return RunOutcome(task.point, task.experiment, "failed", secs,
                              f"notebook 04 ran but wrote no metrics file {task.metrics}")
        write_json(stamp, {"digest": task.digest, "seconds": round(secs, 1)})
        return RunOutcome(task.point, task.experiment, "ran", secs,
                          "\n".join(f"warning: {w}" for w in metrics_warnings(Path(task.metrics))))
    except BaseException as exc:  # noqa: BLE001 -- one run's failure must not stop the others
        if isinstance(exc, KeyboardInterrupt):
            raise
        return RunOutcome(task.point, task.experiment, "failed", time.perf_counter() - t0,
                          f"{type(exc).__name__}: {exc}")


def _warm_start(task: SweepTask) -> None:
    """Start a run from the finished checkpoint of the same run at a smaller budget (``training.steps`` is free
    in a checkpoint, and resumed training is bit-exact on CPU, so this equals training from scratch)."""
    if not task.warm_from or not task.checkpoint_dir:
        return
    src, dst = Path(task.warm_from), Path(task.checkpoint_dir)
    if (dst / CHECKPOINT_FILE).exists() or not (src / CHECKPOINT_FILE).is_file():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("loss.csv", CHECKPOINT_FILE):  # checkpoint last: its presence means the copy is complete
        if (src / name).is_file():
            with atomic_path(dst / name, suffix=Path(name).suffix) as tmp:
                shutil.copyfile(src / name, tmp)


def execute_chain(tasks: list[SweepTask]) -> list[RunOutcome]:
    """The runs of one experiment at one point that differ only in ``training.steps``, smallest budget first,
    each warm-started from the previous one."""
    outcomes = []
    for task in tasks:
        try:
            _warm_start(task)
        except OSError:
            pass  # a failed copy only costs the saving: the run trains from scratch
        outcomes.append(_execute_run(task))
    return outcomes


def execute_shared(task: SharedTask) -> tuple[str, str | None, float]:
    """Run step 01 or 03 of a shared folder through the pipeline; (key, error or None, seconds)."""

    t0 = time.perf_counter()
    try:
        _set_threads(task.threads)
        with contextlib.redirect_stdout(io.StringIO()) if task.quiet else contextlib.nullcontext():
            run_pipeline(profile_path=task.profile, steps=[task.key[:2]], force=task.force, root=task.root,
                         html=False, progress=False)
        return task.key, None, time.perf_counter() - t0
    except StepFailed as exc:
        return task.key, str(exc), time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001
        return task.key, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0


def _ignore_interrupts() -> None:
    """Worker initialiser: Ctrl-C in the terminal reaches every process of the group; only the parent handles it
    (it stops the workers), so no worker prints a traceback."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """``map_unordered`` on a process pool (spawned workers: no fork of a threaded parent)."""

    def __init__(self, workers: int) -> None:

        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_ignore_interrupts)

    def map_unordered(self, fn: Any, tasks: list[Any], fallback: Any) -> Any:

        futures = {self.pool.submit(fn, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 -- a worker process died
                yield fallback(futures[fut], exc)

    def close(self, *, interrupted: bool = False) -> None:
        """Wait for the workers; when ``interrupted``, stop them at once (their runs resume next time)."""
        if interrupted:
            workers = list(getattr(self.pool, "_processes", {}).values())  # the executor keeps no public list
            self.pool.shutdown(wait=False, cancel_futures=True)
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.join(timeout=10)
            return
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """``map_unordered`` on a dask.distributed cluster: each task ``pure=False, retries=1``."""

    def __init__(self, address: str) -> None:
        from distributed import Client  # noqa: PLC0415 - dask's cluster client, only for --scheduler

        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {address}: cannot reach the dask scheduler ({exc}); start one with "
                              "'dask scheduler' and workers with 'dask worker ADDRESS' on hosts sharing the "
                              "project folder at the same path") from None

    def threads(self) -> int:
        """Torch threads per task: cores of a host // task slots on that host (the smallest over hosts)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        cores = self.client.run(os.cpu_count)
        slots: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for addr, w in info.items():
            host = w.get("host", addr)
            slots[host] = slots.get(host, 0) + int(w.get("nthreads", 1))
            host_cores[host] = int(cores.get(addr) or 1)
        return max(1, min((host_cores[h] // max(1, n) for h, n in slots.items()), default=1))

    def map_unordered(self, fn: Any, tasks: list[Any], fallback: Any) -> Any:
        from distributed import as_completed  # noqa: PLC0415 - dask's cluster client, only for --scheduler

        futures = {self.client.submit(fn, t, pure=False, retries=1): t for t in tasks}
        for fut in as_completed(list(futures)):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 -- a lost worker (KilledWorker) costs only its own run
                yield fallback(futures[fut], exc)

    def close(self, *, interrupted: bool = False) -> None:  # noqa: ARG002 - the cluster's tasks are its own
        self.client.close()
