"""The catalogue of bad inputs (docs/input_checks.md): every one goes through the entry point a user calls --
``python -m landslide_utils check --profile P`` and, where only step 01 can tell (it must read or align the data),
``run --profile P --steps 01`` -- and must give a non-zero exit (or, for a warning, a ``warning:`` line on the
console), a message naming the file or key, no traceback, and nothing written but the failed notebook.

The bad inputs are written by ``tests/data/bad_inputs/make_data.py``, one defect each on the tiny study of
``tests/data/tiny_files`` or on tiny chip datasets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from landslide_utils.cli import main
from tests.data.bad_inputs import make_data as bad
from tests.study_project import ROOT, make_project

DOC = ROOT / "docs/input_checks.md"
# writing and reading some defects makes pyogrio warn about them, as it should (a vector without CRS; a GeoPackage
# of two layers): those warnings are part of the cases, not of the package
pytestmark = [pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning"),
              pytest.mark.filterwarnings("ignore:More than one layer found:UserWarning")]


@dataclass(frozen=True)
class Case:
    """One bad input: its maker in ``bad.MAKERS``, what the message must say, and how it is reached."""

    name: str
    expect: tuple[str, ...]
    level: str = "error"  # "warning": the command succeeds and prints a warning line
    entry: str = "check"  # "check"; "run" (step 01 through the runner: what only reading the data finds); "both"
    argv: tuple[str, ...] = ()


CASES: tuple[Case, ...] = (
    # parameter files
    Case("profile_folder", ("folder.yaml", "is a folder"), entry="both"),
    Case("profile_binary", ("binary.yaml", "not a text file")),
    Case("profile_list", ("list.yaml", "mapping of keys")),
    Case("profile_empty", ("empty.yaml", "an empty file")),
    Case("profile_tab", ("tab.yaml", "not valid YAML")),
    Case("profile_self_alias", ("alias.yaml", "refers to itself")),
    Case("profile_duplicate_key", ("profile.yaml", "key 'seed' is given twice", "lines 2 and 3"), level="warning"),
    Case("profile_unknown_key", ("profile.yaml", "'tiling.foo'", "unknown key")),
    Case("profile_ill_typed", ("profile.yaml", "'tiling.tile_size'", "valid integer")),
    Case("profile_name_dotdot", ("profile.yaml", "key 'name'", "'..'"), entry="both"),
    Case("profile_name_slash", ("profile.yaml", "key 'name'", "'a/b'")),
    Case("profile_infinite", ("profile.yaml", "'training.learning_rate'", "finite")),
    Case("profile_empty_path", ("profile.yaml", "'data.files.image_t1'", "empty path")),
    Case("profile_unknown_backbone", ("profile.yaml", "models.maskrcnn.backbone", "resnet9999")),
    Case("profile_anchor_count", ("profile.yaml", "models.maskrcnn.anchor_sizes", "needs 5 positive sizes")),
    Case("profile_unknown_encoder", ("profile.yaml", "models.unet.encoder", "nosuchencoder")),
    Case("profile_missing_weights", ("models.pspnet.pretrained_weights", "nothere.pth", "not found")),
    Case("profile_unknown_experiment", ("profile.yaml", "'experiments'", "NOPE")),
    Case("profile_tile_too_large", ("tiling.tile_size", "larger than the whole image", "image_t1.tif")),
    Case("profile_tiles_mostly_padding", ("areas.geojson", "padding", "tiling.tile_size"), level="warning"),
    Case("profile_override_matches_nothing", ("profile.yaml", "'experiment_overrides.NOPE*'", "matches no experiment"),
         entry="both"),
    Case("profile_name_too_long", ("profile.yaml", "key 'name'", "at most 100"), entry="both"),
    Case("profile_cuda_without_gpu", ("profile.yaml", "key 'device'", "no CUDA GPU")),
    Case("experiment_unknown_model", ("E.yaml", "key 'model'", "resnet_magic"), argv=("--experiment", "E.yaml")),
    Case("experiment_bad_override", ("E.yaml", "'training.steps'", "greater than 0"), argv=("--experiment", "E.yaml")),
    Case("experiment_name_escapes", ("E.yaml", "key 'name'", "'../x'"), argv=("--experiment", "E.yaml")),
    # rasters
    Case("missing_file", ("rivers.geojson", "file not found", "data.files.rivers")),
    Case("input_is_folder", ("inventory.gpkg", "is a folder", "data.files.inventory")),
    Case("raster_random_bytes", ("dem.tif", "cannot be read as a GeoTIFF", "re-export")),
    Case("raster_damaged_inside", ("image_t1.tif", "is damaged", "rows 32-47", "re-export"), entry="both"),
    Case("png_named_tif", ("image_t1.tif", "not a GeoTIFF", "PNG")),
    Case("raster_without_crs", ("image_t1.tif", "has no CRS", "gdal_edit.py -a_srs")),
    Case("image_geographic", ("image_t1.tif", "geographic CRS", "gdalwarp")),
    Case("image_rotated", ("image_t1.tif", "rotated geotransform")),
    Case("image_bgr_labels", ("image_t1.tif", "labelled blue, green, red", "gdal_translate -b 3 -b 2 -b 1")),
    Case("image_two_bands", ("image_t1.tif", "2 image band(s)", "at least 3")),
    Case("image_sentinel", ("image_t1.tif", "-9999", "gdal_edit.py -a_nodata -9999")),
    Case("image_black_fill", ("image_t1.tif", "0 in every band", "gdal_edit.py -a_nodata 0"), level="warning"),
    Case("image_all_nodata", ("image_t1.tif", "no valid pixel")),
    Case("dem_sentinel", ("dem.tif", "not elevations", "-9999", "gdal_edit.py -a_nodata -9999"), entry="both"),
    Case("dem_too_small", ("dem.tif", "2 x 2 pixels", "3 x 3")),
    Case("dem_all_nodata", ("dem.tif", "no valid elevation")),
    Case("dem_is_the_image", ("dem.tif", "3 bands", "one band of elevations")),
    Case("dem_elsewhere", ("dem.tif", "does not overlap the image")),
    Case("dem_not_covering", ("dem.tif", "does not cover area")),
    Case("second_image_two_bands", ("image_t2.tif", "2 image band(s)", "second-date")),
    Case("second_image_partial", ("image_t2.tif", "does not cover area", "image_t2")),
    Case("second_image_without_crs", ("image_t2.tif", "has no CRS")),
    # vectors
    Case("rivers_polygons", ("rivers.geojson", "Polygon", "river lines")),
    Case("rivers_far_away", ("rivers.geojson", "km from the image", "farthest river level"), level="warning"),
    Case("inventory_table", ("inventory.csv", "no geometry column")),
    Case("inventory_empty", ("inventory.gpkg", "no polygons")),
    Case("inventory_bowtie", ("inventory.gpkg", "invalid landslide polygons", "feature 2")),
    Case("inventory_without_crs", ("inventory.gpkg", "has no CRS", "set_crs")),
    Case("inventory_is_areas", ("areas.geojson", "cover 100 % of the image", "areas file")),
    Case("inventory_off_image", ("inventory.gpkg", "none of its 1 polygons overlaps the image")),
    Case("inventory_repeated", ("inventory.gpkg", "2 polygon(s) repeat another"), level="warning"),
    Case("inventory_two_layers", ("both.gpkg", "2 layers", "a_rivers", "landslide polygons must be")),
    Case("inventory_below_pixel", ("inventory.gpkg", "covers an image pixel centre"), entry="run"),
    Case("no_landslide_in_train", ("inventory.gpkg", "no landslide pixel lies in a train area"), entry="run"),
    Case("areas_without_split", ("areas.geojson", "'split' column")),
    Case("areas_without_test", ("areas.geojson", "no 'test' area")),
    Case("areas_train_overlaps_test", ("areas.geojson", "overlaps test area")),
    Case("areas_names_clash", ("areas.geojson", "north/a", "same file name")),
    # chip datasets
    Case("chips_folder_missing", ("nowhere", "dataset folder not found")),
    Case("chips_mask_missing", ("b.jpg", "no mask with the stem 'b'")),
    Case("chips_mask_size", ("b.png", "mask of 12 x 10 pixels", "16 x 16")),
    Case("chips_test_is_train", ("profile.yaml", "'data.chips.test'", "the train dataset itself")),
    Case("chips_extra_test_is_train", ("profile.yaml", "evaluation.extra_tests.0.path", "train dataset")),
    Case("chips_l4s_13_bands", ("image_1.h5", "(12, 12, 13)", "H x W x 14"), entry="both"),
    Case("chips_truncated_png", ("ls001.png", "damaged image", "truncated"), entry="run"),
    Case("chips_no_landslide", ("bijie_study", "no train chip has a landslide pixel"), entry="run"),
)


def _files(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _make(case: Case, tmp_path: Path) -> tuple[Path, Path, dict[str, int]]:
    """Write the case's bad input into ``tmp_path/<case>``: (its folder, the profile, the files before the run)."""
    folder = tmp_path / case.name
    folder.mkdir()
    profile = bad.MAKERS[case.name](folder)
    return folder, profile, _files(tmp_path)


def test_every_maker_is_a_case_and_every_case_is_documented() -> None:
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    assert set(names) == set(bad.MAKERS), set(names) ^ set(bad.MAKERS)
    documented = set(re.findall(r"`([a-z0-9_]+)`", DOC.read_text(encoding="utf-8")))
    missing = [n for n in names if n not in documented]
    assert not missing, f"cases not listed in {DOC}: {missing}"


@pytest.mark.parametrize("case", [c for c in CASES if c.entry in ("check", "both")], ids=lambda c: c.name)
def test_check_names_the_file_or_key(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    folder, profile, before = _make(case, tmp_path)
    monkeypatch.chdir(ROOT)  # the project: params/experiments/ lists the experiments a profile runs
    argv = [a if not a.endswith(".yaml") else str(folder / a) for a in case.argv]
    rc = main(["check", "--profile", str(profile), *argv])
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text
    if case.level == "error":
        assert rc == 2, text
        said = err
    else:
        assert rc == 0, text
        said = "\n".join(ln for ln in err.splitlines() if ln.startswith("warning:"))
    for phrase in case.expect:
        assert phrase in said, f"{phrase!r} not in:\n{text}"
    assert _files(tmp_path) == before  # check writes nothing


@pytest.mark.parametrize("case", [c for c in CASES if c.entry in ("run", "both")], ids=lambda c: c.name)
def test_step_01_names_the_file_and_writes_only_the_failed_notebook(case: Case, tmp_path: Path, capsys) -> None:
    project = make_project(tmp_path / "project")
    _, profile, before = _make(case, tmp_path)
    rc = main(["run", "--profile", str(profile), "--steps", "01", "--no-html", "--root", str(project)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert rc in (1, 2), out + err  # 2: refused before any notebook ran; 1: step 01 failed
    for phrase in case.expect:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    written = sorted(set(_files(tmp_path)) - set(before))
    if rc == 2:
        assert written == [] and not (tmp_path.parent / "reports").exists()
        return
    assert len(written) == 1 and written[0].endswith("01_prepare_data.failed.ipynb"), written
    assert f"the partly executed notebook is at {project / written[0].removeprefix('project/')}" in err


def test_step_01_warnings_reach_the_console(tmp_path: Path, capsys) -> None:
    """A warning of the input checks is printed by the runner, not only inside the executed notebook."""
    project = make_project(tmp_path / "project")
    (tmp_path / "in").mkdir()
    profile = bad.image_black_fill(tmp_path / "in")
    assert main(["run", "--profile", str(profile), "--steps", "01", "--no-html", "--root", str(project)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "warning:" in ln]
    assert len(lines) == 1 and lines[0].startswith("[1/1] 01_prepare_data: warning: ")
    assert "image_t1.tif" in lines[0] and "0 in every band" in lines[0]
