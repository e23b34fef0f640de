"""Related systems beside the study: the improved Mask R-CNN of Liu et al. (2021), the focal-loss FCN with
k-fold cross-validation of Chen et al. (2022), the semantic-segmentation zoo of Yang S. et al. (2022, "yang2022b")
and the FC-DenseNet with nine influencing factors of Gao et al. (2021), run on the same study area with the same metrics as Yang et al.
(2022)'s Experiments I-VIII (step 08, ``notebooks/08_related_systems.ipynb``).

Each paper evaluated its method on its own data only. Its published table is data
(``params/reference/<paper>.yaml``: the rows, which experiment file reproduces each, the metric each printed
column corresponds to here, the ablation claims); measured numbers come from step 04's metrics files. A claim
"better - base > 0 in a metric" is judged here on one run (``holds`` / ``does not hold`` / ``not testable``) and
with intervals over seeds by a sweep (``params/sweeps/related.yaml``, notebook 07), which reads the same claims
(:func:`related_claims`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landslide_utils.config.load import load_profile
from landslide_utils.config.overrides import gpu_only_reason
from landslide_utils.config.schema import Profile
from landslide_utils.evaluation.metrics import Counts, precision, recall
from landslide_utils.files.atomic import write_csv
from landslide_utils.paths import CHECKPOINT_FILE, StudyPaths
from landslide_utils.prediction.memory import prediction_memories
from landslide_utils.steps.related_references import (
    RELATED_PAPERS,
    RelatedReference,
    load_related,
    related_claims,
    related_experiments,
    related_skip_reason,
)

__all__ = ["RELATED_PAPERS", "RelatedReference", "load_related", "related_experiments", "related_claims",
           "related_skip_reason", "side_by_side", "published_vs_measured", "single_run_claims", "cv_table",
           "best_of", "sweep_verdicts", "YANG_EXPERIMENTS", "PAPER_LABELS", "SIDE_BY_SIDE_METRICS",
           "CLASS_MEAN_METRICS", "metric_value", "efficiency_table", "write_published_table",
           "measured_efficiency_table", "study_folders", "experiment_folder", "gpu_only_table"]

#: how the side-by-side table names each paper
PAPER_LABELS: dict[str, str] = {"yang2022": "Yang 2022", "liu2021": "Liu 2021", "chen2022": "Chen 2022",
                                "yang2022b": "Yang S. 2022", "gao2021": "Gao 2021"}
#: metrics computed here from the confusion counts for papers that print class means (Yang S. et al. 2022)
CLASS_MEAN_METRICS: tuple[str, ...] = ("precision_mean", "recall_mean")
YANG_EXPERIMENTS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
#: metrics of the side-by-side table (percent)
SIDE_BY_SIDE_METRICS: tuple[str, ...] = ("precision", "recall", "f1", "miou", "iou_landslide", "kappa", "ap")




def metric_value(m: dict[str, Any], key: str) -> float:
    """A metric of a metrics record, as a fraction; the class means of precision and recall
    (:data:`CLASS_MEAN_METRICS`: the mean of the landslide and the background class, as Yang S. et al. 2022
    print them) from the confusion counts."""
    if key not in CLASS_MEAN_METRICS:
        return float(m[key])
    c = Counts(*(int(m[k]) for k in ("tp", "fp", "fn", "tn")))
    background = Counts(tp=c.tn, fp=c.fn, fn=c.fp, tn=c.tp)  # the background class as the positive one
    of = precision if key == "precision_mean" else recall
    return (of(c) + of(background)) / 2


def efficiency_table(ref: RelatedReference, metrics_dir: str | Path,
                     memory: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame | None:
    """Gao et al.'s Table IX beside this run: parameters, the size of the weights (float32, MB), the memory of
    a prediction (``memory``: experiment -> :func:`landslide_utils.prediction.memory.prediction_memory`'s figures
    ``model_mb``, ``prediction_mb`` and ``peak_rss_mb`` / ``peak_mb``) and the seconds of the full test-area
    prediction (step 04's ``eval_seconds``: tiles, stitching, metrics) per experiment; None when the paper has
    no such table."""
    if ref.complexity is None:
        return None
    rows = []
    for name in ref.table.index:
        m = _metrics(Path(metrics_dir), name)
        pub = ref.complexity.loc[name] if name in ref.complexity.index else None
        params = m.get("parameters") if m else None
        rows.append({"experiment": name, "row": ref.labels[name],
                     "published_parameters": pub["parameters"] if pub is not None else np.nan,
                     "parameters": params if params is not None else np.nan,
                     "weights_mb": 4 * params / 2**20 if params else np.nan,
                     "published_ram_mb": pub["ram_mb"] if pub is not None else np.nan,
                     **{k: round(float(mem[k]), 1) if k in mem else np.nan
                        for mem in [(memory or {}).get(name, {})]
                        for k in ("model_mb", "prediction_mb", "peak_rss_mb")},
                     "published_test_seconds": pub["test_seconds"] if pub is not None else np.nan,
                     "test_seconds": round(float(m["eval_seconds"]), 1) if m and "eval_seconds" in m else np.nan})
    return pd.DataFrame(rows).set_index("experiment")



def sweep_verdicts(sweeps_dir: str | Path | Sequence[str | Path], refs: dict[str, RelatedReference], *,
                   pattern: str = "related*") -> pd.DataFrame | None:
    """The related papers' claims as every sweep of a profile matching ``pattern`` judged them (notebook 07's
    ``tables/claims.csv``): sweep, claim, metric, n and the estimate with its 95 % interval in percentage points,
    and the verdict; None when no such sweep has run. With several folders, a sweep of the first that has it."""
    dirs = [Path(sweeps_dir)] if isinstance(sweeps_dir, (str, Path)) else [Path(d) for d in sweeps_dir]
    by_name: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.glob(f"{pattern}/tables/claims.csv")):
            by_name.setdefault(f.parents[1].name, f)
    found = [by_name[k] for k in sorted(by_name)]
    if not found:
        return None
    ids = {c.name for r in refs.values() for c in r.claims}
    judged = pd.concat([pd.read_csv(f).assign(sweep=f.parents[1].name) for f in found], ignore_index=True)
    judged = judged[judged["name"].isin(ids)].copy()
    judged[["estimate", "ci_low", "ci_high"]] = (100 * judged[["estimate", "ci_low", "ci_high"]]).round(1)
    return judged[["sweep", "claim", "metric", "n", "estimate", "ci_low", "ci_high", "verdict"]]



def _metrics(metrics_dir: Path, name: str) -> dict[str, Any] | None:
    p = Path(metrics_dir) / f"{name}.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc}); rerun step 04 for experiment {name}") from exc


def study_folders(profile: Profile, *, root: str | Path = ".") -> list[StudyPaths]:
    """The folders notebook 08 reads: this profile's, then - for a profile ``prepared_by`` another (the related
    profile and quick) - the preparing profile's, whose Experiments I-VIII stand beside the related systems."""
    folders = [StudyPaths.of(profile, Path(root))]
    if profile.prepared_by is not None:
        folders.append(StudyPaths.of(load_profile(profile.prepared_by), Path(root)))
    return folders


def experiment_folder(folders: Sequence[StudyPaths], name: str) -> Path:
    """The first of ``folders`` holding experiment ``name``'s outputs (the first folder's when none does)."""
    for f in folders:
        if f.experiment(name).is_dir():
            return f.experiment(name)
    return folders[0].experiment(name)


def gpu_only_table(profile: Profile, *, root: str | Path = ".") -> pd.DataFrame:
    """The related-system experiments this profile leaves to a GPU (its ``gpu_only`` key), with the reason."""
    rows = [{"experiment": n, "paper": PAPER_LABELS[p], "reason": gpu_only_reason(profile, n)}
            for p, names in related_experiments(root=root).items() for n in names]
    return pd.DataFrame([r for r in rows if r["reason"] is not None],
                        columns=["experiment", "paper", "reason"]).set_index("experiment")


def side_by_side(metrics_dir: str | Path | Sequence[str | Path], *, root: str | Path = ".") -> pd.DataFrame:
    """Yang et al.'s Experiments I-VIII and every related-system experiment that ran, one row each: paper,
    model, :data:`SIDE_BY_SIDE_METRICS` in percent, parameters, training steps and seconds. ``metrics_dir``:
    one folder or several (an experiment's row comes from the first that holds it)."""
    dirs = [Path(metrics_dir)] if isinstance(metrics_dir, (str, Path)) else [Path(d) for d in metrics_dir]
    rows = []
    groups = [(PAPER_LABELS["yang2022"], list(YANG_EXPERIMENTS))]
    groups += [(PAPER_LABELS[p], exps) for p, exps in related_experiments(root=root).items()]
    for paper, names in groups:
        for name in names:
            m = next((found for d in dirs if (found := _metrics(d, name)) is not None), None)
            if m is None:
                continue
            row: dict[str, Any] = {"experiment": name, "paper": paper, "model": m.get("model")}
            row.update({k: 100 * float(m[k]) for k in SIDE_BY_SIDE_METRICS})
            row.update(parameters=m.get("parameters"), steps=m.get("steps"),
                       train_seconds=round(float(m.get("train_seconds", np.nan)), 1))
            rows.append(row)
    cols = ["experiment", "paper", "model", *SIDE_BY_SIDE_METRICS, "parameters", "steps", "train_seconds"]
    return pd.DataFrame(rows, columns=cols).set_index("experiment")


def published_vs_measured(ref: RelatedReference, metrics_dir: str | Path) -> pd.DataFrame:
    """The paper's table beside this run's numbers for its own rows: for each row and published column, the
    published value, the measured value of the mapped metric and measured - published (percent points)."""
    rows = []
    for name in ref.table.index:
        m = _metrics(Path(metrics_dir), name)
        for col, key in ref.metric_map.items():
            if col not in ref.table.columns or pd.isna(ref.table.loc[name, col]):
                continue
            pub = float(ref.table.loc[name, col])
            got = 100 * metric_value(m, key) if m is not None else np.nan
            rows.append({"experiment": name, "row": ref.labels[name], "metric": col, "compared_with": key,
                         "published": pub, "measured": got, "difference": got - pub})
    return pd.DataFrame(rows, columns=["experiment", "row", "metric", "compared_with", "published", "measured",
                                       "difference"])


def write_published_table(ref: RelatedReference, metrics_dir: str | Path, tables_dir: str | Path) -> pd.DataFrame:
    """:func:`published_vs_measured` written to ``tables_dir/<paper>_<table>.csv`` (notebook 08); returns it
    rounded to two decimals for display."""

    table = published_vs_measured(ref, metrics_dir)
    write_csv(Path(tables_dir) / f"{ref.paper}_{ref.table_name}.csv", table, index=False)
    return table.round(2)


def measured_efficiency_table(ref: RelatedReference, *, metrics_dir: str | Path, experiments_dir: str | Path,
                              tile_size: int) -> pd.DataFrame | None:
    """:func:`efficiency_table` with the prediction memory measured for every row whose checkpoint exists
    (``experiments_dir/<name>/checkpoint.pt``; :func:`landslide_utils.prediction.memory.prediction_memories`, one tile
    of ``tile_size``); rows without a checkpoint keep NaN. None when the paper has no complexity table."""

    if ref.complexity is None:
        return None
    found = {name: Path(experiments_dir) / name / CHECKPOINT_FILE for name in ref.table.index}
    memory = prediction_memories({n: p for n, p in found.items() if p.is_file()}, tile_size=tile_size)
    return efficiency_table(ref, metrics_dir, memory)


def _empty_map(m: dict[str, Any]) -> bool:
    """Whether an experiment's test map holds no landslide pixel (every threshold metric is then 0)."""
    return int(m.get("tp", 0)) + int(m.get("fp", 0)) == 0


def single_run_claims(ref: RelatedReference, metrics_dir: str | Path) -> pd.DataFrame:
    """Each ablation claim on this run: the published and measured differences (percent points), the difference
    in average precision (threshold-free, so it compares models whose maps are empty at the threshold), and a
    verdict: ``holds`` / ``does not hold``, ``not testable`` when an experiment did not run, ``not testable
    (empty map)`` when either map holds no landslide pixel (a difference of two zeros says nothing). One run per
    experiment: the sweep gives the intervals."""
    rows = []
    for c in ref.claims:
        a, b = _metrics(Path(metrics_dir), c.better), _metrics(Path(metrics_dir), c.worse)
        col = next((k for k, v in ref.metric_map.items() if v == c.metric or k == c.metric), c.metric)
        published = (float(ref.table.loc[c.better, col]) - float(ref.table.loc[c.worse, col])
                     if col in ref.table.columns else np.nan)
        diff = ap_diff = np.nan
        if a is None or b is None:
            verdict = "not testable"
        else:
            diff = 100 * (metric_value(a, c.metric) - metric_value(b, c.metric))
            ap_diff = 100 * (float(a.get("ap", np.nan)) - float(b.get("ap", np.nan)))
            empty = [name for name, m in ((c.better, a), (c.worse, b)) if _empty_map(m)]
            verdict = (f"not testable (empty map: {', '.join(empty)})" if empty
                       else "holds" if diff > 0 else "does not hold")
        rows.append({"claim": c.text, "better": c.better, "base": c.worse, "metric": c.metric,
                     "published_difference": published, "measured_difference": diff,
                     "ap_difference": ap_diff, "verdict": verdict})
    return pd.DataFrame(rows, columns=["claim", "better", "base", "metric", "published_difference",
                                       "measured_difference", "ap_difference", "verdict"])


def cv_table(metrics_dir: str | Path, experiment: str) -> pd.DataFrame | None:
    """Per fold of a cross-validated experiment: its validation-fold and test-area metrics (percent), then the
    mean and standard deviation over folds and the averaged model's test metrics; None when the experiment did
    not run or was not cross-validated."""
    m = _metrics(Path(metrics_dir), experiment)
    if m is None or not m.get("cv"):
        return None
    cv = m["cv"]
    keys = list(cv["folds"][0]["test"])
    rows = {}
    for f in cv["folds"]:
        for part in ("validation", "test"):
            for k in keys:
                rows.setdefault(f"fold {f['fold']}", {})[f"{part} {k}"] = 100 * f[part][k] if f[part] else np.nan
    for label, suffix in (("mean", "_mean"), ("SD", "_sd")):
        for part in ("validation", "test"):
            for k in keys:
                rows.setdefault(label, {})[f"{part} {k}"] = 100 * cv[f"{part}{suffix}"].get(k, np.nan)
    rows["averaged model"] = {f"test {k}": 100 * float(m[k]) for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index")


def best_of(table: pd.DataFrame, paper: str, *, metric: str = "f1") -> str | None:
    """The experiment of ``paper`` (a value of the side-by-side table's ``paper`` column) with the highest
    ``metric``; None when none ran."""
    rows = table[table["paper"] == paper]
    return None if rows.empty else str(rows[metric].idxmax())
