"""Step 01, data preparation: the one call of notebook ``01_prepare_data`` (docs/methods.md, "Data preparation").

:func:`prepare_data` takes a profile from inputs to tiles, the same way for the embedded synthetic area and for
the user's own GeoTIFFs and vectors:

1. synthetic source: generate the area into ``data/<profile>/inputs`` when it is missing or was generated
   with other settings (:mod:`landslide_utils.synthetic`);
2. check the inputs and align DEM, slope, river levels and the landslide instances to the image grid
   (:func:`landslide_utils.inputs.layers.align_layers`; nothing is written when a check fails);
3. cut every area into tiles and write the tile index (:func:`landslide_utils.tiles.tiling.make_tiles`);
4. write COCO annotations of the training tiles (:func:`landslide_utils.tiles.coco.write_coco`);
5. count landslide / non-landslide tiles per split (Yang et al. 2022 had 531 training tiles).

A chip dataset (``data.source: chips``) replaces steps 1-3 by :mod:`landslide_utils.chips.study_tiles` (chips cut into
tiles of the same format). The extra test sets of ``evaluation.extra_tests`` are cut into tiles too, for any
source, into ``<prepared>/extra_tests/<name>/tiles``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from landslide_utils.chips.study_tiles import chip_counts, extra_test_split, split_chips, tile_chip_dataset
from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import write_json
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.inputs.findings import Finding, InputPaths
from landslide_utils.inputs.layers import align_layers, load_inputs
from landslide_utils.notices import notify
from landslide_utils.paths import StudyPaths
from landslide_utils.synthetic import GEOLOGY_FILES, generate_from_profile, synthetic_files
from landslide_utils.tiles.coco import write_coco
from landslide_utils.tiles.tiling import make_tiles, split_counts

__all__ = ["PrepareResult", "prepare_data", "ensure_synthetic_inputs"]

_RECORD = ".generated_with.json"


@dataclass
class PrepareResult:
    """What step 01 produced.

    Attributes:
        inputs: the input files used (None for a chip dataset).
        aligned: the layers on the image grid (paths and grid); None for a chip dataset.
        areas: the train/test areas (image CRS); for a chip dataset the chips' footprints on the mosaic.
        tiles: the tile index (also in ``tiles_dir/index.gpkg``).
        counts: per split, landslide / non-landslide tile counts, landslides and area (see :func:`split_counts`).
        findings: warnings and notes of the input checks.
        tiles_dir: the tiles folder. coco_train: COCO annotations of the training tiles.
        chips: the chip manifest (:mod:`landslide_utils.chips.study_tiles`) of a chip dataset, else None.
        extra_tests: per extra test set, its tile counts.
    """

    inputs: InputPaths | None
    aligned: AlignedLayers | None
    areas: gpd.GeoDataFrame
    tiles: gpd.GeoDataFrame
    counts: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    tiles_dir: Path = Path(".")
    coco_train: Path = Path(".")
    chips: dict | None = None
    extra_tests: dict[str, pd.DataFrame] = field(default_factory=dict)


def _synthetic_record(profile: Profile) -> dict:
    assert profile.data.synthetic is not None
    return {"synthetic": profile.data.synthetic.model_dump(mode="json")}


def ensure_synthetic_inputs(profile: Profile, input_dir: str | Path) -> bool:
    """Generate the synthetic area into ``input_dir`` unless it is there and was made with the same settings.

    Returns:
        True when the area was (re)generated.
    """
    input_dir = Path(input_dir)
    spec = profile.data.synthetic
    assert spec is not None
    files = synthetic_files(spec)  # the geology files only when the spec asks for them
    needed = (["image_t1", "dem", "rivers", "inventory"] + ([] if profile.areas else ["areas"])
              + (list(GEOLOGY_FILES) if spec.geology else []))
    record_path = input_dir / _RECORD
    want = _synthetic_record(profile)
    if all((input_dir / files[k]).exists() for k in needed) and record_path.exists():
        try:
            if json.loads(record_path.read_text(encoding="utf-8")) == want:
                return False
        except json.JSONDecodeError:
            pass
    input_dir.mkdir(parents=True, exist_ok=True)
    generate_from_profile(profile, input_dir)
    write_json(record_path, want)
    return True


def prepare_data(profile: Profile, *, root: str | Path = Path(".")) -> PrepareResult:
    """Step 01 of the study: inputs -> aligned layers -> tiles, tile index and COCO annotations.

    Args:
        profile: the study (``load_profile``). ``data.source: synthetic`` generates the area into
            ``data/<name>/inputs`` when needed; ``files`` uses the profile's ``data.files``.
        root: the project root (``data/<name>/`` is created below it).

    Returns:
        A :class:`PrepareResult`.

    Raises:
        InputError: an input problem (nothing of the aligned layers or tiles is written then).
    """
    sp = StudyPaths.of(profile, Path(root))
    extra = prepare_extra_tests(profile, root=root)
    if profile.data.source == "chips":
        spec = profile.data.chips
        assert spec is not None
        index, manifest = tile_chip_dataset(split_chips(spec), fmt=spec.format, tile_size=profile.tiling.tile_size,
                                            out_dir=sp.tiles, pixel_size_m=spec.pixel_size_m, bands=spec.bands)
        coco = write_coco(index, sp.tiles, out_path=sp.coco_train, split="train")
        findings = [] if spec.pixel_size_m else [Finding(
            "info", None, "data.chips.pixel_size_m is not set: areas and landslide sizes are in pixels "
            "(1 pixel = 1 m2 in the tables)")]
        areas = gpd.GeoDataFrame({"name": index["area"], "split": index["split"]}, geometry=index.geometry,
                                 crs=None).dissolve(by="name", as_index=False)
        return PrepareResult(inputs=None, aligned=None, areas=areas, tiles=index,
                             counts=chip_counts(index, manifest), findings=findings, tiles_dir=sp.tiles,
                             coco_train=coco, chips=manifest, extra_tests=extra)
    if profile.data.source == "synthetic":
        ensure_synthetic_inputs(profile, sp.inputs)
    inputs = load_inputs(profile, input_dir=sp.inputs)
    aligned = align_layers(profile, inputs, out_dir=sp.aligned)
    for f in aligned.findings:
        if f.level == "warning":
            notify(f"{f.file}: {f.message}" if f.file else f.message)
    areas = gpd.read_file(aligned.areas)
    index = make_tiles(profile, aligned, areas, out_dir=sp.tiles)
    coco = write_coco(index, sp.tiles, out_path=sp.coco_train, split="train")
    counts = split_counts(index, aligned=aligned, areas=areas)
    return PrepareResult(inputs=inputs, aligned=aligned, areas=areas, tiles=index, counts=counts,
                         findings=list(aligned.findings), tiles_dir=sp.tiles, coco_train=coco, extra_tests=extra)


def prepare_extra_tests(profile: Profile, *, root: str | Path = Path(".")) -> dict[str, pd.DataFrame]:
    """Cut every extra test set of ``evaluation.extra_tests`` into tiles of the profile's tile size (all test
    chips), into ``<prepared>/extra_tests/<name>/tiles``; return their tile counts by name.

    Raises:
        ChipError: a layout or file problem of an extra test set (naming it and its files).
    """
    sp = StudyPaths.of(profile, Path(root))
    out: dict[str, pd.DataFrame] = {}
    for spec in profile.evaluation.extra_tests:
        index, manifest = tile_chip_dataset(extra_test_split(spec), fmt=spec.format,
                                            tile_size=profile.tiling.tile_size, out_dir=sp.extra_tiles(spec.name),
                                            pixel_size_m=spec.pixel_size_m, bands=spec.bands, label=spec.name)
        out[spec.name] = chip_counts(index, manifest)
    return out
