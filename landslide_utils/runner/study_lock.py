"""One run per study at a time: ``run``, ``train`` and ``sweep`` hold ``<data>/.lock`` while they work.

The lock file is created exclusively and holds the process id, the host and the command. A second command on the
same study finds it and stops with a :class:`StudyLocked` error naming the first; a lock whose process is gone (a
run killed outright) is taken over with a note. The lock is removed when the command ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from landslide_utils.config.base import ConfigError
from landslide_utils.notices import notify

__all__ = ["StudyLocked", "study_lock", "LOCK_NAME"]

LOCK_NAME = ".lock"


class StudyLocked(ConfigError):
    """Another process holds the study's lock (exit code 2 on the command line)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def study_lock(folder: str | Path, *, command: str | None = None) -> Iterator[Path]:
    """Hold ``folder/.lock`` for the duration of the block.

    Raises:
        StudyLocked: a live process on this host holds it (the message names its pid, command and start).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
          "command": command or " ".join(sys.argv)}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = _holder(path)
            if held and held.get("host") == me["host"] and _alive(int(held.get("pid", -1))):
                raise StudyLocked(f"{folder}: another run of this study is in progress (pid {held['pid']}, "
                                  f"started {held.get('started')}: {held.get('command')}); wait for it to end, or "
                                  "stop it, then run again") from None
            if held and held.get("host") != me["host"]:
                raise StudyLocked(f"{folder}: locked by a run on host {held.get('host')} (pid {held.get('pid')}: "
                                  f"{held.get('command')}); if that run is over, delete {path}") from None
            notify(f"{path}: taking over the lock of a run that is gone (pid {held.get('pid') if held else '?'}); "
                   "its unfinished step or training reruns or resumes")
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    else:
        raise StudyLocked(f"{path}: could not take the study's lock; delete it if no run of this study is going on")
    try:
        yield path
    finally:
        held = _holder(path)
        if held is not None and held.get("pid") == me["pid"]:
            path.unlink(missing_ok=True)
