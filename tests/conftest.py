import fcntl
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from landslide_utils.runner.pipeline import run_pipeline  # noqa: E402 - after the backend is chosen

from .study_project import make_project  # noqa: E402

# The longest tests (minutes each on 2 cores) start first, so that `pytest -n 2` does not end with one worker
# running a long test alone while the other is idle (longest-first scheduling of the suite's wall time).
_LONGEST_FIRST = (
    "tests/test_notebooks.py::test_smoke_study_mask_rcnn_and_multitemporal",
    "tests/test_notebooks.py::test_related_profile_reuses_the_smoke_tiles_and_runs_notebook_08",
    "tests/test_notebooks.py::test_smoke_study_semantic_and_comparison",
    "tests/test_chip_study.py::test_a_chip_study_runs_01_to_06_and_tests_every_extra_set",
    "tests/test_training_distributed.py::test_killed_torchrun_job_resumes_to_the_uninterrupted_weights",
    "tests/test_training_distributed.py::test_two_gloo_processes_train_like_one_with_the_same_global_batch[maskrcnn]",
)


def pytest_collection_modifyitems(session, config, items):  # noqa: ANN001, ARG001 - pytest's hook signature
    rank = {nodeid: i for i, nodeid in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the others keep their order


@pytest.fixture(scope="session")
def smoke_prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose smoke steps 01-03 ran (once for all workers: the first to take the lock runs them)."""
    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every xdist worker of this session
    root = shared / "smoke_prepared"
    with open(shared / "smoke_prepared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / "ready").is_file():
                shutil.rmtree(root, ignore_errors=True)
                make_project(root)
                results = run_pipeline(profile_path=root / "params/profiles/smoke.yaml", root=root,
                                       steps=["01", "02", "03"], progress=False, html=False)
                assert [s for _, s in results] == ["ran"] * 3
                (root / "ready").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root
