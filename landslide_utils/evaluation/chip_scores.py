"""Scores per chip of a chip dataset's test (Ji et al. 2020, Bijie; Ghorbanzadeh et al. 2022, Landslide4Sense):
the confusion counts of a chip's tiles summed, its pixel metrics, and how many of its landslides were hit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from landslide_utils.evaluation.metrics import Counts, all_metrics

__all__ = ["chip_table"]


def chip_table(tiles: pd.DataFrame, index: pd.DataFrame, manifest: dict[str, Any], *, hit_ids: np.ndarray,
               present_ids: np.ndarray) -> pd.DataFrame:
    """Per test chip: confusion counts (summed over its tiles), precision, recall, F1, IoU, its landslides and
    how many the prediction hit (a landslide is hit when any of its pixels is predicted).

    Args:
        tiles: per-tile counts (``tile_id, tp, fp, fn, tn``) of the evaluation.
        index: the tile index (``tile_id`` -> ``area`` = chip name).
        manifest: the chip manifest (landslide id range of each chip).
        hit_ids, present_ids: the landslide ids hit by the prediction and present on valid test pixels.
    """

    chip_of = dict(zip(index["tile_id"].astype(str), index["area"].astype(str)))
    t = tiles.assign(chip=tiles["tile_id"].astype(str).map(chip_of))
    sums = t.groupby("chip", sort=False)[["tp", "fp", "fn", "tn"]].sum()
    hit, present = set(np.asarray(hit_ids).tolist()), set(np.asarray(present_ids).tolist())
    out = []
    for rec in manifest["chips"]:
        if rec["name"] not in sums.index:
            continue
        c = sums.loc[rec["name"]]
        m = all_metrics(Counts(int(c.tp), int(c.fp), int(c.fn), int(c.tn)))
        ids = set(range(int(rec["first_id"]), int(rec["last_id"]) + 1)) & present
        out.append({"chip": rec["name"], "tp": int(c.tp), "fp": int(c.fp), "fn": int(c.fn), "tn": int(c.tn),
                    "precision": m["precision"], "recall": m["recall"], "f1": m["f1"],
                    "iou_landslide": m["iou_landslide"], "landslides": len(ids), "hit": len(ids & hit)})
    return pd.DataFrame(out, columns=["chip", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "iou_landslide",
                                      "landslides", "hit"])
