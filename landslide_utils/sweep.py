"""Parameter sweeps: notebook 04 over a grid of profile and experiment settings, in parallel.

``python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml [--workers N] [--scheduler tcp://HOST:PORT]
[--force]``

A *sweep file* (``params/sweeps/*.yaml``) names a profile, the experiments to run and a grid of dotted keys::

    name: claims
    profile: ../profiles/quick.yaml        # relative to the sweep file
    experiments: [V, VI, VII, VIII]         # names of params/experiments/*.yaml
    grid:                                   # dotted profile keys, or experiment keys as "experiment.<key>"
      seed: [0, 1, 2, 3, 4]
      training.steps: [150, 600]
    zip:                                    # keys varied together with a grid key (same length lists)
      - {seed: [0, 1, 2, 3, 4], enhance.seed: [0, 1, 2, 3, 4]}
    workers: 2                              # optional default for --workers

The *points* are the cartesian product of the grid, a zip group counting as one axis (a zip key that is also
a grid key anchors the group at that key's place and needs the same list). A point is named by its grid keys,
``seed=1,steps=600`` (last component of a dotted key, the full key where two would read alike).

Layout, with ``D = data/<profile>/sweeps/<NAME>`` and ``R = reports/<profile>/sweeps/<NAME>``:

* ``D/shared/01-<hash>/``: step 01 (inputs, aligned layers, tiles) once per distinct data setting -- the profile
  sections step 01 reads: ``data``, ``areas``, ``tiling`` and ``factors`` (the synthetic scene has its own
  ``data.synthetic.seed``, so the training seeds of a sweep share one area). ``D/shared/03-<hash>/enhanced/``: step 03 once per data setting x ``enhance`` section, only when an
  experiment trains on ``original+be``. Each folder holds the profile it ran with and its executed notebook
  (``reports/``).
* ``D/<point>/profile.yaml`` and ``experiment_<EXP>.yaml``: the derived parameter files (``paths.prepared`` and
  ``paths.enhanced`` point at the shared folders); checkpoints in ``D/<point>/experiments/<EXP>/``; the skip
  record in ``D/<point>/.stamps/04_run_experiment_<EXP>.json``.
* ``R/<point>/04_run_experiment_<EXP>.ipynb`` and ``R/<point>/metrics/<EXP>.json``; ``R/results.csv`` (one
  row per point x experiment) and ``R/07_analyse_sweep.ipynb``.

A run is skipped when its executed notebook, its metrics and its record exist and the digest of the derived
profile, the derived experiment, notebook 04, the package code and the stamps of the shared steps it reads is
unchanged (``force`` reruns). The torch thread count (``training.num_threads`` = cores // workers, set by the
runner) is left out of the digest: changing ``--workers`` reuses finished runs. A killed run re-executes and
its training resumes from the checkpoint. A failed run is reported with its point and cell; the others go on.
"""

from __future__ import annotations

import copy
import contextlib
import dataclasses
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import ConfigError, Experiment, Profile, TrainingSpec, load_experiment, load_profile
from .io import atomic_path, write_csv, write_json, write_text
from .paths import StudyPaths, find_root

__all__ = [
    "SweepSpec",
    "Sweep",
    "Point",
    "Run",
    "RunOutcome",
    "SweepResult",
    "load_sweep",
    "expand_points",
    "point_names",
    "run_sweep",
    "results_table",
    "PREPARE_KEYS",
    "METRIC_ORDER",
]

PREPARE_KEYS = ("data", "areas", "tiling", "factors")
"""Profile sections step 01 reads (the synthetic scene has its own ``data.synthetic.seed``); step 03 adds
``enhance``."""
METRIC_ORDER = ("precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa", "ap", "f1_val_threshold")
"""Metric columns of ``results.csv`` first, in this order; other numbers of the metrics JSON follow."""
_FIXED_KEYS = {"name", "paths", "experiment.name"}  # set by the runner (folders and file names depend on them)
_NOTEBOOK_04 = "04_run_experiment.ipynb"
_NOTEBOOK_07 = "07_analyse_sweep.ipynb"
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# --------------------------------------------------------------------------------------------------------------
# the sweep file


class SweepSpec(BaseModel):
    """Schema of a sweep file (``params/sweeps/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="names the sweep's folders")
    description: str = ""
    profile: str = Field(min_length=1, description="the profile, relative to the sweep file")
    experiments: list[str] = Field(min_length=1, description="names of params/experiments/*.yaml")
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    zip_: list[dict[str, Annotated[list[Any], Field(min_length=1)]]] = Field(default_factory=list, alias="zip")
    workers: int | None = Field(default=None, gt=0, description="default of --workers")


@dataclass(frozen=True)
class Point:
    """One grid point: its folder-safe name and the value of every grid/zip key (dotted key -> value)."""

    name: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Run:
    """One point x experiment: the derived parameter files and where the outputs go (absolute paths)."""

    point: Point
    experiment: str
    profile_path: Path
    experiment_path: Path
    notebook_out: Path
    metrics_path: Path
    stamp_path: Path
    prepare_key: str
    enhance_key: str | None
    model: str
    channels: str
    training_data: str


@dataclass
class Sweep:
    """A validated sweep: every derived profile and experiment has passed the schema."""

    path: Path
    spec: SweepSpec
    root: Path
    profile_path: Path
    profile: Profile
    keys: list[str]
    points: list[Point]
    data_dir: Path
    reports_dir: Path
    derived_profiles: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    derived_experiments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    shared_profiles: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    prepare_keys: dict[str, str] = field(default_factory=dict)
    enhance_keys: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


def _err(path: Path, lines: list[str]) -> ConfigError:
    return ConfigError(f"{path}: invalid sweep:\n" + "\n".join(f"  {ln}" for ln in lines))


def _format_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(dotted key, message) of every error of a pydantic validation, with the values that caused them."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        ctx_err = (err.get("ctx") or {}).get("error")
        if getattr(ctx_err, "key", None):  # a model-level check naming its own key
            loc = ".".join(filter(None, [loc, ctx_err.key]))
            msg = getattr(ctx_err, "message", msg)
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = err.get("input")
        if err["type"] not in ("extra_forbidden", "missing") and not isinstance(got, dict):
            msg += f" (got {got!r})"
        out.append((loc or "<top level>", msg))
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (``X | None``, ``tuple[X, ...]`` ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _has_path(annotation: Any) -> bool:
    if annotation is Path:
        return True
    return any(_has_path(a) for a in typing.get_args(annotation))


def _check_key(key: str) -> str | None:
    """None when ``key`` names a field of the profile (or ``experiment.<field>``) schema, else why not."""
    if key in _FIXED_KEYS or key.startswith("paths."):
        return "set by the sweep runner; it cannot be varied"
    parts = key.split(".")
    if parts[0] == "experiment":
        parts = parts[1:]
        if not parts:
            return "name an experiment key, e.g. experiment.training.steps"
        if parts[0] == "training" and len(parts) > 1:
            if len(parts) == 2 and parts[1] in TrainingSpec.model_fields:
                return None
            return f"unknown experiment key; training keys: {', '.join(TrainingSpec.model_fields)}"
        model: type[BaseModel] | None = Experiment
        what = "experiment"
    else:
        model, what = Profile, "profile"
    for i, part in enumerate(parts):
        if model is None or part not in model.model_fields or part == "source_path":
            valid = [f for f in (model.model_fields if model else {}) if f != "source_path"]
            return f"unknown {what} key" + (f"; valid keys here: {', '.join(valid)}" if valid else "")
        nested = _models_in(model.model_fields[part].annotation)
        model = nested[0] if nested and i + 1 < len(parts) else None
        if i + 1 < len(parts) and not nested:
            return f"unknown {what} key ('{'.'.join(parts[:i + 1])}' has no sub-keys)"
    return None


def _read_sweep_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: file not found. Give the path of a sweep file (examples in params/sweeps/).")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def expand_points(grid: dict[str, list[Any]], zips: list[dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """The cartesian product of the grid axes; a zip group is one axis (its keys advance together).

    A zip group is placed at the position of its first key that is also a grid key (its list must equal the
    grid's), else after the grid keys. Returns one ``{dotted key: value}`` per point, keys in axis order.
    """
    anchored: dict[str, int] = {}
    for gi, group in enumerate(zips):
        for k in group:
            if k in grid and gi not in anchored.values():
                anchored.setdefault(k, gi)
    axes: list[list[dict[str, Any]]] = []
    in_zip = {k for g in zips for k in g}
    placed: set[int] = set()
    for k, values in grid.items():
        if k in anchored:
            gi = anchored[k]
            if gi not in placed:
                placed.add(gi)
                axes.append(_zip_axis(zips[gi], first=k))
        elif k not in in_zip:
            axes.append([{k: v} for v in values])
    for gi, group in enumerate(zips):
        if gi not in placed:
            axes.append(_zip_axis(group))
    return [{k: v for a in combo for k, v in a.items()} for combo in itertools.product(*axes)]


def _zip_axis(group: dict[str, list[Any]], first: str | None = None) -> list[dict[str, Any]]:
    keys = ([first] if first else []) + [k for k in group if k != first]
    n = len(next(iter(group.values())))
    return [{k: group[k][i] for k in keys} for i in range(n)]


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return "-".join(_fmt_value(x) for x in v)
    if isinstance(v, dict):
        return "-".join(f"{k}_{_fmt_value(x)}" for k, x in v.items())
    return str(v)


def _safe(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", text).strip("._") or "point"
    if len(text) > 120:
        text = text[:100] + "~" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return text


def _labels(keys: list[str]) -> dict[str, str]:
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (lst if last.count(lst) == 1 else k) for k, lst in zip(keys, last)}


def point_names(points: list[dict[str, Any]], name_keys: list[str]) -> list[str]:
    """Readable, folder-safe names ``seed=1,steps=600`` of the points, from ``name_keys`` (the grid keys).

    Zip partners not among ``name_keys`` are left out; when that makes two names equal, every key is used; names
    that still collide (values that read alike once made safe) get a short hash.
    """
    if not points or not any(points[0]):
        return ["base"] * len(points)
    all_keys = list(points[0])
    names: list[str] = []
    for keys in (name_keys or all_keys, all_keys):
        labels = _labels(keys)
        names = [_safe(",".join(f"{labels[k]}={_fmt_value(p[k])}" for k in keys)) for p in points]
        if len(set(names)) == len(names):
            return names
    seen: dict[str, int] = {}
    out = []
    for n, p in zip(names, points):
        seen[n] = seen.get(n, 0) + 1
        digest = hashlib.sha256(json.dumps(p, sort_keys=True, default=str).encode()).hexdigest()[:6]
        out.append(n if seen[n] == 1 and names.count(n) == 1 else f"{n}~{digest}")
    return out


# --------------------------------------------------------------------------------------------------------------
# derived parameter files


def _plain(obj: Any, base: Path, root: Path) -> Any:
    """YAML form of a dumped model: paths relative to ``base`` when inside the project, tuples as lists."""
    if isinstance(obj, dict):
        return {k: _plain(v, base, root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, base, root) for v in obj]
    if isinstance(obj, Path):
        p = obj if obj.is_absolute() else root / obj
        return os.path.relpath(p, base) if p.resolve().is_relative_to(root) else str(p)
    return obj


def _typed(data: Any, model: type[BaseModel] | None, base: Path) -> Any:
    """Lists -> tuples (as the loaders do), strings of path fields -> absolute ``Path`` (resolved at ``base``)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            fld = model.model_fields.get(k) if model is not None else None
            nested = _models_in(fld.annotation) if fld is not None else []
            if fld is not None and isinstance(v, str) and _has_path(fld.annotation):
                p = Path(v).expanduser()
                out[k] = p if p.is_absolute() else base / p
            else:
                out[k] = _typed(v, nested[0] if nested else None, base)
        return out
    if isinstance(data, (list, tuple)):
        return tuple(_typed(v, model, base) for v in data)
    return data


def _set(data: dict[str, Any], dotted: list[str], value: Any) -> None:
    for part in dotted[:-1]:
        if not isinstance(data.get(part), dict):
            data[part] = {}
        data = data[part]
    data[dotted[-1]] = copy.deepcopy(value)


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _shared_profile(base: dict[str, Any], step: str, name: str, sweep: str) -> dict[str, Any]:
    """The minimal profile of a shared step: only the sections the step reads (the rest at defaults)."""
    keys = list(PREPARE_KEYS) + (["enhance"] if step == "03" else [])
    out: dict[str, Any] = {"name": name, "description": f"shared step {step} of sweep {sweep}"}
    out.update({k: copy.deepcopy(base[k]) for k in keys if base.get(k) is not None})
    out["training"] = {"steps": 1}  # required by the schema; steps 01 and 03 do not train
    return out


def load_sweep(path: str | Path, *, root: str | Path | None = None) -> Sweep:
    """Read and validate a sweep file, expand its points and validate every derived profile and experiment.

    Args:
        path: the sweep file.
        root: the project root (default: found above the sweep file).

    Raises:
        ConfigError: naming the sweep file and the dotted key (``grid.training.steps``, ``zip.0.enhance.seed``).
    """
    path = Path(path).resolve()
    data = _read_sweep_yaml(path)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        valid = ", ".join(f.alias or n for n, f in SweepSpec.model_fields.items())
        raise _err(path, [f"key '{k}': {m}" + (f" (valid keys: {valid})" if m == "unknown key" else "")
                          for k, m in _format_errors(exc)]) from None
    root = Path(root).resolve() if root is not None else find_root(path.parent)

    problems: list[str] = []
    where: dict[str, str] = {}
    for k in spec.grid:
        where[k] = f"grid.{k}"
    for gi, group in enumerate(spec.zip_):
        if not group:
            problems.append(f"key 'zip.{gi}': an empty zip group")
            continue
        lengths = {k: len(v) for k, v in group.items()}
        first = next(iter(group))
        for k, v in group.items():
            if len(v) != lengths[first]:
                problems.append(f"key 'zip.{gi}.{k}': {len(v)} values, but '{first}' has {lengths[first]}; the "
                                "lists of a zip group advance together and need the same length")
            if k in spec.grid and spec.grid[k] != v:
                problems.append(f"key 'zip.{gi}.{k}': differs from grid.{k}; a key in both needs the same list")
            if k in where and where[k].startswith("zip."):
                problems.append(f"key 'zip.{gi}.{k}': already in {where[k].rsplit('.' + k, 1)[0]}")
            where.setdefault(k, f"zip.{gi}.{k}")
    for k, loc in where.items():
        why = _check_key(k)
        if why:
            problems.append(f"key '{loc}': {why}")
    from .pipeline import experiment_files

    try:
        exp_files = experiment_files(root, list(spec.experiments))
    except ConfigError as exc:
        problems.append(f"key 'experiments': {exc}")
        exp_files = []
    if len(set(spec.experiments)) != len(spec.experiments):
        problems.append("key 'experiments': an experiment is listed twice")
    if problems:
        raise _err(path, problems)

    profile_path = (path.parent / spec.profile).resolve()
    try:
        profile = load_profile(profile_path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: key 'profile': {exc}") from None
    base_paths = StudyPaths.of(profile, root)
    data_dir = base_paths.data / "sweeps" / spec.name
    reports_dir = base_paths.reports / "sweeps" / spec.name

    values = expand_points(dict(spec.grid), [dict(g) for g in spec.zip_])
    name_keys = list(spec.grid) + [next(iter(g)) for g in spec.zip_ if not set(g) & set(spec.grid)]
    names = point_names(values, name_keys)
    dupes = [n for n in names if names.count(n) > 1]
    if dupes:
        raise _err(path, [f"the grid gives the point '{dupes[0]}' more than once"])
    points = [Point(n, v) for n, v in zip(names, values)]
    sweep = Sweep(path=path, spec=spec, root=root, profile_path=profile_path, profile=profile,
                  keys=list(values[0]) if values else [], points=points, data_dir=data_dir, reports_dir=reports_dir)

    base_dump = profile.model_dump(mode="python", exclude={"source_path"})
    experiments = {f.stem: load_experiment(f) for f in exp_files}
    for pt in points:
        raw = copy.deepcopy(base_dump)
        for k, v in pt.values.items():
            if not k.startswith("experiment."):
                _set(raw, k.split("."), v)
        prof, prof_model = _validate(Profile, raw, path, pt, where, prefix="")
        sweep.derived_profiles[pt.name] = prof
        for step, keyed in (("01", sweep.prepare_keys), ("03", sweep.enhance_keys)):
            shared = _shared_profile(prof, step, profile.name, spec.name)
            upstream = sweep.prepare_keys[pt.name] if step == "03" else None
            key = f"{step}-{_hash([_plain(shared, root, root), upstream])[:10]}"
            keyed[pt.name] = key
            sweep.shared_profiles.setdefault(key, shared)
        for e, exp in experiments.items():
            raw_e = exp.model_dump(mode="python", exclude={"source_path"})
            for k, v in pt.values.items():
                if k.startswith("experiment."):
                    _set(raw_e, k.split(".")[1:], v)
            ed, exp_model = _validate(Experiment, raw_e, path, pt, where, prefix="experiment.")
            try:
                TrainingSpec.model_validate({**prof_model.training.model_dump(), **dict(exp_model.training)})
            except ValidationError as exc:
                lines = []
                for loc, msg in _format_errors(exc):
                    culprit = next((k for k in (f"experiment.training.{loc}", f"training.{loc}") if k in pt.values),
                                   None)
                    head = (f"key '{where[culprit]}' (value {pt.values[culprit]!r} at point {pt.name})" if culprit
                            else f"point {pt.name}")
                    lines.append(f"{head}: training key '{loc}' of experiment {e}: {msg}")
                raise _err(path, lines) from None
            overridden = [k for k in pt.values if k.startswith("training.")
                          and k.split(".", 1)[1] in exp_model.training]
            for k in overridden:
                msg = f"experiment {e} sets training.{k.split('.', 1)[1]} itself; grid key {k} has no effect on it"
                if msg not in sweep.warnings:
                    sweep.warnings.append(msg)
            sweep.derived_experiments[(pt.name, e)] = ed
    return sweep


def _validate(model: type[BaseModel], data: dict[str, Any], path: Path, pt: Point, where: dict[str, str], *,
              prefix: str) -> tuple[dict[str, Any], Any]:
    """(typed data, validated model) of a derived parameter set; errors name the sweep key responsible."""
    typed = _typed(data, model, path.parent)
    try:
        return typed, model.model_validate(typed)
    except ValidationError as exc:
        lines = []
        for loc, msg in _format_errors(exc):
            full = prefix + loc
            culprit = next((k for k in pt.values if full == k or full.startswith(k + ".") or k.startswith(full + ".")),
                           None)
            if culprit is not None:
                lines.append(f"key '{where[culprit]}' (value {pt.values[culprit]!r} at point {pt.name}): "
                             f"{'profile' if not prefix else 'experiment'} key '{loc}': {msg}")
            elif loc == "<top level>":
                lines.append(f"point {pt.name} ({', '.join(f'{k}={v!r}' for k, v in pt.values.items())}): the derived "
                             f"{'profile' if not prefix else 'experiment'} is invalid: {msg}")
            else:
                lines.append(f"point {pt.name}: derived {'profile' if not prefix else 'experiment'} key '{loc}': {msg}")
        raise _err(path, lines) from None


# --------------------------------------------------------------------------------------------------------------
# planning


def _package_digest() -> str:
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*.py")):
        h.update(p.relative_to(pkg).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _write_yaml(path: Path, data: dict[str, Any], header: str) -> None:
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _shared_dir(sweep: Sweep, key: str) -> Path:
    return sweep.data_dir / "shared" / key


def _write_shared(sweep: Sweep, key: str) -> Path:
    folder = _shared_dir(sweep, key)
    prof = copy.deepcopy(sweep.shared_profiles[key])
    paths: dict[str, Any] = {"data": folder, "reports": folder / "reports"}
    if key.startswith("03-"):
        prep = next(sweep.prepare_keys[p] for p, k in sweep.enhance_keys.items() if k == key)
        paths.update(prepared=_shared_dir(sweep, prep), enhanced=folder / "enhanced")
    prof["paths"] = paths
    out = folder / "profile.yaml"
    _write_yaml(out, _plain(prof, folder, sweep.root),
                f"# Shared step {key[:2]} of the sweep {sweep.name} ({_rel(sweep.path, sweep.root)}); written by the "
                "runner, do not edit.\n")
    return out


def _plan_runs(sweep: Sweep, threads: int) -> list[Run]:
    runs = []
    for pt in sweep.points:
        folder = sweep.data_dir / pt.name
        rep = sweep.reports_dir / pt.name
        prof = copy.deepcopy(sweep.derived_profiles[pt.name])
        if "training.num_threads" not in pt.values:
            prof["training"]["num_threads"] = threads
        prep, be = sweep.prepare_keys[pt.name], sweep.enhance_keys[pt.name]
        prof["paths"] = {"data": folder, "reports": rep, "prepared": _shared_dir(sweep, prep),
                         "enhanced": _shared_dir(sweep, be) / "enhanced"}
        prof_path = folder / "profile.yaml"
        _write_yaml(prof_path, _plain(prof, folder, sweep.root),
                    f"# Point {pt.name} of the sweep {sweep.name} ({_rel(sweep.path, sweep.root)}); written by the "
                    "runner, do not edit.\n")
        for e in sweep.spec.experiments:
            ed = sweep.derived_experiments[(pt.name, e)]
            exp_path = folder / f"experiment_{e}.yaml"
            _write_yaml(exp_path, _plain(ed, folder, sweep.root),
                        f"# Experiment {e} at point {pt.name} of the sweep {sweep.name}; written by the runner.\n")
            runs.append(Run(
                point=pt, experiment=e, profile_path=prof_path, experiment_path=exp_path,
                notebook_out=rep / f"04_run_experiment_{e}.ipynb", metrics_path=rep / "metrics" / f"{e}.json",
                stamp_path=folder / ".stamps" / f"04_run_experiment_{e}.json", prepare_key=prep,
                enhance_key=be if ed["training_data"] == "original+be" else None,
                model=ed["model"], channels=ed["channels"], training_data=ed["training_data"],
            ))
    return runs


def _stamp_digest(sweep: Sweep, key: str) -> str | None:
    """The digest in the pipeline's stamp of a shared step (None when it has not run)."""
    from .pipeline import plan_steps

    prof_path = _shared_dir(sweep, key) / "profile.yaml"
    step = key[:2]
    st = plan_steps(root=sweep.root, profile_path=prof_path, steps=[step])[0]
    paths = StudyPaths.of(load_profile(prof_path), sweep.root)
    stamp = paths.stamps_of(step) / (Path(st.output_name).stem + ".json")
    if not stamp.is_file():
        return None
    return json.loads(stamp.read_text(encoding="utf-8")).get("digest")


def _run_digest(sweep: Sweep, run: Run, package: str, shared: dict[str, str | None]) -> str:
    prof = yaml.safe_load(run.profile_path.read_text(encoding="utf-8"))
    if "training.num_threads" not in run.point.values:
        prof["training"].pop("num_threads", None)
    record = {
        "profile": prof,
        "experiment": yaml.safe_load(run.experiment_path.read_text(encoding="utf-8")),
        "notebook": hashlib.sha256((sweep.root / "notebooks" / _NOTEBOOK_04).read_bytes()).hexdigest(),
        "package": package,
        "shared": {k: shared.get(k) for k in (run.prepare_key, run.enhance_key) if k},
    }
    return _hash(record)


# --------------------------------------------------------------------------------------------------------------
# execution (functions below run in worker processes, local or on a dask cluster)


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run: ``status`` is ``ran``, ``skipped`` or ``failed`` (``message`` says why)."""

    point: str
    experiment: str
    status: str
    seconds: float = 0.0
    message: str = ""
    cell: int | None = None


@dataclass(frozen=True)
class _Task:
    root: str
    point: str
    experiment: str
    notebook: str
    output: str
    profile: str
    experiment_file: str
    metrics: str
    stamp: str
    digest: str
    threads: int
    kernel_name: str | None
    checkpoint_dir: str = ""
    warm_from: str | None = None  # checkpoint folder of the same run at the next-smaller training.steps


@dataclass(frozen=True)
class _SharedTask:
    root: str
    key: str
    profile: str
    force: bool
    threads: int
    quiet: bool  # swallow the pipeline's lines (local processes; redirecting stdout is unsafe in dask threads)


def _set_threads(threads: int) -> None:
    for var in _THREAD_ENV:
        os.environ[var] = str(threads)


class _NotebookFailed(Exception):
    def __init__(self, cell: int, error: str) -> None:
        super().__init__(error)
        self.cell, self.error = cell, error


def _execute_notebook(notebook: Path, out: Path, parameters: dict[str, str], root: Path,
                      kernel_name: str | None) -> tuple[int, str] | None:
    """Execute with papermill into ``out`` atomically; on failure keep ``<out>.failed.ipynb`` and return
    (cell index, error) of the failing cell."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    failed = out.with_name(out.stem + ".failed.ipynb")
    try:
        with atomic_path(out, suffix=".ipynb") as tmp:
            try:
                pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, cwd=str(root),
                                    kernel_name=kernel_name, progress_bar=False, request_save_on_cell_execute=True)
            except PapermillExecutionError as exc:
                if tmp.exists():
                    tmp.replace(failed)
                raise _NotebookFailed(exc.cell_index, f"{exc.ename}: {exc.evalue}") from None
    except _NotebookFailed as fail:
        return fail.cell, fail.error
    failed.unlink(missing_ok=True)
    return None


def _execute_run(task: _Task) -> RunOutcome:
    """Execute notebook 04 for one point x experiment and write its record; never raises."""
    t0 = time.perf_counter()
    try:
        _set_threads(task.threads)
        root = Path(task.root)
        out, stamp = Path(task.output), Path(task.stamp)
        stamp.unlink(missing_ok=True)
        fail = _execute_notebook(Path(task.notebook), out, {"profile": task.profile, "experiment": task.experiment_file, "maps": False},
                                 root, task.kernel_name)
        secs = time.perf_counter() - t0
        if fail is not None:
            kept = _rel(out.with_name(out.stem + ".failed.ipynb"), root)
            return RunOutcome(task.point, task.experiment, "failed", secs,
                              f"{fail[1]}\n  the partly executed notebook is at {kept}", fail[0])
        if not Path(task.metrics).is_file():
            return RunOutcome(task.point, task.experiment, "failed", secs,
                              f"notebook 04 ran but wrote no metrics file {task.metrics}")
        write_json(stamp, {"digest": task.digest, "seconds": round(secs, 1)})
        return RunOutcome(task.point, task.experiment, "ran", secs)
    except BaseException as exc:  # noqa: BLE001 -- one run's failure must not stop the others
        if isinstance(exc, KeyboardInterrupt):
            raise
        return RunOutcome(task.point, task.experiment, "failed", time.perf_counter() - t0,
                          f"{type(exc).__name__}: {exc}")


def _warm_start(task: _Task) -> None:
    """Start a run from the finished checkpoint of the same run at a smaller budget (``training.steps`` is free
    in a checkpoint, and resumed training is bit-exact on CPU, so this equals training from scratch)."""
    if not task.warm_from or not task.checkpoint_dir:
        return
    src, dst = Path(task.warm_from), Path(task.checkpoint_dir)
    if (dst / "checkpoint.pt").exists() or not (src / "checkpoint.pt").is_file():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("loss.csv", "checkpoint.pt"):  # checkpoint last: its presence means the copy is complete
        if (src / name).is_file():
            with atomic_path(dst / name, suffix=Path(name).suffix) as tmp:
                shutil.copyfile(src / name, tmp)


def _execute_chain(tasks: list[_Task]) -> list[RunOutcome]:
    """The runs of one experiment at one point that differ only in ``training.steps``, smallest budget first,
    each warm-started from the previous one."""
    outcomes = []
    for task in tasks:
        try:
            _warm_start(task)
        except OSError:
            pass  # a failed copy only costs the saving: the run trains from scratch
        outcomes.append(_execute_run(task))
    return outcomes


def _execute_shared(task: _SharedTask) -> tuple[str, str | None, float]:
    """Run step 01 or 03 of a shared folder through the pipeline; (key, error or None, seconds)."""
    from .pipeline import StepFailed, run_pipeline

    t0 = time.perf_counter()
    try:
        _set_threads(task.threads)
        with contextlib.redirect_stdout(io.StringIO()) if task.quiet else contextlib.nullcontext():
            run_pipeline(profile_path=task.profile, steps=[task.key[:2]], force=task.force, root=task.root,
                         html=False, progress=False)
        return task.key, None, time.perf_counter() - t0
    except StepFailed as exc:
        return task.key, str(exc), time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001
        return task.key, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0


class _LocalPool:
    """``map_unordered`` on a process pool (spawned workers: no fork of a threaded parent)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def map_unordered(self, fn: Any, tasks: list[Any], fallback: Any) -> Any:
        from concurrent.futures import as_completed

        futures = {self.pool.submit(fn, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 -- a worker process died
                yield fallback(futures[fut], exc)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskPool:
    """``map_unordered`` on a dask.distributed cluster: each task ``pure=False, retries=1``."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        try:
            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {address}: cannot reach the dask scheduler ({exc}); start one with "
                              "'dask scheduler' and workers with 'dask worker ADDRESS' on hosts sharing the "
                              "project folder at the same path") from None

    def threads(self) -> int:
        """Torch threads per task: cores of a host // task slots on that host (the smallest over hosts)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        cores = self.client.run(os.cpu_count)
        slots: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for addr, w in info.items():
            host = w.get("host", addr)
            slots[host] = slots.get(host, 0) + int(w.get("nthreads", 1))
            host_cores[host] = int(cores.get(addr) or 1)
        return max(1, min((host_cores[h] // max(1, n) for h, n in slots.items()), default=1))

    def map_unordered(self, fn: Any, tasks: list[Any], fallback: Any) -> Any:
        from distributed import as_completed

        futures = {self.client.submit(fn, t, pure=False, retries=1): t for t in tasks}
        for fut in as_completed(list(futures)):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 -- a lost worker (KilledWorker) costs only its own run
                yield fallback(futures[fut], exc)

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------------------------------------------
# the runner


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`: every run's outcome (plan order), the shared steps that failed, the table."""

    sweep: Sweep
    outcomes: list[RunOutcome]
    table: Any
    results_path: Path
    analysis: str = "skipped"

    @property
    def failures(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def _line(k: int, n: int, o: RunOutcome) -> str:
    head = f"[{k}/{n}] {o.point} {o.experiment}: "
    if o.status == "ran":
        return head + f"done in {o.seconds:.0f} s"
    if o.status == "skipped":
        return head + "skipped"
    first = o.message.strip().splitlines()[0] if o.message.strip() else "unknown error"
    return head + (f"FAILED in cell {o.cell}: {first}" if o.cell is not None else f"FAILED: {first}")


def run_sweep(
    path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    root: str | Path | None = None,
    kernel_name: str | None = None,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep: shared steps 01/03, then notebook 04 per point x experiment, the table and notebook 07.

    Args:
        path: the sweep file.
        workers: local worker processes (default: the sweep's ``workers``, else 1); ignored with ``scheduler``.
        scheduler: address of a running dask.distributed scheduler (``tcp://HOST:PORT``); every run is a task.
        force: rerun shared steps and runs whose inputs are unchanged.
        root: project root (default: found above the sweep file).
        kernel_name: Jupyter kernel (default: the notebook's).
        progress: show a progress bar (the per-run lines are printed either way).

    Raises:
        ConfigError: the sweep file or a derived parameter file is invalid (before anything runs).
    """
    from tqdm import tqdm

    sweep = load_sweep(path, root=root)
    for w in sweep.warnings:
        print(f"warning: {w}", flush=True)
    n_workers = workers or sweep.spec.workers or 1
    cores = os.cpu_count() or 1
    pool: _LocalPool | _DaskPool = _DaskPool(scheduler) if scheduler else _LocalPool(n_workers)
    outcomes: dict[tuple[str, str], RunOutcome] = {}
    try:
        threads = pool.threads() if isinstance(pool, _DaskPool) else max(1, cores // n_workers)
        runs = _plan_runs(sweep, threads)
        where = f"dask scheduler {scheduler}" if scheduler else f"{n_workers} local worker(s)"
        print(f"sweep {sweep.name}: {len(sweep.points)} point(s) x {len(sweep.spec.experiments)} experiment(s) "
              f"= {len(runs)} run(s) on {where}, {threads} torch thread(s) each", flush=True)

        shared_error: dict[str, str] = {}
        needed_03 = sorted({r.enhance_key for r in runs if r.enhance_key})
        for keys in (sorted({r.prepare_key for r in runs}), needed_03):
            tasks = []
            for key in keys:
                prof = _write_shared(sweep, key)
                if key.startswith("03-"):
                    prep = next(sweep.prepare_keys[p] for p, k in sweep.enhance_keys.items() if k == key)
                    if prep in shared_error:
                        shared_error[key] = f"its step 01 ({prep}) failed"
                        continue
                tasks.append(_SharedTask(str(sweep.root), key, str(prof), force, threads, quiet=not scheduler))
            for key, error, secs in pool.map_unordered(_execute_shared, tasks,
                                                       lambda t, exc: (t.key, f"{type(exc).__name__}: {exc}", 0.0)):
                if error:
                    shared_error[key] = error
                    print(f"shared step {key[:2]} [{key}]: FAILED: {error.strip()}", flush=True)
                else:
                    print(f"shared step {key[:2]} [{key}]: ready ({secs:.0f} s)", flush=True)
        shared = {k: _stamp_digest(sweep, k) for k in set(sweep.prepare_keys.values()) | set(needed_03)
                  if k not in shared_error}

        package = _package_digest()
        nb04 = sweep.root / "notebooks" / _NOTEBOOK_04
        n, k = len(runs), 0
        bar = tqdm(total=n, desc=f"sweep {sweep.name}", unit="run", disable=not progress, dynamic_ncols=True)
        emit = bar.write if progress else (lambda s: print(s, flush=True))

        def report(o: RunOutcome) -> None:
            nonlocal k
            k += 1
            outcomes[(o.point, o.experiment)] = o
            emit(_line(k, n, o))
            bar.update(1)

        tasks = []
        for r in runs:
            broken = [key for key in (r.prepare_key, r.enhance_key) if key and key in shared_error]
            if broken:
                report(RunOutcome(r.point.name, r.experiment, "failed",
                                  message=f"shared step {broken[0][:2]} [{broken[0]}] failed: "
                                          f"{shared_error[broken[0]].strip().splitlines()[0]}"))
                continue
            digest = _run_digest(sweep, r, package, shared)
            if not force and r.notebook_out.is_file() and r.metrics_path.is_file() and r.stamp_path.is_file():
                with contextlib.suppress(ValueError, OSError):
                    if json.loads(r.stamp_path.read_text(encoding="utf-8")).get("digest") == digest:
                        report(RunOutcome(r.point.name, r.experiment, "skipped"))
                        continue
            tasks.append(_Task(
                root=str(sweep.root), point=r.point.name, experiment=r.experiment, notebook=str(nb04),
                output=str(r.notebook_out), profile=_rel(r.profile_path, sweep.root),
                experiment_file=_rel(r.experiment_path, sweep.root), metrics=str(r.metrics_path),
                stamp=str(r.stamp_path), digest=digest, threads=threads, kernel_name=kernel_name,
                checkpoint_dir=str(sweep.data_dir / r.point.name / "experiments" / r.experiment),
            ))
        for chain_outcomes in pool.map_unordered(_execute_chain, _chains(sweep, runs, tasks), lambda ch, exc: [
                RunOutcome(t.point, t.experiment, "failed", message=f"worker lost: {type(exc).__name__}: {exc}")
                for t in ch]):
            for o in chain_outcomes:
                report(o)
        bar.close()
    finally:
        pool.close()

    ordered = [outcomes[(r.point.name, r.experiment)] for r in runs]
    table = results_table(sweep, runs, ok={(o.point, o.experiment) for o in ordered if o.status != "failed"})
    results_path = sweep.reports_dir / "results.csv"
    write_csv(results_path, table, index=False)
    print(f"results: {len(table)} row(s) -> {_rel(results_path, sweep.root)}", flush=True)
    result = SweepResult(sweep, ordered, table, results_path)
    result.analysis = _analyse(sweep, results_path, package, force=force, kernel_name=kernel_name)
    return result


def _chains(sweep: Sweep, runs: list[Run], tasks: list[_Task]) -> list[list[_Task]]:
    """Group the tasks into chains of one experiment at points equal but for ``training.steps`` (smallest
    first, each warm-started from the one before); without a steps grid every chain is one task."""
    steps_key = "training.steps"
    by_run = {(r.point.name, r.experiment): r for r in runs}
    groups: dict[tuple[str, str], list[tuple[int, _Task]]] = {}
    for t in tasks:
        values = by_run[(t.point, t.experiment)].point.values
        rest = _hash({k: v for k, v in values.items() if k != steps_key})
        groups.setdefault((rest, t.experiment), []).append((int(values.get(steps_key, 0) or 0), t))
    chains = []
    for members in groups.values():
        members.sort(key=lambda m: m[0])
        chain: list[_Task] = []
        for _, t in members:
            prev = chain[-1].checkpoint_dir if chain and steps_key in sweep.keys else None
            chain.append(dataclasses.replace(t, warm_from=prev))
        chains.append(chain)
    return chains


def results_table(sweep: Sweep, runs: list[Run], *, ok: set[tuple[str, str]] | None = None) -> Any:
    """One row per point x experiment with metrics (runs not in ``ok`` are left out): ``point``,
    ``experiment``, ``model``, ``channels``, ``training_data``, the grid/zip keys, every number of the metrics
    JSON (:data:`METRIC_ORDER` first), ``train_seconds``, ``steps``, ``metrics_path`` (relative to the root)."""
    import pandas as pd

    rows = []
    for r in runs:
        if (ok is not None and (r.point.name, r.experiment) not in ok) or not r.metrics_path.is_file():
            continue
        m = json.loads(r.metrics_path.read_text(encoding="utf-8"))
        row: dict[str, Any] = {"point": r.point.name, "experiment": r.experiment,
                               "model": m.get("model", r.model), "channels": m.get("channels", r.channels),
                               "training_data": m.get("training_data", r.training_data)}
        for k in sweep.keys:
            v = r.point.values[k]
            row[k] = _fmt_value(v) if isinstance(v, (list, tuple, dict)) else v
        numbers = {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        tail = {k: numbers.pop(k) for k in ("train_seconds", "steps") if k in numbers}
        for k in METRIC_ORDER:
            if k in numbers:
                row[k] = numbers.pop(k)
        for k, v in numbers.items():
            row.setdefault(k, v)
        row.update(tail)
        row["metrics_path"] = _rel(r.metrics_path, sweep.root)
        rows.append(row)
    cols = ["point", "experiment", "model", "channels", "training_data", *sweep.keys]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(cols + [c for row in rows for c in row])))


def _analyse(sweep: Sweep, results: Path, package: str, *, force: bool, kernel_name: str | None) -> str:
    """Execute notebook 07 on the sweep (skipped when absent or when nothing it reads changed)."""
    nb = sweep.root / "notebooks" / _NOTEBOOK_07
    if not nb.is_file():
        print(f"analysis: notebooks/{_NOTEBOOK_07} not found, skipped", flush=True)
        return "absent"
    out = sweep.reports_dir / _NOTEBOOK_07
    stamp = sweep.data_dir / ".stamps" / "07_analyse_sweep.json"
    digest = _hash({"notebook": hashlib.sha256(nb.read_bytes()).hexdigest(), "package": package,
                    "sweep": hashlib.sha256(sweep.path.read_bytes()).hexdigest(),
                    "results": hashlib.sha256(results.read_bytes()).hexdigest()})
    if not force and out.is_file() and stamp.is_file():
        with contextlib.suppress(ValueError, OSError):
            if json.loads(stamp.read_text(encoding="utf-8")).get("digest") == digest:
                print("analysis: unchanged, skipped", flush=True)
                return "skipped"
    t0 = time.perf_counter()
    stamp.unlink(missing_ok=True)
    fail = _execute_notebook(nb, out, {"sweep": _rel(sweep.path, sweep.root)}, sweep.root, kernel_name)
    if fail is not None:
        print(f"analysis: FAILED in cell {fail[0]}: {fail[1]}", flush=True)
        return f"failed in cell {fail[0]}: {fail[1]}"
    write_json(stamp, {"digest": digest})
    print(f"analysis: done in {time.perf_counter() - t0:.0f} s -> {_rel(out, sweep.root)}", flush=True)
    return "ran"
