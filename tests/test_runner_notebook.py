"""The runner's kernels: a profile's ``heap: small`` reaches the processes it starts (and glibc acts on it), the
runner's own environment is left as it was, and Binder's start script sets the same malloc settings; kernels talk
over socket files of their own (no TCP port another process could take) and leave none behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from landslide_utils.runner.notebook import SMALL_HEAP_TUNABLES, execute_notebook, kernel_heap, kernel_manager_class

ROOT = Path(__file__).resolve().parents[1]

#: a child process that frees an 8 MB block, then allocates 6 MB: prints whether the 6 MB were mapped on their own
#: (glibc raises its mmap threshold to a freed mapped block's size unless the threshold is fixed)
_MAPPED_CHILD = """
import ctypes
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.free(libc.malloc(8 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(6 << 20)
print(libc.mallinfo2().hblkhd - before >= 6 << 20)
"""


def _child_maps_6mb() -> bool:
    out = subprocess.run([sys.executable, "-c", _MAPPED_CHILD], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_a_small_heap_reaches_the_kernels_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    with kernel_heap("small"):
        seen = subprocess.run([sys.executable, "-c", "import os; print(os.environ['GLIBC_TUNABLES'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert seen == SMALL_HEAP_TUNABLES and "GLIBC_TUNABLES" not in os.environ
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")  # a user's own settings are kept
    with kernel_heap("small"):
        assert os.environ["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{SMALL_HEAP_TUNABLES}"
    assert os.environ["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2"
    with kernel_heap("default"):
        assert os.environ["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2"


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                    reason="glibc only")
def test_glibc_maps_large_blocks_on_their_own_under_a_small_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert not _child_maps_6mb()  # glibc's default: the threshold rose to 8 MB, the 6 MB come from the heap
    with kernel_heap("small"):
        assert _child_maps_6mb()


def test_binder_starts_jupyter_with_the_same_heap() -> None:
    start = ROOT / "binder" / "start"
    text = start.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n") and text.rstrip().endswith('exec "$@"')
    assert f"GLIBC_TUNABLES={SMALL_HEAP_TUNABLES}" in text
    assert os.stat(start).st_mode & stat.S_IXUSR, "binder/start must be executable (git update-index --chmod=+x)"


_CONNECTION_CELL = "from ipykernel import get_connection_info\nprint(get_connection_info(unpack=True)['transport'], " \
                   "get_connection_info(unpack=True)['ip'])"


@pytest.mark.skipif(os.name != "posix", reason="Unix-domain sockets")
def test_kernels_talk_over_socket_files_that_are_removed_afterwards(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_CONNECTION_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    assert execute_notebook(source, out, parameters={}, root=tmp_path, kernel_name=None) is None
    transport, ip = nbformat.read(out, as_version=4).cells[0].outputs[0]["text"].split()
    assert transport == "ipc"
    assert Path(ip).parent == Path(tempfile.gettempdir()) and Path(ip).name.startswith("landslide-kernel-")
    assert not list(Path(ip).parent.glob(Path(ip).name + "-*"))  # the five sockets went with the kernel
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.ipynb", "out.ipynb"]  # nothing in the working dir


@pytest.mark.skipif(os.name != "posix", reason="Unix-domain sockets")
def test_every_kernel_gets_its_own_socket_names() -> None:
    first, second = kernel_manager_class()(), kernel_manager_class()()
    assert first.transport == second.transport == "ipc"
    assert first.ip != second.ip


@pytest.mark.skipif(os.name != "posix", reason="Unix-domain sockets")
def test_socket_names_fit_a_unix_socket_path_under_a_long_tmpdir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/" + "x" * 120)
    ip = kernel_manager_class()().ip
    assert len(ip) + 2 < 104 and Path(ip).parent == Path("/tmp")
