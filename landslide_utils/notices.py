"""Warnings that must reach the console, not only the executed notebook.

Step 01 runs inside a notebook kernel, so a warning printed there (a raster without declared nodata, tiles that
are mostly padding, a key given twice in a YAML file) would be seen only by someone who opens the notebook.
:func:`notify` emits a :class:`StudyWarning` (shown in the notebook as usual) and, when the runner has set
``LANDSLIDE_NOTICES`` to a file, appends the message there; the runner (:mod:`landslide_utils.runner.pipeline`) prints
those messages on the console after the step, also when the step failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path

__all__ = ["StudyWarning", "notify", "read_notices", "ENV_VAR"]

#: the environment variable naming the file the runner collects a step's warnings in
ENV_VAR = "LANDSLIDE_NOTICES"


class StudyWarning(UserWarning):
    """A warning about the user's data or parameters that the console must show (it names the file or key)."""


def notify(message: str) -> None:
    """Warn with ``message`` (a :class:`StudyWarning`) and record it for the runner's console, if one listens."""
    warnings.warn(message, StudyWarning, stacklevel=2)
    target = os.environ.get(ENV_VAR)
    if target:
        with contextlib.suppress(OSError), open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(message) + "\n")


def read_notices(path: str | Path) -> list[str]:
    """The messages recorded in ``path`` by :func:`notify` (in order, each once); empty when there is none."""
    out: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                msg = str(json.loads(line))
                if msg not in out:
                    out.append(msg)
    return out
