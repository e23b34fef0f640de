"""The one papermill call of the project: a notebook executed into its output atomically, with the kernel's
own log kept off the console, the progress-bar redraws squashed, and a failure kept as ``<name>.failed.ipynb``.

Both the study's runner (:mod:`landslide_utils.runner.pipeline`) and the sweep's workers
(:mod:`landslide_utils.sweeps.workers`) execute notebooks through :func:`execute_notebook`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter
from papermill.exceptions import PapermillExecutionError
from traitlets import default

from landslide_utils.files.atomic import atomic_path, write_text
from landslide_utils.runner.notebook_output import squash_notebook_file

__all__ = ["KERNEL_ARGUMENTS", "SMALL_HEAP_TUNABLES", "NotebookFailure", "SocketFileKernelManager",
           "execute_notebook", "export_html", "failed_copy", "kernel_heap", "kernel_manager_class"]


#: arguments of every notebook kernel: its own log (a shutdown on Ctrl-C, transport notices) stays off the console;
#: the notebook's outputs and errors still come back through papermill
KERNEL_ARGUMENTS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)

#: a profile's ``heap: small``: glibc's mmap threshold fixed at 4 MB (by default it rises to the largest block freed,
#: up to 32 MB, and the blocks below it come from arenas that fragment as a model trains) and the heap trimmed from
#: 1 MB free at its top. ``make bench-lab`` (2 cores, AMD EPYC): the whole lab peaks at 1713 MB instead of 2318 MB and
#: takes 7 min 32 s instead of 6 min 29 s, the same weights and metrics; a 1 MB threshold gave 1678 MB in 9 min 13 s
#: (docs/methods.md, "The teaching lab's memory"). Binder's ``binder/start`` sets the same value.
SMALL_HEAP_TUNABLES = "glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=1048576"


#: the longest temporary folder a kernel's socket files go in (``<folder>/landslide-kernel-<16 hex>-<n>`` must stay
#: under the 104 bytes of a Unix socket's path on macOS); a longer ``TMPDIR`` falls back to ``/tmp``
_SOCKET_FOLDER_MAX = 64


class SocketFileKernelManager(AsyncKernelManager):
    """A kernel whose five channels are Unix-domain sockets named ``<tmp>/landslide-kernel-<random>-1`` to ``-5``.

    Over TCP (jupyter_client's default) the manager picks five free ports, closes them and writes them into the
    connection file; the kernel binds them moments later. With two notebooks starting at once (a sweep's workers, a
    test run beside a study) another process can take a port in between: the kernel fails with "Address already in
    use" and the notebook with "Kernel didn't respond in 60 seconds". A socket file under a name no other kernel
    uses cannot be taken; the files are removed when the kernel shuts down.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        folder = tempfile.gettempdir()
        if len(folder) > _SOCKET_FOLDER_MAX and os.path.isdir("/tmp"):
            folder = "/tmp"  # a socket's path must fit sockaddr_un (108 bytes on Linux, 104 on macOS)
        return os.path.join(folder, f"landslide-kernel-{uuid.uuid4().hex[:16]}")


def kernel_manager_class() -> type[AsyncKernelManager]:
    """The manager of every notebook kernel: :class:`SocketFileKernelManager` where Unix-domain sockets exist
    (Linux, macOS), jupyter_client's TCP manager elsewhere."""
    return SocketFileKernelManager if os.name == "posix" else AsyncKernelManager


@contextlib.contextmanager
def kernel_heap(heap: str) -> Iterator[None]:
    """While open, the kernels this process starts get ``heap``'s malloc settings: ``small`` sets
    ``GLIBC_TUNABLES`` (:data:`SMALL_HEAP_TUNABLES`, which glibc reads when a process starts; other C libraries
    ignore it), ``default`` leaves the environment as it is. The runner's own process is not changed."""
    if heap != "small":
        yield
        return
    previous = os.environ.get("GLIBC_TUNABLES")
    os.environ["GLIBC_TUNABLES"] = SMALL_HEAP_TUNABLES if not previous else f"{previous}:{SMALL_HEAP_TUNABLES}"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GLIBC_TUNABLES", None)
        else:
            os.environ["GLIBC_TUNABLES"] = previous


@dataclass(frozen=True)
class NotebookFailure:
    """A cell raised: its index and execution count, the error's name and value, and where the partly executed
    notebook was kept."""

    cell: int
    exec_count: int | None
    ename: str
    evalue: str
    kept: Path

    @property
    def error(self) -> str:
        return f"{self.ename}: {self.evalue}"


def failed_copy(out: Path) -> Path:
    """Where a failed execution of ``out`` is kept: ``<name>.failed.ipynb`` beside it."""
    return out.with_name(out.stem + ".failed.ipynb")


def execute_notebook(notebook: Path, out: Path, *, parameters: dict[str, object], root: Path,
                     kernel_name: str | None, progress: bool = False) -> NotebookFailure | None:
    """Execute ``notebook`` with papermill into ``out`` (atomically), the working directory being ``root``.

    Paths inside ``root`` are passed relative to it, so the executed notebook records relative paths only.
    On success a stale ``<out>.failed.ipynb`` is removed and None returned; when a cell raises, the partly
    executed notebook is kept as ``<out>.failed.ipynb`` and the failure returned. A kernel that got Ctrl-C
    raises KeyboardInterrupt (an interruption, not a failure).
    """
    root = Path(root)
    try:
        with atomic_path(out, suffix=".ipynb") as tmp, contextlib.chdir(root):
            try:
                pm.execute_notebook(
                    str(notebook.relative_to(root)) if notebook.is_relative_to(root) else str(notebook),
                    str(tmp.relative_to(root)) if tmp.is_relative_to(root) else str(tmp),
                    parameters=parameters,
                    cwd=str(root),
                    kernel_name=kernel_name,
                    progress_bar=progress,
                    request_save_on_cell_execute=True,
                    extra_arguments=list(KERNEL_ARGUMENTS),
                    kernel_manager_class=kernel_manager_class(),
                )
            except PapermillExecutionError as exc:
                if exc.ename == "KeyboardInterrupt":
                    raise KeyboardInterrupt from None
                failure = NotebookFailure(exc.cell_index, exc.exec_count, exc.ename, exc.evalue, failed_copy(out))
                if tmp.exists():
                    tmp.replace(failure.kept)
                raise _Failed(failure) from None
            squash_notebook_file(tmp)  # progress-bar redraws -> their final state
    except _Failed as failed:
        return failed.failure
    failed_copy(out).unlink(missing_ok=True)
    return None


class _Failed(Exception):
    """Leaves the atomic output's block, so that nothing is renamed onto the output."""

    def __init__(self, failure: NotebookFailure) -> None:
        super().__init__(failure.error)
        self.failure = failure


def export_html(nb_path: Path, html_path: Path) -> None:
    """An executed notebook as HTML (``reports/<profile>/html/``)."""
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    write_text(html_path, body)
