"""Stamps: the record of a step's last successful run (``data/<profile>/.stamps/``), and the digest that says
whether its outputs still belong to the current notebook, profile, experiment file, package code and inputs.

A step is skipped when its digest equals its stamp's; a step runs only on upstream outputs whose stamps equal
the digests of those steps now (:func:`upstream_problem`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

from landslide_utils.config.load import PREPARED_SECTIONS, load_profile, read_yaml_mapping
from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import has_second_date
from landslide_utils.notices import StudyWarning
from landslide_utils.paths import StudyPaths, relative_path
from landslide_utils.runner.plan import PREPARING_STEPS, Step, dependencies_of, plan_steps

__all__ = ["package_digest", "stamp_path", "stamp_digest", "upstream_problem", "SELECTION_KEYS", "profile_digest", "step_digest", "DIGEST_PARTS", "changed_during_run", "digest_of"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_digest() -> str:
    """SHA-256 of the package's source files (a step reruns when the code that computes it changed)."""
    pkg = Path(__file__).resolve().parents[1]  # the package folder (this module is in runner/)
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*.py")):
        h.update(p.relative_to(pkg).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _tree_signature(folder: Path) -> str | None:
    """SHA-256 of the relative path, size and modification time of every file below a dataset folder."""
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        st = p.stat()
        h.update(f"{p.relative_to(folder).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _input_signature(profile: Profile, root: Path | None = None) -> dict[str, object]:
    """Size and modification time of the user's input files (content hashes of GB rasters are too slow), by
    normalised path (relative to the project root when inside it), so a moved project is not stale; for chip
    datasets and extra test sets, the same over every file of their folders."""
    sig: dict[str, object] = {}
    name = (lambda p: relative_path(p, root) if root is not None else str(Path(p).resolve()))  # noqa: E731
    if profile.data.source == "files" and profile.data.files is not None:
        for key, p in profile.data.files.model_dump().items():
            if p is None:
                continue
            p = Path(p).resolve()
            sig[key] = [name(p), p.stat().st_size, p.stat().st_mtime_ns] if p.exists() else [name(p), None, None]
    if profile.data.source == "chips" and profile.data.chips is not None:
        for key in ("train", "test"):
            p = getattr(profile.data.chips, key)
            if p is not None:
                sig[f"chips.{key}"] = [name(p), _tree_signature(Path(p))]
    for t in profile.evaluation.extra_tests:
        sig[f"extra_tests.{t.name}"] = [name(t.path), _tree_signature(Path(t.path))]
    return sig


def stamp_path(paths: StudyPaths, step: Step) -> Path:
    return paths.stamps_of(step.number) / (Path(step.output_name).stem + ".json")


def _relevant_stamps(paths: StudyPaths, dep: str, number: str) -> list[Path]:
    """The stamps of step ``dep`` whose outputs step ``number`` reads (step 06 reads experiment IV's)."""
    stamps = sorted(paths.stamps_of(dep).glob(f"{dep}_*.json"))
    if dep == "04" and number == "06":
        stamps = [s for s in stamps if s.stem.endswith("_IV")] or stamps
    return stamps


def _moved(paths: StudyPaths, step: str) -> bool:
    """Whether the outputs of ``step`` live in a folder the profile's ``paths`` section moved elsewhere (a
    sweep's points and its shared step 03 read the data its shared steps prepared)."""
    return paths.prepared_dir is not None if step in ("01", "02") else step == "03" and paths.enhanced_dir is not None


def _prepared_difference(profile: Profile, writer: Profile, step: str) -> str | None:
    """The first section of :data:`PREPARED_SECTIONS` that step ``step`` depends on (``enhance`` only from step
    03 on) in which two profiles differ, or None."""
    for section in PREPARED_SECTIONS:
        if section == "enhance" and step != "03":
            continue
        mine, theirs = getattr(profile, section), getattr(writer, section)
        if _comparable(mine) != _comparable(theirs):
            return section
    return None


def _comparable(value: Any) -> Any:
    """A profile section as plain data with every path resolved (two profile files in different folders name
    the same input with different relative paths)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="python")
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def _writer_of(stamp: Path, root: Path) -> Path | None:
    """The profile file that wrote a stamp (``profile_file``, relative to the project root when inside it), if
    it still exists; None for stamps written before the key was recorded."""
    try:
        name = json.loads(stamp.read_text(encoding="utf-8")).get("profile_file")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(name, str):
        return None
    path = Path(name) if Path(name).is_absolute() else root / name
    return path.resolve() if path.is_file() else None


def stamp_digest(stamp: Path) -> str | None:
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _upstream_digests(paths: StudyPaths, step: Step) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dep in dependencies_of(step.number):
        for s in _relevant_stamps(paths, dep, step.number):
            out[s.stem] = stamp_digest(s)
    return out


def upstream_problem(step: Step, *, root: Path, profile_path: Path, profile: Profile,
                     paths: StudyPaths) -> str | None:
    """Why ``step`` cannot use the outputs of the steps it depends on (directly or through others), or None.

    An earlier step's outputs belong to this run only when its stamp's digest equals the digest of that step
    computed now (same notebook, profile, experiment file, package code, input files and upstream stamps): after
    its last success failed, or after the profile or an input changed, the outputs on disk are another run's."""
    todo, closure = list(dependencies_of(step.number)), set()
    if step.number == "06" and not has_second_date(profile):  # 06 only says so, it reads nothing
        todo = ["01"]
    while todo:
        d = todo.pop()
        if d not in closure:
            closure.add(d)
            todo.extend(dependencies_of(d))
    existing = {p.name[:2] for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    owner = None
    if profile.prepared_by is not None:
        owner_profile = load_profile(profile.prepared_by)
        owner = (profile.prepared_by, owner_profile, StudyPaths.of(owner_profile, root))
    for dep in sorted(closure & existing):
        if profile.data.source == "chips" and dep == "02":
            continue  # skipped for chip datasets (step_skip_reason); nothing reads it
        dep_path, dep_profile, dep_paths = (owner if owner is not None and dep in PREPARING_STEPS
                                            else (profile_path, profile, paths))
        cmd = f"python -m landslide_utils run --profile {relative_path(dep_path, root)} --steps {dep}"
        stamps = _relevant_stamps(dep_paths, dep, step.number)
        if not stamps:
            return (f"step {dep} has no successful run for this profile (it never ran, or its last run failed), so "
                    f"there is nothing of it to use; run it first: {cmd}")
        for stamp in stamps:
            stamp_path_, stamp_profile, stamp_paths = dep_path, dep_profile, dep_paths
            writer = _writer_of(stamp, root) if owner is None and _moved(paths, dep) else None
            if writer is not None and writer != dep_path.resolve():  # outputs another profile wrote (a sweep's
                stamp_path_, stamp_profile = writer, load_profile(writer)  # shared steps): judged by that one's
                stamp_paths = StudyPaths.of(stamp_profile, root)           # digest now, if it prepared the same
                differs = _prepared_difference(profile, stamp_profile, dep)
                if differs is not None:
                    return (f"step {dep}'s outputs in {relative_path(stamp.parent.parent, root)} were written by "
                            f"{relative_path(writer, root)}, whose key '{differs}' differs from this profile's; "
                            "point paths.prepared / paths.enhanced at a folder prepared with this profile's "
                            f"settings, or run {cmd}")
            planned = {Path(p.output_name).stem: p
                       for p in plan_steps(root=root, profile_path=stamp_path_, steps=[dep])}
            dep_step = planned.get(stamp.stem)
            if dep_step is None:
                continue  # an experiment whose file is gone: nothing runs or reads it any more
            if stamp_digest(stamp) != step_digest(dep_step, stamp_path_, stamp_profile, stamp_paths)["digest"]:
                exp = dep_step.experiment.stem if dep_step.experiment is not None else None
                return (f"step {dep}" + (f" (experiment {exp})" if exp else "")
                        + " last ran with other settings or inputs (the profile, an input file, an experiment "
                        "file, the code or an earlier step changed since, or its last run failed), so its outputs "
                        f"are not this run's; rerun it first: {cmd}" + (f" --experiments {exp}" if exp else ""))
    return None


#: profile keys that choose which experiments run, not how: a change to them reruns no step
SELECTION_KEYS: tuple[str, ...] = ("experiments", "gpu_only", "description")


def profile_digest(profile_path: Path) -> str:
    """The digest of a profile file as the steps read it: its keys without :data:`SELECTION_KEYS`, so adding an
    experiment to the list (or marking one GPU-only) does not rerun the others."""
    with warnings.catch_warnings():  # a key given twice was reported when the profile was loaded
        warnings.simplefilter("ignore", StudyWarning)
        data = read_yaml_mapping(profile_path)
    kept = {k: v for k, v in data.items() if k not in SELECTION_KEYS}
    return _sha(json.dumps(kept, sort_keys=True, default=str).encode())


def step_digest(step: Step, profile_path: Path, profile: Profile, paths: StudyPaths) -> dict:
    record = {
        "notebook": _sha(step.notebook.read_bytes()),
        "profile": profile_digest(profile_path),
        "experiment": _sha(step.experiment.read_bytes()) if step.experiment else None,
        "package": package_digest(),
        "inputs": _input_signature(profile, paths.root) if step.number == "01" else {},
        "upstream": _upstream_digests(paths, step),
    }
    record["digest"] = digest_of(record)
    return record


#: what each part of a step's digest record stands for, in the words of a warning
DIGEST_PARTS: dict[str, str] = {"notebook": "the notebook", "profile": "the profile", "experiment": "the experiment file",
                                "package": "the package code", "inputs": "an input file",
                                "upstream": "the outputs of an earlier step"}


def changed_during_run(before: dict, after: dict) -> list[str]:
    """The parts of a step's digest record (:func:`step_digest`) that differ between its start and its end."""
    return [DIGEST_PARTS[k] for k in DIGEST_PARTS if before.get(k) != after.get(k)]


def digest_of(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
