"""The influencing factors of Gao et al. (2021) on the image grid, as far as a study's inputs allow (step 01).

Gao et al. (2021, IEEE JSTARS) stack nine landslide influencing factors behind the image of their
FC-DenseNet: elevation, slope, aspect (nine classes), curvature, NDVI, MNDWI, distance to river, distance to
fault and lithology. Elevation and slope are the layers of Yang et al. (2022) (:mod:`landslide_utils.inputs.layers`);
this module adds the others:

* ``aspect`` (class 0 = flat, 1..8 = N, NE, ..., NW) and ``curvature`` (1/100 m): computed on the DEM's own grid
  like the slope (:meth:`landslide_utils.inputs.scene_windows.DemSource.terrain_on_grid`), the classes resampled by
  nearest neighbour, the curvature bilinearly;
* ``ndvi`` and ``mndwi``: from the image bands ``factors.nir_band`` and ``factors.swir_band`` (1-based; the
  synthetic area's bands 4 and 5), with red and green;
* ``river_distance`` and ``fault_distance``: metres from each pixel centre to the nearest line
  (:func:`landslide_utils.inputs.factor_rasters.distance_to_lines`);
* ``lithology``: the unit code 1..K of the polygon under each pixel centre (0 = no polygon), K units in the order
  of ``factors.lithology_units`` or sorted by name.

A factor whose input is missing is simply absent (:func:`landslide_utils.config.study_inputs.unavailable_channel` says so to
the experiments that would need it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from landslide_utils.config.channels import FACTOR_CHANNELS
from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import infrared_bands
from landslide_utils.inputs.factor_rasters import distance_to_lines, mndwi, ndvi, rasterize_classes
from landslide_utils.inputs.findings import Finding, InputError, Inspection
from landslide_utils.inputs.scene_windows import DemSource
from landslide_utils.inputs.terrain import linear_unit_m

__all__ = ["EXTRA_FACTORS", "extra_factor_layers"]

#: the factors this module adds, in tile band order (after dem, slope, river_level)
EXTRA_FACTORS: tuple[str, ...] = tuple(n for n in FACTOR_CHANNELS if n not in ("dem", "slope", "river_level"))


def _band(path: Path, band: int, what: str) -> np.ndarray:
    with rasterio.open(path) as src:
        if band > src.count:
            raise InputError([Finding("error", str(path), f"has {src.count} bands; factors.{what}_band = {band} "
                                                          "names none of them")])
        return src.read(band, masked=True).astype(np.float32).filled(np.nan)


def extra_factor_layers(profile: Profile, insp: Inspection, dem: DemSource) -> tuple[dict[str, np.ndarray],
                                                                                      dict[str, Any]]:
    """The extra factors on the image grid of ``insp`` (float32, NaN = none; classes as float codes) and what
    they were made from (``lithology_units``: names of the codes 1..K; ``sources``: input of each factor).

    Raises:
        InputError: the lithology polygons lack ``factors.lithology_column`` or hold units not in
            ``factors.lithology_units`` (names the file and the column).
    """

    shape = (insp.height, insp.width)
    grid = {"shape": shape, "transform": insp.image_transform}
    out: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {"sources": {}}
    aspect, curv = dem.terrain_on_grid(transform=insp.image_transform, shape=shape, crs=insp.image_crs,
                                       flat_slope_deg=profile.factors.aspect_flat_deg)
    out["aspect"] = np.where(aspect == 255, np.nan, aspect).astype(np.float32)
    out["curvature"] = curv.astype(np.float32)
    info["sources"].update(aspect=str(insp.dem_path), curvature=str(insp.dem_path))
    nir, swir = infrared_bands(profile)
    image = insp.image_path
    if nir is not None:
        out["ndvi"] = ndvi(_band(image, insp.image_bands[0], "red"), _band(image, nir, "nir")).astype(np.float32)
        info["sources"]["ndvi"] = f"{image} bands {insp.image_bands[0]} and {nir}"
    if swir is not None:
        out["mndwi"] = mndwi(_band(image, insp.image_bands[1], "green"), _band(image, swir, "swir")).astype(np.float32)
        info["sources"]["mndwi"] = f"{image} bands {insp.image_bands[1]} and {swir}"
    metres = linear_unit_m(insp.image_crs)  # the distances come in the grid's units (feet on a US grid)
    if insp.rivers is not None and len(insp.rivers):
        out["river_distance"] = (distance_to_lines(list(insp.rivers.geometry), **grid) * metres).astype(np.float32)
        info["sources"]["river_distance"] = "river lines"
    if insp.faults is not None and len(insp.faults):
        out["fault_distance"] = (distance_to_lines(list(insp.faults.geometry), **grid) * metres).astype(np.float32)
        info["sources"]["fault_distance"] = "fault lines"
    if insp.lithology is not None and len(insp.lithology):
        column = profile.factors.lithology_column
        try:
            codes, names = rasterize_classes(insp.lithology, column=column, classes=profile.factors.lithology_units,
                                             **grid)
        except ValueError as exc:
            raise InputError([Finding("error", str(insp.lithology_path or "data.files.lithology"),
                                      f"{exc} (keys factors.lithology_column / factors.lithology_units)")]) from exc
        out["lithology"] = codes.astype(np.float32)
        info["lithology_units"] = list(names)
        info["sources"]["lithology"] = f"lithology polygons, column {column}"
    return {k: out[k] for k in EXTRA_FACTORS if k in out}, info
