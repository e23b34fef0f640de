"""Running a model over tiles (or a scene's windows) in batches, and blending overlapping windows: the one prediction
path of step 04's test area, the multi-temporal test and whole-scene ``predict`` (Yang et al. 2022, sec. 4.1: Mask
R-CNN instances kept from their score, U-Net/PSPNet pixels from their sigmoid). The evaluation of what comes out is
:mod:`landslide_utils.evaluation.test_area`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from landslide_utils.config.model_schema import EvaluationSpec
from landslide_utils.prediction.blend import InstanceMerger, StripBlender, pieces_of, window_weight
from landslide_utils.tiles.tile import TileData, read_tile
from landslide_utils.training.checkpoint import CheckpointMeta, resolve_device, task_of
from landslide_utils.training.datasets import tile_input
from landslide_utils.training.precision import autocast

__all__ = ["TilePrediction", "predict_tiles", "predict_blended", "decision_threshold", "fixed_decision",
           "score_evaluation", "SCORE_FLOOR"]

#: lowest Mask R-CNN instance score kept for the score map (AP, validation threshold)
SCORE_FLOOR = 0.05


class TilePrediction(NamedTuple):
    """Prediction of one tile.

    Attributes:
        tile_id: the tile's id (file stem for a path).
        mask: (H, W) bool landslide pixels (False on invalid pixels).
        instances: Mask R-CNN instances kept (dicts with ``score``, ``box`` [x0, y0, x1, y1], ``mask`` (H, W)
            bool); empty for U-Net/PSPNet.
        score: (H, W) float32: highest kept instance score (Mask R-CNN) or landslide probability (U-Net/PSPNet).
    """

    tile_id: str
    mask: np.ndarray
    instances: list[dict[str, Any]]
    score: np.ndarray


def _tiles(items: Iterable[str | Path | tuple[str, TileData]]) -> Iterator[tuple[str, str, TileData]]:
    for item in items:
        if isinstance(item, tuple):
            yield item[0], item[0], item[1]
        else:
            yield Path(item).stem, str(item), read_tile(item)


@torch.inference_mode()
def _run(model: nn.Module, task: str, xs: list[torch.Tensor], dev: torch.device, precision: str = "fp32",
         channels_last: bool = False) -> list[Any]:
    with autocast(precision, dev):
        if task == "instance":
            return [{k: v.float().cpu() for k, v in o.items()} for o in model(xs)]
        batch = torch.stack(xs)
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return list(torch.sigmoid(model(batch)[:, 0].float()).cpu().numpy())


def predict_tiles(
    model: nn.Module,
    meta: CheckpointMeta,
    tiles: Iterable[str | Path | tuple[str, TileData]],
    *,
    device: str | torch.device = "cpu",
    evaluation: EvaluationSpec | None = None,
    batch_size: int | None = None,
    threshold: float | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
) -> Iterator[TilePrediction]:
    """Predict tiles with a trained model (from :func:`landslide_utils.training.checkpoint.load_checkpoint`).

    Args:
        model: the model (moved to ``device`` and put in eval mode here).
        meta: its checkpoint metadata (model, channels, mean, std).
        tiles: tile paths, or ``(tile_id, TileData)`` pairs (e.g. second-date tiles made in memory).
        device: ``cpu``, ``cuda`` or ``auto``.
        evaluation: thresholds (``score_threshold``, ``mask_threshold``); defaults 0.5 / 0.5.
        batch_size: tiles per forward pass (default ``evaluation.batch_size``).
        threshold: the decision threshold of the score map (instance score for Mask R-CNN, probability for
            U-Net/PSPNet); default: ``evaluation.threshold`` as :func:`decision_threshold` resolves it (the
            fixed thresholds, a number, or the validation threshold stored in the checkpoint).
        precision: ``fp32``, ``bf16`` or ``auto`` (:mod:`landslide_utils.training.precision`).
        channels_last: U-Net/PSPNet in the channels-last memory format (about 1.4 x faster on CPU, ``make bench``;
            results differ from the default format in the last digits, so step 04 keeps the default).

    Yields:
        :class:`TilePrediction` per tile, in input order.

    Raises:
        ValueError: a tile does not give the channels the model was trained on, or ``evaluation.threshold`` is
            ``validation`` and the checkpoint holds no validation threshold.
    """
    evaluation = evaluation if evaluation is not None else EvaluationSpec()
    batch_size = evaluation.batch_size if batch_size is None else batch_size
    if threshold is None and evaluation.threshold != "fixed":
        threshold = decision_threshold(meta, evaluation)[0]
    floor = evaluation.score_threshold if threshold is None else min(evaluation.score_threshold, threshold)
    dev = resolve_device(str(device)) if str(device) == "auto" else torch.device(device)
    model.to(dev).eval()
    task = task_of(meta)
    if task == "semantic" and channels_last:  # ~1.4x faster convolutions on CPU (make bench)
        model.to(memory_format=torch.channels_last)
    buf: list[tuple[str, TileData, torch.Tensor]] = []
    heads = getattr(model, "roi_heads", None)
    if heads is not None:  # detections below the score threshold are dropped anyway: skip pasting their masks
        heads.score_thresh = max(float(heads.score_thresh), floor - 1e-6)

    def flush() -> Iterator[TilePrediction]:
        outs = _run(model, task, [x.to(dev) for _, _, x in buf], dev, precision, channels_last)
        for (tid, tile, _), out in zip(buf, outs):
            valid = tile.valid
            if task == "instance":
                keep = out["scores"] >= floor
                probs = out["masks"][keep][:, 0].numpy()
                scores = out["scores"][keep].numpy()
                boxes = out["boxes"][keep].numpy()
                mask = np.zeros(valid.shape, bool)
                score = np.zeros(valid.shape, np.float32)
                insts = []
                for p, s, b in zip(probs, scores, boxes):
                    m = (p >= evaluation.mask_threshold) & valid
                    if not m.any():
                        continue
                    score[m] = np.maximum(score[m], s)
                    if threshold is None or s >= threshold:
                        mask |= m
                        insts.append({"score": float(s), "box": [float(v) for v in b], "mask": m})
                yield TilePrediction(tid, mask, insts, score)
            else:
                prob = np.where(valid, out, 0.0).astype(np.float32)
                thr = evaluation.mask_threshold if threshold is None else threshold
                yield TilePrediction(tid, (prob >= thr) & valid, [], prob)
        buf.clear()

    for tid, src, tile in _tiles(tiles):
        x = tile_input(tile, meta["channels"], meta["mean"], meta["std"], path=src)
        if x.shape[0] != int(meta["in_channels"]):
            raise ValueError(f"{src}: tile gives {x.shape[0]} channels, the model expects {meta['in_channels']}")
        buf.append((tid, tile, torch.from_numpy(x)))
        if len(buf) >= batch_size:
            yield from flush()
    if buf:
        yield from flush()


def predict_blended(
    model: nn.Module,
    meta: CheckpointMeta,
    windows: Iterable[tuple[int, int, TileData]],
    *,
    blender: StripBlender,
    overlap: int,
    evaluation: EvaluationSpec,
    threshold: float | None = None,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    channels_last: bool = False,
    merger: InstanceMerger | None = None,
    finish_rows: bool = False,
    on_window: Callable[[int, int, TileData, TilePrediction], None] | None = None,
) -> int:
    """The one prediction path: windows of a grid predicted in batches and blended into ``blender``.

    Used by step 04 (the test tiles of the test area, ``overlap = 0``: every weight is 1 and the blend is the
    tile-by-tile prediction) and by whole-scene prediction (:func:`landslide_utils.prediction.scene.predict_scene`, windows
    overlapping by ``overlap`` pixels and blended with a Hann taper, :mod:`landslide_utils.prediction.blend`).

    Args:
        model, meta: from :func:`landslide_utils.training.checkpoint.load_checkpoint`.
        windows: ``(row_off, col_off, tile)`` on the blender's grid, row-major when ``finish_rows``.
        blender: receives each window's score map (:attr:`TilePrediction.score`) with its weight.
        overlap: the windows' overlap (pixels), for the taper.
        evaluation, threshold, batch_size, device, precision, channels_last: as in :func:`predict_tiles`.
        merger: collects Mask R-CNN instances (kept at ``threshold``) and merges those cut by window edges.
        finish_rows: tell the blender, before each window row, that the rows above it are final (streaming).
        on_window: called with ``(row_off, col_off, tile, prediction)`` after each window is blended.

    Returns:
        The number of windows predicted.
    """
    pending: dict[str, tuple[int, int, TileData]] = {}

    def items() -> Iterator[tuple[str, TileData]]:
        for i, (r, c, tile) in enumerate(windows):
            pending[str(i)] = (r, c, tile)
            yield str(i), tile

    n = 0
    for p in predict_tiles(model, meta, items(), device=device, evaluation=evaluation, batch_size=batch_size,
                           threshold=threshold, precision=precision, channels_last=channels_last):
        r, c, tile = pending.pop(p.tile_id)
        if finish_rows:
            blender.finish_before(r)
        weight = window_weight(p.score.shape, row_off=r, col_off=c, height=blender.height, width=blender.width,
                               overlap=overlap)
        blender.add(row_off=r, col_off=c, score=p.score, weight=weight, valid=tile.valid)
        if merger is not None and p.instances:
            h, w = p.score.shape
            merger.add((r, c, min(h, blender.height - r), min(w, blender.width - c)),
                       pieces_of(p.instances, row_off=r, col_off=c, height=blender.height, width=blender.width))
        if on_window is not None:
            on_window(r, c, tile, p)
        n += 1
    return n


def score_evaluation(meta: CheckpointMeta, evaluation: EvaluationSpec) -> EvaluationSpec:
    """The evaluation that gives the whole score map: Mask R-CNN keeps instances down to :data:`SCORE_FLOOR` so
    the map ranks pixels below the threshold; the decision is taken on the map afterwards (``threshold`` fixed)."""
    evaluation = evaluation.model_copy(update={"threshold": "fixed"})
    if task_of(meta) == "instance":
        return evaluation.model_copy(update={"score_threshold": min(SCORE_FLOOR, evaluation.score_threshold)})
    return evaluation


def fixed_decision(meta: CheckpointMeta, evaluation: EvaluationSpec) -> float:
    """The score-map threshold equal to the fixed thresholds: the instance score for Mask R-CNN (a pixel is in
    the union of kept instances iff its highest covering score reaches it), the probability otherwise."""
    task = task_of(meta)
    return evaluation.score_threshold if task == "instance" else evaluation.mask_threshold


def decision_threshold(meta: CheckpointMeta, evaluation: EvaluationSpec) -> tuple[float, str]:
    """The score-map threshold that ``evaluation.threshold`` asks for, and where it came from.

    Returns:
        ``(threshold, source)``: source ``fixed`` (the paper's thresholds, Yang et al. 2022 sec. 4.1:
        ``score_threshold`` for Mask R-CNN's instance score, ``mask_threshold`` for the U-Net/PSPNet probability),
        ``value`` (a number given in the profile) or ``validation`` (the F1-optimal threshold on the validation
        tiles, ``meta["validation"]["threshold"]``, written by :func:`validation_threshold`).

    Raises:
        ValueError: ``validation`` is asked for and the checkpoint holds no validation threshold.
    """
    mode = evaluation.threshold
    if isinstance(mode, float):
        return mode, "value"
    if mode == "validation":
        val = meta.get("validation")
        if not isinstance(val, dict) or val.get("threshold") is None:
            raise ValueError(
                f"evaluation.threshold is 'validation' but the checkpoint of {meta.get('experiment', 'this model')} "
                "holds no validation threshold: run step 04 with training.validation_share > 0 (it chooses and "
                "stores one), or set evaluation.threshold to 'fixed' or a number")
        return float(val["threshold"]), "validation"
    return fixed_decision(meta, evaluation), "fixed"
