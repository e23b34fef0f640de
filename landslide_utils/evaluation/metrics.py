"""Accuracy of a landslide map, in two steps: confusion counts, then every metric from the counts.

Pixel-level metrics follow Yang et al. (2022), section 4.1: over the whole (stitched) test area, valid pixels
only, landslide = positive class,

    precision = TP / (TP + FP),  recall = TP / (TP + FN),  F1 = 2 P R / (P + R),
    mIoU = ( TP / (TP + FP + FN)  +  TN / (TN + FN + FP) ) / 2.

Overall accuracy and Cohen's kappa are added as Gao et al. (2021, FC-DenseNet with influencing factors) report
them; object-level recall by size class (share of inventory landslides hit by the prediction) is this
project's addition -- the paper has none of these.

Zero division: every ratio whose denominator is zero is reported as ``0.0`` (e.g. precision of an empty
prediction, recall of an area without landslides, kappa when both maps hold one class only), so a metrics file
never holds NaN. Object-level recall of a size class without any landslide is ``None`` (JSON ``null``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "METRIC_FUNCTIONS",
    "PAPER_METRICS", "TABLE_METRICS",
    "METRIC_LABELS",
    "average_precision",
    "best_threshold",
    "Counts",
    "confusion_counts",
    "precision",
    "recall",
    "f1",
    "iou_landslide",
    "iou_background",
    "miou",
    "overall_accuracy",
    "cohen_kappa",
    "all_metrics",
    "object_recall_by_size",
]


@dataclass(frozen=True)
class Counts:
    """Pixel confusion counts of a binary landslide map (landslide = positive). Counts add up with ``+``."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def confusion_counts(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> Counts:
    """Confusion counts of a predicted against a true landslide mask on valid pixels.

    Accumulate over tiles with ``sum(..., Counts())`` or ``a + b``; tiles that do not overlap give the same
    counts as the stitched area.

    Args:
        pred: predicted landslide mask (any shape, bool or 0/1).
        truth: true landslide mask, same shape.
        valid: pixels that count (padding and nodata excluded); ``None`` = all.

    Raises:
        ValueError: shapes differ.
    """
    pred = np.asarray(pred).astype(bool)
    truth = np.asarray(truth).astype(bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {truth.shape}")
    if valid is None:
        valid = np.ones(pred.shape, dtype=bool)
    else:
        valid = np.asarray(valid).astype(bool)
        if valid.shape != pred.shape:
            raise ValueError(f"valid-mask shape {valid.shape} differs from prediction shape {pred.shape}")
    p, t = pred[valid], truth[valid]
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    tn = int(p.size - tp - fp - fn)
    return Counts(tp, fp, fn, tn)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else 0.0


def precision(c: Counts) -> float:
    """TP / (TP + FP) (Yang et al. 2022, eq. 1); 0.0 when nothing is predicted."""
    return _ratio(c.tp, c.tp + c.fp)


def recall(c: Counts) -> float:
    """TP / (TP + FN) (Yang et al. 2022, eq. 2); 0.0 when there is no landslide pixel."""
    return _ratio(c.tp, c.tp + c.fn)


def f1(c: Counts) -> float:
    """2 P R / (P + R) = 2 TP / (2 TP + FP + FN) (Yang et al. 2022, eq. 3); 0.0 when P + R = 0."""
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


def iou_landslide(c: Counts) -> float:
    """Landslide IoU TP / (TP + FP + FN); 0.0 when the denominator is 0."""
    return _ratio(c.tp, c.tp + c.fp + c.fn)


def iou_background(c: Counts) -> float:
    """Background IoU TN / (TN + FN + FP); 0.0 when the denominator is 0."""
    return _ratio(c.tn, c.tn + c.fn + c.fp)


def miou(c: Counts) -> float:
    """Mean of landslide and background IoU (Yang et al. 2022, eq. 4)."""
    return 0.5 * (iou_landslide(c) + iou_background(c))


def overall_accuracy(c: Counts) -> float:
    """(TP + TN) / N (Gao et al. 2021); 0.0 for N = 0."""
    return _ratio(c.tp + c.tn, c.total)


def cohen_kappa(c: Counts) -> float:
    """Cohen's kappa (p_o - p_e) / (1 - p_e) of the 2 x 2 confusion matrix (Gao et al. 2021).

    p_o is the overall accuracy, p_e the agreement expected by chance from the row and column totals. 0.0 when
    p_e = 1 (both maps hold a single, identical class) or N = 0.
    """
    n = c.total
    if n == 0:
        return 0.0
    po = (c.tp + c.tn) / n
    pe = ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n)
    if pe >= 1.0:
        return 0.0
    return float((po - pe) / (1.0 - pe))


#: every pixel metric of a map, computed from confusion counts, in the one order all tables, figures and metrics
#: files use (Yang et al. 2022, section 4.2: precision, recall, F1, mIoU; then the IoU of each class, overall
#: accuracy and Cohen's kappa)
METRIC_FUNCTIONS: dict[str, Callable[[Counts], float]] = {
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "miou": miou,
    "iou_landslide": iou_landslide,
    "iou_background": iou_background,
    "oa": overall_accuracy,
    "kappa": cohen_kappa,
}
#: the metrics that tables of several runs report, in that order (the background IoU, nearly 1 everywhere, left out)
TABLE_METRICS: tuple[str, ...] = tuple(m for m in METRIC_FUNCTIONS if m != "iou_background")
#: the metrics of Yang et al. (2022), Tables 6 and 7
PAPER_METRICS: tuple[str, ...] = ("precision", "recall", "f1", "miou")
#: how tables and figures name each metric (with AP, the threshold-free one, and F1 at the validation threshold)
METRIC_LABELS: dict[str, str] = {"precision": "Precision", "recall": "Recall", "f1": "F1", "miou": "mIoU",
                                 "iou_landslide": "IoU (landslide)", "iou_background": "IoU (background)",
                                 "oa": "OA", "kappa": "Kappa", "ap": "AP",
                                 "f1_val_threshold": "F1 (validation threshold)"}


def all_metrics(c: Counts) -> dict[str, float | int]:
    """Every pixel metric (:data:`METRIC_FUNCTIONS`, in its order) plus the counts tp, fp, fn, tn, as a flat dict."""
    return {**{name: fn(c) for name, fn in METRIC_FUNCTIONS.items()}, **c.as_dict()}


def _size_labels(edges: Sequence[float]) -> list[str]:
    if not edges:
        return ["all sizes"]
    labels = [f"< {edges[0]:g} m²"]
    labels += [f"{a:g}–{b:g} m²" for a, b in zip(edges, edges[1:])]
    labels.append(f">= {edges[-1]:g} m²")
    return labels


def object_recall_by_size(
    instances: np.ndarray,
    pred: np.ndarray,
    valid: np.ndarray,
    *,
    pixel_area_m2: float,
    size_classes_m2: Sequence[float],
) -> list[dict[str, object]]:
    """Object-level recall: the share of inventory landslides hit by the prediction, per size class.

    A landslide (instance id > 0) is *hit* if any of its valid pixels is predicted as landslide. Its size is
    its valid pixel count times ``pixel_area_m2`` (the part inside the evaluated area). Not in Yang et al.
    (2022); added to show which landslide sizes a model misses.

    Args:
        instances: (H, W) int instance ids, 0 = background.
        pred: (H, W) predicted landslide mask.
        valid: (H, W) valid-pixel mask.
        pixel_area_m2: ground area of one pixel.
        size_classes_m2: increasing class edges in m², e.g. (500, 2000) -> <500, 500–2000, >=2000.

    Returns:
        One dict per size class (smallest first) and a final ``all`` row, each with keys ``class``, ``n``,
        ``hit``, ``recall`` (``None`` when ``n`` is 0).
    """
    ids = np.where(np.asarray(valid, bool), np.asarray(instances).astype(np.int64), 0).ravel()
    hits_px = ids[np.asarray(pred, bool).ravel()]
    size = np.bincount(ids, minlength=1)
    hit = np.bincount(hits_px, minlength=size.size)[: size.size] > 0
    present = np.flatnonzero(size > 0)
    present = present[present > 0]
    areas = size[present] * float(pixel_area_m2)
    hit_present = hit[present]
    edges = [float(e) for e in size_classes_m2]
    cls = np.digitize(areas, edges) if edges else np.zeros(areas.size, dtype=int)
    rows: list[dict[str, object]] = []
    for k, label in enumerate(_size_labels(edges)):
        sel = cls == k
        n, h = int(sel.sum()), int(hit_present[sel].sum())
        rows.append({"class": label, "n": n, "hit": h, "recall": (h / n) if n else None})
    n, h = int(areas.size), int(hit_present.sum())
    rows.append({"class": "all", "n": n, "hit": h, "recall": (h / n) if n else None})
    return rows


# --------------------------------------------------------------------------------------------------------------
# threshold-free accuracy of a probability map


def _sorted_cumsums(
    scores: np.ndarray, labels: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) and the true/false positives when predicting ``score >= threshold``."""
    s = np.asarray(scores).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores ({np.asarray(scores).shape}) and labels ({np.asarray(labels).shape}) differ in "
                         "shape")
    if valid is not None:
        v = np.asarray(valid).astype(bool).ravel()
        if v.shape != s.shape:
            raise ValueError(f"valid mask ({np.asarray(valid).shape}) and scores ({np.asarray(scores).shape}) "
                             "differ in shape")
        s, y = s[v], y[v]
    if s.size and not np.isfinite(s).all():
        raise ValueError("scores hold NaN or infinite values on valid pixels; mask them with valid=")
    order = np.argsort(s, kind="stable")[::-1]
    s, y = s[order], y[order]
    # last index of each run of equal scores: all tied samples switch to positive at once (as scikit-learn)
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.array([], dtype=np.int64)
    tps = np.cumsum(y, dtype=np.int64)[last]
    fps = (last + 1) - tps
    return s[last], tps, fps


def average_precision(scores: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Average precision of a landslide probability map: ``AP = sum_n (R_n - R_{n-1}) P_n``.

    The step-wise sum over the distinct score thresholds (highest first, ``R_0 = 0``), without interpolation,
    exactly as scikit-learn's ``average_precision_score``; tied scores form one threshold. One sort and
    cumulative sums, so a whole test area (millions of pixels) takes about a second.

    Args:
        scores: landslide probability (or any score, higher = more landslide-like), any shape.
        labels: true landslide mask, same shape (bool or 0/1).
        valid: pixels that count, same shape; ``None`` = all.

    Returns:
        AP in [0, 1]; NaN when there is no landslide pixel (recall undefined).

    Raises:
        ValueError: shapes differ or a valid score is not finite.
    """
    _, tps, fps = _sorted_cumsums(scores, labels, valid)
    if tps.size == 0 or tps[-1] == 0:
        return float("nan")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def best_threshold(
    scores: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None
) -> tuple[float, float]:
    """The F1-optimal threshold of a probability map (predict landslide where ``score >= threshold``).

    Every distinct score is a candidate (tied scores switch together, as in :func:`average_precision`);
    ``F1 = 2 TP / (TP + FP + P)`` with ``P`` the number of landslide pixels. When several thresholds reach the
    same F1, the highest (the fewest predicted pixels) is returned.

    Args:
        scores: landslide probability, any shape.
        labels: true landslide mask, same shape.
        valid: pixels that count; ``None`` = all.

    Returns:
        ``(threshold, f1)``. Without any landslide pixel (or without valid pixels) F1 is 0 at every threshold
        (the zero-division rule of :mod:`landslide_utils.evaluation.metrics`), and ``(0.5, 0.0)`` is returned: the
        conventional threshold, so that a map chosen on such tiles behaves like the default.

    Raises:
        ValueError: shapes differ or a valid score is not finite.
    """
    thr, tps, fps = _sorted_cumsums(scores, labels, valid)
    if tps.size == 0 or tps[-1] == 0:
        return 0.5, 0.0
    f1 = 2.0 * tps / (tps + fps + tps[-1])
    k = int(np.argmax(f1))  # first maximum = highest threshold
    return float(thr[k]), float(f1[k])
