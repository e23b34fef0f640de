"""Convergence: the validation learning curves of a sweep's runs, and the rule that picks training defaults.

A run trained with ``training.eval_every`` carries its curve on the validation tiles (never test tiles) in its
metrics JSON (``learning_curve``: step, training seconds, validation loss, AP, F1 at the validation-optimal
threshold). :func:`learning_curves` gathers them into one long table; :func:`curve_summary` gives the mean over
seeds at every evaluation with the seeds' spread; :func:`choose_settings` applies the rule of docs/methods.md
("Choosing the training defaults"), written before the convergence sweep ran:

1. eligible: settings whose evaluated weights have validation F1 > 0 in every seed;
2. plateau P: the mean over seeds of each seed's highest validation AP;
3. contenders: eligible settings with P >= max P - ``margin`` (0.02);
4. chosen: the contender whose seed-mean curve first reaches ``reach`` x P (0.9) in the fewest training seconds
   (ties: the higher P);
5. budget: the first evaluation step where the chosen seed-mean curve reaches ``budget_reach`` x P (0.95),
   capped at the sweep's last evaluation.

The papers train far longer from pretrained weights and keep no validation set; the rule is this project's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from landslide_utils.files.atomic import write_csv

__all__ = ["CURVE_COLUMNS", "learning_curves", "curve_summary", "choose_settings", "setting_label",
           "convergence_report", "budget_check"]

#: the columns of a run's curve (``validation.csv`` of :mod:`landslide_utils.training.monitor`)
CURVE_COLUMNS: tuple[str, ...] = ("step", "seconds", "val_loss", "val_ap", "val_f1", "val_threshold")


def setting_label(results: pd.DataFrame, factors: Sequence[str]) -> pd.Series:
    """One label per row naming its setting, e.g. ``optimizer=adamw`` (``all`` without factors)."""
    if not factors:
        return pd.Series("all", index=results.index)
    parts = [f.rsplit(".", 1)[-1] + "=" + results[f].astype(str) for f in factors]
    label = parts[0]
    for part in parts[1:]:
        label = label + ", " + part
    return label


def learning_curves(results: pd.DataFrame, *, root: str | Path = ".", factors: Sequence[str] = ()) -> pd.DataFrame:
    """The validation curves of a sweep's runs as one long table: ``experiment``, ``model``, ``setting``, ``seed``,
    ``point``, ``kept_step`` and the :data:`CURVE_COLUMNS`, one row per run and evaluation. Runs without a curve
    (trained without ``training.eval_every``) are left out.

    Raises:
        FileNotFoundError: a run's metrics JSON named in ``results`` is missing (run or copy the sweep's reports).
    """
    labels = setting_label(results, factors)
    parts = []
    for (_, row), label in zip(results.iterrows(), labels):
        path = Path(root) / str(row["metrics_path"])
        if not path.is_file():
            raise FileNotFoundError(f"{path}: metrics of point {row['point']} ({row['experiment']}) not found; "
                                    "run the sweep or restore its reports")
        metrics = json.loads(path.read_text(encoding="utf-8"))
        curve = metrics.get("learning_curve")
        if not curve:
            continue
        table = pd.DataFrame({c: curve[c] for c in CURVE_COLUMNS if c in curve})
        table.insert(0, "experiment", row["experiment"])
        table.insert(1, "model", row["model"])
        table.insert(2, "setting", label)
        table.insert(3, "seed", int(row["seed"]) if "seed" in row else 0)
        table.insert(4, "point", row["point"])
        table.insert(5, "kept_step", int(metrics.get("kept_step", table["step"].max())))
        parts.append(table)
    columns = ["experiment", "model", "setting", "seed", "point", "kept_step", *CURVE_COLUMNS]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def curve_summary(curves: pd.DataFrame, *, metric: str = "val_ap") -> pd.DataFrame:
    """Per experiment, setting and evaluation step: the mean of ``metric`` over seeds, its minimum and maximum
    over seeds, the number of seeds and the mean training seconds."""
    grouped = curves.groupby(["experiment", "setting", "step"], sort=False)
    out = grouped.agg(mean=(metric, "mean"), low=(metric, "min"), high=(metric, "max"), seeds=("seed", "nunique"),
                      seconds=("seconds", "mean")).reset_index()
    return out.sort_values(["experiment", "setting", "step"], kind="stable").reset_index(drop=True)


def _first_reach(summary: pd.DataFrame, level: float) -> tuple[float, float]:
    """(step, seconds) of the first evaluation whose seed mean reaches ``level`` (NaN, NaN if none)."""
    hit = summary[summary["mean"] >= level - 1e-12]
    if hit.empty:
        return float("nan"), float("nan")
    return float(hit["step"].iloc[0]), float(hit["seconds"].iloc[0])


def choose_settings(curves: pd.DataFrame, *, margin: float = 0.02, reach: float = 0.9,
                    budget_reach: float = 0.95) -> pd.DataFrame:
    """The rule of docs/methods.md per experiment: one row per experiment and setting with ``seeds``,
    ``empty_seeds`` (seeds whose evaluated weights have validation F1 = 0), ``eligible``, ``plateau`` (mean of the
    seeds' best validation AP) and its seed ``plateau_sd``, ``step_90`` / ``seconds_90`` (first evaluation where the
    seed mean reaches ``reach`` x plateau), ``contender``, ``chosen`` and, for the chosen one, ``budget`` (first
    evaluation step reaching ``budget_reach`` x plateau)."""
    rows = []
    for experiment, runs in curves.groupby("experiment", sort=False):
        summary = curve_summary(runs)
        per = []
        for setting, one in runs.groupby("setting", sort=False):
            kept = one[one["step"] == one["kept_step"]]
            best = one.groupby("seed")["val_ap"].max()
            mean_curve = summary[summary["setting"] == setting]
            plateau = float(best.mean())
            step90, sec90 = _first_reach(mean_curve, reach * plateau)
            step95, _ = _first_reach(mean_curve, budget_reach * plateau)
            if not np.isfinite(step95):  # not reached within the sweep: the budget is capped at its longest run
                step95 = float(one["step"].max())
            empty = int((kept.groupby("seed")["val_f1"].max() <= 0).sum())
            per.append({"experiment": experiment, "model": one["model"].iloc[0], "setting": setting,
                        "seeds": int(one["seed"].nunique()), "empty_seeds": empty, "eligible": empty == 0,
                        "plateau": plateau, "plateau_sd": float(best.std(ddof=1)) if len(best) > 1 else float("nan"),
                        "step_90": step90, "seconds_90": sec90, "step_95": step95})
        table = pd.DataFrame(per)
        top = table.loc[table["eligible"], "plateau"].max() if table["eligible"].any() else np.nan
        table["contender"] = table["eligible"] & (table["plateau"] >= top - margin)
        table["chosen"] = False
        table["budget"] = np.nan
        if table["contender"].any():
            order = table[table["contender"]].sort_values(["seconds_90", "plateau"], ascending=[True, False])
            pick = order.index[0]
            table.loc[pick, "chosen"] = True
            table.loc[pick, "budget"] = table.loc[pick, "step_95"]
        rows.append(table.drop(columns="step_95"))
    columns = ["experiment", "model", "setting", "seeds", "empty_seeds", "eligible", "plateau", "plateau_sd",
               "step_90", "seconds_90", "contender", "chosen", "budget"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def convergence_report(results: pd.DataFrame, *, root: str | Path = ".", factors: Sequence[str] = (),
                       tables_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 07's convergence part: the validation curves of a sweep's runs (:func:`learning_curves`) and the rule's
    table (:func:`choose_settings`), written to ``tables_dir/convergence.csv`` when the runs have curves."""
    curves = learning_curves(results, root=root, factors=factors)
    choice = choose_settings(curves)
    if tables_dir is not None and not curves.empty:
        write_csv(Path(tables_dir) / "convergence.csv", choice, index=False)
    return curves, choice


def budget_check(validation_csvs: Mapping[str, str | Path], *, reach: float = 0.9,
                 budget_reach: float = 0.95) -> pd.DataFrame:
    """The rule's budget read on single runs: for each experiment whose ``validation.csv`` exists (written by
    ``training.eval_every``), ``steps`` (its last evaluation), ``best_ap`` and ``best_step``, ``step_90`` (first
    evaluation at ``reach`` x its best validation AP), ``rule_budget`` (first at ``budget_reach`` x best, as
    :func:`choose_settings` sets a budget) and ``still_rising`` (its best AP came at its last evaluation, so the
    budget may have stopped it early). One seed, so it says whether a row levelled off, not by how much it varies.
    Experiments without a log are left out; an empty table when none has one."""
    parts = []
    for name, csv in validation_csvs.items():
        path = Path(csv)
        if not path.is_file():
            continue
        curve = pd.read_csv(path)
        if curve.empty:
            continue
        curve = curve.assign(experiment=name, model="", setting="trained", seed=0,
                             kept_step=int(curve["step"].max()))
        parts.append(curve)
    columns = ["experiment", "steps", "best_ap", "best_step", "step_90", "rule_budget", "still_rising"]
    if not parts:
        return pd.DataFrame(columns=columns)
    curves = pd.concat(parts, ignore_index=True)
    rule = choose_settings(curves, reach=reach, budget_reach=budget_reach).set_index("experiment")
    rows = []
    for name, curve in curves.groupby("experiment", sort=False):
        best = curve.loc[curve["val_ap"].idxmax()]
        last = int(curve["step"].max())
        rows.append({"experiment": name, "steps": last, "best_ap": float(best["val_ap"]),
                     "best_step": int(best["step"]), "step_90": rule.loc[name, "step_90"],
                     "rule_budget": rule.loc[name, "budget"], "still_rising": int(best["step"]) == last})
    return pd.DataFrame(rows, columns=columns)
