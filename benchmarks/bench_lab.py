"""The teaching lab against its targets (``make bench-lab``): the whole ``lab`` study, steps 01-06 from scratch
(its data folder set aside, so every model trains; ``run --force``), timed and its memory sampled, printed as ratios of the lab's budgets (10 minutes on 2 cores,
2 GB: a class period on a Binder machine).

    .venv/bin/python benchmarks/bench_lab.py                    # params/profiles/lab.yaml, into benchmarks/results.json
    .venv/bin/python benchmarks/bench_lab.py --profile my.yaml  # another profile against the same targets

Memory is the proportional set size (PSS, from ``/proc/<pid>/smaps_rollup``) summed over the runner and every
process it starts (the notebook kernels), sampled every 0.2 s: what the study holds in memory at once, shared
libraries counted once. Linux only. The largest single process's resident size is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
TARGETS = {"minutes": 10.0, "memory_mb": 2048.0}


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _pss_mb(p: psutil.Process) -> tuple[float, float]:
    """(PSS, RSS) of one process in MB; zeros once it has gone."""
    try:
        info = p.memory_full_info()
        return info.pss / 2**20, info.rss / 2**20
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0.0, 0.0


def _set_aside(profile: Path) -> None:
    """From scratch means no checkpoint to resume: the profile's data folder (``data/<name>/``) is moved to
    ``data/<name>.previous/`` (an older one there is removed), never deleted outright."""
    spec = yaml.safe_load(profile.read_text(encoding="utf-8"))
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        raise SystemExit(f"error: {profile}: no 'name' key; a profile names its study (name: lab), which names its "
                         "data folder")
    data = ROOT / "data" / name
    if data.exists():
        previous = data.with_name(f"{name}.previous")
        if previous.exists():
            shutil.rmtree(previous)
        data.rename(previous)
        print(f"moved {data.relative_to(ROOT)}/ to {previous.relative_to(ROOT)}/ (the run starts from scratch)")


def measure(profile: Path, *, interval: float = 0.2) -> dict[str, float]:
    """Run the profile's study from scratch and return its wall seconds and memory peaks."""
    _set_aside(profile)
    cmd = [sys.executable, "-m", "landslide_utils", "run", "--profile", str(profile), "--force", "--no-html"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    root = psutil.Process(proc.pid)
    peak_total = peak_single = 0.0
    while proc.poll() is None:
        sizes = [_pss_mb(p) for p in _tree(root)]
        peak_total = max(peak_total, sum(pss for pss, _ in sizes))
        peak_single = max([peak_single, *(rss for _, rss in sizes)])
        time.sleep(interval)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"error: the {profile.name} study failed (exit {proc.returncode}); see its output above")
    return {"seconds": seconds, "peak_pss_mb": peak_total, "peak_process_rss_mb": peak_single}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", type=Path, default=ROOT / "params/profiles/lab.yaml")
    args = ap.parse_args()
    if not args.profile.is_file():
        raise SystemExit(f"error: --profile {args.profile}: no such file; give a profile, e.g. params/profiles/lab.yaml")
    r = measure(args.profile)
    minutes = r["seconds"] / 60
    ratio_t, ratio_m = minutes / TARGETS["minutes"], r["peak_pss_mb"] / TARGETS["memory_mb"]
    print(f"{args.profile.name}: {int(r['seconds'] // 60)} min {r['seconds'] % 60:.0f} s = {ratio_t:.2f} x its "
          f"{TARGETS['minutes']:.0f}-minute target ({'met' if ratio_t <= 1 else 'not met'}); peak memory of the study "
          f"(PSS of all its processes) {r['peak_pss_mb']:.0f} MB = {ratio_m:.2f} x its {TARGETS['memory_mb']:.0f} MB "
          f"target ({'met' if ratio_m <= 1 else 'not met'}); largest single process {r['peak_process_rss_mb']:.0f} MB "
          f"resident; {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    results["lab"] = {"profile": str(args.profile.relative_to(ROOT)) if args.profile.is_relative_to(ROOT) else
                      str(args.profile), **{k: round(v, 1) for k, v in r.items()}, "targets": TARGETS,
                      "met": ratio_t <= 1 and ratio_m <= 1, "cores": os.cpu_count()}
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
