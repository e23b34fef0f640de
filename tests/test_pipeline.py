"""The papermill runner on a tiny throw-away project: order, skipping, failure reporting, per-experiment runs."""

import shutil
from pathlib import Path

import nbformat
import pytest

from landslide_utils.config import ConfigError
from landslide_utils.pipeline import StepFailed, metrics_warnings, plan_steps, run_pipeline

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
    assert "experiments: [I, II, III, IV, V, VI, VII, VIII]" in text
    (tmp_path / "params/profiles/smoke.yaml").write_text(  # the profile's list of experiments drives step 04
        text.replace("experiments: [I, II, III, IV, V, VI, VII, VIII]", "experiments: [I, II]"), encoding="utf-8")
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


def test_guard_warnings_reach_the_console(project, capsys):
    """A model that predicts no landslide is said on the console, not only in the executed notebook."""
    body = ("import json\nfrom pathlib import Path\nname = Path(experiment).stem\n"
            "out = Path('reports/smoke/metrics') / f'{name}.json'\nout.parent.mkdir(parents=True, exist_ok=True)\n"
            "out.write_text(json.dumps({'warnings': ['Experiment II predicts no landslide pixel'] if name == 'II' "
            "else []}))")
    _nb(project / "notebooks/04_run_experiment.ipynb", body, 'experiment = ""')
    run_pipeline(profile_path=project / "params/profiles/smoke.yaml", root=project, progress=False, html=False,
                 steps=["04"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "warning:" in ln]
    assert lines == ["[2/2] 04_run_experiment_II: warning: Experiment II predicts no landslide pixel"]
    assert metrics_warnings(project / "reports/smoke/metrics/I.json") == []
    assert metrics_warnings(project / "no/such.json") == []


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
    assert main(["run", "--profile", "params/profiles/smoke.yaml", "--steps", "02", "--no-html"]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert main(["run", "--profile", "params/profiles/nope.yaml"]) == 2
