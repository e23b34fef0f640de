import os

os.environ.setdefault("MPLBACKEND", "Agg")


# The longest tests (minutes each on 2 cores) start first, so that `pytest -n 2` does not end with one worker
# running a long test alone while the other is idle (longest-first scheduling of the suite's wall time).
_LONGEST_FIRST = (
    "tests/test_notebooks.py::test_smoke_study_mask_rcnn_and_multitemporal",
    "tests/test_notebooks.py::test_related_profile_reuses_the_smoke_tiles_and_runs_notebook_08",
    "tests/test_notebooks.py::test_smoke_study_semantic_and_comparison",
    "tests/test_reports_reproduce.py::test_committed_smoke_reports_reproduce",
    "tests/test_chip_study.py::test_a_chip_study_runs_01_to_06_and_tests_every_extra_set",
)


def pytest_collection_modifyitems(session, config, items):  # noqa: ANN001, ARG001 - pytest's hook signature
    rank = {nodeid: i for i, nodeid in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid, len(rank)))  # stable: the others keep their order
