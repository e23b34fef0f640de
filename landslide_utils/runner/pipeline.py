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
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path

from landslide_utils.chips.study_tiles import factor_skip_reason
from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.overrides import gpu_only_reason, unmatched_overrides
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.config.study_inputs import has_second_date, unavailable_channel
from landslide_utils.files.atomic import remove_temporaries, write_json
from landslide_utils.files.output_sets import says_write_failure, study_output_problem
from landslide_utils.notices import ENV_VAR, StudyWarning, read_notices
from landslide_utils.paths import StudyPaths, relative_path
from landslide_utils.runner.notebook import NotebookFailure, execute_notebook, export_html, kernel_heap
from landslide_utils.runner.plan import (
    MULTITEMPORAL_EXPERIMENT,
    PAPER_EXPERIMENTS,
    PREPARING_STEPS,
    Step,
    experiment_files,
    plan_steps,
)
from landslide_utils.runner.stamps import changed_during_run, stamp_digest, stamp_path, step_digest, upstream_problem
from landslide_utils.steps.related_references import related_skip_reason
from landslide_utils.training.monitor import still_rising

__all__ = ["cuda_available", "gpu_skip_reason", "run_pipeline", "StepFailed", "StaleUpstream", "RunInterrupted", "metrics_warnings", "step_skip_reason", "experiment_skip_reason"]


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


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (torch is imported only when asked: the runner itself needs none)."""
    import torch  # noqa: PLC0415 - the runner needs torch only to ask for a GPU

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


def curve_notice(path: Path) -> str | None:
    """What :func:`landslide_utils.training.monitor.still_rising` says of the learning curve in an experiment's
    metrics JSON (step 04, with ``training.eval_every``); None when it has none, levelled off, or is unreadable."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        curve = json.loads(Path(path).read_text(encoding="utf-8")).get("learning_curve")
        if curve:
            return still_rising(curve["step"], curve["val_ap"])
    return None


def _failure_message(step: Step, failure: NotebookFailure, *, data_dir: Path) -> str:
    """The console's words for a failed step: the notebook, the cell, the error, what to do on a full disk."""
    full = says_write_failure(failure.error)
    return (f"notebook {step.notebook.name}"
            + (f" (experiment {step.experiment.stem})" if step.experiment else "")
            + f" failed in cell {failure.cell} (execution count {failure.exec_count}): {failure.error}"
            + (f"\n  the disk holding {data_dir} is full or cannot be written: free space (or point the "
               "profile's paths at another disk) and run again; the step reruns" if full else "")
            + f"\n  the partly executed notebook is at {failure.kept}")


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
        profile = load_profile(relative_path(profile_path, root))  # as the notebooks load it: their warnings read alike
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
        raise ConfigError(f"{relative_path(profile_path, root)}: key '{unmatched[0]}' matches no experiment of "
                          "params/experiments/; check the name or pattern")
    for st in plan:
        if st.experiment is not None:
            load_experiment(st.experiment)  # fail early on a broken experiment file
    paths = StudyPaths.of(profile, root)
    problem = study_output_problem(profile, paths)
    if problem is not None:
        raise ConfigError(f"{relative_path(profile_path, root)}: {problem}")
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
    record = step_digest(st, profile_path, profile, paths)  # taken before the step runs: what its outputs are of
    stamp = stamp_path(paths, st)
    if not force and out_path.exists() and stamp.exists() and stamp_digest(stamp) == record["digest"]:
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
        with kernel_heap(profile.heap):
            failure = execute_notebook(st.notebook, out_path, parameters=st.parameters, root=root,
                                       kernel_name=kernel_name, progress=progress)
        if failure is not None:
            raise StepFailed(_failure_message(st, failure, data_dir=paths.data))
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
        export_html(out_path, paths.reports / "html" / (out_path.stem + ".html"))
    seconds = round(time.perf_counter() - t0, 1)
    changed = changed_during_run(record, step_digest(st, profile_path, profile, paths))
    if changed:  # the outputs are of the inputs as they were when the step started: never stamp them as the new
        print(f"{tag}: warning: {', '.join(changed)} changed while the step ran; its outputs are not marked as "
              "current, so the next run reruns it", flush=True)
    else:
        write_json(stamp, {**record, "seconds": seconds, "profile_file": relative_path(profile_path, root)})
    print(f"{tag}: done in {seconds:.1f} s -> {relative_path(out_path, root)}", flush=True)
    if st.experiment is not None:
        name = load_experiment(st.experiment).name
        for w in metrics_warnings(paths.metrics / f"{name}.json"):
            print(f"{tag}: warning: {w}", flush=True)
        rising = curve_notice(paths.metrics / f"{name}.json")
        if rising is not None:
            print(f"{tag}: note: {rising} ({relative_path(paths.experiment(name) / 'validation.csv', root)})",
                  flush=True)
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
