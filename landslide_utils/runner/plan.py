"""The pipeline's rules as data: which notebooks a run executes, in which order, for which experiments, and what
each step reads from the earlier ones (docs/architecture.md, "Data flow").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from landslide_utils.config.base import ConfigError
from landslide_utils.paths import relative_path

__all__ = ["DEPENDS_ON", "SWEEP_STEPS", "Step", "experiment_files", "plan_steps", "PREPARING_STEPS", "PAPER_EXPERIMENTS", "MULTITEMPORAL_EXPERIMENT", "dependencies_of"]


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


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


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
            raise ConfigError(f"two experiment files are named {p.stem}: {relative_path(available[p.stem], root)} and "
                              f"{relative_path(p, root)}; rename one (the name names the reports and metrics)")
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
    rel_profile = relative_path(profile_path, root)
    plan: list[Step] = []
    for num in chosen:
        nb = by_number[num]
        if "{experiment}" in nb.read_text(encoding="utf-8") or num == "04":
            for exp in experiment_files(root, experiments):
                plan.append(
                    Step(num, nb, f"{nb.stem}_{exp.stem}.ipynb", exp,
                         {"profile": rel_profile, "experiment": relative_path(exp, root)})
                )
        else:
            plan.append(Step(num, nb, nb.name, None, {"profile": rel_profile}))
    return plan


#: the steps that prepare a study's data; a profile with ``prepared_by`` uses those of the profile it names
PREPARING_STEPS: tuple[str, ...] = ("01", "02", "03")


#: Yang et al.'s experiments, which step 05 compares with the paper's tables
PAPER_EXPERIMENTS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")


#: the experiment whose model the multi-temporal test (step 06) applies (the paper's Figure 19)
MULTITEMPORAL_EXPERIMENT = "IV"


def dependencies_of(number: str) -> tuple[str, ...]:
    return DEPENDS_ON.get(number, tuple(f"{i:02d}" for i in range(1, int(number))))
