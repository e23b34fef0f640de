"""Input checks (``landslide_utils.inputs.checks``), on a tiny set of real-format input files: every problem is found
before anything is written, and the message names the file and the fix."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine, from_origin
from shapely.geometry import Point, Polygon, box

from landslide_utils.config.data_schema import AreaSpec
from landslide_utils.config.load import load_profile
from landslide_utils.inputs.checks import check_inputs, inspect_inputs
from landslide_utils.inputs.findings import Finding, InputError, InputPaths, Inspection
from landslide_utils.steps.prepare import prepare_data
from tests.data.tiny_files import make_data as md

SIZE_M = md.SIZE * md.RES  # the image is SIZE_M x SIZE_M metres, upper-left corner (X0, Y0)


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    return md.make_inputs(tmp_path / "in")


def _paths(inputs: dict[str, Path], **kw) -> InputPaths:  # noqa: ANN003
    keys = ("image_t1", "dem", "rivers", "inventory", "areas")
    return InputPaths(**{**{k: inputs[k] for k in keys}, **kw})


def _write_areas(path: Path, rows: list[tuple[str, str, tuple[float, float, float, float]]]) -> Path:
    gdf = gpd.GeoDataFrame({"name": [r[0] for r in rows], "split": [r[1] for r in rows]},
                           geometry=[box(*r[2]) for r in rows], crs=md.CRS)
    gdf.to_file(path, driver="GeoJSON")
    return path


def _messages(findings: list[Finding], level: str = "error") -> str:
    return "\n".join(str(f) for f in findings if f.level == level)


# ---------------------------------------------------------------- the result types


def test_input_paths_items_in_checking_order_without_missing_files() -> None:
    p = InputPaths(image_t1=Path("i.tif"), dem=Path("d.tif"), rivers=Path("r.geojson"), inventory=Path("v.gpkg"))
    assert p.items() == [("image_t1", Path("i.tif")), ("dem", Path("d.tif")), ("rivers", Path("r.geojson")),
                         ("inventory", Path("v.gpkg"))]
    full = InputPaths(image_t1=Path("i.tif"), dem=Path("d.tif"), rivers=Path("r.geojson"),
                      inventory=Path("v.gpkg"), image_t2=Path("t2.tif"), areas=Path("a.geojson"))
    assert [k for k, _ in full.items()] == ["image_t1", "image_t2", "dem", "rivers", "inventory", "areas"]
    assert p.source == "files"


def test_finding_text_and_dict() -> None:
    f = Finding("error", Path("data/dem.tif"), "has no CRS")  # type: ignore[arg-type]
    assert f.file == "data/dem.tif" and isinstance(f.file, str)
    assert str(f) == "ERROR: data/dem.tif: has no CRS"
    assert str(Finding("warning", None, "no areas")) == "WARNING: no areas"
    assert f.as_dict() == {"level": "error", "file": "data/dem.tif", "message": "has no CRS"}


def test_input_error_lists_the_errors_only() -> None:
    warn = Finding("warning", "a.tif", "a warning")
    e1, e2 = Finding("error", "b.tif", "first problem"), Finding("error", None, "second problem")
    err = InputError([warn, e1, e2])
    assert isinstance(err, ValueError) and err.findings == [e1, e2]
    msg = str(err)
    assert msg.startswith("2 problem(s) with the input files; nothing was written:")
    assert "  - b.tif: first problem" in msg and "  - second problem" in msg and "a warning" not in msg
    assert InputError([warn]).findings == [warn]  # no error at all: keep what was given


def test_inspection_findings_and_image_box() -> None:
    insp = Inspection()
    assert insp.image_box is None
    insp.add("info", None, "a note")
    insp.add("warning", Path("x.tif"), "a warning")
    assert insp.errors == [] and insp.findings[1].file == "x.tif"
    insp.raise_if_errors()  # nothing to raise
    insp.add("error", "y.tif", "broken")
    assert [f.message for f in insp.errors] == ["broken"]
    with pytest.raises(InputError, match="y.tif: broken"):
        insp.raise_if_errors()
    insp.image_transform, insp.width, insp.height = from_origin(100.0, 50.0, 2.0, 2.0), 10, 5
    assert insp.image_box.bounds == (100.0, 40.0, 120.0, 50.0)


# ---------------------------------------------------------------- good inputs


def test_inspect_inputs_keeps_what_it_read(inputs: dict[str, Path]) -> None:
    folder = inputs["image_t1"].parent
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    insp = inspect_inputs(_paths(inputs))
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # reads, writes nothing
    assert insp.errors == []
    assert insp.image_path == inputs["image_t1"] and insp.image_crs.to_epsg() == 32648
    assert (insp.width, insp.height, insp.image_bands) == (md.SIZE, md.SIZE, (1, 2, 3))
    assert insp.image_box.bounds == (md.X0, md.Y0 - SIZE_M, md.X0 + SIZE_M, md.Y0)
    assert insp.dem_path == inputs["dem"] and insp.dem_footprint.contains(insp.image_box)
    assert insp.rivers.crs == insp.image_crs  # reprojected from EPSG:4326
    assert abs(insp.rivers.geometry[0].coords[0][0] - md.RIVER_X) < 0.01
    assert len(insp.inventory) == len(md.LANDSLIDES) and insp.inventory_path == inputs["inventory"]
    assert list(insp.areas["name"]) == ["train_a", "train_b", "test"]
    assert list(insp.areas["split"]) == ["train", "train", "test"] and insp.areas_source == str(inputs["areas"])
    infos = _messages(insp.findings, "info")
    assert "reprojected from EPSG:4326" in infos and str(inputs["rivers"]) in infos
    assert "geographic CRS" in infos and str(inputs["dem"]) in infos


def test_check_inputs_returns_warnings_and_can_return_errors(inputs: dict[str, Path]) -> None:
    assert not [f for f in check_inputs(_paths(inputs)) if f.level == "error"]
    inputs["rivers"].unlink()
    with pytest.raises(InputError, match="file not found"):
        check_inputs(_paths(inputs))
    found = check_inputs(_paths(inputs), raise_errors=False)
    errors = [f for f in found if f.level == "error"]
    assert len(errors) == 1 and errors[0].file == str(inputs["rivers"]) and "data.files.rivers" in errors[0].message


def test_profile_areas_replace_the_areas_file(inputs: dict[str, Path]) -> None:
    half = md.X0 + SIZE_M / 2
    areas = (AreaSpec(name="west", split="train", bounds=(md.X0, md.Y0 - SIZE_M, half, md.Y0)),
             AreaSpec(name="east", split="test", bounds=(half, md.Y0 - SIZE_M, md.X0 + SIZE_M, md.Y0)))
    insp = inspect_inputs(_paths(inputs, areas=None), profile_areas=areas)
    assert insp.errors == [] and list(insp.areas["name"]) == ["west", "east"]
    assert insp.areas_source == "the profile's 'areas'"
    profile = load_profile(md.write_profile(inputs["profile"].parent, areas_file=False, extra=(
        "areas:\n  - {name: west, split: train, bounds: [370000, 3002808, 370096, 3003000]}\n"
        "  - {name: east, split: test, bounds: [370096, 3002808, 370192, 3003000]}\n")))
    assert not [f for f in check_inputs(_paths(inputs, areas=None), profile=profile) if f.level == "error"]
    none = check_inputs(_paths(inputs, areas=None), raise_errors=False)
    assert "no train/test areas" in _messages(none)


def test_synthetic_source_hints_and_levels(inputs: dict[str, Path]) -> None:
    md.make_image(inputs["image_t1"], nodata=None)
    files = check_inputs(_paths(inputs))
    synth = check_inputs(_paths(inputs, source="synthetic"))
    assert "no nodata value" in _messages(files, "warning") and "no nodata value" in _messages(synth, "info")
    assert "no nodata value" not in _messages(synth, "warning")
    inputs["dem"].unlink()
    found = check_inputs(_paths(inputs, source="synthetic"), raise_errors=False)
    assert "regenerate the synthetic area" in _messages(found) and "data.files" not in _messages(found)


# ---------------------------------------------------------------- problems found by inspect_inputs / check_inputs


def test_train_and_test_areas_must_not_overlap(inputs: dict[str, Path]) -> None:
    _write_areas(inputs["areas"], [("a", "train", (md.X0, md.Y0 - SIZE_M, md.X0 + 120, md.Y0)),
                                   ("b", "test", (md.X0 + 80, md.Y0 - SIZE_M, md.X0 + SIZE_M, md.Y0))])
    msg = _messages(check_inputs(_paths(inputs), raise_errors=False))
    assert "train area 'a' overlaps test area 'b'" in msg and str(inputs["areas"]) in msg


def test_area_names_and_splits(inputs: dict[str, Path]) -> None:
    west, east = (md.X0, md.Y0 - SIZE_M, md.X0 + 90, md.Y0), (md.X0 + 100, md.Y0 - SIZE_M, md.X0 + SIZE_M, md.Y0)
    _write_areas(inputs["areas"], [("same", "train", west), ("same", "test", east)])
    assert "area names ['same'] occur more than once" in _messages(check_inputs(_paths(inputs), raise_errors=False))
    _write_areas(inputs["areas"], [("a", "train", west), ("b", "validation", east)])
    assert "column 'split' holds ['validation']" in _messages(check_inputs(_paths(inputs), raise_errors=False))
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(*west)], crs=md.CRS).to_file(inputs["areas"], driver="GeoJSON")
    assert "has no 'split' column" in _messages(check_inputs(_paths(inputs), raise_errors=False))
    gpd.GeoDataFrame({"split": [" Train", "TEST"]}, geometry=[box(*west), box(*east)], crs=md.CRS).to_file(
        inputs["areas"], driver="GeoJSON")  # no names, split in other spelling
    insp = inspect_inputs(_paths(inputs))
    assert insp.errors == [] and list(insp.areas["name"]) == ["area_1", "area_2"]
    assert list(insp.areas["split"]) == ["train", "test"]


def test_area_partly_off_the_image_warns_and_off_the_image_fails(inputs: dict[str, Path]) -> None:
    _write_areas(inputs["areas"], [("a", "train", (md.X0 - 19.2, md.Y0 - SIZE_M, md.X0 + 96, md.Y0)),
                                   ("b", "test", (md.X0 + 96, md.Y0 - SIZE_M, md.X0 + SIZE_M, md.Y0))])
    found = check_inputs(_paths(inputs))
    assert "16.7 % of area 'a' lies outside the image" in _messages(found, "warning")
    _write_areas(inputs["areas"], [("a", "train", (md.X0, md.Y0 - SIZE_M, md.X0 + 96, md.Y0)),
                                   ("far", "test", (md.X0 + 5000, md.Y0, md.X0 + 5100, md.Y0 + 100))])
    assert "area 'far' does not overlap the image" in _messages(check_inputs(_paths(inputs), raise_errors=False))


def test_rotated_image_is_refused(inputs: dict[str, Path]) -> None:
    img = np.full((3, 20, 20), 100, np.uint8)
    md.write_raster(inputs["image_t1"], img, transform=Affine(2.0, 0.3, md.X0, 0.3, -2.0, md.Y0), crs=md.CRS,
                    nodata=0)
    found = check_inputs(_paths(inputs), raise_errors=False)
    assert "rotated geotransform" in _messages(found) and str(inputs["image_t1"]) in _messages(found)


def test_inventory_off_the_image_and_second_image_elsewhere(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_inventory(inputs["inventory"], polygons=[Point(md.X0 + 9000, md.Y0 + 9000).buffer(10)])
    t2 = md.write_raster(tmp_path / "t2.tif", np.full((3, 10, 10), 9, np.uint8),
                         transform=from_origin(md.X0 + 9000, md.Y0 + 9000, 2.0, 2.0), crs=md.CRS, nodata=0)
    msg = _messages(check_inputs(_paths(inputs, image_t2=t2), raise_errors=False))
    assert "none of its 1 polygons overlaps the image" in msg
    assert f"{t2}: does not overlap the image" in msg


def test_second_image_on_the_image_is_kept(inputs: dict[str, Path], tmp_path: Path) -> None:
    t2 = md.write_raster(tmp_path / "t2.tif", np.full((3, 40, 40), 77, np.uint8),
                         transform=from_origin(md.X0 - 10, md.Y0 + 10, 5.5, 5.5), crs=md.CRS, nodata=0)
    insp = inspect_inputs(_paths(inputs, image_t2=t2))
    assert insp.errors == [] and insp.image_t2_path == t2


def test_second_image_with_fewer_bands_warns_unless_the_named_first_three_match(inputs: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    """A five-band post-event image (red, green, blue, nir, swir) and an RGB second date: a warning when the
    bands carry no names, an info when both name the same first three bands (the ones the models read)."""
    from landslide_utils.files.atomic import write_geotiff

    with rasterio.open(inputs["image_t1"]) as src:
        tr, h, w = src.transform, src.height, src.width
    rgb = ["red", "green", "blue"]
    t1 = np.full((5, h, w), 90, np.uint8)
    t2 = np.full((3, h, w), 80, np.uint8)
    for names in (None, rgb):
        write_geotiff(inputs["image_t1"], t1, transform=tr, crs=md.CRS, band_names=names and rgb + ["nir", "swir"])
        p2 = write_geotiff(tmp_path / "t2.tif", t2, transform=tr, crs=md.CRS, band_names=names)
        found = check_inputs(_paths(inputs, image_t2=p2), raise_errors=False)
        level = "warning" if names is None else "info"
        assert "has 3 image bands, the post-event image" in _messages(found, level), (names, found)
        other = "info" if names is None else "warning"
        assert "has 3 image bands" not in _messages(found, other)


# ---------------------------------------------------------------- problems stop step 01 before anything is written


def _expect_error(inputs: dict[str, Path], tmp_path: Path, file_key: str | None, *phrases: str) -> None:
    root = tmp_path / "root"
    profile = load_profile(inputs["profile"])
    with pytest.raises(InputError) as info:
        prepare_data(profile, root=root)
    msg = str(info.value)
    if file_key is not None:
        assert str(inputs[file_key]) in msg, msg
    for p in phrases:
        assert p in msg, msg
    assert "nothing was written" in msg
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*")), "files were written"


def test_raster_without_crs(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_image(inputs["image_t1"], crs=None)
    _expect_error(inputs, tmp_path, "image_t1", "has no CRS", "gdal_edit.py -a_srs")


def test_dem_not_overlapping(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_dem_geographic(inputs["dem"], offset_m=50_000.0)
    _expect_error(inputs, tmp_path, "dem", "does not overlap the image")


def test_dem_not_covering_test_area(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_dem_geographic(inputs["dem"], xmax_m=md.X0 + 120.0)  # the test area spans x = X0 + 96 .. X0 + 192
    _expect_error(inputs, tmp_path, "dem", "does not cover area 'test'")


def test_empty_inventory(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_inventory(inputs["inventory"], polygons=[])
    _expect_error(inputs, tmp_path, "inventory", "the inventory has no polygons")


def test_invalid_bowtie_polygon(inputs: dict[str, Path], tmp_path: Path) -> None:
    x, y = md.X0 + 50, md.Y0 - 50
    bowtie = Polygon([(x, y), (x + 20, y - 20), (x + 20, y), (x, y - 20)])
    md.make_inventory(inputs["inventory"], polygons=[Point(md.X0 + 30, md.Y0 - 30).buffer(8), bowtie])
    _expect_error(inputs, tmp_path, "inventory", "feature 2 (landslide_id 2)", "Self-intersection", "make_valid",
                  "Fix geometries")


def test_corrupt_geotiff(inputs: dict[str, Path], tmp_path: Path) -> None:
    inputs["dem"].write_bytes(b"II*\x00" + np.random.default_rng(0).bytes(3000))
    _expect_error(inputs, tmp_path, "dem", "cannot be read as a GeoTIFF", "re-export it")


def test_truncated_geotiff(inputs: dict[str, Path], tmp_path: Path) -> None:
    data = inputs["image_t1"].read_bytes()
    inputs["image_t1"].write_bytes(data[: len(data) // 2])
    _expect_error(inputs, tmp_path, "image_t1", "is damaged", "re-export")


def test_missing_file(inputs: dict[str, Path], tmp_path: Path) -> None:
    inputs["rivers"].unlink()
    _expect_error(inputs, tmp_path, "rivers", "file not found", "data.files.rivers")


def test_rivers_not_lines_and_image_with_two_bands(inputs: dict[str, Path], tmp_path: Path) -> None:
    gpd.GeoDataFrame(geometry=[box(md.X0, md.Y0 - 50, md.X0 + 20, md.Y0)], crs=md.CRS).to_file(
        inputs["rivers"], driver="GeoJSON")
    md.make_image(inputs["image_t1"], bands=2)
    _expect_error(inputs, tmp_path, "image_t1", "at least 3 bands", str(inputs["rivers"]), "river lines")


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")  # writing the defect warns, as it should
def test_vector_without_crs(inputs: dict[str, Path], tmp_path: Path) -> None:
    gdf = gpd.read_file(inputs["inventory"])
    gdf.set_crs(None, allow_override=True).to_file(inputs["inventory"], driver="GPKG")
    _expect_error(inputs, tmp_path, "inventory", "has no CRS", "set_crs")


def test_areas_without_test_split(inputs: dict[str, Path], tmp_path: Path) -> None:
    md.make_areas(inputs["areas"], splits=("train", "train", "train"))
    _expect_error(inputs, tmp_path, "areas", "there is no 'test' area")


def test_geographic_image_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    img = np.full((3, 20, 20), 100, np.uint8)
    md.write_raster(inputs["image_t1"], img, transform=from_origin(103.6, 27.1, 1e-4, 1e-4), crs="EPSG:4326",
                    nodata=0)
    _expect_error(inputs, tmp_path, "image_t1", "projected CRS", "EPSG:32648")


def test_an_integer_dem_with_declared_nodata_is_read(inputs: dict[str, Path], tmp_path: Path) -> None:
    """SRTM-style int16 elevations with nodata -32768 (once a TypeError naming no file in the alignment)."""
    with rasterio.open(inputs["dem"]) as src:
        dem, tr, crs = src.read(1), src.transform, src.crs
    ints = np.round(dem).astype(np.int16)
    ints[:3, :3] = -32768
    md.write_raster(inputs["dem"], ints, transform=tr, crs=crs, nodata=-32768)
    result = prepare_data(load_profile(inputs["profile"]), root=tmp_path / "root")
    with rasterio.open(result.aligned.slope) as src:
        slope = src.read(1)
    assert np.nanmax(slope) < 60 and np.isfinite(slope).any()


def test_gao_inputs_are_checked_before_anything_is_computed(inputs: dict[str, Path], tmp_path: Path) -> None:
    """Infrared band numbers, the lithology column and units, and faults far away: each a finding naming the file
    and the key (Gao et al. 2021's inputs)."""
    from shapely.geometry import LineString

    img = md.make_image(tmp_path / "img5.tif", bands=5)
    litho = tmp_path / "litho.gpkg"
    gpd.GeoDataFrame({"rock": ["soft", "hard"]},
                     geometry=[box(md.X0, md.Y0 - 200, md.X0 + 100, md.Y0), box(md.X0 + 100, md.Y0 - 200,
                                                                                md.X0 + 200, md.Y0)],
                     crs=md.CRS).to_file(litho, driver="GPKG")
    faults = tmp_path / "faults.geojson"
    gpd.GeoDataFrame(geometry=[LineString([(md.X0 + 90_000, md.Y0), (md.X0 + 90_000, md.Y0 - 500)])],
                     crs=md.CRS).to_file(faults, driver="GeoJSON")
    paths = _paths({**inputs, "image_t1": img}, lithology=litho, faults=faults)
    found = inspect_inputs(paths, infrared={"nir_band": 2, "swir_band": 7}, lithology_column="lithology").findings
    errors = _messages(found)
    assert f"{img}: key 'factors.nir_band': band 2 is one of the first three bands" in errors
    assert "key 'factors.swir_band': the image has no band 7 (its bands: 1, 2, 3, 4, 5" in errors
    assert f"{litho}: has no column 'lithology' (key 'factors.lithology_column'); its columns: rock" in errors
    assert f"{faults}: its nearest fault line is 89.8 km from the image" in _messages(found, "warning")
    found = inspect_inputs(paths, infrared={"nir_band": 4, "swir_band": 5}, lithology_column="rock",
                           lithology_units=("hard", "weak")).findings
    errors = _messages(found)
    assert "band" not in errors  # bands 4 and 5 exist
    assert "column 'rock' holds units not in key 'factors.lithology_units': 'soft'" in errors
