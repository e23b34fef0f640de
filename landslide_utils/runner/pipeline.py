"""The papermill runner: executes the numbered notebooks of the study in order for one profile.

``python -m landslide_utils run --profile params/profiles/P.yaml [--steps 01,02] [--experiments I,IV] [--force]``

* Notebooks ``notebooks/NN_*.ipynb`` run with papermill into ``reports/<profile>/``, the working directory being
  the project root; the profile path (and for step 04 the experiment path) is injected as a parameter.
  Step 04 is a template executed once per experiment into ``04_run_experiment_<EXP>.ipynb``.
* Outputs are atomic: a notebook executes into a temporary file that is renamed on success. A failed
  notebook is kept as ``<name>.failed.ipynb`` for inspection and the run stops with a non-zero exit naming the
  notebook and the failing cell.
* A step is skipped when its notebook, parameter files, package code and inputs (the stamps of the steps it
  depends on, or the user's input files for step 01) are unchanged since its last successful run. The
  record lives in ``data/<profile>/.stamps/``; ``--force`` reruns.
* Each executed notebook is also exported to HTML in ``reports/<profile>/html/``.
* Steps a chip dataset cannot take are skipped with the reason on the console: step 02 (factor analysis needs
  a study area) and, for a dataset without DEM, the factor experiments of step 04 (:func:`step_skip_reason`).
* The guard's warnings of an experiment (a model that predicts no landslide pixel; the metrics JSON's
  ``warnings``) are printed on the console after its notebook, not only in the notebook; so are the warnings a
  notebook raised with :func:`landslide_utils.notices.notify` (each once per run, also when the step failed).
* A step runs only on outputs of this run: every step it depends on must have a stamp equal to that step's
  digest now (:func:`upstream_problem`); otherwise it stops with :class:`StaleUpstream`, naming the step to
  rerun. A success removes the step's stale ``.failed.ipynb``.
* Ctrl-C (and SIGTERM, through the command line) raise :class:`RunInterrupted`: the finished steps are kept, the
  running one writes no notebook and runs again; temporary files of a run killed outright are removed by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from landslide_utils.chips.study_tiles import factor_skip_reason
from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile, read_yaml_mapping
from landslide_utils.config.overrides import gpu_only_reason, unmatched_overrides
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.config.study_inputs import has_second_date, unavailable_channel
from landslide_utils.files.atomic import atomic_path, remove_temporaries, write_json, write_text
from landslide_utils.files.output_sets import says_write_failure, study_output_problem
from landslide_utils.notices import ENV_VAR, StudyWarning, read_notices
from landslide_utils.paths import StudyPaths
from landslide_utils.runner.notebook_output import squash_notebook_file
from landslide_utils.steps.related_systems import related_skip_reason

__all__ = ["Step", "plan_steps", "profile_digest", "cuda_available", "gpu_skip_reason", "changed_during_run", "PREPARING_STEPS",
           "PAPER_EXPERIMENTS", "run_pipeline", "StepFailed", "StaleUpstream", "RunInterrupted", "experiment_files",
           "package_digest", "metrics_warnings", "step_skip_reason", "experiment_skip_reason", "upstream_problem"]

# What each step reads from earlier steps (docs/architecture.md, "Data flow"). Steps not listed depend on all
# earlier ones.
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "01": (),
    "02": ("01",),
    "03": ("01",),
    "04": ("01", "03"),
    "05": ("04",),
    "06": ("01", "04"),
    "08": ("04",),
}
#: steps executed by the sweep runner (``python -m landslide_utils sweep``), not by ``run``
SWEEP_STEPS: tuple[str, ...] = ("07",)
#: arguments of every notebook kernel: its own log (a shutdown on Ctrl-C, transport notices) stays off the console;
#: the notebook's outputs and errors still come back through papermill
KERNEL_ARGUMENTS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


class StepFailed(RuntimeError):
    """A notebook failed; the message names the notebook and the failing cell."""


class StaleUpstream(StepFailed):
    """A step's inputs from an earlier step are missing or were made with other settings; nothing ran. The
    message names the earlier step and the command that reruns it."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during :func:`run_pipeline`: ``finished`` steps are kept; ``current`` did not finish (no notebook written)."""

    def __init__(self, finished: list[str], current: str | None, *, signal_name: str = "SIGINT") -> None:
        super().__init__(current or "")
        self.finished = finished
        self.current = current
        self.signal_name = signal_name


@dataclass
class Step:
    """One notebook execution: a numbered notebook, optionally bound to an experiment file."""

    number: str
    notebook: Path
    output_name: str
    experiment: Path | None = None
    parameters: dict[str, str] = field(default_factory=dict)


def _roman_key(name: str) -> tuple[int, str]:
    total, prev = 0, 0
    for ch in reversed(name.upper()):
        v = _ROMAN.get(ch)
        if v is None:
            return (10**6, name)
        total += -v if v < prev else v
        prev = max(prev, v)
    return (total, name)


def experiment_files(root: Path, names: list[str] | None = None) -> list[Path]:
    """The experiment files to run, in the paper's order (I, II, ..., VIII, then others by name).

    Files may sit in sub-folders of ``params/experiments/`` (e.g. ``liu2021/``); a file's name (its stem) names
    the experiment, so two files of one name are refused."""
    folder = root / "params" / "experiments"
    available: dict[str, Path] = {}
    for p in sorted(folder.rglob("*.yaml")):
        if p.stem in available:
            raise ConfigError(f"two experiment files are named {p.stem}: {_rel(available[p.stem], root)} and "
                              f"{_rel(p, root)}; rename one (the name names the reports and metrics)")
        available[p.stem] = p
    if names is None:
        return [available[k] for k in sorted(available, key=_roman_key)]
    missing = [n for n in names if n not in available]
    if missing:
        raise ConfigError(
            f"unknown experiment(s) {', '.join(missing)}; available in {folder}: "
            + ", ".join(sorted(available, key=_roman_key))
        )
    return [available[n] for n in names]


def plan_steps(
    *, root: Path, profile_path: Path, steps: list[str] | None = None, experiments: list[str] | None = None
) -> list[Step]:
    """The notebook executions for the chosen step numbers (all by default), in order."""
    nb_dir = root / "notebooks"
    notebooks = sorted(p for p in nb_dir.glob("[0-9][0-9]_*.ipynb"))
    by_number: dict[str, Path] = {p.name[:2]: p for p in notebooks if p.name[:2] not in SWEEP_STEPS}
    if steps is not None:
        sweep_only = [s for s in steps if s in SWEEP_STEPS]
        if sweep_only:
            raise ConfigError(f"step(s) {', '.join(sweep_only)} analyse a sweep; run them with "
                              "python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml")
        unknown = [s for s in steps if s not in by_number]
        if unknown:
            raise ConfigError(
                f"unknown step(s) {', '.join(unknown)}; available: {', '.join(sorted(by_number))} (notebooks/)"
            )
    chosen = sorted(by_number) if steps is None else sorted(set(steps))
    rel_profile = _rel(profile_path, root)
    plan: list[Step] = []
    for num in chosen:
        nb = by_number[num]
        if "{experiment}" in nb.read_text(encoding="utf-8") or num == "04":
            for exp in experiment_files(root, experiments):
                plan.append(
                    Step(num, nb, f"{nb.stem}_{exp.stem}.ipynb", exp,
                         {"profile": rel_profile, "experiment": _rel(exp, root)})
                )
        else:
            plan.append(Step(num, nb, nb.name, None, {"profile": rel_profile}))
    return plan


def _rel(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_digest() -> str:
    """SHA-256 of the package's source files (a step reruns when the code that computes it changed)."""
    pkg = Path(__file__).resolve().parent
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
    name = (lambda p: _rel(p, root) if root is not None else str(Path(p).resolve()))  # noqa: E731
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


def experiment_skip_reason(profile: Profile, experiment: Experiment) -> str | None:
    """Why step 04 skips an experiment on this profile's data, or None: a factor experiment on a chip dataset
    without DEM, or - for a profile that runs every experiment file (no ``experiments`` list) - channels its
    inputs cannot give. A profile that *names* such an experiment gets None here: training then fails with the
    reason (and ``check`` says so first)."""

    if experiment.channels != "rgb" and profile.data.source == "chips":
        reason = factor_skip_reason(profile)
        if reason is not None:
            return reason
    if profile.experiments is None:
        return unavailable_channel(profile, experiment.channels)
    return None


#: the steps that prepare a study's data; a profile with ``prepared_by`` uses those of the profile it names
PREPARING_STEPS: tuple[str, ...] = ("01", "02", "03")
#: Yang et al.'s experiments, which step 05 compares with the paper's tables
PAPER_EXPERIMENTS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
#: the experiment whose model the multi-temporal test (step 06) applies (the paper's Figure 19)
MULTITEMPORAL_EXPERIMENT = "IV"


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (torch is imported only when asked: the runner itself needs none)."""
    import torch

    return bool(torch.cuda.is_available())


def gpu_skip_reason(profile: Profile, name: str) -> str | None:
    """Why step 04 skips experiment ``name`` on this machine: the profile lists it under ``gpu_only`` and no GPU
    will train it (``device: cpu``, or ``auto`` without CUDA); None otherwise."""
    reason = gpu_only_reason(profile, name)
    if reason is None or (profile.device != "cpu" and cuda_available()):
        return None
    return f"GPU-only on this profile: {reason}"


def step_skip_reason(step: Step, profile: Profile) -> str | None:
    """Why a planned step cannot run on this profile's data (it is skipped, not failed), or None."""

    if profile.prepared_by is not None and step.number in PREPARING_STEPS:
        return (f"the data are prepared by {profile.prepared_by.name} (prepared_by): run its steps 01-03 "
                f"with --profile {profile.prepared_by.name}")
    if profile.experiments is not None:
        if step.number == "05" and not set(PAPER_EXPERIMENTS) & set(profile.experiments):
            return "the profile runs none of the paper's Experiments I-VIII, which step 05 compares"
        if step.number == "06" and MULTITEMPORAL_EXPERIMENT not in profile.experiments and has_second_date(profile):
            return (f"the multi-temporal test applies Experiment {MULTITEMPORAL_EXPERIMENT}'s model, which this "
                    "profile does not run")
    if step.number == "08":
        return related_skip_reason(profile, root=step.notebook.resolve().parents[1])
    if step.number == "04" and step.experiment is not None:
        exp = load_experiment(step.experiment)
        return gpu_skip_reason(profile, exp.name) or experiment_skip_reason(profile, exp)
    if step.number == "02" and profile.data.source == "chips":
        return ("factor analysis needs a study area: the chips of a chip dataset are cut around landslides, so "
                "landslide density per elevation or slope class would measure how the chips were sampled")
    return None


def metrics_warnings(path: Path) -> list[str]:
    """The ``warnings`` recorded in an experiment's metrics JSON (step 04); empty when none or unreadable."""
    with contextlib.suppress(OSError, ValueError):
        found = json.loads(Path(path).read_text(encoding="utf-8")).get("warnings") or []
        return [str(w) for w in found]
    return []


def _stamp_path(paths: StudyPaths, step: Step) -> Path:
    return paths.stamps_of(step.number) / (Path(step.output_name).stem + ".json")


def _deps(number: str) -> tuple[str, ...]:
    return DEPENDS_ON.get(number, tuple(f"{i:02d}" for i in range(1, int(number))))


def _relevant_stamps(paths: StudyPaths, dep: str, number: str) -> list[Path]:
    """The stamps of step ``dep`` whose outputs step ``number`` reads (step 06 reads experiment IV's)."""
    stamps = sorted(paths.stamps_of(dep).glob(f"{dep}_*.json"))
    if dep == "04" and number == "06":
        stamps = [s for s in stamps if s.stem.endswith("_IV")] or stamps
    return stamps


def _stamp_digest(stamp: Path) -> str | None:
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _upstream_digests(paths: StudyPaths, step: Step) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dep in _deps(step.number):
        for s in _relevant_stamps(paths, dep, step.number):
            out[s.stem] = _stamp_digest(s)
    return out


def upstream_problem(step: Step, *, root: Path, profile_path: Path, profile: Profile,
                     paths: StudyPaths) -> str | None:
    """Why ``step`` cannot use the outputs of the steps it depends on (directly or through others), or None.

    An earlier step's outputs belong to this run only when its stamp's digest equals the digest of that step
    computed now (same notebook, profile, experiment file, package code, input files and upstream stamps): after
    its last success failed, or after the profile or an input changed, the outputs on disk are another run's."""
    todo, closure = list(_deps(step.number)), set()
    if step.number == "06" and not has_second_date(profile):  # 06 only says so, it reads nothing
        todo = ["01"]
    while todo:
        d = todo.pop()
        if d not in closure:
            closure.add(d)
            todo.extend(_deps(d))
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
        cmd = f"python -m landslide_utils run --profile {_rel(dep_path, root)} --steps {dep}"
        stamps = _relevant_stamps(dep_paths, dep, step.number)
        if not stamps:
            return (f"step {dep} has no successful run for this profile (it never ran, or its last run failed), so "
                    f"there is nothing of it to use; run it first: {cmd}")
        planned = {Path(p.output_name).stem: p for p in plan_steps(root=root, profile_path=dep_path, steps=[dep])}
        for stamp in stamps:
            dep_step = planned.get(stamp.stem)
            if dep_step is None:
                continue  # an experiment whose file is gone: nothing runs or reads it any more
            if _stamp_digest(stamp) != _digest(dep_step, dep_path, dep_profile, dep_paths)["digest"]:
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


def _digest(step: Step, profile_path: Path, profile: Profile, paths: StudyPaths) -> dict:
    record = {
        "notebook": _sha(step.notebook.read_bytes()),
        "profile": profile_digest(profile_path),
        "experiment": _sha(step.experiment.read_bytes()) if step.experiment else None,
        "package": package_digest(),
        "inputs": _input_signature(profile, paths.root) if step.number == "01" else {},
        "upstream": _upstream_digests(paths, step),
    }
    record["digest"] = _sha(json.dumps(record, sort_keys=True).encode())
    return record


#: what each part of a step's digest record stands for, in the words of a warning
DIGEST_PARTS: dict[str, str] = {"notebook": "the notebook", "profile": "the profile", "experiment": "the experiment file",
                                "package": "the package code", "inputs": "an input file",
                                "upstream": "the outputs of an earlier step"}


def changed_during_run(before: dict, after: dict) -> list[str]:
    """The parts of a step's digest record (:func:`_digest`) that differ between its start and its end."""
    return [DIGEST_PARTS[k] for k in DIGEST_PARTS if before.get(k) != after.get(k)]


def _export_html(nb_path: Path, html_path: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    write_text(html_path, body)


def _execute(step: Step, *, root: Path, out_path: Path, kernel_name: str | None, progress: bool,
             data_dir: Path) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    with atomic_path(out_path, suffix=".ipynb") as tmp, contextlib.chdir(root):
        try:
            pm.execute_notebook(
                str(step.notebook.relative_to(root)),
                str(tmp.relative_to(root)) if tmp.is_relative_to(root) else str(tmp),
                parameters=step.parameters,
                cwd=str(root),
                kernel_name=kernel_name,
                progress_bar=progress,
                request_save_on_cell_execute=True,
                extra_arguments=list(KERNEL_ARGUMENTS),
            )
        except PapermillExecutionError as exc:
            if exc.ename == "KeyboardInterrupt":  # the kernel got the Ctrl-C: an interruption, not a failure
                raise KeyboardInterrupt from None
            failed = out_path.with_name(out_path.stem + ".failed.ipynb")
            if tmp.exists():
                tmp.replace(failed)
            full = says_write_failure(f"{exc.ename}: {exc.evalue}")
            raise StepFailed(
                f"notebook {step.notebook.name}"
                + (f" (experiment {step.experiment.stem})" if step.experiment else "")
                + f" failed in cell {exc.cell_index} (execution count {exc.exec_count}): "
                f"{exc.ename}: {exc.evalue}"
                + (f"\n  the disk holding {data_dir} is full or cannot be written: free space (or point the "
                   "profile's paths at another disk) and run again; the step reruns" if full else "")
                + f"\n  the partly executed notebook is at {failed}"
            ) from None
        squash_notebook_file(tmp)  # progress-bar redraws -> their final state (landslide_utils.runner.notebook_output)
    out_path.with_name(out_path.stem + ".failed.ipynb").unlink(missing_ok=True)  # a stale failure of this step


def run_pipeline(
    *,
    profile_path: str | Path,
    steps: list[str] | None = None,
    experiments: list[str] | None = None,
    force: bool = False,
    root: str | Path = ".",
    kernel_name: str | None = None,
    html: bool = True,
    progress: bool = True,
) -> list[tuple[Step, str]]:
    """Execute the planned notebooks; return (step, status) with status ``ran`` or ``skipped``.

    Raises:
        ConfigError: the profile or an experiment file is invalid, or a step/experiment name is unknown.
        StepFailed: a notebook raised; names the notebook and the cell.
    """
    root = Path(root).resolve()
    profile_path = Path(profile_path)
    if not profile_path.is_absolute():
        profile_path = (Path.cwd() / profile_path).resolve()
    shown: set[str] = set()  # warnings printed in this run (each notebook loads the profile again)
    with warnings.catch_warnings(record=True) as caught, contextlib.chdir(root):
        warnings.simplefilter("always", StudyWarning)
        profile = load_profile(_rel(profile_path, root))  # as the notebooks load it: their warnings read alike
    for w in caught:
        if issubclass(w.category, StudyWarning):
            print(f"warning: {w.message}", flush=True)
            shown.add(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if experiments is None and profile.experiments is not None:
        experiments = list(profile.experiments)
    plan = plan_steps(root=root, profile_path=profile_path, steps=steps, experiments=experiments)
    unmatched = unmatched_overrides(profile, [f.stem for f in experiment_files(root)])
    if unmatched:
        raise ConfigError(f"{_rel(profile_path, root)}: key '{unmatched[0]}' matches no experiment of "
                          "params/experiments/; check the name or pattern")
    for st in plan:
        if st.experiment is not None:
            load_experiment(st.experiment)  # fail early on a broken experiment file
    paths = StudyPaths.of(profile, root)
    problem = study_output_problem(profile, paths)
    if problem is not None:
        raise ConfigError(f"{_rel(profile_path, root)}: {problem}")
    paths.reports.mkdir(parents=True, exist_ok=True)
    for folder in (paths.reports, paths.data):  # temporary files of a run that was killed
        remove_temporaries(folder)
    results: list[tuple[Step, str]] = []
    total = len(plan)
    label = None
    try:
        for i, st in enumerate(plan, start=1):
            label = st.output_name.removesuffix(".ipynb")
            results.append((st, _run_step(st, f"[{i}/{total}] {label}", root=root, profile_path=profile_path,
                                          profile=profile, paths=paths, force=force, kernel_name=kernel_name,
                                          html=html, progress=progress, shown=shown)))
    except KeyboardInterrupt as exc:
        raise RunInterrupted([s.output_name.removesuffix(".ipynb") for s, r in results if r == "ran"],
                             label, signal_name=getattr(exc, "signal_name", "SIGINT")) from None
    return results


def _run_step(st: Step, tag: str, *, root: Path, profile_path: Path, profile: Profile, paths: StudyPaths,
              force: bool, kernel_name: str | None, html: bool, progress: bool, shown: set[str]) -> str:
    """Run (or skip) one planned step; return ``ran`` or ``skipped``. Warnings its notebook raised are printed
    unless ``shown`` (this run's printed warnings) has them already."""
    out_path = paths.reports / st.output_name
    reason = step_skip_reason(st, profile)
    if reason is not None:
        print(f"{tag}: skipped: {reason}", flush=True)
        return "skipped"
    problem = upstream_problem(st, root=root, profile_path=profile_path, profile=profile, paths=paths)
    if problem is not None:
        raise StaleUpstream(f"{st.output_name.removesuffix('.ipynb')} did not run: {problem}")
    record = _digest(st, profile_path, profile, paths)  # taken before the step runs: what its outputs are of
    stamp = _stamp_path(paths, st)
    if not force and out_path.exists() and stamp.exists() and _stamp_digest(stamp) == record["digest"]:
        print(f"{tag}: unchanged since its last successful run, skipped", flush=True)
        return "skipped"
    print(f"{tag}: running ...", flush=True)
    t0 = time.perf_counter()
    stamp.unlink(missing_ok=True)
    fd, notices = tempfile.mkstemp(prefix="landslide-notices-", suffix=".jsonl")
    os.close(fd)
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = notices  # the kernel inherits it: notify() there records for this console
    try:
        _execute(st, root=root, out_path=out_path, kernel_name=kernel_name, progress=progress, data_dir=paths.data)
    finally:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous
        for msg in read_notices(notices):
            if msg not in shown:
                print(f"{tag}: warning: {msg}", flush=True)
                shown.add(msg)
        Path(notices).unlink(missing_ok=True)
    if html:
        _export_html(out_path, paths.reports / "html" / (out_path.stem + ".html"))
    seconds = round(time.perf_counter() - t0, 1)
    changed = changed_during_run(record, _digest(st, profile_path, profile, paths))
    if changed:  # the outputs are of the inputs as they were when the step started: never stamp them as the new
        print(f"{tag}: warning: {', '.join(changed)} changed while the step ran; its outputs are not marked as "
              "current, so the next run reruns it", flush=True)
    else:
        write_json(stamp, {**record, "seconds": seconds})
    print(f"{tag}: done in {seconds:.1f} s -> {_rel(out_path, root)}", flush=True)
    if st.experiment is not None:
        for w in metrics_warnings(paths.metrics / f"{load_experiment(st.experiment).name}.json"):
            print(f"{tag}: warning: {w}", flush=True)
    return "ran"


def parse_list(text: str | None, *, option: str = "--steps") -> list[str] | None:
    """'01,02' or '1 2' → ['01', '02'] for steps; experiment names are kept as given; None when not given.

    Raises:
        ConfigError: the option was given but lists nothing (``--steps ,`` would otherwise mean every step).
    """
    if text is None:
        return None
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not items:
        raise ConfigError(f"{option} {text!r} lists nothing; give e.g. {option} "
                          + ("01,02" if option == "--steps" else "I,IV") + f", or leave {option} out for all")
    return items


def normalise_steps(items: list[str] | None) -> list[str] | None:
    """Step numbers as two digits ('1' → '01').

    Raises:
        ConfigError: an item is not a number.
    """
    if items is None:
        return None
    out = []
    for it in items:
        if not it.isdigit():
            raise ConfigError(f"--steps: step '{it}' is not a number like 01")
        out.append(f"{int(it):02d}")
    return out
