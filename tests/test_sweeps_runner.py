"""The sweep runner: the sweep-file schema, point expansion and names, and -- on a tiny real-input study in a
throw-away project (one experiment, two seeds, one training step) -- shared steps, skipping, re-running a
deleted output, failure reporting and a dask cluster giving the local pool's table."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from landslide_utils.config.base import ConfigError
from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.sweeps.runner import RECORDED_TRAINING, outcome_line, run_sweep
from landslide_utils.sweeps.spec import expand_points, load_sweep, point_names
from landslide_utils.sweeps.workers import RunOutcome

from .study_project import ROOT, make_project

METRICS = ["precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa", "tp", "fp", "fn", "tn", "steps"]


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def params_project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("params") / "project")


BASE = {"name": "t", "profile": "../profiles/smoke.yaml", "experiments": ["VII"]}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"grdi": {"seed": [0]}}, "grdi", "unknown key"),
        ({"workers": "two"}, "workers", "integer"),
        ({"grid": {"seed": 3}}, "grid.seed", "list"),
        ({"grid": {"training.stepz": [1]}}, "grid.training.stepz", "unknown profile key"),
        ({"grid": {"experiment.training.stepz": [1]}}, "grid.experiment.training.stepz", "unknown experiment key"),
        ({"grid": {"data.synthetic.width_px.x": [1]}}, "grid.data.synthetic.width_px.x", "no sub-keys"),
        ({"zip": [{"seed": [0, 1], "enhance.sed": [0, 1]}]}, "zip.0.enhance.sed", "unknown profile key"),
        ({"grid": {"seed": [0, 1]}, "zip": [{"seed": [0, 1], "enhance.seed": [0, 1, 2]}]}, "zip.0.enhance.seed",
         "same length"),
        ({"grid": {"seed": [0, 1]}, "zip": [{"seed": [0, 2], "enhance.seed": [0, 1]}]}, "zip.0.seed", "same list"),
        ({"grid": {"paths.data": ["x"]}}, "grid.paths.data", "set by the sweep runner"),
        ({"grid": {"training.steps": [4, 0]}}, "grid.training.steps", "point steps=0"),
        ({"grid": {"experiment.training.steps": [0]}}, "grid.experiment.training.steps", "greater than 0"),
        ({"grid": {"enhance.splice_mode": ["rotate"]}}, "grid.enhance.splice_mode", "'resize' or 'crop'"),
        ({"experiments": ["VII", "XIII"]}, "experiments", "XIII"),
        ({"grid": {"experiment_overrides.VII.training.stepz": [1]}}, "grid.experiment_overrides.VII.training.stepz",
         "unknown training key"),
        ({"grid": {"experiment_overrides.VII.trainin.steps": [1]}}, "grid.experiment_overrides.VII.trainin.steps",
         "unknown profile key"),
        ({"name": "a b"}, "name", "pattern"),
    ],
)
def test_invalid_sweep_names_file_and_key(params_project, change, key, words):
    path = _write(params_project / "params/sweeps/bad.yaml", {**BASE, **change})
    with pytest.raises(ConfigError) as err:
        load_sweep(path)
    msg = str(err.value)
    assert "bad.yaml" in msg and f"key '{key}'" in msg and words in msg, msg


def test_expand_points_zip_is_one_axis_and_names_are_readable():
    grid = {"seed": [0, 1, 2], "training.steps": [150, 600]}
    zips = [{"seed": [0, 1, 2], "enhance.seed": [5, 6, 7]}]
    points = expand_points(grid, zips)
    assert len(points) == 6
    assert points[0] == {"seed": 0, "enhance.seed": 5, "training.steps": 150}
    assert [(p["seed"], p["enhance.seed"], p["training.steps"]) for p in points[:3]] == [
        (0, 5, 150), (0, 5, 600), (1, 6, 150)]
    assert point_names(points, list(grid))[:2] == ["seed=0,steps=150", "seed=0,steps=600"]
    # a zip group without a grid key is its own axis; ambiguous last components get the full key
    pts = expand_points({"seed": [0]}, [{"enhance.seed": [1, 2], "training.batch_size": [2, 4]}])
    assert pts == [{"seed": 0, "enhance.seed": 1, "training.batch_size": 2},
                   {"seed": 0, "enhance.seed": 2, "training.batch_size": 4}]
    assert point_names(pts, ["seed", "enhance.seed"]) == ["seed=0,enhance.seed=1", "seed=0,enhance.seed=2"]
    # values made folder-safe: floats short, lists joined, path separators replaced
    odd = [{"training.learning_rate": 0.001, "models.maskrcnn.anchor_sizes": [8, 16], "models.unet.encoder": "a/b c"}]
    assert point_names(odd, list(odd[0])) == ["learning_rate=0.001,anchor_sizes=8-16,encoder=a_b_c"]
    # zip partners that would make two names equal are named too
    same = expand_points({"seed": [0, 0]}, [{"seed": [0, 0], "enhance.seed": [1, 2]}])
    assert point_names(same, ["seed"]) == ["seed=0,enhance.seed=1", "seed=0,enhance.seed=2"]
    assert point_names(expand_points({}, []), []) == ["base"]


def test_a_grid_key_reaches_one_experiments_overrides_and_no_other(params_project):
    """A profile whose experiments differ in training (quick: Mask R-CNN's settings in ``experiment_overrides``)
    is swept through ``experiment_overrides.<pattern>.<section>.<key>``; the other patterns keep theirs."""
    profile = yaml.safe_load((params_project / "params/profiles/smoke.yaml").read_text())
    shared = {"steps": 3, "schedule": "constant"}
    profile["experiment_overrides"] = {"V": {"training": shared}, "VII": {"training": shared}}  # one object, twice
    _write(params_project / "params/profiles/overridden.yaml", profile)
    sw = load_sweep(_write(params_project / "params/sweeps/over.yaml", {
        **BASE, "profile": "../profiles/overridden.yaml", "experiments": ["V", "VII"],
        "grid": {"seed": [0], "experiment_overrides.V.training.schedule": ["constant", "cosine"]}}))
    assert [p.name for p in sw.points] == ["seed=0,schedule=constant", "seed=0,schedule=cosine"]
    assert not sw.warnings
    last = sw.derived_profiles["seed=0,schedule=cosine"]["experiment_overrides"]
    assert last["V"]["training"] == {"steps": 3, "schedule": "cosine"}
    assert last["VII"]["training"] == shared  # a YAML alias shared between patterns is not written through


@pytest.mark.parametrize("path", sorted((ROOT / "params/sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_sweep_file_loads(path):
    sw = load_sweep(path)
    assert sw.points and sw.spec.experiments


def test_smoke_sweep_file_and_shared_keys(params_project):
    sw = load_sweep(ROOT / "params/sweeps/smoke.yaml")
    assert [p.name for p in sw.points] == ["seed=0", "seed=1"]
    assert [p.values for p in sw.points] == [{"seed": 0, "enhance.seed": 0}, {"seed": 1, "enhance.seed": 1}]
    assert sw.spec.experiments == ["V", "VII"] and sw.spec.workers == 2
    # the synthetic scene has its own seed (data.synthetic.seed): the training seeds share one step 01
    assert len(set(sw.prepare_keys.values())) == 1
    # training keys share steps 01 and 03; enhance keys share step 01 only
    path = _write(params_project / "params/sweeps/keys.yaml", {
        **BASE, "grid": {"training.steps": [2, 4], "enhance.seed": [0, 1]}})
    sw = load_sweep(path)
    assert [p.name for p in sw.points] == ["steps=2,seed=0", "steps=2,seed=1", "steps=4,seed=0", "steps=4,seed=1"]
    assert len(set(sw.prepare_keys.values())) == 1
    assert len(set(sw.enhance_keys.values())) == 2
    assert sw.enhance_keys["steps=2,seed=0"] == sw.enhance_keys["steps=4,seed=0"]


def test_the_shared_step_01_cuts_the_extra_test_sets_of_the_profile(params_project):
    prof = yaml.safe_load((params_project / "params/profiles/smoke.yaml").read_text())
    prof["name"] = "smoke_extra"
    sample = params_project / "samples" / "bijie_sample"
    prof["evaluation"]["extra_tests"] = [{"name": "real", "format": "folders", "path": str(sample)}]
    _write(params_project / "params/profiles/smoke_extra.yaml", prof)
    sw = load_sweep(_write(params_project / "params/sweeps/extra.yaml",
                           {**BASE, "profile": "../profiles/smoke_extra.yaml", "grid": {"seed": [0, 1]}}))
    (key,) = set(sw.prepare_keys.values())
    extra = sw.shared_profiles[key]["evaluation"]["extra_tests"]
    assert [t["name"] for t in extra] == ["real"]
    assert Path(extra[0]["path"]).resolve() == sample.resolve()
    (be_key, *_) = sw.enhance_keys.values()
    assert "evaluation" not in sw.shared_profiles[be_key]


# ---------------------------------------------------------------------------------------------------------------
# running: a tiny real-input study (steps 01 of both seeds are shared: the seed does not change real inputs)

# the profile lies beside the project: base/mine/profile.yaml, three folders up from base/project/params/sweeps
SWEEP = {"name": "tiny", "profile": "/".join(["..", "..", "..", "mine", "profile.yaml"]), "experiments": ["VII"],
         "grid": {"seed": [0, 1]}, "zip": [{"seed": [0, 1], "enhance.seed": [0, 1]}], "workers": 2}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A project (``base/project``) with the inputs outside it (``base/mine``), swept once by the local pool."""
    base = tmp_path_factory.mktemp("sweep")
    shutil.copytree(ROOT / "tests/data/tiny_files", base / "mine", ignore=shutil.ignore_patterns("*.py"))
    project = make_project(base / "project")
    (project / "notebooks/07_analyse_sweep.ipynb").unlink(missing_ok=True)
    _write(project / "params/sweeps/tiny.yaml", SWEEP)
    result = run_sweep(project / "params/sweeps/tiny.yaml", progress=False)
    return base, project, result


def _copy(swept, name: str) -> Path:
    base, project, _ = swept
    shutil.copytree(project, base / name)  # same depth: the sweep's relative profile path still finds the inputs
    return base / name


def _forget_runs(root: Path, *points: str) -> None:
    """Remove the runs of ``points`` (their data and reports), as if they had never run."""
    for top in ("data", "reports"):
        for point in points:
            shutil.rmtree(root / top / "tiny/sweeps/tiny" / point)


def test_sweep_layout_and_results_table(swept):
    _, project, result = swept
    assert [(o.point, o.experiment, o.status) for o in result.outcomes] == [
        ("seed=0", "VII", "ran"), ("seed=1", "VII", "ran")]
    data, reports = project / "data/tiny/sweeps/tiny", project / "reports/tiny/sweeps/tiny"
    assert [p.name for p in (data / "shared").iterdir()] == [result.sweep.prepare_keys["seed=0"]]  # no step 03
    prof = yaml.safe_load((data / "seed=1/profile.yaml").read_text())
    assert prof["seed"] == 1 and prof["enhance"]["seed"] == 1
    assert prof["training"]["num_threads"] == max(1, (os.cpu_count() or 1) // 2)
    assert (data / "seed=1" / prof["paths"]["prepared"]).resolve() == (data / "shared").resolve() / \
        result.sweep.prepare_keys["seed=1"]
    assert (data / "seed=1/experiments/VII/checkpoint.pt").is_file()
    for p in ("seed=0", "seed=1"):
        assert (reports / p / "04_run_experiment_VII.ipynb").is_file()
    table = pd.read_csv(reports / "results.csv")
    assert list(table.columns[:7]) == ["point", "experiment", "model", "channels", "training_data", "seed",
                                       "enhance.seed"]
    assert list(table.columns[-3:]) == ["train_seconds", "steps", "metrics_path"]
    # the settings each result came from, grid key or not (the loss, the optimiser, the budget ...)
    recorded = [c for c in table.columns if c.startswith("training.")]
    assert set(recorded) >= {f"training.{k}" for k in RECORDED_TRAINING}
    assert table["training.loss"].tolist() == [prof["training"].get("loss", TrainingSpec.model_fields["loss"].default)] * 2
    assert (table["training.steps"] == table["steps"]).all()
    assert set(METRICS) <= set(table.columns)
    assert table[["point", "seed", "model"]].values.tolist() == [["seed=0", 0, "pspnet"], ["seed=1", 1, "pspnet"]]
    assert table["metrics_path"].tolist() == [f"reports/tiny/sweeps/tiny/seed={s}/metrics/VII.json" for s in (0, 1)]
    assert all((project / p).is_file() for p in table["metrics_path"])
    assert (table["steps"] == 1).all()


def _analysis_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('sweep = "params/sweeps/x.yaml"')
    params.metadata["tags"] = ["parameters"]
    body = ("import pandas as pd\nfrom landslide_utils.sweeps.spec import load_sweep\n"
            "print(len(pd.read_csv(load_sweep(sweep).reports_dir / 'results.csv')), 'rows')")
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_second_run_skips(swept):
    root = _copy(swept, "again")
    stale = root / "reports/tiny/sweeps/tiny/seed=0/.04_run_experiment_VII.ipynb.k3jd_8x2.ipynb"
    stale.write_text("left by a worker that was stopped")
    res = run_sweep(root / "params/sweeps/tiny.yaml", progress=False)
    assert [o.status for o in res.outcomes] == ["skipped", "skipped"]
    assert res.analysis == "absent"
    assert not stale.exists()  # the next run removes what an interrupted one left


def test_ctrl_c_stops_the_workers_and_prints_one_line(swept):
    root = _copy(swept, "interrupted")
    _forget_runs(root, "seed=0", "seed=1")  # the shared step 01 stays: a run's notebook starts at once
    proc = subprocess.Popen([sys.executable, "-m", "landslide_utils", "sweep", "--sweep", "params/sweeps/tiny.yaml"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((root / "reports").rglob(".*.ipynb.*")) and time.monotonic() < deadline:  # a notebook runs
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    said = [ln for ln in err.splitlines() if ln.startswith("interrupted:")]
    assert len(said) == 1 and "run the same command again to resume" in said[0], err


def test_deleted_output_reruns_and_a_failed_run_is_reported_while_the_others_finish(swept, capsys, monkeypatch):
    from landslide_utils.cli import main

    root = _copy(swept, "failing")
    reports = root / "reports/tiny/sweeps/tiny"
    before = pd.read_csv(reports / "results.csv")
    (reports / "seed=1/04_run_experiment_VII.ipynb").unlink()  # as after an interrupted run
    _write(root / "params/experiments/BAD.yaml", {"name": "BAD", "model": "unet", "channels": "rgb",
                                                  "training_data": "original",  # valid, but fails at run time
                                                  "training": {"num_threads": 2**31}})
    _write(root / "params/sweeps/tiny.yaml", {**SWEEP, "experiments": ["VII", "BAD"]})
    _analysis_notebook(root / "notebooks/07_analyse_sweep.ipynb")
    monkeypatch.chdir(root)
    assert main(["sweep", "--sweep", "params/sweeps/tiny.yaml"]) == 1
    out, err = capsys.readouterr()
    assert "seed=0 VII: skipped" in out and "seed=1 VII: done in" in out
    assert "seed=0 BAD: FAILED in cell" in out and "ValueError: Overflow" in out
    assert "seed=0 BAD failed in cell" in err and "seed=1 BAD failed in cell" in err
    assert "reports/tiny/sweeps/tiny/seed=1/04_run_experiment_BAD.failed.ipynb" in err
    assert (reports / "seed=1/04_run_experiment_BAD.failed.ipynb").is_file()
    after = pd.read_csv(reports / "results.csv")
    assert after[["point", "experiment"]].values.tolist() == [["seed=0", "VII"], ["seed=1", "VII"]]
    pd.testing.assert_frame_equal(before[METRICS], after[METRICS])  # the finished checkpoint was reused
    executed = nbformat.read(reports / "07_analyse_sweep.ipynb", as_version=4)  # analysis of what finished
    assert "2 rows" in executed.cells[-1].outputs[0]["text"]


def test_dask_cluster_gives_the_local_pool_table(swept):
    distributed = pytest.importorskip("distributed")
    root = _copy(swept, "dask")
    _forget_runs(root, "seed=1")  # keep the shared step 01 and seed=0's run; a dask worker retrains seed=1
    pool_table = pd.read_csv(swept[1] / "reports/tiny/sweeps/tiny/results.csv")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = run_sweep(root / "params/sweeps/tiny.yaml", scheduler=cluster.scheduler_address, progress=False)
    assert [o.status for o in res.outcomes] == ["skipped", "ran"]
    table = pd.read_csv(root / "reports/tiny/sweeps/tiny/results.csv")
    cols = ["point", "experiment", "seed", "enhance.seed", *METRICS, "metrics_path"]
    pd.testing.assert_frame_equal(pool_table[cols], table[cols])


def test_the_real_analysis_notebook_runs_on_a_finished_sweep(swept):
    """Notebook 07 (the study's own) executed by the runner on the tiny sweep's results."""
    root = _copy(swept, "analysed")
    shutil.copy(ROOT / "notebooks/07_analyse_sweep.ipynb", root / "notebooks/07_analyse_sweep.ipynb")
    outside = swept[0] / "elsewhere/a/b/tiny.yaml"  # a sweep file outside the project, run with --root
    outside.parent.mkdir(parents=True)
    shutil.copy(root / "params/sweeps/tiny.yaml", outside)  # same depth: its profile path still finds the inputs
    res = run_sweep(outside, progress=False, root=root)
    assert [o.status for o in res.outcomes] == ["skipped", "skipped"] and res.analysis == "ran"
    out = root / "reports/tiny/sweeps/tiny"
    executed = nbformat.read(out / "07_analyse_sweep.ipynb", as_version=4)
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "2 runs" in text and "VII" in text
    summary = pd.read_csv(out / "tables/seed_summary.csv")
    f1 = summary[(summary["experiment"] == "VII") & (summary["metric"] == "f1")].iloc[0]
    assert f1["n"] == 2 and f1["ci_low"] <= f1["mean"] <= f1["ci_high"]
    assert (pd.read_csv(out / "tables/claims.csv")["verdict"] == "not testable").all()  # one experiment only


def test_analyse_only_reexecutes_notebook_07_on_the_results_and_runs_nothing_else(swept, capsys, monkeypatch):
    """``sweep --analyse-only``: notebook 07 again on the results table (the committed sweeps' way to follow a
    change of the notebook or the package), no run executed; a sweep without results says what to run."""
    from landslide_utils.cli import main

    root = _copy(swept, "reanalysed")
    _analysis_notebook(root / "notebooks/07_analyse_sweep.ipynb")
    before = {p: p.stat().st_mtime_ns for p in (root / "reports/tiny/sweeps/tiny").rglob("04_*.ipynb")}
    monkeypatch.chdir(root)
    command = ["sweep", "--sweep", "params/sweeps/tiny.yaml", "--analyse-only"]
    assert main(command) == 0, capsys.readouterr().err
    executed = nbformat.read(root / "reports/tiny/sweeps/tiny/07_analyse_sweep.ipynb", as_version=4)
    assert "2 rows" in executed.cells[-1].outputs[0]["text"]
    assert {p: p.stat().st_mtime_ns for p in before} == before  # no run executed again
    (root / "reports/tiny/sweeps/tiny/results.csv").unlink()
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "results.csv" in err and "run the sweep first" in err


def test_console_line_carries_the_guard_warnings():
    ran = RunOutcome("seed=0", "V", "ran", 12.3, "warning: Experiment V predicts no landslide pixel")
    assert outcome_line(3, 8, ran) == "[3/8] seed=0 V: done in 12 s\n  warning: Experiment V predicts no landslide pixel"
    assert outcome_line(1, 2, RunOutcome("p", "V", "ran", 5.0)) == "[1/2] p V: done in 5 s"
    failed = RunOutcome("p", "V", "failed", 1.0, "ValueError: bad\nmore", cell=4)
    assert outcome_line(2, 2, failed) == "[2/2] p V: FAILED in cell 4: ValueError: bad"
