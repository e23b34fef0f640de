"""``python -m landslide_utils check --profile P.yaml``: every check that needs no computing, before a run.

:func:`preflight` validates the profile and the experiment files it would run, resolves every name against the
registries (experiment names against ``params/experiments/``, models, Mask R-CNN backbones, U-Net/PSPNet
encoders, local weights files), and opens and inspects every input the way step 01 does
(:func:`landslide_utils.inputs.checks.inspect_inputs` for a scene, the listing and header checks of
:mod:`landslide_utils.chips.formats` for a chip dataset and for every extra test set). It writes nothing.
What needs computing (slope, alignment, tiles) is left to step 01.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from landslide_utils.chips.formats import ChipError, chip_size
from landslide_utils.chips.study_tiles import extra_test_split, factor_skip_reason, padding_share, split_chips
from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.config.overrides import evaluation_for, model_spec_for, training_for, unmatched_overrides
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.config.study_inputs import unavailable_channel
from landslide_utils.files.output_sets import study_output_problem
from landslide_utils.inputs.checks import inspect_inputs, inspect_options
from landslide_utils.inputs.findings import Finding
from landslide_utils.inputs.layers import load_inputs
from landslide_utils.models.registry import model_option_problem, spec_problems
from landslide_utils.models.segmentation import OWN_ARCHITECTURES
from landslide_utils.paths import StudyPaths
from landslide_utils.runner.pipeline import cuda_available, experiment_skip_reason
from landslide_utils.runner.plan import experiment_files

__all__ = ["Preflight", "preflight"]


@dataclass
class Preflight:
    """What :func:`preflight` found: the profile, the experiments it resolved and the findings."""

    profile: Profile
    experiments: list[Experiment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def add(self, level: str, file: Path | str | None, message: str) -> None:
        self.findings.append(Finding(level, str(file) if file is not None else None, message))  # type: ignore[arg-type]


def _experiment_paths(pf: Preflight, root: Path | None, given: list[Path]) -> list[Path]:

    if root is None:
        pf.add("info", None, "no project folder (params/experiments/) found: only the experiment files given with "
                             "--experiment are checked")
        return list(given)
    try:
        listed = experiment_files(root, list(pf.profile.experiments) if pf.profile.experiments else None)
    except ConfigError as exc:
        pf.add("error", pf.profile.source_path, f"key 'experiments': {exc}")
        listed = []
    return listed + [g for g in given if Path(g).resolve() not in {p.resolve() for p in listed}]


def _check_experiments(pf: Preflight, paths: list[Path], root: Path | None) -> None:

    skip = factor_skip_reason(pf.profile)
    for p in paths:
        try:
            exp = load_experiment(p)
            training_for(pf.profile, exp)
            spec = model_spec_for(pf.profile, exp)
            evaluation_for(pf.profile, exp)
        except ConfigError as exc:
            pf.add("error", None, str(exc))
            continue
        problem = model_option_problem(exp.model, spec)
        if problem:
            pf.add("error", p, f"key 'model_options': {problem}")
        if training_for(pf.profile, exp).frozen_share and exp.model in OWN_ARCHITECTURES:
            pf.add("error", p, f"key 'training.frozen_share': model {exp.model} has no pretrained-able encoder to "
                               "freeze (it trains from scratch); set frozen_share to 0")
        skipped = experiment_skip_reason(pf.profile, exp) if not skip else None
        missing = unavailable_channel(pf.profile, exp.channels) if not skip else None
        if skipped:  # every experiment file: those the inputs cannot feed are skipped
            pf.add("info", p, f"skipped: {skipped}")
        elif missing:
            pf.add("error", p, f"key 'channels': {missing}; add that input to the profile or choose other channels")
        if exp.name != Path(p).stem:
            pf.add("warning", p, f"its name '{exp.name}' differs from the file name: the notebook is named after the "
                                 f"file ({Path(p).stem}), the metrics after the name ({exp.name}.json)")
        same = [e for e in pf.experiments if e.name == exp.name]
        if same:
            pf.add("error", p, f"its name '{exp.name}' is also the name of {same[0].source_path}; both would write "
                               f"metrics/{exp.name}.json. Give each experiment its own name")
        pf.experiments.append(exp)
    skipped = [e.name for e in pf.experiments if e.channels != "rgb"]
    if skip and skipped:
        pf.add("info", None, f"experiments {', '.join(skipped)} (rgb+factors) will be skipped: {skip}")
    every = [f.stem for f in experiment_files(root)] if root is not None else []
    for key in unmatched_overrides(pf.profile, every + [e.name for e in pf.experiments]) if every else []:
        pf.add("error", pf.profile.source_path, f"key '{key}' matches no experiment of params/experiments/; check the "
                                                "name or pattern")
    for pattern in pf.profile.experiment_overrides:
        if pf.experiments and not any(fnmatch.fnmatchcase(e.name, pattern) for e in pf.experiments):
            pf.add("warning", pf.profile.source_path, f"key 'experiment_overrides.{pattern}' matches none of the "
                   f"experiments it runs ({', '.join(e.name for e in pf.experiments)}); check the name or pattern")


def _check_models(pf: Preflight) -> None:

    for key, msg in spec_problems(pf.profile):
        pf.add("error", pf.profile.source_path, f"key '{key}': {msg}")


def _check_chips(pf: Preflight) -> None:

    prof = pf.profile
    ts = prof.tiling.tile_size
    jobs = []
    if prof.data.source == "chips" and prof.data.chips is not None:
        jobs.append(("data.chips", lambda: split_chips(prof.data.chips)))  # type: ignore[arg-type]
    for t in prof.evaluation.extra_tests:
        jobs.append((f"evaluation.extra_tests '{t.name}'", lambda t=t: extra_test_split(t)))
    for what, job in jobs:
        try:
            split = job()
            sizes = [chip_size(r) for r in split.refs]
        except (ChipError, OSError) as exc:  # a layout problem, or a file gone or damaged since listing
            pf.add("error", None, f"{what}: {exc}")
            continue
        share = padding_share(sizes, ts)
        if share > 0.5:
            pf.add("warning", split.roots[0], f"the chips are smaller than the tiles ({ts} x {ts} pixels): "
                                              f"{100 * share:.0f} % of the tiles' pixels would be padding; choose a "
                                              "tiling.tile_size close to the chips' size")
        n_test = sum(1 for s in split.splits if s == "test")
        pf.add("info", split.roots[0], f"{what}: {len(split.refs)} chips ({len(split.refs) - n_test} train, "
                                       f"{n_test} test) listed and their headers read")


def _check_scene(pf: Preflight, root: Path | None) -> None:

    prof = pf.profile
    if prof.data.source == "synthetic":
        sp = StudyPaths.of(prof, root or Path("."))
        pf.add("info", None, f"data.source is synthetic: step 01 generates the study area into {sp.inputs}; "
                             "there is no input file to open")
        return
    insp = inspect_inputs(load_inputs(prof), **inspect_options(prof))
    pf.findings.extend(insp.findings)


def preflight(profile_path: str | Path, *, experiments: list[Path] | None = None,
              root: Path | None = None) -> Preflight:
    """Run every check of ``check --profile`` and return the findings (errors, warnings, notes).

    Args:
        profile_path: the profile.
        experiments: more experiment files to check (beside those the profile runs).
        root: the project root (for ``params/experiments/``); None when the profile lies outside a project.

    Raises:
        ConfigError: the profile itself is invalid (nothing else can be checked then).
    """
    pf = Preflight(profile=load_profile(profile_path))
    problem = study_output_problem(pf.profile, StudyPaths.of(pf.profile, root or Path(".")))
    if problem is not None:
        pf.add("error", profile_path, problem)
    _check_experiments(pf, _experiment_paths(pf, root, list(experiments or [])), root)
    if pf.profile.device == "cuda" and not cuda_available():
        pf.add("error", profile_path, "key 'device': 'cuda' but no CUDA GPU is available here; set device: auto (CUDA "
                                      "when present, else the CPU) or cpu")
    _check_models(pf)
    if pf.profile.data.source == "chips" or pf.profile.evaluation.extra_tests:
        _check_chips(pf)
    if pf.profile.data.source != "chips":
        _check_scene(pf, root)
    return pf
