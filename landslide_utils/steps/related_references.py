"""The related papers' reference files as data (``params/reference/<paper>.yaml``): each published table, the
metric each printed column corresponds to here, the ablation claims, and which experiments reproduce the rows.

Kept apart from :mod:`landslide_utils.steps.related_systems` (step 08's tables) so that what only reads these files
- the runner deciding whether step 08 has anything to show, the sweep analysis reading the claims - needs neither
torch nor the models (Liu et al. 2021, Chen et al. 2022, Yang S. et al. 2022, Gao et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from landslide_utils.config.schema import Profile
from landslide_utils.evaluation.claims import Claim

__all__ = ["RELATED_PAPERS", "RelatedReference", "load_related", "related_experiments", "related_claims",
           "related_skip_reason", "COMPLEXITY_KEYS"]

RELATED_PAPERS: tuple[str, ...] = ("liu2021", "chen2022", "yang2022b", "gao2021")
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
