"""Peak memory of a trained model's prediction, measured in a fresh process (Gao et al. 2021, Table IX).

Gao et al. (2021) report, for each model of their comparison, its parameters, the memory it needs and the time
it takes to predict their test area. Parameters and test-area seconds come from step 04's metrics; this module
measures the memory: a child Python process loads the checkpoint, then predicts one batch of ``tile_size``
tiles, and reports

* ``model_mb``: what the process holds after loading the model, over a bare interpreter with torch imported
  (the weights and the framework's buffers),
* ``prediction_mb``: the peak resident memory during the forward pass over what the process held just before
  (activations and workspace: what the prediction itself needs),
* ``peak_rss_mb``: the process's peak resident memory, everything included.

A fresh process keeps training, caches and other models out of the figure. On Linux the peak is reset before
the forward pass (``/proc/self/clear_refs``), so a transient of loading the checkpoint is not counted as
prediction; elsewhere ``prediction_mb`` is the lifetime peak minus the memory before the forward pass (an upper
bound). On a CUDA device the figures are the allocator's (``torch.cuda.max_memory_allocated``), like a GPU
paper's.

Run as ``python -m landslide_utils measure-memory CHECKPOINT [CHECKPOINT ...] --tile-size 128 [--batch 1]
[--device cpu]`` (prints a JSON list; on CPU each checkpoint is measured in a process forked before any torch
operation ran), or call :func:`prediction_memory` / :func:`prediction_memories`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from landslide_utils.training.checkpoint import load_checkpoint, resolve_device, task_of

__all__ = ["prediction_memory", "prediction_memories", "measure_here"]

_MB = 2.0**20


def _rss_bytes() -> int:
    """The process's current resident memory (bytes)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_bytes() -> int:
    """The process's peak resident memory (bytes): VmHWM on Linux, else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, kilobytes on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _reset_peak() -> bool:
    """Reset the peak resident memory to the current one (Linux 4.0+); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure_here(checkpoint: str | Path, *, tile_size: int, batch: int = 1, device: str = "cpu",
                 threads: int = 2) -> dict[str, Any]:
    """Measure in this process (call it in a fresh one: :func:`prediction_memory` does). See the module text."""

    torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    before_model = _rss_bytes()
    model, meta = load_checkpoint(checkpoint, device=dev)
    x = torch.zeros(int(batch), int(meta["in_channels"]), int(tile_size), int(tile_size), device=dev)
    instance = task_of(meta) == "instance"
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
    else:
        before = _rss_bytes()
        exact = _reset_peak()
    with torch.no_grad():
        model(list(x)) if instance else model(x)
    if cuda:
        torch.cuda.synchronize(dev)
        peak = torch.cuda.max_memory_allocated(dev)
        return {"device": "cuda", "model_mb": before / _MB, "prediction_mb": (peak - before) / _MB,
                "peak_mb": peak / _MB, "exact_peak": True, "tile_size": int(tile_size), "batch": int(batch)}
    peak = _peak_bytes()
    return {"device": "cpu", "model_mb": (before - before_model) / _MB, "prediction_mb": (peak - before) / _MB,
            "peak_rss_mb": peak / _MB, "exact_peak": exact, "tile_size": int(tile_size), "batch": int(batch)}


def _measure_forked(checkpoints: list[str], *, tile_size: int, batch: int, device: str,
                    threads: int) -> list[dict[str, Any]]:
    """Measure each checkpoint in a child forked from this process, before this process ran any torch operation
    (so no thread pool is copied): one import of torch for all, a fresh address space for each."""
    import torch  # noqa: F401, PLC0415 - imported once here, before the fork, shared by the children

    out = []
    for ckpt in checkpoints:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: measure, write one JSON line, leave without running the parent's cleanup
            os.close(r)
            code = 0
            try:
                text = json.dumps(measure_here(ckpt, tile_size=tile_size, batch=batch, device=device,
                                               threads=threads))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
                text, code = json.dumps({"error": f"{type(exc).__name__}: {exc}"}), 1
            with os.fdopen(w, "w", encoding="utf-8") as fh:
                fh.write(text)
            os._exit(code)
        os.close(w)
        with os.fdopen(r, encoding="utf-8") as fh:
            text = fh.read()
        os.waitpid(pid, 0)
        out.append(json.loads(text) if text else {"error": "the measuring process died without an answer"})
    return out


def prediction_memories(checkpoints: dict[str, str | Path], *, tile_size: int, batch: int = 1,
                        device: str = "cpu", threads: int = 2, timeout_s: float = 1200.0) -> dict[str, dict[str, Any]]:
    """:func:`prediction_memory` for several checkpoints (name -> path) in one child Python process, which forks
    a fresh process per checkpoint (Linux and macOS; elsewhere one process each); name -> figures.

    Raises:
        FileNotFoundError: a checkpoint is missing (named).
        RuntimeError: a measurement failed (the checkpoint and the error are named).
    """
    paths = {name: Path(p) for name, p in checkpoints.items()}
    for name, p in paths.items():
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no checkpoint; run step 04 for experiment {name} first")
    if not paths:
        return {}
    root = Path(__file__).resolve().parents[2]  # the folder holding the package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)}
    items = list(paths.items())
    groups = [items] if hasattr(os, "fork") and device == "cpu" else [[it] for it in items]
    results: list[dict[str, Any]] = []
    for group in groups:
        cmd = [sys.executable, "-m", "landslide_utils", "measure-memory", *(str(p) for _, p in group), "--tile-size",
               str(int(tile_size)), "--batch", str(int(batch)), "--device", device, "--threads", str(int(threads))]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"measuring the prediction's memory failed (exit {done.returncode}):\n{tail}")
        results += json.loads(done.stdout.strip().splitlines()[-1])
    for (name, p), res in zip(items, results):
        if "error" in res:
            raise RuntimeError(f"{p}: measuring the prediction's memory of {name} failed: {res['error']}")
    return dict(zip(paths, results))


def prediction_memory(checkpoint: str | Path, *, tile_size: int, batch: int = 1, device: str = "cpu",
                      threads: int = 2, timeout_s: float = 600.0) -> dict[str, Any]:
    """Peak memory of predicting ``batch`` tiles of ``tile_size`` pixels with the model of ``checkpoint``,
    measured in a fresh Python process (module text); returns its figures.

    Raises:
        FileNotFoundError: no checkpoint at ``checkpoint`` (run the experiment first).
        RuntimeError: the measuring process failed (its last error lines are in the message).
    """
    return prediction_memories({"checkpoint": checkpoint}, tile_size=tile_size, batch=batch, device=device,
                               threads=threads, timeout_s=timeout_s)["checkpoint"]


def measure_checkpoints(checkpoints: list[str], *, tile_size: int, batch: int, device: str,
                        threads: int) -> list[dict[str, Any]]:
    """Each checkpoint's peak memory of one prediction batch, measured here (in forked children on a CPU with
    ``fork``; CUDA state does not survive a fork, so there one after the other in this process)."""
    kw = dict(tile_size=tile_size, batch=batch, device=device, threads=threads)
    if hasattr(os, "fork") and device == "cpu":
        return _measure_forked(list(checkpoints), **kw)
    return [measure_here(c, **kw) for c in checkpoints]
