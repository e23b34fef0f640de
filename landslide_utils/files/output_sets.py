"""A command's set of output files, written as a whole: never over an input, never over earlier outputs unless
asked, and replaced so that a failure leaves the old set or the new set, never a mix.

The files are written into a staging folder beside the output folder (same file system), then moved in: the
earlier set is first moved aside, the new one moved in, and the earlier one deleted; should a move fail, the
earlier set is put back. Used by ``predict`` (:mod:`landslide_utils.prediction.scene`). For a study,
:func:`study_output_problem` refuses a profile whose ``paths`` would put a step's outputs over one of its input
files (``run`` and ``check`` call it before anything is written).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from landslide_utils.config.base import ConfigError
from landslide_utils.config.schema import Profile
from landslide_utils.paths import StudyPaths

__all__ = ["check_outputs", "staged_outputs", "write_failure", "says_write_failure", "study_inputs", "study_output_problem"]


def check_outputs(out: Path, names: Iterable[str], *, inputs: dict[str, Path | None], overwrite: bool,
                  option: str = "--out") -> None:
    """Refuse an output folder whose outputs would replace an input file, or (without ``overwrite``) the outputs
    of an earlier run.

    Args:
        out: the output folder.
        names: the file names the command writes into it.
        inputs: the command's input files by option name (``--image`` → path); None entries are ignored.
        overwrite: earlier outputs in ``out`` may be replaced.
        option: how the command line names ``out``.

    Raises:
        ConfigError: naming the option, the file and what to do.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {out}: is a file; give a folder (it is created)")
    names = list(names)
    given = {k: Path(v).resolve() for k, v in inputs.items() if v is not None}
    for name in names:
        target = (out / name).resolve()
        for key, path in given.items():
            if target == path:
                raise ConfigError(f"{option} {out}: its output {name} would replace the input {key} {path}; "
                                  "choose another output folder (inputs are never overwritten)")
    earlier = [n for n in names if (out / n).exists()]
    if earlier and not overwrite:
        raise ConfigError(f"{option} {out}: holds the outputs of an earlier run ({', '.join(earlier)}); pass "
                          "--overwrite to replace them as a whole, or choose another folder")


#: errors of the file system that mean "cannot write here" (not a problem of the inputs)
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EFBIG, errno.EPERM}


#: how error texts say the disk is full or cannot be written (GDAL says "Write failed")
WRITE_FAILURE_WORDS: tuple[str, ...] = ("no space left", "write failed", "read-only file system", "disk quota")


def says_write_failure(text: str) -> bool:
    """Whether an error text says the disk is full or cannot be written."""
    return any(w in text.lower() for w in WRITE_FAILURE_WORDS)


def write_failure(exc: OSError) -> bool:
    """Whether ``exc`` says the disk is full or the folder cannot be written."""
    return exc.errno in _WRITE_ERRNOS or says_write_failure(str(exc))


def _staging(out: Path) -> Path:
    return out.parent / f".{out.name}.staging-{os.getpid()}"


@contextlib.contextmanager
def staged_outputs(out: Path, names: Iterable[str]) -> Iterator[Path]:
    """Yield a staging folder to write ``names`` into; on success they replace ``out``'s earlier set as a whole
    (other files in ``out`` are left alone), on failure the staging folder is removed and ``out`` is untouched."""
    out = Path(out)
    names = list(names)
    stage = _staging(out)
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.mkdir(parents=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write there ({exc.strerror or exc}); give a writable folder") from None
    try:
        try:
            yield stage
        except OSError as exc:
            if not write_failure(exc):
                raise
            raise ConfigError(f"{out}: writing the outputs failed ({exc.strerror or str(exc).strip()}); nothing was "
                              "replaced and no partial file is left: free disk space (or choose another folder) and "
                              "run again") from None
        out.mkdir(parents=True, exist_ok=True)
        aside = out / f".previous-{os.getpid()}"
        aside.mkdir(exist_ok=True)
        old = [n for n in names if (out / n).exists()]
        for n in old:
            os.replace(out / n, aside / n)
        moved: list[str] = []
        try:
            for n in names:
                if (stage / n).exists():
                    os.replace(stage / n, out / n)
                    moved.append(n)
        except BaseException:
            for n in moved:
                (out / n).unlink(missing_ok=True)
            for n in old:
                os.replace(aside / n, out / n)
            raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def study_inputs(profile: Profile) -> dict[str, Path]:
    """The profile's input files and folders by key (``data.files.*``, ``data.chips.*``, extra test sets)."""
    found: dict[str, Path] = {}
    if profile.data.source == "files" and profile.data.files is not None:
        found.update({f"data.files.{k}": Path(v) for k, v in profile.data.files.model_dump().items() if v is not None})
    if profile.data.source == "chips" and profile.data.chips is not None:
        found.update({f"data.chips.{k}": Path(getattr(profile.data.chips, k)) for k in ("train", "test")
                      if getattr(profile.data.chips, k) is not None})
    for i, t in enumerate(profile.evaluation.extra_tests):
        found[f"evaluation.extra_tests.{i}.path"] = Path(t.path)
    return found


def study_output_problem(profile: Profile, paths: StudyPaths) -> str | None:
    """Why a run of this profile would write over one of its own inputs (an input inside a folder that a step
    fills: aligned layers, tiles, BE samples, checkpoints, stamps, reports), or None."""
    written = {"aligned/ (step 01)": paths.aligned, "tiles/ (step 01)": paths.tiles,
               "tiles_t2/ (step 06)": paths.tiles_t2, "extra_tests/ (step 01)": paths.prepared / "extra_tests",
               "inputs/ (the synthetic area)": paths.inputs, "enhanced/ (step 03)": paths.enhanced,
               "experiments/ (step 04)": paths.data / "experiments", "the reports": paths.reports}
    if profile.data.source != "synthetic":
        written.pop("inputs/ (the synthetic area)")
    for key, path in study_inputs(profile).items():
        p = path.resolve()
        for what, folder in written.items():
            f = folder.resolve()
            if p == f or f in p.parents:
                return (f"{key} ({path}) lies inside {f}, the folder of {what} that a run writes; move the input "
                        "elsewhere or point the profile's paths (paths.data, paths.prepared, paths.enhanced, "
                        "paths.reports) at another folder")
    return None
