"""Metrics: hand-computed confusion cases (Yang et al. 2022 section 4.1; kappa as Gao et al. 2021) and a
property test against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from landslide_utils.evaluation.metrics import (
    Counts,
    all_metrics,
    cohen_kappa,
    confusion_counts,
    f1,
    iou_background,
    iou_landslide,
    miou,
    object_recall_by_size,
    overall_accuracy,
    precision,
    recall,
)


def test_hand_computed_case() -> None:
    pred = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)
    truth = np.array([[1, 0, 1, 0], [1, 0, 0, 1]], bool)
    valid = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], bool)  # the last pixel (a FN) does not count
    c = confusion_counts(pred, truth, valid)
    assert c == Counts(tp=2, fp=1, fn=1, tn=3)
    assert precision(c) == pytest.approx(2 / 3)
    assert recall(c) == pytest.approx(2 / 3)
    assert f1(c) == pytest.approx(2 / 3)
    assert iou_landslide(c) == pytest.approx(2 / 4)
    assert iou_background(c) == pytest.approx(3 / 5)
    assert miou(c) == pytest.approx(0.55)
    assert overall_accuracy(c) == pytest.approx(5 / 7)
    # kappa: po = 5/7, pe = (3*3 + 4*4) / 49 = 25/49 -> (35/49 - 25/49) / (24/49) = 10/24
    assert cohen_kappa(c) == pytest.approx(10 / 24)


def test_paper_style_numbers() -> None:
    c = Counts(tp=80, fp=20, fn=10, tn=890)
    m = all_metrics(c)
    assert m["precision"] == pytest.approx(0.8) and m["recall"] == pytest.approx(80 / 90)
    assert m["f1"] == pytest.approx(2 * 0.8 * (80 / 90) / (0.8 + 80 / 90))
    assert m["miou"] == pytest.approx((80 / 110 + 890 / 920) / 2)
    assert {"tp", "fp", "fn", "tn", "oa", "kappa", "iou_landslide", "iou_background"} <= m.keys()


def test_zero_division_gives_zero() -> None:
    empty = Counts()
    assert all(v == 0.0 for k, v in all_metrics(empty).items())
    no_pred = Counts(tp=0, fp=0, fn=5, tn=5)
    assert precision(no_pred) == 0.0 and recall(no_pred) == 0.0 and f1(no_pred) == 0.0
    no_truth = Counts(tp=0, fp=0, fn=0, tn=9)  # perfect, single class: kappa undefined -> 0.0
    assert cohen_kappa(no_truth) == 0.0 and recall(no_truth) == 0.0 and iou_background(no_truth) == 1.0
    assert not any(isinstance(v, float) and math.isnan(v) for v in all_metrics(no_truth).values())


def test_accumulation_over_tiles_equals_stitched() -> None:
    rng = np.random.default_rng(3)
    pred, truth, valid = (rng.random((2, 8, 8)) > t for t in (0.6, 0.7, 0.2))
    whole = confusion_counts(pred.reshape(16, 8), truth.reshape(16, 8), valid.reshape(16, 8))
    parts = sum((confusion_counts(p, t, v) for p, t, v in zip(pred, truth, valid)), Counts())
    assert parts == whole and whole.total == valid.sum()


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        confusion_counts(np.zeros((2, 2)), np.zeros((2, 3)))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_agrees_with_sklearn(seed: int, n: int, p_pred: float, p_truth: float) -> None:
    rng = np.random.default_rng(seed)
    pred, truth = rng.random(n) < p_pred, rng.random(n) < p_truth
    c = confusion_counts(pred, truth)
    assert precision(c) == pytest.approx(skm.precision_score(truth, pred, zero_division=0))
    assert recall(c) == pytest.approx(skm.recall_score(truth, pred, zero_division=0))
    assert f1(c) == pytest.approx(skm.f1_score(truth, pred, zero_division=0))
    assert overall_accuracy(c) == pytest.approx(skm.accuracy_score(truth, pred))
    assert iou_landslide(c) == pytest.approx(skm.jaccard_score(truth, pred, zero_division=0))
    assert iou_background(c) == pytest.approx(skm.jaccard_score(~truth, ~pred, zero_division=0))
    if len(set(pred) | set(truth)) > 1:  # kappa defined
        assert cohen_kappa(c) == pytest.approx(skm.cohen_kappa_score(truth, pred), abs=1e-9)


def test_object_recall_by_size() -> None:
    inst = np.zeros((10, 10), np.int32)
    inst[0:2, 0:2] = 1  # 4 px = 16 m² (small), hit
    inst[5:9, 5:9] = 2  # 16 px = 64 m² (large), missed
    inst[0:3, 6:9] = 3  # 9 px = 36 m² (medium), hit on one pixel only
    inst[9, 0] = 4  # invalid pixel only: not counted
    pred = np.zeros((10, 10), bool)
    pred[1, 1] = pred[2, 8] = True
    valid = np.ones((10, 10), bool)
    valid[9, 0] = False
    rows = object_recall_by_size(inst, pred, valid, pixel_area_m2=4.0, size_classes_m2=(20.0, 50.0))
    assert [r["class"] for r in rows] == ["< 20 m²", "20–50 m²", ">= 50 m²", "all"]
    assert [(r["n"], r["hit"]) for r in rows] == [(1, 1), (1, 1), (1, 0), (3, 2)]
    assert rows[2]["recall"] == 0.0 and rows[3]["recall"] == pytest.approx(2 / 3)
    none = object_recall_by_size(np.zeros((3, 3), int), pred[:3, :3], valid[:3, :3], pixel_area_m2=1.0,
                                 size_classes_m2=(5.0,))
    assert none[0]["recall"] is None and none[-1]["n"] == 0
