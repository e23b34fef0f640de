"""Evaluation over the stitched test area (Yang et al. 2022, sections 4.1-4.2); the tiles are predicted by
:mod:`landslide_utils.prediction.tiles`.

Mask R-CNN's instances become a pixel mask as the union of instance masks with score >= ``score_threshold``
and mask probability >= ``mask_threshold`` (both 0.5, Yang et al. 2022 sec. 4.1; docs/methods.md "Metrics");
U-Net/PSPNet pixels are landslide where sigmoid(logit) >= ``mask_threshold``. Test-tile predictions are
stitched into the test-area window of the image grid (:func:`landslide_utils.tiles.tiling.paste`) and evaluated there
on valid pixels. Beside the thresholded metrics, the *score map* (the landslide probability, or for Mask R-CNN
the highest score of an instance covering the pixel, instances kept down to a score of 0.05) gives threshold-free
average precision (AP) and the F1 at the threshold chosen on validation tiles (:func:`validation_threshold`).
Outputs of experiment ``EXP``:

* ``data/<p>/experiments/EXP/prediction.tif``: uint8, 1 landslide, 0 background, 255 = nodata (invalid);
* ``.../ground_truth.tif``: the same coding for the inventory;
* ``.../error_map.tif``: uint8, 0 invalid, 1 TN, 2 TP, 3 FP (false extraction), 4 FN (missed extraction);
* ``.../prediction.gpkg``: predicted landslide polygons with ``area_m2`` and ``score`` (mean of the highest
  instance score over the polygon for Mask R-CNN, mean probability for U-Net/PSPNet);
* ``reports/<p>/metrics/EXP.json``: pixel metrics (:mod:`landslide_utils.evaluation.metrics`), ``ap``,
  ``f1_val_threshold`` and ``val_threshold``, object recall by size, training seconds and steps;
* ``reports/<p>/metrics/EXP_tiles.csv``: confusion counts (``tp, fp, fn, tn``) of every test tile, for the tile
  bootstrap of :mod:`landslide_utils.evaluation.bootstrap`;
* ``reports/<p>/metrics/EXP_chips.csv`` (chip datasets): every test chip's counts, scores and landslides hit
  (:func:`landslide_utils.evaluation.chip_scores.chip_table`); the test "area" is then the mosaic of the test chips.

The window is held in memory (a few bytes per pixel of the test area); fine for every profile shipped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import torch
from rasterio.features import shapes
from rasterio.transform import Affine
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import shape
from shapely.ops import unary_union
from torch import nn
from tqdm import tqdm

from landslide_utils.chips.study_tiles import read_manifest
from landslide_utils.config.model_schema import DEFAULT_LOSS, EvaluationSpec
from landslide_utils.config.overrides import training_for
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.evaluation.chip_scores import chip_table
from landslide_utils.evaluation.metrics import (
    TABLE_METRICS,
    all_metrics,
    average_precision,
    best_threshold,
    confusion_counts,
    object_recall_by_size,
)
from landslide_utils.files.atomic import write_csv, write_geotiff, write_json, write_vector
from landslide_utils.paths import CHECKPOINT_FILE, StudyPaths
from landslide_utils.prediction.blend import StripBlender
from landslide_utils.prediction.tiles import (
    TilePrediction,
    decision_threshold,
    fixed_decision,
    predict_blended,
    predict_tiles,
    score_evaluation,
)
from landslide_utils.tiles.tile import TileData, read_tile
from landslide_utils.tiles.tiling import area_window, paste, read_index
from landslide_utils.tiles.validation_split import validation_paths
from landslide_utils.training.checkpoint import CheckpointMeta, load_checkpoint, resolve_device, task_of, update_meta
from landslide_utils.training.datasets import landslide_prevalence
from landslide_utils.training.experiment import training_tiles

__all__ = ["evaluate_area", "evaluate_test_area", "cross_validation_report", "CV_KEYS", "error_codes", "ERROR_CLASSES", "validation_threshold", "empty_prediction_warning"]

#: codes of error_map.tif
ERROR_CLASSES: dict[int, str] = {0: "invalid", 1: "true negative", 2: "true positive",
                                 3: "false extraction (FP)", 4: "missed extraction (FN)"}


def error_codes(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Error map codes: 0 invalid, 1 TN, 2 TP, 3 FP (false extraction), 4 FN (missed extraction)."""
    codes = np.where(pred, np.where(truth, 2, 3), np.where(truth, 4, 1)).astype(np.uint8)
    codes[~valid] = 0
    return codes


def _polygons(pred: np.ndarray, score: np.ndarray, transform: Affine, crs: Any, pixel_area: float) -> Any:

    labels, n = ndimage.label(pred, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    if n == 0:
        return gpd.GeoDataFrame({"polygon_id": np.array([], int), "area_m2": np.array([], float),
                                 "score": np.array([], float)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    idx = np.arange(1, n + 1)
    count = ndimage.sum_labels(np.ones_like(score), labels, idx)
    mean_score = ndimage.mean(score, labels, idx)
    geoms = {}
    for geom, val in shapes(labels.astype(np.int32), mask=labels > 0, connectivity=4, transform=transform):
        geoms.setdefault(int(val), []).append(shape(geom))

    rows = [(i, unary_union(geoms[i]) if len(geoms[i]) > 1 else geoms[i][0]) for i in idx if i in geoms]
    return gpd.GeoDataFrame(
        {"polygon_id": [i for i, _ in rows], "area_m2": [float(count[i - 1] * pixel_area) for i, _ in rows],
         "score": [float(mean_score[i - 1]) for i, _ in rows]},
        geometry=[g for _, g in rows], crs=crs,
    )


def empty_prediction_warning(*, experiment: str, where: str, threshold: float, source: str, max_score: float,
                             prevalence: float | None, loss: str | None = None) -> str:
    """The guard's message when a trained model predicts no landslide pixel on its validation tiles (or, without
    validation tiles, in the test area): what happened, the training data's landslide share, what to try.

    What to try follows the loss sweeps (docs/methods.md, "Loss and decision threshold"): a threshold chosen on
    validation tiles rescues a model whose scores rank landslides well but stay below 0.5, and no ``bce_dice`` run
    of the sweeps gave an empty map (2 of 20 plain ``bce`` runs did, all U-Net on rare landslides).
    """
    share = f"landslides cover {100 * prevalence:.2f} % of the training tiles' pixels" if prevalence is not None \
        else "the landslide share of the training tiles is unknown"
    tries = ["evaluation.threshold: validation (with training.validation_share > 0)"] if source != "validation" else []
    if loss is not None and loss != DEFAULT_LOSS:  # loss: the semantic models' training.loss (None for Mask R-CNN)
        tries.append(f"training.loss: {DEFAULT_LOSS} (the default; this model trained with {loss})")
    tries.append("more training.steps")
    consequence = ("Its test metrics at this threshold say little about the model: its scores stay below the "
                   "threshold on data it did not train on (its AP, which needs no threshold, says how it ranks "
                   "landslides)") if "validation" in where else (
        "Its metrics are zeros because the map is empty, not because it was judged")
    return (f"Experiment {experiment} predicts no landslide pixel on {where} at the {source} threshold "
            f"{threshold:.3g} (highest score {max_score:.3g}); {share}. {consequence}. Try: " + "; ".join(tries)
            + " (docs/methods.md, \"Loss and decision threshold\").")


@dataclass(frozen=True)
class _StitchedArea:
    """The test area's window of the image grid with its stitched truth, valid mask, instance ids and score map,
    and the confusion counts of each tile at the decision threshold."""

    window: Window
    transform: Affine
    crs: Any
    truth: np.ndarray
    valid: np.ndarray
    inst: np.ndarray
    score: np.ndarray
    per_tile: list[dict[str, Any]]


def _stitch_test_area(model: nn.Module, meta: CheckpointMeta, test: pd.DataFrame, tiles_dir: Path, *, decision: float,
                      evaluation: EvaluationSpec, device: torch.device, label: str | None,
                      progress: bool) -> _StitchedArea:
    """Predict the test tiles through the one prediction path and stitch them onto the test area's window."""
    win = area_window(test, "test")
    h, w = int(win.height), int(win.width)
    truth = np.zeros((h, w), bool)
    valid = np.zeros((h, w), bool)
    inst = np.zeros((h, w), np.int32)
    score = np.zeros((h, w), np.float32)
    first = read_tile(tiles_dir / test["path"].iloc[0])
    transform = first.transform @ Affine.translation(int(win.col_off) - int(test["col_off"].iloc[0]),
                                                     int(win.row_off) - int(test["row_off"].iloc[0]))
    crs = first.crs
    per_tile = []
    whole = Window(0, 0, w, h)
    r_off, c_off = int(win.row_off), int(win.col_off)

    def windows() -> Iterator[tuple[int, int, TileData]]:
        for r in test.itertuples():
            yield int(r.row_off) - r_off, int(r.col_off) - c_off, read_tile(tiles_dir / r.path)

    def emit(row0: int, strip: np.ndarray, strip_valid: np.ndarray) -> None:
        score[row0:row0 + strip.shape[0]] = strip

    def on_window(r: int, c: int, tile: TileData, p: TilePrediction) -> None:
        v = tile.valid
        at = {"row_off": r, "col_off": c, "valid": v}
        paste(truth, whole, data=tile.instances > 0, **at)
        paste(inst, whole, data=tile.instances, **at)
        paste(valid, whole, data=v, **at)
        c_ = confusion_counts((p.score >= decision) & v, tile.instances > 0, v)
        per_tile.append({"tile_id": str(test["tile_id"].iloc[len(per_tile)]), "tp": c_.tp, "fp": c_.fp,
                         "fn": c_.fn, "tn": c_.tn})
        bar.update(1)

    bar = tqdm(total=len(test), desc=f"predict {label or meta.get('experiment', '')}", unit="tile",
               disable=not progress)
    blender = StripBlender(height=h, width=w, emit=emit)
    predict_blended(model, meta, windows(), blender=blender, overlap=0, evaluation=score_evaluation(meta, evaluation),
                    device=device, precision=evaluation.precision, on_window=on_window)
    blender.close()
    bar.close()

    return _StitchedArea(win, transform, crs, truth, valid, inst, score, per_tile)


def _write_maps(out: Path, *, pred: np.ndarray, truth: np.ndarray, valid: np.ndarray, score: np.ndarray,
                transform: Affine, crs: Any, pixel_area: float) -> None:
    """The test area's maps (module docstring): prediction, ground truth, error classes, prediction polygons."""
    write_geotiff(out / "prediction.tif", np.where(valid, pred, 255).astype(np.uint8), transform=transform,
                  crs=crs, nodata=255, band_names=["landslide"])
    write_geotiff(out / "ground_truth.tif", np.where(valid, truth, 255).astype(np.uint8), transform=transform,
                  crs=crs, nodata=255, band_names=["landslide"])
    write_geotiff(out / "error_map.tif", error_codes(pred, truth, valid), transform=transform, crs=crs,
                  nodata=0, band_names=["error_class"])
    write_vector(out / "prediction.gpkg", _polygons(pred, np.where(pred, score, 0).astype(np.float32), transform,
                                                     crs, pixel_area))


def evaluate_area(
    model: nn.Module,
    meta: CheckpointMeta,
    index: Any,
    tiles_dir: str | Path,
    *,
    profile: Profile,
    out_dir: str | Path,
    label: str | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
    val_threshold: float | None = None,
    threshold: float | None = None,
    threshold_source: str = "fixed",
) -> dict[str, Any]:
    """Predict the test tiles of a tile index, stitch them and write the maps; return the metrics.

    Writes ``prediction.tif``, ``ground_truth.tif``, ``error_map.tif`` and ``prediction.gpkg`` into ``out_dir``
    (see the module docstring). Used for the first-date test area (:func:`evaluate_test_area`) and for the
    second-date image of the multi-temporal test.

    Args:
        model, meta: from :func:`landslide_utils.training.checkpoint.load_checkpoint`.
        index: tile index (GeoDataFrame or DataFrame with ``tile_id``, ``split``, ``path`` relative to
            ``tiles_dir``, ``row_off``, ``col_off``, ``tile_size``); rows with ``split == 'test'`` are used.
        tiles_dir: folder of the tiles.
        profile: the study (evaluation thresholds and size classes, device).
        out_dir: where the maps go.
        label: name on the progress bar.
        device: overrides ``profile.device``.
        val_threshold: a score-map threshold chosen on validation tiles; its F1 is reported as
            ``f1_val_threshold`` (NaN when not given).
        threshold: the decision threshold of the map and the metrics (default: the fixed thresholds of
            ``profile.evaluation``); ``threshold_source`` says where it came from (:func:`decision_threshold`).

    Returns:
        model, channels, training_data, every pixel metric and the counts, ``ap``, ``f1_val_threshold``,
        ``val_threshold``, ``threshold`` and ``threshold_source`` (the decision used), ``max_score`` (highest
        score on a valid pixel), object_recall_by_size, eval_seconds, device, thresholds, test_tiles, valid_pixels,
        pixel_area_m2, window, ``tiles`` (a DataFrame of per-tile confusion counts), and ``landslide_ids``
        (``present`` and ``hit``: the landslide ids on valid pixels and those the prediction touches).
    """
    t0 = time.perf_counter()
    tiles_dir, out = Path(tiles_dir), Path(out_dir)
    dev = resolve_device(str(device or profile.device))
    test = index[index["split"] == "test"].reset_index(drop=True)
    if len(test) == 0:
        raise ValueError(f"{tiles_dir}: the tile index has no tile with split == 'test'; check the profile's areas")
    ev = profile.evaluation
    decision = fixed_decision(meta, ev) if threshold is None else float(threshold)
    area = _stitch_test_area(model, meta, test, tiles_dir, decision=decision, evaluation=ev, device=dev,
                             label=label, progress=progress)
    truth, valid, inst, score, transform, win = (area.truth, area.valid, area.inst, area.score, area.transform,
                                                 area.window)
    h, w = int(win.height), int(win.width)
    pred = (score >= decision) & valid
    counts = confusion_counts(pred, truth, valid)
    f1_val = float("nan")
    if val_threshold is not None:
        f1_val = all_metrics(confusion_counts((score >= val_threshold) & valid, truth, valid))["f1"]
    pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
    _write_maps(out, pred=pred, truth=truth, valid=valid, score=score, transform=transform, crs=area.crs,
                pixel_area=pixel_area)
    return {
        "model": meta["model"],
        "channels": meta["channels"],
        "training_data": meta.get("training_data"),
        **all_metrics(counts),
        "ap": average_precision(score, truth, valid),
        "f1_val_threshold": f1_val,
        "val_threshold": val_threshold,
        "threshold": decision,
        "threshold_source": threshold_source if threshold is not None else "fixed",
        "max_score": float(score[valid].max()) if valid.any() else 0.0,
        "object_recall_by_size": object_recall_by_size(inst, pred, valid, pixel_area_m2=pixel_area,
                                                       size_classes_m2=ev.size_classes_m2),
        "eval_seconds": time.perf_counter() - t0,
        "device": str(dev),
        "score_threshold": ev.score_threshold,
        "mask_threshold": ev.mask_threshold,
        "test_tiles": len(test),
        "valid_pixels": int(valid.sum()),
        "pixel_area_m2": pixel_area,
        "window": {"row_off": int(win.row_off), "col_off": int(win.col_off), "height": h, "width": w},
        "tiles": pd.DataFrame(area.per_tile, columns=["tile_id", "tp", "fp", "fn", "tn"]),
        "landslide_ids": {"present": np.unique(inst[valid & (inst > 0)]),
                          "hit": np.unique(inst[pred & (inst > 0)])},
    }


def validation_threshold(
    model: nn.Module,
    meta: CheckpointMeta,
    *,
    checkpoint: str | Path,
    tiles: list[Path],
    evaluation: EvaluationSpec,
    device: str | torch.device = "cpu",
) -> dict[str, Any] | None:
    """The F1-optimal score-map threshold on validation tiles (never test tiles), cached in the checkpoint.

    Returns:
        ``None`` without validation tiles, else ``threshold``, ``f1`` (on the validation tiles), ``tiles``
        (their number), ``prevalence`` (landslide share of their valid pixels), ``predicted_pixels`` (pixels
        predicted landslide at the fixed threshold) and ``max_score`` (the highest score on a valid pixel: no
        pixel is predicted at a threshold above it) — also stored as ``meta["validation"]`` in the checkpoint.
    """
    if not tiles:
        return None
    names = sorted(p.name for p in tiles)
    cached = meta.get("validation")
    if isinstance(cached, dict) and cached.get("tile_names") == names and "max_score" in cached:
        return cached
    scores, truths, valids = [], [], []
    for p, path in zip(predict_tiles(model, meta, tiles, device=device,
                                     evaluation=score_evaluation(meta, evaluation)), tiles):
        tile = read_tile(path)
        scores.append(p.score.ravel())
        truths.append((tile.instances > 0).ravel())
        valids.append(tile.valid.ravel())
    s, t, v = np.concatenate(scores), np.concatenate(truths), np.concatenate(valids)
    thr, f1 = best_threshold(s, t, v)
    result = {"threshold": float(thr), "f1": float(f1), "tiles": len(tiles), "tile_names": names,
              "prevalence": float(t[v].mean()) if v.any() else 0.0,
              "predicted_pixels": int(((s >= fixed_decision(meta, evaluation)) & v).sum()),
              "max_score": float(s[v].max()) if v.any() else 0.0}
    meta["validation"] = update_meta(checkpoint, validation=result)["validation"]
    return result


#: the metrics of a fold's validation fold and test area that the cross-validation report keeps
CV_KEYS: tuple[str, ...] = TABLE_METRICS


def cross_validation_report(profile: Profile, index: Any, paths: StudyPaths, out: Path, *, folds: int,
                            val_tiles: list[Path], device: torch.device, progress: bool = False) -> dict[str, Any]:
    """Each fold model of a cross-validated experiment (:mod:`landslide_utils.training.crossval`) on its validation fold
    and on the test area (maps in ``fold_<f>/``), at the decision threshold every experiment uses; with the
    mean and sample standard deviation over folds.

    Returns:
        ``folds`` (one dict per fold: ``fold``, ``validation_tiles``, ``validation`` and ``test`` metrics),
        ``validation_mean``, ``validation_sd``, ``test_mean``, ``test_sd`` (dicts over :data:`CV_KEYS`).
    """
    rows = []
    ev = profile.evaluation
    for f in range(1, folds + 1):  # the ensemble's own count: a stale fold_<f>/ of a run with more folds is ignored
        ckpt = out / f"fold_{f}" / CHECKPOINT_FILE
        model, meta = load_checkpoint(ckpt, device=device)
        validation_threshold(model, meta, checkpoint=ckpt, tiles=val_tiles, evaluation=ev, device=device)
        threshold, source = decision_threshold(meta, ev)
        fold_paths = [paths.tiles / p for p in meta["validation_fold"]]
        counts = None
        for p, path in zip(predict_tiles(model, meta, fold_paths, device=device,
                                         evaluation=score_evaluation(meta, ev)), fold_paths):
            tile = read_tile(path)
            c = confusion_counts((p.score >= threshold) & tile.valid, tile.instances > 0, tile.valid)
            counts = c if counts is None else counts + c
        test = evaluate_area(model, meta, index, paths.tiles, profile=profile, out_dir=out / f"fold_{f}",
                             label=f"{meta['experiment']} fold {f}", progress=progress, device=device,
                             threshold=threshold, threshold_source=source)
        rows.append({"fold": f, "validation_tiles": len(fold_paths), "threshold": threshold,
                     "validation": {key: all_metrics(counts)[key] for key in CV_KEYS} if counts is not None else None,
                     "test": {key: test[key] for key in CV_KEYS}})

    def spread(part: str, fn: Callable[[np.ndarray], float]) -> dict[str, float]:
        got = [r[part] for r in rows if r[part] is not None]
        return {key: fn(np.array([g[key] for g in got], float)) for key in CV_KEYS} if got else {}

    sd = lambda a: float(a.std(ddof=1)) if len(a) > 1 else float("nan")  # noqa: E731
    return {"folds": rows, "validation_mean": spread("validation", lambda a: float(a.mean())),
            "validation_sd": spread("validation", sd), "test_mean": spread("test", lambda a: float(a.mean())),
            "test_sd": spread("test", sd)}


def evaluate_test_area(
    profile: Profile,
    experiment: Experiment,
    *,
    root: Path = Path("."),
    device: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Step 04's evaluation: load the experiment's checkpoint, choose the validation threshold (when the profile
    holds out validation tiles), predict and stitch the test area (:func:`evaluate_area`), write
    ``<reports>/metrics/<EXP>.json`` and ``<EXP>_tiles.csv`` and return the metrics.

    The decision threshold follows ``profile.evaluation.threshold`` (:func:`decision_threshold`). The guard: a
    model that predicts no landslide pixel on its validation tiles (without validation tiles: in the test area)
    gets a message in the metrics' ``warnings`` list, emitted as a :class:`UserWarning` too, naming the training
    data's landslide share and what to try (:func:`empty_prediction_warning`).

    Raises:
        FileNotFoundError: no checkpoint (run the experiment first) or no tile index (run step 01).
        ValueError: the checkpoint belongs to another model or channel set than ``experiment``, or
            ``evaluation.threshold`` is ``validation`` and the experiment holds out no validation tiles.
    """
    paths = StudyPaths.of(profile, Path(root))
    out = paths.experiment(experiment.name)
    dev = resolve_device(device or profile.device)
    model, meta = load_checkpoint(out / CHECKPOINT_FILE, device=dev)
    for key in ("model", "channels"):
        if meta[key] != getattr(experiment, key):
            raise ValueError(
                f"{out / CHECKPOINT_FILE}: checkpoint has {key}={meta[key]!r} but experiment {experiment.name} "
                f"asks for {getattr(experiment, key)!r}; retrain with train_experiment(..., force=True)"
            )
    index = read_index(paths.tile_index)
    training = training_for(profile, experiment)
    val_tiles = validation_paths(index, paths.tiles, share=training.validation_share, seed=profile.seed)
    if profile.evaluation.threshold == "validation" and not val_tiles:
        raise ValueError(f"{profile.source_path}: evaluation.threshold is 'validation' but experiment "
                         f"{experiment.name} holds out no validation tiles (training.validation_share is "
                         f"{training.validation_share}); set it above 0, e.g. 0.1")
    val = validation_threshold(model, meta, checkpoint=out / CHECKPOINT_FILE, tiles=val_tiles,
                               evaluation=profile.evaluation, device=dev)
    threshold, source = decision_threshold(meta, profile.evaluation)
    area = evaluate_area(model, meta, index, paths.tiles, profile=profile, out_dir=out, label=experiment.name,
                         progress=progress, device=dev, val_threshold=val["threshold"] if val else None,
                         threshold=threshold, threshold_source=source)
    tiles = area.pop("tiles")
    ids = area.pop("landslide_ids")
    manifest = read_manifest(paths.tiles)
    if manifest is not None:  # a chip dataset: the per-chip table beside the per-tile counts
        per_chip = chip_table(tiles, index, manifest, hit_ids=ids["hit"], present_ids=ids["present"])
        write_csv(paths.metrics / f"{experiment.name}_chips.csv", per_chip, index=False, float_format="%.6g")
        area["test_chips"] = len(per_chip)
    warnings_: list[str] = []
    where, top = ((f"its {val['tiles']} validation tiles", val["max_score"]) if val
                  else ("the test area (no validation tiles held out)", area["max_score"]))
    if top < threshold:
        originals, _ = training_tiles(profile, experiment, root=Path(root))
        msg = empty_prediction_warning(experiment=experiment.name, where=where, threshold=threshold, source=source,
                                       max_score=top, prevalence=landslide_prevalence(originals) if originals else None,
                                       loss=None if task_of(meta) == "instance" else training.loss)
        warnings_.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    result: dict[str, Any] = {
        "experiment": experiment.name,
        "description": experiment.description,
        "profile": profile.name,
        **area,
        "validation": {k: v for k, v in val.items() if k != "tile_names"} if val else None,
        "seed": meta["seed"],
        "steps": meta["step"],
        "train_seconds": meta["train_seconds"],
        "parameters": int(sum(p.numel() for p in model.parameters()) // max(int(meta.get("ensemble") or 1), 1)),
        "warnings": warnings_,
    }
    curve = out / "validation.csv"
    if (meta.get("training") or {}).get("eval_every") and curve.is_file():  # training.eval_every: the curve
        result["learning_curve"] = pd.read_csv(curve).to_dict(orient="list")
        result["kept_step"] = int((meta.get("kept") or {}).get("step", meta["step"]))
    if meta.get("ensemble"):
        result["cv"] = cross_validation_report(profile, index, paths, out, folds=int(meta["ensemble"]),
                                               val_tiles=val_tiles, device=dev, progress=progress)
    write_csv(paths.metrics / f"{experiment.name}_tiles.csv", tiles, index=False)
    write_json(paths.metrics / f"{experiment.name}.json", result)
    return result
