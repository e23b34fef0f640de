"""The paper's claims judged on paired differences (Yang et al. 2022: "BE raises F1", "factors raise F1", ...).

A claim "metric(better) - metric(worse) > 0" is judged on the per-seed differences of two experiments trained at
the same grid point of a sweep (same training seed, same BE draw), so the variation both share cancels. The
verdict interval is the paired Student t-interval (:mod:`landslide_utils.evaluation.intervals`; the percentile
bootstrap is kept beside it), the test the paired t-test, and its p-value is Holm-adjusted within the family of
claims judged together: ``holds`` when the adjusted p is below 5 % and the mean difference lies on the claimed
side, ``contradicted`` when below 5 % on the other side, ``inconclusive`` otherwise, ``too few seeds`` with fewer
than five pairs, ``not testable`` without one -- never a verdict without its interval. Every claim also carries
the paired difference in AP (threshold-free) beside its own metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from landslide_utils.evaluation.bootstrap import bootstrap_ci
from landslide_utils.evaluation.intervals import MIN_PAIRS, family_verdicts, t_interval, t_test_p, verdict
from landslide_utils.evaluation.metrics import METRIC_LABELS, PAPER_METRICS

__all__ = ["VERDICTS", "CLAIM_COLUMNS", "Claim", "PAPER_CLAIMS", "claims_table", "claims_from_table", "paired_differences", "judge", "judge_claims"]


VERDICTS = ("holds", "contradicted", "inconclusive", "too few seeds", "not testable")
"""The five verdicts of :func:`judge`."""


@dataclass(frozen=True)
class Claim:
    """A claim "``metric(better) - metric(worse)``  is > 0" (``side="+"``) or "< 0" (``side="-"``).

    Attributes:
        name: short unique label (row label of the forest plot).
        text: the claim in words.
        better: experiment claimed better (for ``side="+"``).
        worse: the experiment it is compared with.
        metric: a metric column of ``results.csv``.
        side: ``"+"`` (difference claimed positive) or ``"-"`` (claimed negative).
    """

    name: str
    text: str
    better: str
    worse: str
    metric: str
    side: Literal["+", "-"] = "+"

    def __post_init__(self) -> None:
        if self.side not in ("+", "-"):
            raise ValueError(f"claim {self.name!r}: side must be '+' or '-', got {self.side!r}")


#: a metric as a word inside a sentence
_METRIC_WORDS = {m: m if m in ("precision", "recall") else METRIC_LABELS[m] for m in PAPER_METRICS}


def _paper_claims() -> tuple[Claim, ...]:
    c: list[Claim] = []
    for new, base, ctx in (("II", "I", "original data"), ("IV", "III", "with BE")):
        c.append(Claim(f"{new} vs {base}: precision", f"Mask R-CNN: landslide-inducing factors raise precision "
                       f"({ctx}; {new} > {base})", new, base, "precision"))
    for new, base, ctx in (("III", "I", "RGB"), ("IV", "II", "RGB + factors")):
        for m in PAPER_METRICS:
            c.append(Claim(f"{new} vs {base}: {m}", f"Mask R-CNN: background enhancement raises "
                           f"{_METRIC_WORDS[m]} ({ctx}; {new} > {base})", new, base, m))
    for base in ("I", "II", "III"):
        c.append(Claim(f"IV vs {base}: f1 (best)", f"Mask R-CNN: factors + BE (IV) has a higher F1 than {base}",
                       "IV", base, "f1"))
    for new, base, model in (("VI", "V", "U-Net"), ("VIII", "VII", "PSPNet")):
        for m in ("f1", "miou"):
            c.append(Claim(f"{new} vs {base}: {m}", f"{model}: factors + BE raise {_METRIC_WORDS[m]} "
                           f"({new} > {base})", new, base, m))
    for new, base, model, what in (("unet_factors", "V", "U-Net", "factors only"),
                                   ("pspnet_factors", "VII", "PSPNet", "factors only"),
                                   ("unet_be", "V", "U-Net", "BE only"), ("pspnet_be", "VII", "PSPNet", "BE only")):
        c.append(Claim(f"{new} vs {base}: f1", f"{model}: {what} raises F1 ({new} > {base})", new, base, "f1"))
    return tuple(c)


PAPER_CLAIMS: tuple[Claim, ...] = _paper_claims()
"""The claims of Yang et al. (2022, sections 4.3 and 5) as data: factors raise precision for Mask R-CNN (II vs I,
IV vs III); BE raises precision, recall, F1 and mIoU for Mask R-CNN (III vs I, IV vs II); IV has the highest
F1 of I-IV; factors + BE raise F1 and mIoU of U-Net (VI vs V) and PSPNet (VIII vs VII); and the cells the
paper leaves out, on F1: factors only (unet_factors vs V, pspnet_factors vs VII) and BE only (unet_be vs V,
pspnet_be vs VII). Edit a copy
(:func:`claims_table` / :func:`claims_from_table`) when experiment names change."""


def claims_table(claims: Iterable[Claim]) -> pd.DataFrame:
    """Claims as a table (columns ``name, text, better, worse, metric, side``)."""
    return pd.DataFrame([asdict(c) for c in claims], columns=["name", "text", "better", "worse", "metric", "side"])


def claims_from_table(table: pd.DataFrame | Iterable[Mapping[str, str]]) -> list[Claim]:
    """Claims from a table or records with keys ``name, text, better, worse, metric`` and optional ``side``
    (default ``"+"``), e.g. read from CSV or YAML."""
    records = table.to_dict("records") if isinstance(table, pd.DataFrame) else list(table)
    out = []
    for r in records:
        side = r.get("side", "+")
        side = "+" if side is None or (isinstance(side, float) and np.isnan(side)) else str(side)
        out.append(Claim(str(r["name"]), str(r["text"]), str(r["better"]), str(r["worse"]), str(r["metric"]),
                         side))  # type: ignore[arg-type]
    return out


def paired_differences(results: pd.DataFrame, claim: Claim) -> pd.Series:
    """Per-point differences ``metric(better) - metric(worse)`` of a claim.

    Only rows of the same ``point`` are paired (same training seed and BE draw). Points where either
    experiment is missing, or its metric is NaN, are dropped; their number is in ``series.attrs["dropped"]``.

    Args:
        results: a sweep's ``results.csv`` (columns ``point``, ``experiment`` and the metric).
        claim: the claim whose pair and metric are compared.

    Returns:
        Float series indexed by ``point`` (order of first appearance), named ``claim.name``. Empty when an
        experiment or the metric column is absent.

    Raises:
        ValueError: an experiment appears more than once at the same point.
    """
    empty = pd.Series([], dtype=float, name=claim.name, index=pd.Index([], name="point"))
    if claim.metric not in results.columns or not {"point", "experiment"} <= set(results.columns):
        points = results["point"].nunique() if "point" in results.columns else 0
        empty.attrs["dropped"] = int(points)
        return empty
    sub = results[results["experiment"].isin([claim.better, claim.worse])]
    dup = sub.duplicated(["point", "experiment"])
    if dup.any():
        bad = sub.loc[dup, ["point", "experiment"]].drop_duplicates().to_records(index=False).tolist()
        raise ValueError(f"experiment(s) repeated at the same point: {bad[:5]}; one row per point x experiment")
    wide = sub.pivot(index="point", columns="experiment", values=claim.metric)
    order = list(dict.fromkeys(results["point"]))
    wide = wide.reindex(order)
    for e in (claim.better, claim.worse):
        if e not in wide.columns:
            wide[e] = np.nan
    diff = pd.to_numeric(wide[claim.better], errors="coerce") - pd.to_numeric(wide[claim.worse], errors="coerce")
    kept = diff.dropna().astype(float)
    kept.name = claim.name
    kept.index.name = "point"
    kept.attrs["dropped"] = int(len(order) - len(kept))
    return kept


def judge(
    diffs: Iterable[float],
    *,
    side: Literal["+", "-"] = "+",
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
    min_pairs: int = MIN_PAIRS,
) -> dict[str, float | int | str]:
    """Verdict on one comparison's paired differences, from the paired t-test (unadjusted: a family of claims is
    judged by :func:`judge_claims`, which adjusts).

    Args:
        diffs: per-seed differences ``metric(better) - metric(worse)`` (NaNs dropped).
        side: ``"+"`` if the claim is that the difference is positive, ``"-"`` if negative.
        confidence: level of both intervals; the test's level is ``1 - confidence``.
        n_boot, seed: the percentile bootstrap's (:func:`bootstrap_ci`).
        min_pairs: fewest pairs a verdict is given on.

    Returns:
        ``{"estimate", "low", "high", "boot_low", "boot_high", "p", "n", "verdict"}`` -- mean difference, paired
        t-interval, percentile-bootstrap interval, two-sided p of the paired t-test, number of pairs, and the
        verdict of :func:`landslide_utils.evaluation.intervals.verdict` (``holds``, ``contradicted``,
        ``inconclusive``, ``too few seeds``, ``not testable``).
    """
    if side not in ("+", "-"):
        raise ValueError(f"side must be '+' or '-', got {side!r}")
    x = np.asarray(list(diffs), dtype=float)
    x = x[~np.isnan(x)]
    est, low, high = t_interval(x, confidence=confidence)
    _, boot_low, boot_high = bootstrap_ci(x, confidence=confidence, n_boot=n_boot, seed=seed)
    p = t_test_p(x)
    return {"estimate": est, "low": low, "high": high, "boot_low": boot_low, "boot_high": boot_high, "p": p,
            "n": int(x.size), "verdict": verdict(estimate=est, p=p, n=int(x.size), side=side,
                                                 alpha=1.0 - confidence, min_pairs=min_pairs)}


CLAIM_COLUMNS = ["name", "claim", "metric", "better", "worse", "side", "n", "n_dropped", "estimate", "ci_low",
                 "ci_high", "p", "p_holm", "boot_low", "boot_high", "ap_estimate", "ap_low", "ap_high", "verdict"]
"""Columns of :func:`judge_claims` (and of a sweep's ``tables/claims.csv``)."""


def judge_claims(
    results: pd.DataFrame,
    claims: Iterable[Claim] = PAPER_CLAIMS,
    *,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
    min_pairs: int = MIN_PAIRS,
) -> pd.DataFrame:
    """Judge every claim on a sweep's results (one row per claim, in the order given); the claims given are one
    family: their p-values are Holm-adjusted together and the verdicts use the adjusted level.

    A claim whose experiments (or metric) are absent from ``results`` is ``not testable`` with n = 0, not an
    error, so the paper's full list can be judged on any subset of experiments.

    Returns:
        :data:`CLAIM_COLUMNS`: ``name``, ``claim`` (text), ``metric``, ``better``, ``worse``, ``side``, ``n``
        (paired points), ``n_dropped`` (points lacking either experiment), ``estimate`` (mean difference, metric
        units, i.e. fractions), ``ci_low``, ``ci_high`` (paired t-interval), ``p`` (paired t-test), ``p_holm``
        (Holm-adjusted in the family; NaN below ``min_pairs``), ``boot_low``, ``boot_high`` (percentile
        bootstrap), ``ap_estimate``, ``ap_low``, ``ap_high`` (the same pair's AP difference and t-interval; NaN
        without an ``ap`` column), ``verdict``.
    """
    rows = []
    for c in claims:
        d = paired_differences(results, c)
        j = judge(d.to_numpy(), side=c.side, confidence=confidence, n_boot=n_boot, seed=seed, min_pairs=min_pairs)
        ap = paired_differences(results, replace(c, metric="ap"))
        ap_est, ap_low, ap_high = t_interval(ap.to_numpy(), confidence=confidence)
        rows.append({"name": c.name, "claim": c.text, "metric": c.metric, "better": c.better, "worse": c.worse,
                     "side": c.side, "n": j["n"], "n_dropped": d.attrs.get("dropped", 0),
                     "estimate": j["estimate"], "ci_low": j["low"], "ci_high": j["high"], "p": j["p"],
                     "boot_low": j["boot_low"], "boot_high": j["boot_high"], "ap_estimate": ap_est,
                     "ap_low": ap_low, "ap_high": ap_high})
    table = pd.DataFrame(rows, columns=[c for c in CLAIM_COLUMNS if c not in ("p_holm", "verdict")])
    return family_verdicts(table, alpha=1.0 - confidence, min_pairs=min_pairs)[CLAIM_COLUMNS]
