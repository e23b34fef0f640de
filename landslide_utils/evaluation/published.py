"""Cross-model comparison: measured metrics beside the published Tables 6 and 7 of Yang et al. (2022).

The published numbers are data (``params/reference/yang2022.yaml``); measured numbers come from the metrics
JSON files written by step 04. Improvements are relative, as the paper states them ((new - old) / old).
The paper's qualitative claims are checked on the measured numbers and reported as holds / does not hold /
not testable (an experiment is missing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from landslide_utils.evaluation.metrics import PAPER_METRICS
from landslide_utils.files.atomic import atomic_path

__all__ = [
    "Reference",
    "load_reference",
    "gather_metrics",
    "comparison_table",
    "improvements",
    "check_claims",
    "TABLE6",
    "TABLE7",
    "Comparison",
    "run_comparison",
]

TABLE6 = ("I", "II", "III", "IV")
TABLE7 = ("V", "VI", "VII", "VIII")


@dataclass
class Reference:
    """The published table (percent) and the improvements the paper states."""

    table: pd.DataFrame
    stated: pd.DataFrame
    source: str


def load_reference(path: str | Path = "params/reference/yang2022.yaml") -> Reference:
    """Read the published numbers (percent)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    table = pd.DataFrame.from_dict(data["experiments"], orient="index")
    table.index.name = "experiment"
    stated = pd.DataFrame(data.get("stated_improvements", []))
    return Reference(table=table, stated=stated, source=data.get("source", str(path)))


def gather_metrics(metrics_dir: str | Path, experiments: tuple[str, ...] | list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Measured metrics (fractions 0..1) of the given experiments, and the names of those not found.

    Missing files are reported, not raised: a comparison of what exists is still useful.
    """
    rows, missing = {}, []
    for name in experiments:
        p = Path(metrics_dir) / f"{name}.json"
        if not p.exists():
            missing.append(name)
            continue
        try:
            rows[name] = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}: not valid JSON ({exc}); rerun step 04 for experiment {name}") from exc
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "experiment"
    return df, missing


def comparison_table(measured: pd.DataFrame, reference: Reference, experiments: tuple[str, ...]) -> pd.DataFrame:
    """One row per experiment: measured P/R/F1/mIoU (percent) beside the paper's, and the difference."""
    rows = []
    for name in experiments:
        ref = reference.table.loc[name] if name in reference.table.index else None
        row: dict[str, object] = {"experiment": name}
        if ref is not None:
            row.update(model=ref["model"], channels=ref["channels"], training_data=ref["training_data"])
        for m in PAPER_METRICS:
            got = 100 * float(measured.loc[name, m]) if name in measured.index else float("nan")
            pub = float(ref[m]) if ref is not None else float("nan")
            row[f"{m}"] = got
            row[f"{m}_paper"] = pub
            row[f"{m}_diff"] = got - pub
        rows.append(row)
    return pd.DataFrame(rows).set_index("experiment")


def _rel(new: float, old: float) -> float:
    return 100.0 * (new - old) / old if old else float("nan")


def improvements(measured: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Relative improvements (percent) of each pair the paper states, measured beside stated."""
    rows = []
    for _, st in reference.stated.iterrows():
        new, base = st["new"], st["base"]
        for m in PAPER_METRICS:
            if m not in st or pd.isna(st[m]):
                continue
            ok = new in measured.index and base in measured.index
            got = _rel(float(measured.loc[new, m]), float(measured.loc[base, m])) if ok else float("nan")
            rows.append({"comparison": f"{new} vs {base}", "metric": m, "measured_pct": got,
                         "paper_pct": float(st[m])})
    return pd.DataFrame(rows)


def _verdict(test: bool | None) -> str:
    return "not testable" if test is None else ("holds" if test else "does not hold")


def check_claims(measured: pd.DataFrame) -> pd.DataFrame:
    """The paper's qualitative claims (Yang et al. 2022, section 4.3), checked on the measured numbers."""

    def have(*names: str) -> bool:
        return all(n in measured.index for n in names)

    def v(name: str, m: str) -> float:
        return float(measured.loc[name, m])

    claims = []
    ok = have("I", "II")
    claims.append(("Landslide-inducing factors raise precision (II > I)",
                   (v("II", "precision") > v("I", "precision")) if ok else None,
                   f"P: I {v('I', 'precision'):.3f}, II {v('II', 'precision'):.3f}" if ok else "needs I and II"))
    ok = have("I", "III")
    claims.append(("Background enhancement raises all four metrics (III > I)",
                   all(v("III", m) > v("I", m) for m in PAPER_METRICS) if ok else None,
                   ", ".join(f"{m} {v('I', m):.3f}->{v('III', m):.3f}" for m in PAPER_METRICS) if ok else "needs I and III"))
    ok = have(*TABLE6)
    best = max(TABLE6, key=lambda n: v(n, "f1")) if ok else None
    claims.append(("Experiment IV (factors + enhancement) is the best Mask R-CNN (highest F1 of I-IV)",
                   (best == "IV") if ok else None,
                   f"highest F1: {best} ({v(best, 'f1'):.3f})" if ok else "needs I-IV"))
    ok = have("V", "VI")
    claims.append(("Factors + enhancement help U-Net (F1 and mIoU: VI > V)",
                   (v("VI", "f1") > v("V", "f1") and v("VI", "miou") > v("V", "miou")) if ok else None,
                   f"F1 {v('V', 'f1'):.3f}->{v('VI', 'f1'):.3f}, mIoU {v('V', 'miou'):.3f}->{v('VI', 'miou'):.3f}"
                   if ok else "needs V and VI"))
    ok = have("VII", "VIII")
    claims.append(("Factors + enhancement help PSPNet (F1 and mIoU: VIII > VII)",
                   (v("VIII", "f1") > v("VII", "f1") and v("VIII", "miou") > v("VII", "miou")) if ok else None,
                   f"F1 {v('VII', 'f1'):.3f}->{v('VIII', 'f1'):.3f}, mIoU {v('VII', 'miou'):.3f}->"
                   f"{v('VIII', 'miou'):.3f}" if ok else "needs VII and VIII"))
    return pd.DataFrame([{"claim": c, "verdict": _verdict(t), "evidence": e} for c, t, e in claims])


@dataclass
class Comparison:
    """Everything notebook 05 shows, written to ``reports/<profile>/tables/``."""

    table6: pd.DataFrame
    table7: pd.DataFrame
    improvements: pd.DataFrame
    claims: pd.DataFrame
    missing: list[str]
    reference: Reference


def run_comparison(
    *, metrics_dir: str | Path, tables_dir: str | Path, reference_path: str | Path = "params/reference/yang2022.yaml"
) -> Comparison:
    """Gather the metrics, build Tables 6 and 7 beside the paper, the improvements and the claim verdicts, and
    write them as CSV (``table6_comparison.csv``, ``table7_comparison.csv``, ``improvements.csv``, ``claims.csv``)."""

    ref = load_reference(reference_path)
    measured, missing = gather_metrics(metrics_dir, TABLE6 + TABLE7)
    comp = Comparison(
        table6=comparison_table(measured, ref, TABLE6),
        table7=comparison_table(measured, ref, TABLE7),
        improvements=improvements(measured, ref),
        claims=check_claims(measured),
        missing=missing,
        reference=ref,
    )
    for name, df, index in (("table6_comparison", comp.table6, True), ("table7_comparison", comp.table7, True),
                            ("improvements", comp.improvements, False), ("claims", comp.claims, False)):
        with atomic_path(Path(tables_dir) / f"{name}.csv", suffix=".csv") as tmp:
            df.to_csv(tmp, index=index, float_format="%.3f")
    return comp
