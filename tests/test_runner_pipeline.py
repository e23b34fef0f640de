"""The papermill runner on a tiny throw-away project: order, skipping, failure reporting, per-experiment runs."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from landslide_utils.config.base import ConfigError
from landslide_utils.config.load import load_profile
from landslide_utils.runner.pipeline import StaleUpstream, StepFailed, curve_notice, metrics_warnings, run_pipeline
from landslide_utils.runner.plan import plan_steps
from landslide_utils.runner.stamps import _prepared_difference

ROOT = Path(__file__).resolve().parents[1]


def _nb(path: Path, body: str, extra_params: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f'profile = "params/profiles/smoke.yaml"\n{extra_params}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "params" / "profiles").mkdir(parents=True)
    (tmp_path / "params" / "experiments").mkdir()
    text = (ROOT / "params/profiles/smoke.yaml").read_text(encoding="utf-8")
    listed = re.compile(r"^experiments: \[[^\]]*\]", re.MULTILINE)  # the list may span lines
    assert listed.search(text) and "experiments: [I, II, III, IV, V, VI, VII, VIII]" in text
    (tmp_path / "params/profiles/smoke.yaml").write_text(  # the profile's list of experiments drives step 04
        listed.sub("experiments: [I, II]", text, count=1), encoding="utf-8")
    for name in ("I", "II", "III"):  # III exists but is not in the profile's list
        shutil.copy(ROOT / f"params/experiments/{name}.yaml", tmp_path / f"params/experiments/{name}.yaml")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _nb(nbs / "01_first.ipynb", "from pathlib import Path\nPath('out01.txt').write_text(profile)\nprint('ok')")
    _nb(nbs / "02_second.ipynb", "x = 1\nprint(x + 1)")
    _nb(nbs / "04_run_experiment.ipynb", "from pathlib import Path\nPath(experiment).stem", 'experiment = ""')
    return tmp_path


def test_runs_in_order_skips_unchanged_and_reruns_changed(project):
    prof = project / "params/profiles/smoke.yaml"
    res = run_pipeline(profile_path=prof, root=project, progress=False)
    assert [(s.output_name, st) for s, st in res] == [
        ("01_first.ipynb", "ran"), ("02_second.ipynb", "ran"),
        ("04_run_experiment_I.ipynb", "ran"), ("04_run_experiment_II.ipynb", "ran"),
    ]
    reports = project / "reports" / "smoke"
    assert (project / "out01.txt").read_text() == "params/profiles/smoke.yaml"  # relative, cwd = root
    for name in ("01_first", "02_second", "04_run_experiment_I", "04_run_experiment_II"):
        assert (reports / f"{name}.ipynb").exists()
        assert (reports / "html" / f"{name}.html").exists()
    executed = nbformat.read(reports / "04_run_experiment_II.ipynb", as_version=4)
    assert "params/experiments/II.yaml" in executed.cells[1].source  # injected parameters
    assert not list(reports.glob(".*tmp*"))

    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False)
    assert [st for _, st in res] == ["skipped"] * 4

    _nb(project / "notebooks/02_second.ipynb", "print('changed')")
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "02"])
    assert [st for _, st in res] == ["skipped", "ran"]

    # a changed profile reruns everything downstream of it
    prof.write_text(prof.read_text().replace("seed: 0", "seed: 1", 1))
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01"])
    assert [st for _, st in res] == ["ran"]

    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, force=True,
                       steps=["04"], experiments=["II"])
    assert [(s.output_name, st) for s, st in res] == [("04_run_experiment_II.ipynb", "ran")]


def test_a_change_during_a_step_is_reported_and_not_stamped(project, capsys):
    """The stamp is the digest taken before the step ran: a profile edited while it runs is not marked as done."""
    prof = project / "params/profiles/smoke.yaml"
    run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01"])
    _nb(project / "notebooks/02_second.ipynb",
        "from pathlib import Path\np = Path(profile)\np.write_text(p.read_text().replace('seed: 0', 'seed: 3', 1))")
    capsys.readouterr()
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["02"])
    assert [st for _, st in res] == ["ran"]
    out = capsys.readouterr().out
    assert "the profile changed while the step ran" in out and "not marked as current" in out
    assert not (project / "data/smoke/.stamps/02_second.json").exists()
    _nb(project / "notebooks/02_second.ipynb", "x = 1")
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "02"])
    assert [st for _, st in res] == ["ran", "ran"]  # the profile changed: step 01 too
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "02"])
    assert [st for _, st in res] == ["skipped", "skipped"]


def test_a_full_disk_is_named_with_the_folder(project):
    _nb(project / "notebooks/01_first.ipynb", "raise OSError(28, 'No space left on device')")
    with pytest.raises(StepFailed, match=r"(?s)No space left on device.*the disk holding .*data/smoke is full or "
                                         r"cannot be written.*partly executed notebook"):
        run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                     steps=["01"])


def test_selecting_experiments_reruns_no_step(project):
    """``experiments`` and ``gpu_only`` choose which experiments run, not how: editing them reruns nothing."""
    prof = project / "params/profiles/smoke.yaml"
    run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "04"])
    prof.write_text(prof.read_text().replace("experiments: [I, II]", "experiments: [I, II, III]")
                    + "gpu_only: {III: for the test}\n")
    res = run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "04"])
    assert [(s.output_name, st) for s, st in res] == [
        ("01_first.ipynb", "skipped"), ("04_run_experiment_I.ipynb", "skipped"),
        ("04_run_experiment_II.ipynb", "skipped"), ("04_run_experiment_III.ipynb", "skipped")]


def _metrics_notebook(project: Path, payload: str) -> None:
    """A notebook 04 that writes the metrics JSON ``payload`` (a Python expression of ``name``, the experiment)."""
    body = ("import json\nfrom pathlib import Path\nname = Path(experiment).stem\n"
            "out = Path('reports/smoke/metrics') / f'{name}.json'\nout.parent.mkdir(parents=True, exist_ok=True)\n"
            f"out.write_text(json.dumps({payload}))")
    _nb(project / "notebooks/04_run_experiment.ipynb", body, 'experiment = ""')


def test_guard_warnings_reach_the_console(project, capsys):
    """A model that predicts no landslide is said on the console, not only in the executed notebook."""
    _metrics_notebook(project, "{'warnings': ['Experiment II predicts no landslide pixel'] if name == 'II' else []}")
    run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                 steps=["01", "04"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "warning:" in ln]
    assert lines == ["[3/3] 04_run_experiment_II: warning: Experiment II predicts no landslide pixel"]
    assert metrics_warnings(project / "reports/smoke/metrics/I.json") == []
    assert metrics_warnings(project / "no/such.json") == []


def test_a_budget_that_ended_a_rising_curve_is_said_on_the_console(project, capsys):
    """Step 04's learning curve still climbing at the last step gets a note naming the curve's file; a curve
    that levelled off, or a run without one, gets none."""
    _metrics_notebook(project, "{'warnings': [], 'learning_curve': {'step': [2, 4, 6], 'val_ap': "
                               "[0.2, 0.3, 0.5] if name == 'II' else [0.2, 0.6, 0.61]}}")
    run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                 steps=["01", "04"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "note:" in ln]
    assert len(lines) == 1 and lines[0].startswith("[3/3] 04_run_experiment_II: note: validation AP was still rising")
    assert lines[0].endswith("(data/smoke/experiments/II/validation.csv)")
    assert curve_notice(project / "reports/smoke/metrics/I.json") is None
    assert curve_notice(project / "no/such.json") is None


def test_failure_names_notebook_and_cell_and_keeps_no_output(project):
    _nb(project / "notebooks/02_second.ipynb", "raise ValueError('broken input: data/x.tif')")
    prof = project / "params/profiles/smoke.yaml"
    with pytest.raises(StepFailed) as err:
        run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "02"])
    msg = str(err.value)
    assert "02_second.ipynb" in msg and "cell" in msg and "broken input: data/x.tif" in msg
    reports = project / "reports" / "smoke"
    assert (reports / "01_first.ipynb").exists()
    assert not (reports / "02_second.ipynb").exists()
    assert (reports / "02_second.failed.ipynb").exists()
    assert not (project / "data/smoke/.stamps/02_second.json").exists()


def test_unknown_step_or_experiment(project):
    prof = project / "params/profiles/smoke.yaml"
    with pytest.raises(ConfigError, match="unknown step"):
        plan_steps(root=project, profile_path=prof, steps=["09"])
    with pytest.raises(ConfigError, match="unknown experiment.*IX.*available.*I, II"):
        plan_steps(root=project, profile_path=prof, steps=["04"], experiments=["IX"])


def test_cli_run_exit_codes(project, capsys, monkeypatch):
    from landslide_utils.cli import main

    monkeypatch.chdir(project)
    _nb(project / "notebooks/02_second.ipynb", "1/0")
    assert main(["run", "--profile", "params/profiles/smoke.yaml", "--steps", "01,02", "--no-html"]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert main(["run", "--profile", "params/profiles/nope.yaml"]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err
    for steps in (",", " "):  # an empty list would otherwise mean every step
        assert main(["run", "--profile", "params/profiles/smoke.yaml", "--steps", steps]) == 2
        out, err = capsys.readouterr()
        assert "--steps" in err and "lists nothing" in err and "running" not in out
    assert main(["run", "--profile", "params/profiles/smoke.yaml", "--steps", "x1"]) == 2
    assert "step 'x1' is not a number" in capsys.readouterr().err
    assert main(["run", "--profile", "params/profiles/smoke.yaml", "--root", str(project / "notebooks")]) == 2
    assert "not a project folder" in capsys.readouterr().err
    outside = project.parent / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)  # outside the project: found from the profile's folder
    assert main(["run", "--profile", str(project / "params/profiles/smoke.yaml"), "--steps", "01", "--no-html"]) == 0
    assert (project / "reports/smoke/01_first.ipynb").exists()
    shutil.copy(project / "params/profiles/smoke.yaml", outside / "p.yaml")
    assert main(["run", "--profile", "p.yaml"]) == 2
    err = capsys.readouterr().err
    assert "no project folder" in err and "--root" in err and "Traceback" not in err


def test_a_step_refuses_the_outputs_of_another_run(project, capsys):
    """After an upstream step failed, or after the profile changed without rerunning it, a downstream step does
    not silently use what an earlier, different run left on disk; a successful rerun removes the stale failure."""
    prof = project / "params/profiles/smoke.yaml"
    reports = project / "reports/smoke"
    kw = {"profile_path": prof, "root": project, "progress": False, "html": False}
    run_pipeline(**kw, steps=["01", "02"])
    good = (project / "notebooks/01_first.ipynb").read_bytes()
    prof.write_text(prof.read_text().replace("seed: 0", "seed: 1", 1))
    _nb(project / "notebooks/01_first.ipynb", "raise ValueError('broken input')")
    with pytest.raises(StepFailed, match="broken input"):
        run_pipeline(**kw, steps=["01"])
    assert (reports / "01_first.failed.ipynb").exists()
    with pytest.raises(StaleUpstream, match=r"02_second did not run: step 01 has no successful run .*--steps 01$"):
        run_pipeline(**kw, steps=["02"])
    (project / "notebooks/01_first.ipynb").write_bytes(good)
    assert [s for _, s in run_pipeline(**kw, steps=["01", "02"])] == ["ran", "ran"]
    assert not (reports / "01_first.failed.ipynb").exists()  # the stale failure went with the success
    prof.write_text(prof.read_text().replace("seed: 1", "seed: 2", 1))  # changed, step 01 not rerun
    with pytest.raises(StaleUpstream, match="step 01 last ran with other settings or inputs"):
        run_pipeline(**kw, steps=["02"])
    from landslide_utils.cli import main

    assert main(["run", "--profile", str(prof), "--steps", "04", "--root", str(project), "--no-html"]) == 1
    err = capsys.readouterr().err
    assert "error: 04_run_experiment_I did not run: step 01 last ran with other settings" in err
    assert "Traceback" not in err


def test_warnings_of_a_notebook_reach_the_console_even_when_it_fails(project, capsys):
    _nb(project / "notebooks/01_first.ipynb",
        "from landslide_utils.notices import notify\nnotify('data/x.tif: has no nodata value')\n1/0")
    with pytest.raises(StepFailed):
        run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                     steps=["01"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "warning:" in ln]
    assert lines == ["[1/1] 01_first: warning: data/x.tif: has no nodata value"]


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(project):
    reports, data = project / "reports/smoke", project / "data/smoke/tiles"
    reports.mkdir(parents=True)
    data.mkdir(parents=True)
    stale = [reports / ".01_first.ipynb.k3jd_8x2.ipynb", data / ".index.gpkg.a0b1c2d3.gpkg"]
    kept = [reports / ".keep", data / ".generated_with.json", reports / "notes.abcdefgh.txt"]
    for p in stale + kept:
        p.write_text("x")
    run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                 steps=["01"])
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                   (signal.SIGINT, 130, "interrupted")])
def test_a_signal_during_a_run_prints_one_line_and_leaves_no_temporary_file(project, sig, code, word):
    _nb(project / "notebooks/01_first.ipynb", "import time\ntime.sleep(120)")
    reports = project / "reports/smoke"
    proc = subprocess.Popen([sys.executable, "-m", "landslide_utils", "run", "--profile",
                             "params/profiles/smoke.yaml", "--steps", "01", "--no-html"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not list(reports.glob(".01_first.ipynb.*")) and time.monotonic() < deadline:  # the notebook runs
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == code, out + err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(word) and "run the same command again to resume" in last, err
    assert [p.name for p in reports.iterdir() if p.is_file()] == []  # no temporary, no failed notebook
    assert not list((project / "data/smoke/.stamps").glob("01_*.json"))


def test_a_profile_warning_is_printed_once_per_run(project, capsys):
    """A key given twice: said on the console once, though every notebook loads the profile again."""
    prof = project / "params/profiles/smoke.yaml"
    prof.write_text(prof.read_text().replace("seed: 0\n", "seed: 0\nseed: 0\n", 1))
    _nb(project / "notebooks/01_first.ipynb", "from landslide_utils.config.load import load_profile\nload_profile(profile)")
    _nb(project / "notebooks/02_second.ipynb", "from landslide_utils.config.load import load_profile\nload_profile(profile)")
    run_pipeline(profile_path=prof, root=project, progress=False, html=False, steps=["01", "02"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "warning:" in ln]
    assert len(lines) == 1 and "key 'seed' is given twice" in lines[0] and lines[0].startswith("warning: ")


def test_a_profile_reading_another_profiles_prepared_data_judges_it_by_that_profile(project):
    """A sweep's shared step 03 and its points read step 01's outputs from a folder another profile prepared
    (``paths.prepared``): that step is current when its writer's digest is, and the data settings must match."""
    a = project / "params/profiles/smoke.yaml"
    kw = {"root": project, "progress": False, "html": False}
    run_pipeline(profile_path=a, steps=["01"], **kw)
    text = a.read_text(encoding="utf-8").replace("name: smoke", "name: reader", 1)
    moved = f"\npaths:\n  prepared: {project / 'data' / 'smoke'}\n"
    b = project / "params/profiles/reader.yaml"
    b.write_text(text.replace("seed: 0", "seed: 1", 1) + moved, encoding="utf-8")  # seed: not a data setting
    assert [s for _, s in run_pipeline(profile_path=b, steps=["02"], **kw)] == ["ran"]
    c = project / "params/profiles/other_tiles.yaml"
    c.write_text(re.sub(r"tile_size: \d+", "tile_size: 32", text.replace("name: reader", "name: other_tiles"))
                 + moved, encoding="utf-8")
    with pytest.raises(StaleUpstream, match=r"written by params/profiles/smoke.yaml, whose key 'tiling' differs"):
        run_pipeline(profile_path=c, steps=["02"], **kw)
    _nb(project / "notebooks/01_first.ipynb", "print('changed')")  # the writer's step 01 is now out of date
    with pytest.raises(StaleUpstream, match="step 01 last ran with other settings or inputs"):
        run_pipeline(profile_path=b, steps=["02"], **kw)


def test_the_same_inputs_named_from_two_folders_are_the_same_data(tmp_path):
    """A sweep's shared steps live in folders of their own: the same chip folder, named relative to each profile
    file, is the same data setting; another folder is not."""
    (tmp_path / "chips").mkdir()
    (tmp_path / "other").mkdir()
    text = (ROOT / "params/profiles/bijie_sample.yaml").read_text(encoding="utf-8")
    paths = {}
    for name, folder in (("a/p.yaml", "chips"), ("b/c/p.yaml", "chips"), ("d/p.yaml", "other")):
        paths[name] = tmp_path / name
        paths[name].parent.mkdir(parents=True)
        train = os.path.relpath(tmp_path / folder, paths[name].parent)  # relative to each profile file
        paths[name].write_text(re.sub(r"(?m)^(\s*train:) .*$", rf"\g<1> {train}", text, count=1), encoding="utf-8")
    a, b, d = (load_profile(paths[n]) for n in ("a/p.yaml", "b/c/p.yaml", "d/p.yaml"))
    assert _prepared_difference(a, b, "01") is None
    assert _prepared_difference(a, d, "01") == "data"
