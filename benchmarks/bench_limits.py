"""Benchmark: how close training and whole-scene prediction come to what this machine can do (``make bench``).

Prints, in one run, every figure as a ratio to a baseline measured in the same run, and writes
``benchmarks/results.json``:

1. **Matrix-multiply peak** in float32 and bfloat16 (GFLOP/s; square matmuls, best of several) -- the baselines.
   bfloat16 is "native" only where the CPU's oneDNN (AVX512-BF16 / AMX) or the GPU supports it; elsewhere torch
   emulates it and the figure shows how slow that is.
2. **Training throughput** per model (Mask R-CNN, U-Net, PSPNet at the quick profile's sizes: tiles, batch,
   backbones) and per precision: FLOPs of one training step (forward + backward) counted by
   ``torch.utils.flop_counter.FlopCounterMode``, divided by the step's median time, as a fraction of the best
   peak of step 1.
3. **Scene prediction throughput**: windows per second of ``predict_scene`` (reading, factors, normalising,
   blending, writing, polygons) on a generated scene, as a fraction of a pure batched forward pass over the same
   number of windows with the same model, batch and precision.
4. **Peak memory** (the process's maximum resident set) predicting scenes of growing size (2 048², 8 192² and
   16 384²) with the same model and window, each in a fresh process, as ratios to the smallest: once with a model
   that marks few pixels and once with one that marks many (0.1 % and 20 % of the pixels: the untrained model's
   logit shifted so; many landslides to polygonise), so that memory is shown flat in the number of landslides too.

    .venv/bin/python benchmarks/bench_limits.py [--small 2048] [--large 16384] [--repeats 5]
    .venv/bin/python benchmarks/bench_limits.py --only-memory   # step 4 alone, into the same results.json

The large scene is generated window by window on disk (about 1 GB for 16 384 x 16 384), so its generation stays
flat in memory too; everything is written to a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the profiler's start/stop lines

from landslide_utils.config.channels import CHANNEL_SETS  # noqa: E402
from landslide_utils.config.load import load_profile  # noqa: E402
from landslide_utils.models import build_model, model_task, spec_for  # noqa: E402
from landslide_utils.training.checkpoint import save_checkpoint  # noqa: E402
from landslide_utils.training.loop import make_optimizer, train_step  # noqa: E402
from landslide_utils.training.precision import autocast, bf16_native  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"
#: targets of the issue (fractions), for the report
TARGETS = {"unet": 0.45, "pspnet": 0.45, "maskrcnn": 0.25, "scene": 0.80, "memory_ratio": 1.2}


def _time(fn, repeats: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(dtype: torch.dtype, *, n: int, repeats: int) -> float:
    """GFLOP/s of an n x n matrix product (best of ``repeats`` after a warm-up)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = min(_time(lambda: a @ b, 1) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def make_batch(task: str, n: int, ch: int, size: int) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(ch, size, size, generator=g) for _ in range(n)]
    """``n`` random tiles of ``ch`` x ``size``^2 with one square landslide each, as targets of ``task``."""
    targets = []
    for _ in range(n):
        m = torch.zeros(size, size)
        m[size // 4: size // 2, size // 4: size // 2] = 1
        if task == "instance":
            targets.append({"boxes": torch.tensor([[size / 4, size / 4, size / 2, size / 2]]),
                            "labels": torch.tensor([1]), "masks": m[None].to(torch.uint8)})
        else:
            targets.append({"mask": m, "valid": torch.ones(size, size, dtype=torch.bool)})
    return xs, targets


def training_throughput(name: str, precision: str, *, profile: Any, repeats: int) -> dict[str, float]:
    """FLOPs of one training step and its median time at the profile's tile size and batch."""
    from torch.utils.flop_counter import FlopCounterMode

    task = model_task(name)
    torch.manual_seed(0)
    model = build_model(name, 3, spec=spec_for(profile, name), num_classes=2, load_weights=False)
    opt = make_optimizer(model, profile.training)
    xs, tg = make_batch(task, profile.training.batch_size, 3, profile.tiling.tile_size)

    def step() -> None:
        train_step(model, task, xs, tg, opt, 5.0, {}, precision)

    step()  # warm-up (oneDNN primitives, allocator)
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    seconds = _time(step, repeats)
    return {"gflop_per_step": flops / 1e9, "seconds_per_step": seconds, "gflops": flops / seconds / 1e9,
            **_time_shares(step)}


#: operator names whose time counts as dense compute (the FLOPs the counter counts)
_DENSE = ("conv", "mm", "matmul", "linear", "mkldnn")


def _time_shares(step) -> dict[str, Any]:  # noqa: ANN001
    """Where one step's CPU time goes (torch.profiler, self time per operator): the share in dense kernels
    (convolutions, matrix products) and the three operators taking the most time outside them."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    ops = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    total = sum(t for _, t in ops) or 1.0
    dense = sum(t for k, t in ops if any(d in k.lower() for d in _DENSE))
    other = sorted(((k, t) for k, t in ops if not any(d in k.lower() for d in _DENSE)), key=lambda kt: -kt[1])
    return {"dense_share": dense / total,
            "top_other": [{"op": k, "share": t / total} for k, t in other[:3]]}


def make_scene(folder: Path, size: int, *, pixel_m: float = 2.0, dem_pixel_m: float = 10.0) -> dict[str, Path]:
    """A size x size RGB scene with DEM and rivers, written strip by strip (flat memory)."""
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from shapely.geometry import LineString

    folder.mkdir(parents=True, exist_ok=True)
    x0, y0, crs = 400_000.0, 3_100_000.0, "EPSG:32648"
    image, dem, rivers = folder / "scene.tif", folder / "dem.tif", folder / "rivers.gpkg"
    prof = {"driver": "GTiff", "height": size, "width": size, "count": 3, "dtype": "uint8", "crs": crs,
            "transform": from_origin(x0, y0, pixel_m, pixel_m), "tiled": True, "blockxsize": 512,
            "blockysize": 512, "BIGTIFF": "IF_SAFER"}
    rng = np.random.default_rng(0)
    strip = 512
    with rasterio.open(image, "w", **prof) as dst:
        cols = np.arange(size)
        for r in range(0, size, strip):
            h = min(strip, size - r)
            rows = np.arange(r, r + h)[:, None]
            base = 90 + 40 * np.sin(cols[None, :] / 37.0) * np.cos(rows / 53.0)
            blobs = ((np.sin(cols[None, :] / 61.0) * np.sin(rows / 47.0)) > 0.93) * 90
            noise = rng.integers(0, 25, (3, h, size))
            # small bright patches (tens of metres), thousands of them per 2 048² scene: a model that marks them
            # gives many landslides to polygonise
            patches = (ndimage.gaussian_filter(rng.random((h, size), dtype=np.float32), 4) > 0.52) * 70
            dst.write(np.clip(base[None] + blobs[None] + patches[None] + noise, 0, 255).astype(np.uint8),
                      window=Window(0, r, size, h))
    n = int(math.ceil(size * pixel_m / dem_pixel_m)) + 4
    dprof = {"driver": "GTiff", "height": n, "width": n, "count": 1, "dtype": "float32", "crs": crs,
             "transform": from_origin(x0 - 2 * dem_pixel_m, y0 + 2 * dem_pixel_m, dem_pixel_m, dem_pixel_m),
             "tiled": True, "blockxsize": 256, "blockysize": 256, "nodata": -9999.0}
    with rasterio.open(dem, "w", **dprof) as dst:
        cols = np.arange(n)
        for r in range(0, n, strip):
            h = min(strip, n - r)
            rows = np.arange(r, r + h)[:, None]
            z = 1500 + 300 * np.sin(cols[None, :] / 90.0) * np.cos(rows / 70.0) + 0.5 * cols[None, :]
            dst.write(z[None].astype(np.float32), window=Window(0, r, n, h))
    extent = size * pixel_m
    lines = [LineString([(x0 + f * extent, y0), (x0 + (f + 0.1) * extent, y0 - 0.5 * extent),
                         (x0 + f * extent, y0 - extent)]) for f in (0.2, 0.55, 0.8)]
    gpd.GeoDataFrame(geometry=lines, crs=crs).to_file(rivers)
    return {"image": image, "dem": dem, "rivers": rivers}


def make_checkpoint(path: Path, name: str, *, profile: Any, channels: str = "rgb+factors") -> Path:
    """A checkpoint of an untrained model (random weights, seed 0): prediction speed does not depend on training."""
    torch.manual_seed(0)
    n = len(CHANNEL_SETS[channels])
    spec = spec_for(profile, name)
    model = build_model(name, n, spec=spec, num_classes=2, load_weights=False)
    meta = {"experiment": f"bench_{name}", "profile": profile.name, "model": name, "task": model_task(name),
            "spec": spec.model_dump(mode="json"), "channels": channels, "in_channels": n, "num_classes": 2,
            "mean": [100.0, 100.0, 100.0, 1500.0, 20.0, 3.0][:n], "std": [40.0, 40.0, 40.0, 300.0, 10.0, 1.5][:n],
            "training_data": "original", "seed": 0, "tile_size": profile.tiling.tile_size,
            "factors": profile.factors.model_dump(mode="json")}
    return save_checkpoint(path, meta=meta, model=model, optimizer=None, scaler=None, step=0, steps=0,
                           train_seconds=0.0, final_loss=None)


def shifted_checkpoint(src: Path, dst: Path, *, shift: float) -> Path:
    """``src`` with ``shift`` added to the bias of its last convolution (the U-Net/PSPNet logit): a model that
    marks more (shift > 0) or fewer (shift < 0) pixels, with the same cost per window."""
    from landslide_utils.training.checkpoint import load_checkpoint

    model, meta = load_checkpoint(src)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        head.bias += shift
    return save_checkpoint(dst, meta=meta, model=model, optimizer=None, scaler=None, step=0, steps=0,
                           train_seconds=0.0, final_loss=None)


def marking(scene: Path, checkpoint: Path, tmp: Path, *, share: float, **kw: Any) -> Path:
    """A checkpoint that marks about ``share`` of the scene's pixels: the logit shift that puts the base model's
    (1 - share) score quantile on ``scene`` at the 0.5 threshold."""
    import rasterio

    run_child(scene, checkpoint, **kw)
    with rasterio.open(scene / "out" / "probability.tif") as src:
        prob = src.read(1)
    q = float(np.clip(np.nanquantile(prob, 1.0 - share), 1e-6, 1 - 1e-6))
    return shifted_checkpoint(checkpoint, tmp / f"{checkpoint.stem}_{share:g}.pt", shift=-math.log(q / (1 - q)))


def pure_forward(name: str, *, checkpoint: Path, windows: int, window: int, batch: int, precision: str,
                 channels_last: bool = True) -> float:
    """Windows per second of the model's forward pass alone over random windows (as predict_tiles runs it for a
    scene: channels-last for U-Net/PSPNet)."""
    from landslide_utils.training.checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint)
    cl = channels_last and meta["task"] == "semantic"
    if cl:
        model.to(memory_format=torch.channels_last)
    x = torch.randn(batch, int(meta["in_channels"]), window, window)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)

    def run(k: int) -> None:
        with torch.inference_mode(), autocast(precision, "cpu"):
            if meta["task"] == "instance":
                model(list(x[:k]))
            else:
                model(x[:k])

    run(batch)  # warm-up
    t0 = time.perf_counter()
    done = 0
    while done < windows:
        k = min(batch, windows - done)
        run(k)
        done += k
    return windows / (time.perf_counter() - t0)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM of /proc/self/status). Not ``ru_maxrss``: Linux carries the
    parent's high-water mark into a forked child, so a child would report the (larger) parent's peak."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    """Predict one scene in this (fresh) process and print its peak memory and timings as JSON."""
    from landslide_utils.prediction.scene import predict_scene

    res = predict_scene(checkpoint=args.checkpoint, image=args.scene / "scene.tif", dem=args.scene / "dem.tif",
                        rivers=args.scene / "rivers.gpkg", out_dir=args.scene / "out", window=args.window,
                        overlap=args.overlap, batch_size=args.batch, precision=args.precision, progress=False,
                        read_ahead=None if args.read_ahead < 0 else args.read_ahead,
                        overwrite=True)  # the bench predicts the same scene more than once
    print(json.dumps({"peak_mb": _peak_rss_mb(), "seconds": res["seconds"], "windows": res["windows_predicted"],
                      "predict_seconds": res["predict_seconds"], "landslides": res["landslides"],
                      "landslide_pixels": res["landslide_pixels"], "valid_pixels": res["valid_pixels"]}))


def run_child(scene: Path, checkpoint: Path, *, window: int, overlap: int, batch: int, precision: str,
              read_ahead: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", "--scene", str(scene), "--checkpoint", str(checkpoint),
           "--window", str(window), "--overlap", str(overlap), "--batch", str(batch), "--precision", precision,
           "--read-ahead", str(read_ahead)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        raise RuntimeError(f"scene prediction failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", type=Path, default=ROOT / "params/profiles/quick.yaml")
    ap.add_argument("--small", type=int, default=2048, help="side of the small scene (pixels)")
    ap.add_argument("--large", type=int, default=16384, help="side of the large scene (pixels)")
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--precision", default="auto", help="prediction precision for steps 3 and 4")
    ap.add_argument("--scene-model", default="unet", help="model of the scene throughput (step 3)")
    ap.add_argument("--memory-model", default="pspnet", help="model of the memory scenes (step 4; the fastest)")
    ap.add_argument("--memory-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[8192],
                    help="scene sides between --small and --large for step 4 (comma-separated)")
    ap.add_argument("--marks", type=lambda t: [float(v) for v in t.split(",")], default=[0.001, 0.2],
                    help="shares of the pixels the step-4 models mark (few, many)")
    ap.add_argument("--only-memory", action="store_true", help="run step 4 alone (and the small scene it needs)")
    ap.add_argument("--read-ahead", type=int, default=-1,
                    help="windows read ahead in the scene runs (default: predict_scene's choice)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scene", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    profile = load_profile(args.profile)
    threads = profile.training.num_threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    native = bf16_native("cpu")
    results: dict[str, Any] = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": threads,
                                           "torch": torch.__version__, "bf16_native": native},
                               "targets": TARGETS}
    print(f"machine: {threads} torch threads, torch {torch.__version__}, bf16 native: {native}")

    if args.only_memory:
        previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
        results = {**previous, "memory_machine": results["machine"]}
    else:
        baselines_and_training(args, profile, results, native=native)
    with tempfile.TemporaryDirectory(prefix="bench_scene_") as tmp:
        tmp = Path(tmp)
        small = tmp / f"scene_{args.small}"
        make_scene(small, args.small)
        if not args.only_memory:
            scene_throughput(args, profile, results, tmp=tmp, small=small)
        memory_step(args, profile, results, tmp=tmp, small=small)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


def baselines_and_training(args: argparse.Namespace, profile: Any, results: dict[str, Any], *, native: bool) -> None:
    """Steps 1 and 2: the matmul peaks and each model's training throughput as a fraction of the best."""
    # 1. baselines
    fp32 = matmul_peak(torch.float32, n=2048, repeats=args.repeats)
    bf16 = matmul_peak(torch.bfloat16, n=2048 if native else 512, repeats=args.repeats if native else 1)
    best = max(fp32, bf16)
    results["matmul_gflops"] = {"fp32": fp32, "bf16": bf16, "best": best}
    print(f"matmul peak: fp32 {fp32:.1f} GFLOP/s, bf16 {bf16:.1f} GFLOP/s ({bf16 / fp32:.2f} x fp32"
          f"{'' if native else ', emulated: no native bf16 on this CPU'}); best {best:.1f}")

    # 2. training
    rows = []
    print(f"training at the {profile.name} profile's sizes ({profile.training.batch_size} x "
          f"{profile.tiling.tile_size}^2 tiles, RGB):")
    for name in ("maskrcnn", "unet", "pspnet"):
        for precision in ("fp32", "bf16"):
            reps = args.repeats if (precision == "fp32" or native) else 1
            r = training_throughput(name, precision, profile=profile, repeats=reps)
            r.update(model=name, precision=precision, fraction_of_peak=r["gflops"] / best,
                     target=TARGETS[name], met=r["gflops"] / best >= TARGETS[name])
            rows.append(r)
            others = ", ".join(f"{o['op']} {o['share']:.0%}" for o in r["top_other"])
            print(f"  {name:<8} {precision}: {r['gflop_per_step']:.1f} GFLOP/step in {r['seconds_per_step']:.3f} s"
                  f" = {r['gflops']:.1f} GFLOP/s = {r['fraction_of_peak']:.2f} of the best peak "
                  f"(target {TARGETS[name]:.2f}: {'met' if r['met'] else 'not met'}); time in dense kernels "
                  f"{r['dense_share']:.0%}, next: {others}")
    results["training"] = rows


def scene_throughput(args: argparse.Namespace, profile: Any, results: dict[str, Any], *, tmp: Path,
                     small: Path) -> None:
    """Step 3: windows per second of predict_scene against a pure forward pass."""
    ckpt = make_checkpoint(tmp / f"{args.scene_model}.pt", args.scene_model, profile=profile)
    res = run_child(small, ckpt, window=args.window, overlap=args.overlap, batch=args.batch,
                    precision=args.precision, read_ahead=args.read_ahead)
    res_ahead = run_child(small, ckpt, window=args.window, overlap=args.overlap, batch=args.batch,
                          precision=args.precision, read_ahead=2 * args.batch)
    res_serial = run_child(small, ckpt, window=args.window, overlap=args.overlap, batch=args.batch,
                           precision=args.precision, read_ahead=0)
    from landslide_utils.training.precision import resolve_precision

    prec = resolve_precision(args.precision, "cpu")
    fwd = pure_forward(args.scene_model, checkpoint=ckpt, windows=res["windows"], window=args.window,
                       batch=args.batch, precision=prec)
    fwd_default = pure_forward(args.scene_model, checkpoint=ckpt, windows=res["windows"], window=args.window,
                               batch=args.batch, precision=prec, channels_last=False)
    scene_rate = res["windows"] / res["seconds"]
    ahead_rate = res_ahead["windows"] / res_ahead["seconds"]
    serial_rate = res_serial["windows"] / res_serial["seconds"]
    results["scene"] = {"model": args.scene_model, "size": args.small, "window": args.window,
                        "overlap": args.overlap, "batch": args.batch, "precision": prec,
                        "windows": res["windows"], "windows_per_s": scene_rate,
                        "windows_per_s_read_ahead": ahead_rate, "windows_per_s_without_read_ahead": serial_rate, "pure_forward_windows_per_s": fwd,
                        "pure_forward_default_format_windows_per_s": fwd_default,
                        "fraction_of_pure_forward": scene_rate / fwd,
                        "fraction_read_ahead": ahead_rate / fwd, "fraction_without_read_ahead": serial_rate / fwd,
                        "met": scene_rate / fwd >= TARGETS["scene"]}
    print(f"scene prediction ({args.scene_model}, {args.small}^2, window {args.window}, overlap {args.overlap}, "
          f"batch {args.batch}, {prec}): {scene_rate:.2f} windows/s vs pure forward {fwd:.2f} windows/s = "
          f"{scene_rate / fwd:.2f} (read-ahead of {2 * args.batch} windows {ahead_rate / fwd:.2f}, none "
          f"{serial_rate / fwd:.2f}; target {TARGETS['scene']:.2f}: "
          f"{'met' if scene_rate / fwd >= TARGETS['scene'] else 'not met'})")
    print(f"  channels-last forward {fwd:.2f} windows/s vs the default memory format {fwd_default:.2f} = "
          f"{fwd / fwd_default:.2f} x")



def memory_step(args: argparse.Namespace, profile: Any, results: dict[str, Any], *, tmp: Path, small: Path) -> None:
    """Step 4: peak memory on scenes of growing size (fresh processes), a model marking few and one marking many
    pixels."""
    # 4. memory: the same model and window on scenes of growing size, each in a fresh process, once with a
    # model that marks few pixels and once with one that marks many (many landslides to polygonise)
    kw = {"window": args.window, "overlap": args.overlap, "batch": args.batch, "precision": args.precision,
          "read_ahead": args.read_ahead}
    sizes = sorted({args.small, *args.memory_sizes, args.large})
    scenes = {args.small: small}
    base = make_checkpoint(tmp / f"{args.memory_model}.pt", args.memory_model, profile=profile)
    models = {f"marks {share:.1%}": marking(small, base, tmp, share=share, **kw) for share in args.marks}
    gen = {}
    for size in sizes:
        if size not in scenes:
            t0 = time.perf_counter()
            make_scene(tmp / f"scene_{size}", size)
            scenes[size], gen[size] = tmp / f"scene_{size}", time.perf_counter() - t0
    memory = []
    for label, ckpt_m in models.items():
        runs = {size: run_child(scenes[size], ckpt_m, **kw) for size in sizes}
        first = runs[sizes[0]]["peak_mb"]
        for size, r in runs.items():
            row = {"model": args.memory_model, "marks": label, "size": size, "window": args.window,
                   "peak_mb": r["peak_mb"], "ratio": r["peak_mb"] / first, "landslides": r["landslides"],
                   "landslide_share": r["landslide_pixels"] / max(r["valid_pixels"], 1),
                   "seconds": r["seconds"], "windows": r["windows"],
                   "met": r["peak_mb"] / first <= TARGETS["memory_ratio"]}
            memory.append(row)
            print(f"peak memory ({args.memory_model}, {label}, window {args.window}): {size}^2 "
                  f"{r['peak_mb']:.0f} MB, {r['landslides']} landslides ({row['landslide_share']:.1%} of the "
                  f"pixels), {r['seconds']:.0f} s = {row['ratio']:.3f} x the {sizes[0]}^2 scene (target <= "
                  f"{TARGETS['memory_ratio']}: {'met' if row['met'] else 'not met'})")
    results["memory"] = {"runs": memory, "generation_seconds": gen,
                         "met": all(r["met"] for r in memory)}


if __name__ == "__main__":
    main()
