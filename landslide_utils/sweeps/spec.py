"""Parameter sweeps: the sweep file, its points and their derived parameter files (execution: :mod:`landslide_utils.sweeps.runner`).

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
import hashlib
import itertools
import json
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile, read_yaml_mapping, validation_messages
from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.config.overrides import overrides_for
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.paths import StudyPaths, find_root
from landslide_utils.runner.plan import experiment_files
from landslide_utils.runner.stamps import digest_of

__all__ = ["SweepSpec", "Sweep", "Point", "Run", "load_sweep", "expand_points", "point_names", "format_value", "plain_data", "PREPARE_KEYS"]

PREPARE_KEYS = ("data", "areas", "tiling", "factors")
"""Profile sections step 01 reads (the synthetic scene has its own ``data.synthetic.seed``); step 03 adds
``enhance``."""
_FIXED_KEYS = {"name", "paths", "experiment.name"}  # set by the runner (folders and file names depend on them)


# --------------------------------------------------------------------------------------------------------------
# the sweep file


class SweepSpec(BaseModel):
    """Schema of a sweep file (``params/sweeps/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="names the sweep's folders")
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
    i = 0
    while i < len(parts):
        part = parts[i]
        if model is None or part not in model.model_fields or part == "source_path":
            valid = [f for f in (model.model_fields if model else {}) if f != "source_path"]
            return f"unknown {what} key" + (f"; valid keys here: {', '.join(valid)}" if valid else "")
        annotation = model.model_fields[part].annotation
        if typing.get_origin(annotation) is dict and i + 1 < len(parts):
            # a mapping's own key (experiment_overrides.I, ...training.steps): any name; the derived profile's
            # validation judges it, and the value's fields follow
            i += 1
            annotation = typing.get_args(annotation)[1]
        nested = _models_in(annotation)
        model = nested[0] if nested and i + 1 < len(parts) else None
        if i + 1 < len(parts) and not nested:
            return f"unknown {what} key ('{'.'.join(parts[:i + 1])}' has no sub-keys)"
        i += 1
    return None


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


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return "-".join(format_value(x) for x in v)
    if isinstance(v, dict):
        return "-".join(f"{k}_{format_value(x)}" for k, x in v.items())
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
        names = [_safe(",".join(f"{labels[k]}={format_value(p[k])}" for k in keys)) for p in points]
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


def plain_data(obj: Any, base: Path, root: Path) -> Any:
    """YAML form of a dumped model: paths relative to ``base`` when inside the project, tuples as lists."""
    if isinstance(obj, dict):
        return {k: plain_data(v, base, root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_data(v, base, root) for v in obj]
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


def _shared_profile(base: dict[str, Any], step: str, name: str, sweep: str) -> dict[str, Any]:
    """The minimal profile of a shared step: only the sections the step reads (the rest at defaults)."""
    keys = list(PREPARE_KEYS) + (["enhance"] if step == "03" else [])
    out: dict[str, Any] = {"name": name, "description": f"shared step {step} of sweep {sweep}"}
    out.update({k: copy.deepcopy(base[k]) for k in keys if base.get(k) is not None})
    extra = (base.get("evaluation") or {}).get("extra_tests")
    if step == "01" and extra:  # step 01 cuts the extra test sets too
        out["evaluation"] = {"extra_tests": copy.deepcopy(extra)}
    out["training"] = {"steps": 1}  # required by the schema; steps 01 and 03 do not train
    return out


def _grid_problems(spec: SweepSpec) -> tuple[list[str], dict[str, str]]:
    """What is wrong with the grid and zip groups of a sweep file (each naming its key), and where each swept key
    is given (``grid.K`` or ``zip.I.K``, for the messages)."""
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

    return problems, where


def _derive_experiment(sweep: Sweep, pt: Point, e: str, exp: Experiment, prof_model: Profile,
                       where: dict[str, str]) -> dict[str, Any]:
    """The experiment file of one point (its ``experiment.*`` keys applied), validated with the point's profile;
    a grid key that the experiment's own settings override becomes a warning of the sweep."""
    raw_e = exp.model_dump(mode="python", exclude={"source_path"})
    for k, v in pt.values.items():
        if k.startswith("experiment."):
            _set(raw_e, k.split(".")[1:], v)
    ed, exp_model = _validate(Experiment, raw_e, sweep.path, pt, where, prefix="experiment.")
    try:
        TrainingSpec.model_validate({**prof_model.training.model_dump(), **dict(exp_model.training)})
    except ValidationError as exc:
        lines = []
        for loc, msg in validation_messages(exc):
            culprit = next((k for k in (f"experiment.training.{loc}", f"training.{loc}") if k in pt.values),
                           None)
            head = (f"key '{where[culprit]}' (value {pt.values[culprit]!r} at point {pt.name})" if culprit
                    else f"point {pt.name}")
            lines.append(f"{head}: training key '{loc}' of experiment {e}: {msg}")
        raise _err(sweep.path, lines) from None
    own = overrides_for(prof_model, exp_model, "training")  # the experiment's and the profile's for it
    overridden = [k for k in pt.values if k.startswith("training.") and k.split(".", 1)[1] in own]
    for k in overridden:
        msg = (f"experiment {e} gets training.{k.split('.', 1)[1]} from its own file or the profile's "
               f"experiment_overrides; grid key {k} has no effect on it")
        if msg not in sweep.warnings:
            sweep.warnings.append(msg)
    return ed


def load_sweep(path: str | Path, *, root: str | Path | None = None) -> Sweep:
    """Read and validate a sweep file, expand its points and validate every derived profile and experiment.

    Args:
        path: the sweep file.
        root: the project root (default: found above the sweep file).

    Raises:
        ConfigError: naming the sweep file and the dotted key (``grid.training.steps``, ``zip.0.enhance.seed``).
    """
    path = Path(path).resolve()
    data = read_yaml_mapping(path, what="a sweep file", examples="params/sweeps/")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        valid = ", ".join(f.alias or n for n, f in SweepSpec.model_fields.items())
        raise _err(path, [f"key '{k}': {m}" + (f" (valid keys: {valid})" if m == "unknown key" else "")
                          for k, m in validation_messages(exc)]) from None
    root = Path(root).resolve() if root is not None else find_root(path.parent)

    problems, where = _grid_problems(spec)

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

    # a profile prepared by another is flattened: the sweep prepares its points' data itself (shared steps)
    base_dump = profile.model_dump(mode="python", exclude={"source_path", "prepared_by"})
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
            key = f"{step}-{digest_of([plain_data(shared, root, root), upstream])[:10]}"
            keyed[pt.name] = key
            sweep.shared_profiles.setdefault(key, shared)
        for e, exp in experiments.items():
            sweep.derived_experiments[(pt.name, e)] = _derive_experiment(sweep, pt, e, exp, prof_model, where)
    return sweep


def _validate(model: type[BaseModel], data: dict[str, Any], path: Path, pt: Point, where: dict[str, str], *,
              prefix: str) -> tuple[dict[str, Any], Any]:
    """(typed data, validated model) of a derived parameter set; errors name the sweep key responsible."""
    typed = _typed(data, model, path.parent)
    try:
        return typed, model.model_validate(typed)
    except ValidationError as exc:
        lines = []
        for loc, msg in validation_messages(exc):
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
