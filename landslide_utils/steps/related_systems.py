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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from landslide_utils.config.load import load_profile
from landslide_utils.config.overrides import gpu_only_reason
from landslide_utils.config.schema import Profile
from landslide_utils.evaluation.claims import Claim
from landslide_utils.evaluation.metrics import Counts, precision, recall
from landslide_utils.files.atomic import write_csv
from landslide_utils.paths import CHECKPOINT_FILE, StudyPaths
from landslide_utils.prediction.memory import prediction_memories

__all__ = ["RELATED_PAPERS", "RelatedReference", "load_related", "related_experiments", "related_claims",
           "related_skip_reason", "side_by_side", "published_vs_measured", "single_run_claims", "cv_table",
           "best_of", "sweep_verdicts", "YANG_EXPERIMENTS", "PAPER_LABELS", "SIDE_BY_SIDE_METRICS",
           "CLASS_MEAN_METRICS", "metric_value", "efficiency_table", "write_published_table",
           "measured_efficiency_table", "study_folders", "experiment_folder", "gpu_only_table"]

RELATED_PAPERS: tuple[str, ...] = ("liu2021", "chen2022", "yang2022b", "gao2021")
#: how the side-by-side table names each paper
PAPER_LABELS: dict[str, str] = {"yang2022": "Yang 2022", "liu2021": "Liu 2021", "chen2022": "Chen 2022",
                                "yang2022b": "Yang S. 2022", "gao2021": "Gao 2021"}
#: metrics computed here from the confusion counts for papers that print class means (Yang S. et al. 2022)
CLASS_MEAN_METRICS: tuple[str, ...] = ("precision_mean", "recall_mean")
YANG_EXPERIMENTS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
#: metrics of the side-by-side table (percent)
SIDE_BY_SIDE_METRICS: tuple[str, ...] = ("precision", "recall", "f1", "miou", "iou_landslide", "kappa", "ap")


@dataclass(frozen=True)
class RelatedReference:
    """A related paper's published table as data.

    Attributes:
        paper: ``liu2021`` or ``chen2022``.
        source: the citation of the table.
        table: published values in percent, one row per experiment (index), one column per published metric.
        labels: the paper's row label of each experiment.
        metric_map: published column -> this project's metric key it is compared with.
        claims: the paper's ablation claims.
        imbalance: Chen et al.'s Table 2 (rows before / after), else None.
        complexity: Gao et al.'s Table IX (parameters, ram_mb, test_seconds per experiment), else None.
        table_name: the published table's name (key ``table``, e.g. ``table4``): notebook 08 writes
            ``tables/<paper>_<table_name>.csv``.
    """

    paper: str
    source: str
    table: pd.DataFrame
    labels: dict[str, str]
    metric_map: dict[str, str]
    claims: tuple[Claim, ...]
    imbalance: pd.DataFrame | None
    complexity: pd.DataFrame | None = None
    table_name: str = "published"


def load_related(paper: str, *, root: str | Path = ".") -> RelatedReference:
    """Read ``params/reference/<paper>.yaml``.

    Raises:
        ValueError: an unknown paper (the message lists them) or a file without rows.
    """
    if paper not in RELATED_PAPERS:
        raise ValueError(f"unknown related paper {paper!r}; valid: {', '.join(RELATED_PAPERS)}")
    path = Path(root) / "params" / "reference" / f"{paper}.yaml"
    if not path.is_file():
        raise ValueError(f"{path}: the published table of {paper} is missing; restore it from the repository")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    rows = (data or {}).get("rows") or {} if isinstance(data, dict) else {}
    if not rows:
        raise ValueError(f"{path}: no rows")
    units = data.get("units", "percent")
    if units not in ("percent", "fraction"):
        raise ValueError(f"{path}: units must be 'percent' or 'fraction', got {units!r}")
    scale = 100.0 if units == "fraction" else 1.0
    metric_map, claim_list = _checked_reference(path, data, rows)
    table = pd.DataFrame({name: {m: float(r[m]) * scale for m in metric_map if m in r} for name, r in rows.items()}).T
    table.index.name = "experiment"
    claims = tuple(Claim(f"{c['better']} vs {c['base']}: {c['metric']}", c["claim"], c["better"], c["base"],
                         c["metric"]) for c in claim_list)
    imbalance = None
    if "imbalance" in data:
        try:
            imbalance = pd.DataFrame(data["imbalance"]).T
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: key 'imbalance' must map before/after to pixel counts and IR ({exc})") from None
        imbalance.index.name = "training set"
    complexity = _checked_complexity(path, data["complexity"], rows) if "complexity" in data else None
    table_name = data.get("table", "published")
    if not isinstance(table_name, str) or not table_name.isidentifier():
        raise ValueError(f"{path}: key 'table' must be a short name such as table4, got {table_name!r}")
    return RelatedReference(paper, data.get("source", str(path)), table,
                            {name: r.get("label", name) for name, r in rows.items()}, metric_map, claims, imbalance,
                            complexity, table_name)


COMPLEXITY_KEYS: tuple[str, ...] = ("parameters", "ram_mb", "test_seconds")


def _checked_complexity(path: Path, given: Any, rows: dict[str, Any]) -> pd.DataFrame:
    """Gao et al.'s Table IX of a reference file, checked: experiment -> parameters, ram_mb, test_seconds."""
    if not isinstance(given, dict) or not given:
        raise ValueError(f"{path}: key 'complexity' must map experiments to {{{', '.join(COMPLEXITY_KEYS)}}}")
    for name, r in given.items():
        if name not in rows:
            raise ValueError(f"{path}: complexity.{name} is none of the rows ({', '.join(rows)})")
        if not isinstance(r, dict):
            raise ValueError(f"{path}: complexity.{name} must be a mapping of {', '.join(COMPLEXITY_KEYS)}")
        for key in COMPLEXITY_KEYS:
            if not isinstance(r.get(key), (int, float)) or isinstance(r.get(key), bool):
                raise ValueError(f"{path}: complexity.{name}.{key} must be a number, got {r.get(key)!r}")
    table = pd.DataFrame(given).T[list(COMPLEXITY_KEYS)]
    table.index.name = "experiment"
    return table


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


def _checked_reference(path: Path, data: dict[str, Any], rows: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The metric map and the claims of a reference file, after checking its shape (each problem names the file
    and the key)."""
    metric_map = data.get("metrics")
    if not isinstance(metric_map, dict) or not metric_map:
        raise ValueError(f"{path}: key 'metrics' must map each published column to this project's metric, e.g. "
                         "{f1: f1, miou: miou}")
    if not isinstance(rows, dict):
        raise ValueError(f"{path}: key 'rows' must map experiment names to their published values")
    for name, r in rows.items():
        if not isinstance(r, dict):
            raise ValueError(f"{path}: rows.{name} must be a mapping (label and published values)")
        for col in metric_map:
            if col in r and (not isinstance(r[col], (int, float)) or isinstance(r[col], bool)):
                raise ValueError(f"{path}: rows.{name}.{col} must be a number, got {r[col]!r}")
    claims = data.get("claims") or []
    if not isinstance(claims, list):
        raise ValueError(f"{path}: key 'claims' must be a list of {{claim, better, base, metric}}")
    for i, c in enumerate(claims):
        missing = [k for k in ("claim", "better", "base", "metric") if not isinstance(c, dict) or k not in c]
        if missing:
            raise ValueError(f"{path}: claims[{i}] lacks {', '.join(missing)}")
        for key in ("better", "base"):
            if c[key] not in rows:
                raise ValueError(f"{path}: claims[{i}].{key} names {c[key]!r}, which is none of the rows "
                                 f"({', '.join(rows)})")
    return dict(metric_map), claims


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


def related_experiments(*, root: str | Path = ".") -> dict[str, list[str]]:
    """The experiments of each related paper, in its table's order."""
    return {p: list(load_related(p, root=root).table.index) for p in RELATED_PAPERS}


def related_claims(*, root: str | Path = ".") -> tuple[Claim, ...]:
    """Every related paper's ablation claims (the sweep judges them beside Yang et al.'s)."""
    out: list[Claim] = []
    for p in RELATED_PAPERS:
        ref_file = Path(root) / "params" / "reference" / f"{p}.yaml"
        if ref_file.is_file():
            out.extend(load_related(p, root=root).claims)
    return tuple(out)


def related_skip_reason(profile: Profile, *, root: str | Path = ".") -> str | None:
    """Why step 08 has nothing to show for this profile (its ``experiments`` list names no related-system
    experiment), or None."""
    if profile.experiments is None:
        return None
    names = {n for exps in related_experiments(root=root).values() for n in exps}
    if names & set(profile.experiments):
        return None
    return ("the profile runs no related-system experiment (add e.g. " + ", ".join(sorted(names)[:2])
            + " to its experiments list)")


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
