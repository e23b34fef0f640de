"""Schemas of a profile's data sections: where the study area comes from (the embedded synthetic area, the user's
files or a chip dataset), the areas, tiling, factor classes and background enhancement.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from landslide_utils.config.base import MAX_SEED, SAFE_NAME, SAFE_NAME_RULE, Bounds, KeyedError, Strict

__all__ = ['ExtraTestSpec', 'synthetic_bounds', 'L4S_BANDS', 'SyntheticSpec', 'no_empty_path', 'InputFiles', 'CHIP_FORMATS', 'check_chip_keys', 'ChipsSpec', 'DataSpec', 'AreaSpec', 'TilingSpec', 'FactorSpec', 'EnhanceSpec']


class SyntheticSpec(Strict):
    """Settings of the embedded synthetic study area, a stand-in for Ludian (docs/methods.md, "Synthetic study
    area")."""

    width_px: int = Field(gt=31, le=8192, description="scene width in image pixels (at most 8192: the generator "
                                                       "holds the scene in memory)")
    height_px: int = Field(gt=31, le=8192, description="scene height in image pixels (at most 8192)")
    pixel_size_m: float = Field(gt=0, description="ground resolution of the image (metres)")
    dem_pixel_size_m: float = Field(gt=0, description="DEM resolution (metres); coarser than the image")
    crs: str = Field(default="EPSG:32648", description="projected CRS of every layer (UTM 48N as Ludian)")
    origin_x: float = Field(default=370000.0, description="easting of the scene's upper-left corner")
    origin_y: float = Field(default=3003000.0, description="northing of the scene's upper-left corner")
    n_landslides: int = Field(gt=0, description="number of landslides to place")
    landslide_median_area_m2: float = Field(default=600.0, gt=0, description="median of the log-normal areas")
    landslide_area_sigma: float = Field(default=0.8, gt=0, description="sigma of log(area)")
    landslide_free_share: float = Field(default=0.35, ge=0, lt=1,
                                        description="approximate share of the scene where landslides cluster out")
    factor_dependence: float = Field(default=1.0, ge=0, le=1,
                                     description="how strongly landslides follow slope, elevation and rivers: 1 = "
                                                 "the suitability map of Yang et al.'s Figures 12-14, 0 = placed "
                                                 "independently of them (the factor-neutral control)")
    base_elevation_m: float = Field(default=1500.0, description="elevation of the lowest valley floor")
    relief_m: float = Field(default=900.0, gt=0, description="elevation range of the terrain")
    n_tributaries: int = Field(default=3, ge=0, description="tributary rivers joining the main river")
    n_roads: int = Field(default=2, ge=0, description="roads (confusers)")
    n_fields: int = Field(default=6, ge=0, description="bare fields on flat ground (confusers)")
    n_buildings: int = Field(default=20, ge=0, description="buildings (confusers)")
    revegetated_share: float = Field(default=0.4, ge=0, le=1, description="share of landslides re-vegetated at t2")
    infrared_bands: bool = Field(default=False, description="add near-infrared (band 4) and short-wave-infrared "
                                                            "(band 5) bands to image_t1.tif (NDVI, MNDWI; Gao et "
                                                            "al. 2021); RGB stays as without them")
    geology: bool = Field(default=False, description="also write fault lines (faults.geojson) and lithology "
                                                     "polygons (lithology.gpkg), with landslides more frequent on "
                                                     "weak units and near faults (Gao et al. 2021)")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="seed of the scene; the profile's seed (training, validation "
                                                   "split) varies apart from it, so seeds of a sweep share one area")


def no_empty_path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty path; give a file (relative paths are relative to the profile file), or leave an "
                         "optional key out")
    return value


class InputFiles(Strict):
    """The user's own inputs (docs/methods.md, "Inputs of a study area")."""

    image_t1: Path
    dem: Path
    rivers: Path
    inventory: Path
    image_t2: Path | None = None
    areas: Path | None = None
    faults: Path | None = Field(default=None, description="fault lines (vector); gives the fault_distance channel "
                                                          "(Gao et al. 2021)")
    lithology: Path | None = Field(default=None, description="lithology polygons (vector) with the column "
                                                             "factors.lithology_column; gives the lithology channel")

    _paths = field_validator("*", mode="before")(classmethod(lambda cls, v: no_empty_path(v)))


CHIP_FORMATS: tuple[str, ...] = ("folders", "bijie", "landslide4sense")
L4S_BANDS: tuple[str, ...] = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12",
                              "slope", "dem")
"""The 14 bands of a Landslide4Sense image, in file order (Ghorbanzadeh et al. 2022, Table 1)."""


def check_chip_keys(spec: "ChipsSpec | ExtraTestSpec", where: str) -> None:
    """Checks shared by a chip data source and an extra test set: the keys its format needs or refuses."""
    if spec.format == "bijie" and spec.pixel_size_m is None:
        raise KeyedError(f"{where}pixel_size_m", "the bijie format derives slope from each chip's DEM and needs "
                          "the pixel size in metres (0.8 for the Bijie dataset of Ji et al. 2020)")
    if spec.bands is not None and spec.format != "landslide4sense":
        raise KeyedError(f"{where}bands", f"bands selects Landslide4Sense bands; the {spec.format} format reads "
                          "every image band (leave bands out)")
    if spec.bands is not None:
        bad = [b for b in spec.bands if b not in L4S_BANDS]
        if bad or len(spec.bands) < 3:
            raise KeyedError(f"{where}bands", "give at least three Landslide4Sense band names (the first three "
                              f"are the model's red, green, blue); valid: {', '.join(L4S_BANDS)}"
                              + (f"; unknown: {', '.join(bad)}" if bad else ""))


class ChipsSpec(Strict):
    """A chip dataset as the study's data (docs/methods.md, "Chip datasets"): image/mask pairs instead of a scene."""

    format: Literal["folders", "bijie", "landslide4sense"] = Field(
        description="folders (images/ + masks/), bijie (Ji et al. 2020) or landslide4sense (Ghorbanzadeh et al. "
                    "2022)")
    train: Path = Field(description="the dataset to train on (relative paths: relative to the profile file)")
    test: Path | None = Field(default=None, description="a second dataset to test on; without it, test_fraction "
                                                        "of the train chips are held out")
    test_fraction: float = Field(default=0.3, gt=0, lt=1, description="share of the train chips held out as test "
                                                                       "chips when test is not given")
    split_seed: int = Field(default=0, ge=0, le=MAX_SEED, description="seed of that split; fixed apart from the profile's seed, "
                                                         "so the seeds of a sweep share one test set")
    pixel_size_m: float | None = Field(default=None, gt=0, description="ground size of a pixel; areas, object "
                                       "sizes and the slope of a Bijie DEM need it (without it sizes are pixels)")
    bands: tuple[str, ...] | None = Field(default=None, description="landslide4sense: image bands to use, the first "
                                          "three as red, green, blue (default B4, B3, B2)")

    @model_validator(mode="after")
    def _check(self) -> "ChipsSpec":
        check_chip_keys(self, "")
        if self.test is not None and Path(self.test).resolve() == Path(self.train).resolve():
            raise KeyedError("test", "is the train dataset itself: the test would score chips the models trained "
                              "on. Give another dataset, or leave test out to hold out test_fraction of the chips")
        return self


class DataSpec(Strict):
    source: Literal["synthetic", "files", "chips"]
    synthetic: SyntheticSpec | None = None
    files: InputFiles | None = None
    chips: ChipsSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "DataSpec":
        if self.source == "synthetic" and self.synthetic is None:
            raise ValueError("source is 'synthetic' but the 'synthetic' section is missing")
        if self.source == "files" and self.files is None:
            raise ValueError("source is 'files' but the 'files' section is missing")
        if self.source == "chips" and self.chips is None:
            raise ValueError("source is 'chips' but the 'chips' section is missing (format, train, ...)")
        return self


class AreaSpec(Strict):
    name: str = Field(min_length=1)
    split: Literal["train", "test"]
    bounds: Bounds = Field(description="xmin, ymin, xmax, ymax in the image CRS")

    @model_validator(mode="after")
    def _ordered(self) -> "AreaSpec":
        xmin, ymin, xmax, ymax = self.bounds
        if not (xmax > xmin and ymax > ymin):
            raise ValueError(f"area '{self.name}': bounds must be xmin < xmax and ymin < ymax")
        return self


class TilingSpec(Strict):
    tile_size: int = Field(gt=0, le=8192, description="tile edge in pixels (1024 in the paper; at most 8192)")


class FactorSpec(Strict):
    elevation_bin_m: float = Field(default=100.0, gt=0)
    slope_bin_deg: float = Field(default=10.0, gt=0)
    river_buffer_m: float = Field(default=30.0, gt=0, description="river surface half-width (level 0)")
    river_ring_edges_m: tuple[float, ...] = Field(default=(200.0, 500.0, 1000.0, 2000.0))
    nir_band: int | None = Field(default=None, ge=1, description="1-based image band holding near-infrared (NDVI); "
                                 "the synthetic area with infrared_bands: 4")
    swir_band: int | None = Field(default=None, ge=1, description="1-based image band holding short-wave infrared "
                                  "(MNDWI); the synthetic area with infrared_bands: 5")
    lithology_column: str = Field(default="lithology", min_length=1,
                                  description="column of the lithology polygons naming the unit")
    lithology_units: tuple[str, ...] | None = Field(
        default=None, description="unit names in code order 1..K (weak to strong rock, as Gao et al. 2021 order "
                                  "them); default: the units' names sorted")
    aspect_flat_deg: float = Field(default=1.0, ge=0, lt=90, description="slopes below this are the aspect class "
                                                                         "'flat'")
    natural_breaks: int = Field(default=5, ge=2, le=12, description="classes of the natural-breaks frequency "
                                                                   "ratios (Gao et al. 2021: 5)")
    importance_samples: int = Field(default=20000, ge=100, description="pixels sampled for the random-forest "
                                                                       "importance of the factors")

    @model_validator(mode="after")
    def _increasing(self) -> "FactorSpec":
        e = self.river_ring_edges_m
        if len(e) == 0 or any(b <= a for a, b in zip(e, e[1:])) or e[0] <= 0:
            raise ValueError("river_ring_edges_m must be positive and strictly increasing")
        if self.nir_band is not None and self.nir_band == self.swir_band:
            raise ValueError("nir_band and swir_band name the same band")
        return self


class EnhanceSpec(Strict):
    """Background enhancement (Yang et al. 2022, section 3.3)."""

    n_samples: int | None = Field(default=None, ge=0, description="number of BE samples (wins over ratio)")
    ratio: float = Field(default=600 / 531, ge=0, description="BE samples per original training tile")
    splice_share: float = Field(default=0.5, ge=0, le=1, description="share of splicing (rest is CutMix)")
    splice_mode: Literal["resize", "crop"] = "resize"
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    budget: Literal["fixed_steps", "epoch_matched"] = Field(
        default="fixed_steps", description="fixed_steps: BE samples take steps from the originals; epoch_matched: "
                                           "steps grow so each original tile is seen as often as without BE")
    cutmix_factors: Literal["landslide", "background"] = Field(
        default="landslide", description="CutMix box carries the factor channels of the landslide's tile, or "
                                         "keeps the background tile's factors (no DEM/slope edge)")


class ExtraTestSpec(Strict):
    """One more chip dataset every experiment is also tested on (a cross-region test: trained here, tested there)."""

    name: str = Field(min_length=1, description="names the metrics file <EXP>@<name>.json")
    format: Literal["folders", "bijie", "landslide4sense"]
    path: Path
    pixel_size_m: float | None = Field(default=None, gt=0)
    bands: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> "ExtraTestSpec":
        if not re.fullmatch(SAFE_NAME, self.name):
            raise KeyedError("name", f"{self.name!r} {SAFE_NAME_RULE}")
        check_chip_keys(self, "")
        return self


def synthetic_bounds(spec: SyntheticSpec) -> Bounds:
    """(xmin, ymin, xmax, ymax) of the synthetic scene in its CRS."""
    xmax = spec.origin_x + spec.width_px * spec.pixel_size_m
    ymin = spec.origin_y - spec.height_px * spec.pixel_size_m
    return (spec.origin_x, ymin, xmax, spec.origin_y)
