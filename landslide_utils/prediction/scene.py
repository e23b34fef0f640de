"""Map a whole scene: windowed, blended prediction of a GeoTIFF of any size with flat memory.

``python -m landslide_utils predict --checkpoint CKPT --image scene.tif [--dem dem.tif] [--rivers rivers.gpkg]
--out DIR`` runs :func:`predict_scene`:

1. :func:`landslide_utils.inputs.scene_windows.open_scene` checks the files (errors name the file and the fix).
2. The scene is cut into ``window`` x ``window`` windows overlapping by ``overlap`` pixels
   (:func:`landslide_utils.prediction.blend.window_grid`); a background thread reads the next windows -- image bands, the
   valid mask and, for an ``rgb+factors`` model, DEM, slope and river level computed for the window alone
   (:class:`landslide_utils.inputs.scene_windows.Scene`) -- while the model predicts the current batch.
3. The windows go through the project's one prediction path, :func:`landslide_utils.prediction.tiles.predict_blended`
   (the one step 04 uses for its test area): normalised with the checkpoint's statistics, predicted in batches
   (``precision`` ``auto``: bfloat16 where the device computes it natively), blended with a Hann taper so no
   seam shows (:mod:`landslide_utils.prediction.blend`).
4. Finished strips of rows are written as they complete, never holding a scene-sized array (memory: one window
   row of the scene, the model and the GDAL cache of ``cache_mb``):

   * ``DIR/probability.tif`` -- float32 landslide probability (U-Net/PSPNet: the blended sigmoid; Mask R-CNN:
     the blended highest score of an instance covering the pixel), NaN (nodata) outside the image's valid
     pixels (nodata, alpha, no elevation);
   * ``DIR/landslides.tif`` -- uint8 1 landslide, 0 background, 255 nodata: probability >= the threshold;
   * ``DIR/landslides.gpkg`` -- one polygon per landslide (``landslide_id``, ``area_m2``, ``probability``: the
     mean probability over it; Mask R-CNN adds the instance ``score``): connected components of
     ``landslides.tif`` for U-Net/PSPNet, merged instances for Mask R-CNN (instances a window edge cut, or
     that two overlapping windows both found, become one, :class:`landslide_utils.prediction.blend.InstanceMerger`);
   * ``DIR/prediction.json`` -- the settings, the threshold and where it came from, timings and counts.

   The rasters are tiled (256 x 256), deflate-compressed, BigTIFF when needed, with the image's CRS and
   transform; every file is written atomically.

The threshold is ``--threshold`` if given, else the checkpoint's validation threshold when step 04 chose one
(``evaluation.threshold: validation``), else the paper's 0.5 (Yang et al. 2022, sec. 4.1).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.features import shapes
from rasterio.transform import Affine
from rasterio.windows import Window
from shapely.geometry import shape
from shapely.ops import unary_union
from tqdm import tqdm

from landslide_utils.config.base import ConfigError
from landslide_utils.config.data_schema import FactorSpec
from landslide_utils.config.model_schema import EvaluationSpec
from landslide_utils.files.atomic import atomic_path, write_json
from landslide_utils.files.output_sets import check_outputs, staged_outputs
from landslide_utils.files.vector_stream import VectorStream
from landslide_utils.inputs.scene_windows import Scene, open_scene
from landslide_utils.notices import notify
from landslide_utils.prediction.blend import InstanceMerger, StripBlender, StripLabels, window_grid
from landslide_utils.prediction.tiles import SCORE_FLOOR, decision_threshold, predict_blended
from landslide_utils.tiles.tile import FACTOR_NAMES, TileData
from landslide_utils.training.checkpoint import CheckpointMeta, load_checkpoint, resolve_device, task_of
from landslide_utils.training.precision import resolve_precision

__all__ = ["predict_scene", "scene_threshold", "value_range_warning", "SCENE_OUTPUTS", "BLOCK", "VALUE_RANGE_STDS"]

#: the files :func:`predict_scene` writes into its output folder
SCENE_OUTPUTS = ("probability.tif", "landslides.tif", "landslides.gpkg", "prediction.json")
#: block size of the output GeoTIFFs (and the row alignment of the strips written)
BLOCK = 256


def scene_threshold(meta: CheckpointMeta, threshold: float | None) -> tuple[float, str]:
    """The decision threshold: ``threshold`` (``value``), else the checkpoint's validation threshold
    (``validation``), else the paper's fixed 0.5 (``fixed``)."""
    if threshold is not None:
        return float(threshold), "value"
    val = meta.get("validation")
    if isinstance(val, dict) and val.get("threshold") is not None:
        return decision_threshold(meta, EvaluationSpec(threshold="validation"))
    return decision_threshold(meta, EvaluationSpec())


#: how many of the training tiles' standard deviations a scene's band mean may lie from theirs before ``predict``
#: warns that the scene's values are on another scale (e.g. 16-bit against an 8-bit-trained model)
VALUE_RANGE_STDS = 4.0


def value_range_warning(means: np.ndarray | None, meta: CheckpointMeta, *, image: Path) -> str | None:
    """A warning when the scene's red, green and blue band means lie far outside the training tiles' statistics
    that travel with the checkpoint (more than :data:`VALUE_RANGE_STDS` of their standard deviations away);
    the model would then see values it never saw and its map means little. None when they agree or nothing
    is known."""
    mean, std = meta.get("mean"), meta.get("std")
    if means is None or not mean or not std or len(mean) < 3:
        return None
    mean, std = np.asarray(mean[:3], float), np.maximum(np.asarray(std[:3], float), 1e-6)
    z = np.abs(np.asarray(means[:3], float) - mean) / std
    if not (z > VALUE_RANGE_STDS).any():
        return None
    scene = ", ".join(f"{v:.4g}" for v in means[:3])
    train = ", ".join(f"{m:.4g} ± {s:.3g}" for m, s in zip(mean, std))
    return (f"{image}: its red, green and blue bands average {scene}, but the model was trained on tiles averaging "
            f"{train} (the checkpoint's statistics): the scene is on another value scale (another data type, "
            "bit depth or reflectance scaling?). Rescale it to the training data's range, or train on such imagery; "
            "the map may mean little")


def _check_options(*, window: int, overlap: int, batch_size: int, threshold: float | None) -> None:
    if window < 64 or window % 32:
        raise ConfigError(f"--window {window}: must be a multiple of 32 and at least 64 (the models halve the "
                          "size five times)")
    if not 0 <= overlap <= window // 2 - 1:
        raise ConfigError(f"--overlap {overlap}: must be in 0..{window // 2 - 1} (less than half of --window "
                          f"{window})")
    if batch_size < 1:
        raise ConfigError(f"--batch {batch_size}: must be at least 1")
    if threshold is not None and not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold {threshold}: must be in [0, 1]")


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, up to ``depth`` ahead (GDAL reads release the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    done, stop = object(), threading.Event()

    def work() -> None:
        try:
            for x in items:
                while not stop.is_set():
                    try:
                        q.put(x, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(_Failure(exc))

    t = threading.Thread(target=work, name="scene-reader", daemon=True)
    t.start()
    try:
        while True:
            x = q.get()
            if x is done:
                return
            if isinstance(x, _Failure):
                raise x.exc
            yield x
    finally:
        stop.set()
        t.join(timeout=5)


def _window_tiles(scene: Scene, grid: list[tuple[int, int]], *, window: int, bar: tqdm,
                  counts: dict[str, int]) -> Iterator[tuple[int, int, TileData]]:
    """The windows as tiles (padded to ``window`` with invalid pixels where the scene is smaller); windows
    without a valid pixel (nodata collars) are skipped."""
    height, width = scene.image.shape
    for r, c in grid:
        h, w = min(window, height - r), min(window, width - c)
        arrays = scene.window(r, c, h, w)
        if not arrays["valid"].any():
            counts["skipped"] += 1
            bar.update(1)
            continue
        image = np.zeros((arrays["image"].shape[0], window, window), np.float32)
        image[:, :h, :w] = arrays["image"]
        factors = np.zeros((len(FACTOR_NAMES), window, window), np.float32)
        if "factors" in arrays:
            factors[:, :h, :w] = np.nan_to_num(arrays["factors"], nan=0.0)
        valid = np.zeros((window, window), bool)
        valid[:h, :w] = arrays["valid"]
        yield r, c, TileData(image=image, factors=factors, instances=np.zeros((window, window), np.int32),
                             valid=valid)


def _raster_profile(src: rasterio.DatasetReader, *, dtype: str, nodata: float) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": src.height, "width": src.width, "count": 1, "dtype": dtype,
        "crs": src.crs, "transform": src.transform, "nodata": nodata, "compress": "deflate",
        "predictor": 3 if dtype == "float32" else 2, "BIGTIFF": "IF_SAFER",
    }
    if src.height >= 16 and src.width >= 16:
        bs = BLOCK if min(src.height, src.width) >= BLOCK else 16 * (min(src.height, src.width) // 16)
        profile.update(tiled=True, blockxsize=bs, blockysize=bs)
    return profile


def _instance_rows(instances: list, probability: Path, transform: Affine, pixel_area: float) -> list[dict]:

    rows = []
    with rasterio.open(probability) as src:
        for inst in instances:
            h, w = inst.mask.shape
            prob = src.read(1, window=Window(inst.c0, inst.r0, w, h))
            tr = transform @ Affine.translation(inst.c0, inst.r0)
            geoms = [shape(g) for g, _ in shapes(inst.mask.astype(np.uint8), mask=inst.mask, connectivity=4,
                                                  transform=tr)]
            inside = prob[inst.mask]
            inside = inside[np.isfinite(inside)]
            rows.append({"geometry": unary_union(geoms) if len(geoms) > 1 else geoms[0],
                         "area_m2": float(inst.mask.sum() * pixel_area),
                         "probability": float(inside.mean()) if inside.size else float("nan"),
                         "score": inst.score})
    return rows


def predict_scene(
    *,
    checkpoint: str | Path,
    image: str | Path,
    out_dir: str | Path,
    dem: str | Path | None = None,
    rivers: str | Path | None = None,
    window: int = 512,
    overlap: int = 64,
    batch_size: int = 8,
    threshold: float | None = None,
    precision: str = "auto",
    device: str = "auto",
    num_threads: int | None = None,
    cache_mb: int = 64,
    read_ahead: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Predict a whole scene window by window and write the maps (see the module docstring).

    On Linux (glibc) it fixes ``malloc``'s mmap threshold for the rest of the process, so that memory stays flat
    over the windows of a large scene (:func:`_map_large_blocks`).

    The outputs never replace an input file, replace earlier outputs in ``out_dir`` only with ``overwrite``, and
    are written into a staging folder and moved in as a set (:mod:`landslide_utils.files.output_sets`): a failure
    leaves the earlier set as it was.

    Args:
        checkpoint: a checkpoint of any model of the registry (``data/<profile>/experiments/<EXP>/checkpoint.pt``).
        image: the post-event GeoTIFF.
        out_dir: the output folder (created).
        dem, rivers: the DEM and river lines, needed when the model was trained on ``rgb+factors``.
        window: window size in pixels (a multiple of 32).
        overlap: pixels shared by neighbouring windows (blended), less than half the window.
        batch_size: windows per forward pass.
        threshold: decision threshold on the probability (default: see the module docstring).
        precision: ``fp32``, ``bf16`` or ``auto``.
        device: ``cpu``, ``cuda`` or ``auto``.
        num_threads: torch CPU threads (default: torch's).
        cache_mb: GDAL block cache (MB) while reading and writing (rasterio hands GDAL an integer as bytes).
        read_ahead: windows a background thread reads ahead while the model computes (default ``2 x
            batch_size``; 0 reads in the main thread).
        progress: show a progress bar over windows.
        overwrite: replace the outputs of an earlier prediction in ``out_dir``.

    Returns:
        The contents of ``prediction.json``.

    Raises:
        ConfigError: an option out of range. InputError: a problem with the files (each named).
        FileNotFoundError / ValueError: no checkpoint, or not one of this project.
    """
    t0 = time.perf_counter()
    _check_options(window=window, overlap=overlap, batch_size=batch_size, threshold=threshold)
    checkpoint, final = Path(checkpoint), Path(out_dir)
    check_outputs(final, SCENE_OUTPUTS, inputs={"--checkpoint": checkpoint, "--image": Path(image),
                                               "--dem": dem and Path(dem), "--rivers": rivers and Path(rivers)},
                  overwrite=overwrite)
    with staged_outputs(final, SCENE_OUTPUTS) as out:
        summary = _predict_into(out, checkpoint=checkpoint, image=image, dem=dem, rivers=rivers, window=window,
                                overlap=overlap, batch_size=batch_size, threshold=threshold, precision=precision,
                                device=device, num_threads=num_threads, cache_mb=cache_mb, read_ahead=read_ahead,
                                progress=progress)
        summary["outputs"] = [str(final / f) for f in SCENE_OUTPUTS]
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        write_json(out / "prediction.json", summary)
    return summary


#: allocations from this many bytes up are mapped and unmapped on their own (glibc; :func:`_map_large_blocks`)
MMAP_THRESHOLD = 1 << 20


def _map_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """On glibc, fix ``malloc``'s mmap threshold at ``threshold`` bytes for this process: each freed block of that
    size or more goes back to the system at once. By default glibc raises the threshold to the largest block freed
    (up to 32 MB), so the window-sized arrays of a long scene are then carved from a heap that fragments as
    windows come and go, and the resident memory creeps with the number of windows (a one-off measurement on a
    16 384 x 1 024 strip: 1.13 x a 2 048 x 1 024 strip's peak, 1.08 x with the fixed threshold; ``make bench`` step 4
    measures whole scenes). Returns whether it was set (False elsewhere: musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(threshold)))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


# long: one pass over the scene's windows; the readers, read-ahead, blenders and writers it opens share one
# try/finally that closes them together, also on Ctrl-C
def _predict_into(out: Path, *, checkpoint: Path, image: str | Path, dem: str | Path | None,
                  rivers: str | Path | None, window: int, overlap: int, batch_size: int, threshold: float | None,
                  precision: str, device: str, num_threads: int | None, cache_mb: int, read_ahead: int | None,
                  progress: bool) -> dict[str, Any]:
    """:func:`predict_scene`'s work, writing the rasters and polygons into ``out`` (the staging folder); returns
    the summary without ``outputs``."""
    t0 = time.perf_counter()
    _map_large_blocks()
    dev = resolve_device(device)
    model, meta = load_checkpoint(checkpoint, device=dev)
    prec = resolve_precision(precision, dev)
    task = task_of(meta)
    if meta["channels"] not in ("rgb", "rgb+factors"):
        raise ConfigError(f"{checkpoint}: the model was trained on the channels {meta['channels']}; whole-scene "
                          "prediction computes the factors window by window for rgb and rgb+factors models only "
                          "(Gao et al.'s nine factors come from step 01's layers: predict those with step 04)")
    needs = meta["channels"] == "rgb+factors"
    if meta.get("factors"):
        factors = FactorSpec.model_validate_json(json.dumps(meta["factors"]))
    else:
        factors = FactorSpec()
        if needs:
            notify(f"{checkpoint}: the checkpoint does not record its river buffer and rings (trained before they "
                   "were stored); using the defaults (30 m; 200, 500, 1000, 2000 m)")
    thr, source = scene_threshold(meta, threshold)
    evaluation = EvaluationSpec(threshold="fixed", score_threshold=SCORE_FLOOR if task == "instance" else 0.5)
    prev_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    counts = {"skipped": 0, "valid_pixels": 0, "landslide_pixels": 0}
    try:
        with open_scene(image, dem=dem, rivers=rivers, needs_factors=needs, factors=factors,
                        what_needs=str(checkpoint)) as scene, \
                rasterio.Env(GDAL_CACHEMAX=int(cache_mb) * 2**20), contextlib.ExitStack() as stack:
            src = scene.image.src
            height, width = scene.image.shape
            warning = value_range_warning(scene.image.band_means(bands=3), meta, image=scene.image.path)
            if warning:
                notify(warning)
            grid = window_grid(height, width, window=window, overlap=overlap)
            transform, crs = src.transform, src.crs
            pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
            prob_tmp = stack.enter_context(atomic_path(out / "probability.tif", suffix=".tif"))
            bin_tmp = stack.enter_context(atomic_path(out / "landslides.tif", suffix=".tif"))
            dst_p = stack.enter_context(rasterio.open(prob_tmp, "w", **_raster_profile(src, dtype="float32",
                                                                                         nodata=float("nan"))))
            dst_b = stack.enter_context(rasterio.open(bin_tmp, "w", **_raster_profile(src, dtype="uint8",
                                                                                        nodata=255)))
            dst_p.set_band_description(1, "landslide_probability")
            dst_b.set_band_description(1, "landslide")
            labels = StripLabels(transform=transform) if task == "semantic" else None
            merger = InstanceMerger() if task == "instance" else None
            columns = {"area_m2": "float64", "probability": "float64"} | (
                {"score": "float64"} if task == "instance" else {})
            polygons = stack.enter_context(VectorStream(  # semantic: written strip by strip as landslides close
                out / "landslides.gpkg", layer="landslides", columns=columns, crs=crs,
                geometry_type="Polygon" if task == "semantic" else "Unknown"))
            area = {"m2": 0.0}

            def polygon(geometry: object, **attributes: float) -> None:
                polygons.add(geometry, **attributes)
                area["m2"] += attributes["area_m2"]

            def closed(components: list[tuple[object, int, float]]) -> None:
                for g, px, p in components:
                    polygon(g, area_m2=float(px * pixel_area), probability=float(p))

            def emit(row0: int, score: np.ndarray, valid: np.ndarray) -> None:
                # a strip of at most BLOCK rows; each temporary holds one or four bytes a pixel, so that a wide
                # scene costs little more than a narrow one; the score is changed in place (NaN where invalid)
                win = Window(0, row0, width, score.shape[0])
                invalid = ~valid
                mask = score >= thr
                mask &= valid
                binary = mask.astype(np.uint8)
                binary[invalid] = 255
                dst_b.write(binary, 1, window=win)
                del binary
                np.copyto(score, np.float32(np.nan), where=invalid)
                dst_p.write(score, 1, window=win)
                counts["valid_pixels"] += int(valid.sum())
                counts["landslide_pixels"] += int(np.count_nonzero(mask))
                if labels is not None:
                    closed(labels.add(row0, mask, score))

            blender = StripBlender(height=height, width=width, emit=emit, align=BLOCK, rows=window + BLOCK - 1)
            bar = tqdm(total=len(grid), desc=f"predict {scene.image.path.name}", unit="window",
                       disable=not progress, dynamic_ncols=True)
            with bar:
                t_loop = time.perf_counter()
                tiles = _window_tiles(scene, grid, window=window, bar=bar, counts=counts)
                ahead = 2 * batch_size if read_ahead is None else int(read_ahead)
                if ahead > 0:
                    tiles = _prefetch(tiles, depth=ahead)
                n = predict_blended(model, meta, tiles, blender=blender, overlap=overlap, evaluation=evaluation,
                                    threshold=thr, batch_size=batch_size, device=dev, precision=prec,
                                    channels_last=True, merger=merger, finish_rows=True,
                                    on_window=lambda *_: bar.update(1))
                blender.close()
                loop_seconds = time.perf_counter() - t_loop
            dst_p.close()
            dst_b.close()
            if labels is not None:
                closed(labels.finish())
            else:  # the instances' mean probability is read from the finished probability raster
                for row in _instance_rows(merger.instances(), prob_tmp, transform, pixel_area):
                    polygon(row.pop("geometry"), **row)
        n_polygons = polygons.count
    finally:
        torch.set_num_threads(prev_threads)
    summary = {
        "checkpoint": str(checkpoint), "experiment": meta.get("experiment"), "model": meta["model"],
        "channels": meta["channels"], "image": str(image), "dem": str(dem) if dem else None,
        "rivers": str(rivers) if rivers else None, "height": height, "width": width, "crs": str(crs),
        "window": window, "overlap": overlap, "batch_size": batch_size, "threshold": thr,
        "threshold_source": source, "precision": prec, "device": str(dev), "windows": len(grid),
        "windows_predicted": n, "windows_skipped": counts["skipped"], "valid_pixels": counts["valid_pixels"],
        "landslide_pixels": counts["landslide_pixels"], "landslides": n_polygons,
        "landslide_area_m2": area["m2"],
        "seconds": round(time.perf_counter() - t0, 2), "predict_seconds": round(loop_seconds, 2),
    }
    return summary
