"""Step 07: what a sweep's runs say, with intervals (the analysis behind ``notebooks/07_analyse_sweep.ipynb``).

Reads the sweep's ``results.csv`` (one row per point x experiment, :mod:`landslide_utils.sweep`) and computes,
with :mod:`landslide_utils.stats`:

* per experiment (and budget, when the sweep varies ``training.steps``), the mean over seeds of every metric
  with its 95 % bootstrap interval;
* for one run per experiment, the tile bootstrap of the test area (the sampling uncertainty of a single run);
* for each of the paper's claims, the paired difference over points (same seed, same BE draw) with its interval
  and a verdict: ``holds``, ``contradicted``, ``inconclusive`` or ``not testable``.

Tables are written to ``<sweep reports>/tables/`` (``seed_summary.csv``, ``claims.csv``, ``tile_bootstrap.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .io import write_csv
from .stats import PAPER_CLAIMS, format_summary, judge_claims, seed_summary, tile_bootstrap, tiles_path

__all__ = ["SweepAnalysis", "analyse_results", "STEPS_KEY"]

STEPS_KEY = "training.steps"


@dataclass
class SweepAnalysis:
    """The tables of step 07 (fractions; ``summary_table`` is formatted in percent for display)."""

    results: pd.DataFrame
    summary: pd.DataFrame
    summary_table: pd.DataFrame
    claims: pd.DataFrame
    tiles: pd.DataFrame
    final_steps: int | None


def analyse_results(results_csv: str | Path, *, root: str | Path = ".", tables_dir: str | Path | None = None,
                    n_boot: int = 10_000, seed: int = 0) -> SweepAnalysis:
    """Analyse a sweep's ``results.csv``; claims are judged at the sweep's largest budget.

    Args:
        results_csv: the sweep's results table.
        root: project root (``metrics_path`` in the table is relative to it).
        tables_dir: where to write the CSV tables (not written when ``None``).
        n_boot: bootstrap resamples.
        seed: bootstrap seed.

    Raises:
        FileNotFoundError: no results table (run the sweep first).
    """
    results_csv = Path(results_csv)
    if not results_csv.is_file():
        raise FileNotFoundError(f"{results_csv}: no results table; run the sweep first "
                                "(python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml)")
    results = pd.read_csv(results_csv)
    final_steps = None
    by: tuple[str, ...] = ("experiment",)
    judged_rows = results
    if STEPS_KEY in results.columns and results[STEPS_KEY].nunique() > 1:
        final_steps = int(results[STEPS_KEY].max())
        judged_rows = results[results[STEPS_KEY] == final_steps]
        by = ("experiment", STEPS_KEY)
    summary = seed_summary(results, by=by, n_boot=n_boot, seed=seed)
    claims = judge_claims(judged_rows, PAPER_CLAIMS, n_boot=n_boot, seed=seed)
    claims = claims[claims["verdict"] != "not testable"].reset_index(drop=True) if (
        claims["verdict"] != "not testable").any() else claims
    tile_rows = []
    for exp, group in judged_rows.groupby("experiment", sort=False):
        row = group.sort_values("point").iloc[0]
        path = tiles_path(row["metrics_path"], root=root)
        if not path.is_file():
            continue
        est, low, high = tile_bootstrap(pd.read_csv(path), metric="f1", n_boot=2000, seed=seed)
        tile_rows.append({"experiment": exp, "point": row["point"], "f1": est, "ci_low": low, "ci_high": high,
                          "seed_ci_width": _seed_width(summary, exp, final_steps)})
    tiles = pd.DataFrame(tile_rows, columns=["experiment", "point", "f1", "ci_low", "ci_high", "seed_ci_width"])
    summary_table = format_summary(summary)
    if tables_dir is not None:
        tables_dir = Path(tables_dir)
        write_csv(tables_dir / "seed_summary.csv", summary, index=False)
        write_csv(tables_dir / "claims.csv", claims, index=False)
        write_csv(tables_dir / "tile_bootstrap.csv", tiles, index=False)
    return SweepAnalysis(results, summary, summary_table, claims, tiles, final_steps)


def _seed_width(summary: pd.DataFrame, experiment: str, steps: int | None) -> float:
    sel = summary[(summary["experiment"] == experiment) & (summary["metric"] == "f1")]
    if steps is not None and STEPS_KEY in sel.columns:
        sel = sel[sel[STEPS_KEY] == steps]
    if sel.empty:
        return float("nan")
    return float(sel["ci_high"].iloc[0] - sel["ci_low"].iloc[0])
