"""Align the inputs of a study area to the image grid (step 01, docs/methods.md, "Data preparation").

The same code path serves the embedded synthetic area and the user's own GeoTIFFs and vector files:

1. :func:`load_inputs` finds the input files of a profile.
2. The checks of :mod:`landslide_utils.inputs.checks` (:func:`check_inputs`) run on every file *before anything is
   written*; errors raise :class:`InputError`. Their public names are re-exported here.
3. :func:`align_layers` brings every layer onto the post-event image grid: the DEM (reprojected to the
   image CRS first when it is geographic or rotated) gives the slope by Horn's method on its own grid, then DEM
   and slope are resampled bilinearly onto the image grid; river levels and the landslide instance raster are
   computed directly on the image grid; the valid-pixel mask joins image nodata/alpha and DEM nodata.
   Everything is computed in memory first and written only when every check has passed.
   :class:`AlignedLayers` describes (and reopens) what it wrote; the same layers as one georeferenced xarray
   Dataset: ``aligned.nc`` (:func:`landslide_utils.inputs.stack.open_aligned`).

Yang et al. (2022) stack DEM, slope and the distance-from-river level behind RGB (their sections 2.2 and 3.4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray
from rasterio.enums import ColorInterp, Resampling
from rasterio.features import rasterize

from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import write_geotiff, write_json, write_vector
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.inputs.checks import inspect_inputs, inspect_options
from landslide_utils.inputs.factor_alignment import extra_factor_layers
from landslide_utils.inputs.findings import Finding, InputError, InputPaths, Inspection
from landslide_utils.inputs.grids import match
from landslide_utils.inputs.scene_windows import DemSource
from landslide_utils.inputs.stack import write_stack
from landslide_utils.inputs.terrain import river_levels
from landslide_utils.paths import StudyPaths
from landslide_utils.synthetic import SYNTHETIC_FILES

__all__ = ["load_inputs", "align_layers"]


def load_inputs(profile: Profile, *, input_dir: str | Path | None = None) -> InputPaths:
    """The input files of a profile.

    For ``data.source: synthetic`` the files are those the generator writes into ``input_dir`` (default
    ``StudyPaths.of(profile).inputs``); for ``files`` they are the profile's ``data.files`` paths. The areas
    file is used only when the profile has no ``areas`` bounds. Nothing is opened here; see :func:`check_inputs`.
    """
    if profile.data.source == "synthetic":
        d = Path(input_dir) if input_dir is not None else StudyPaths.of(profile).inputs
        t2 = d / SYNTHETIC_FILES["image_t2"]
        return InputPaths(
            image_t1=d / SYNTHETIC_FILES["image_t1"],
            dem=d / SYNTHETIC_FILES["dem"],
            rivers=d / SYNTHETIC_FILES["rivers"],
            inventory=d / SYNTHETIC_FILES["inventory"],
            image_t2=t2 if t2.exists() else None,
            areas=None if profile.areas else d / SYNTHETIC_FILES["areas"],
            source="synthetic",
            faults=d / SYNTHETIC_FILES["faults"] if spec_geology(profile) else None,
            lithology=d / SYNTHETIC_FILES["lithology"] if spec_geology(profile) else None,
        )
    f = profile.data.files
    assert f is not None  # guaranteed by the schema
    return InputPaths(
        image_t1=Path(f.image_t1),
        dem=Path(f.dem),
        rivers=Path(f.rivers),
        inventory=Path(f.inventory),
        image_t2=Path(f.image_t2) if f.image_t2 else None,
        areas=None if profile.areas else (Path(f.areas) if f.areas else None),
        source="files",
        faults=Path(f.faults) if f.faults else None,
        lithology=Path(f.lithology) if f.lithology else None,
    )


def spec_geology(profile: Profile) -> bool:
    """Whether the synthetic area of ``profile`` has faults and lithology (``synthetic.geology``)."""
    syn = profile.data.synthetic
    return profile.data.source == "synthetic" and syn is not None and bool(syn.geology)


def _image_valid(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        valid = src.dataset_mask() > 0
        if np.dtype(src.dtypes[0]).kind == "f":
            bands = [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha]
            for b in bands:
                valid &= np.isfinite(src.read(b))
    return valid


def _image_t2_on_grid(insp: Inspection) -> np.ndarray | None:
    """The second-date image resampled (bilinear, ``rio.reproject_match``) onto the image grid, or None when it
    already matches."""
    with rasterio.open(insp.image_t2_path) as src:
        if (src.crs == insp.image_crs and src.transform == insp.image_transform
                and (src.height, src.width) == (insp.height, insp.width)):
            return None
        nodata = src.nodata
    with rioxarray.open_rasterio(insp.image_t2_path, masked=False) as t2:
        # pixels the second image does not reach get its nodata, or 0 when it has none
        out = match(t2, transform=insp.image_transform, shape=(insp.height, insp.width), crs=insp.image_crs,
                    resampling=Resampling.bilinear, nodata=nodata if nodata is not None else 0)
        return np.asarray(out.values)


def _instances(insp: Inspection, *, shape: tuple[int, int], findings: list[Finding]) -> tuple[Any, np.ndarray]:
    """The inventory with its ``instance_id`` (1..N in file order) and the instance raster on the image grid
    (pixel-centre rule); an inventory that covers no pixel centre is an error, one that partly does a finding."""
    inventory = insp.inventory.copy()
    inventory["instance_id"] = np.arange(1, len(inventory) + 1, dtype=np.int64)
    instances = rasterize(zip(inventory.geometry, inventory["instance_id"].astype(int)), out_shape=shape,
                          transform=insp.image_transform, fill=0, all_touched=False, dtype="int32")
    present = np.unique(instances[instances > 0]).size
    px = abs(insp.image_transform.a)
    if present == 0:
        raise InputError([Finding("error", insp.inventory_path,
                                  f"none of its {len(inventory)} landslide polygons covers an image pixel centre "
                                  f"(pixels of {px:g} m): the landslides are smaller than a pixel or lie outside "
                                  f"the image {insp.image_path}; use an image of finer resolution or check the "
                                  "inventory")])
    if present < len(inventory):
        level = "warning" if present < 0.5 * len(inventory) else "info"
        findings.append(Finding(level, insp.inventory_path,
                                f"{len(inventory) - present} of {len(inventory)} landslide polygons cover no image "
                                "pixel centre (outside the image, smaller than a pixel, or hidden by a later "
                                "overlapping polygon); they are absent from the instance raster"))

    return inventory, instances


def _check_areas_on_grid(insp: Inspection, *, shape: tuple[int, int], image_valid: np.ndarray, has_dem: np.ndarray,
                         valid: np.ndarray, instances: np.ndarray, findings: list[Finding]) -> None:
    """The checks that need the aligned layers, before anything is written: every area covers valid pixels with
    elevation and slope, and the train areas hold landslide pixels (errors raise, the rest joins ``findings``)."""
    errors: list[Finding] = []
    areas = insp.areas
    split_of = dict(zip(areas["name"], areas["split"]))
    landslide_px = {"train": 0, "test": 0}
    for name, geom in zip(areas["name"], areas.geometry):
        inside = rasterize([(geom, 1)], out_shape=shape, transform=insp.image_transform, fill=0,
                           all_touched=False, dtype="uint8").astype(bool)
        n = int(inside.sum())
        if n == 0:
            errors.append(Finding("error", insp.areas_source,
                                  f"area '{name}' covers no pixel centre of the image {insp.image_path}; "
                                  "check its coordinates and CRS"))
            continue
        no_dem = int((inside & image_valid & ~has_dem).sum())
        share = no_dem / n
        if share > 0.05:
            errors.append(Finding("error", insp.dem_path,
                                  f"the DEM leaves {100 * share:.1f} % of area '{name}' without elevation or slope "
                                  "(outside the DEM or nodata); supply a DEM covering the areas with a margin of "
                                  "a few DEM pixels, or fill its voids (gdal_fillnodata.py)"))
        elif no_dem:
            findings.append(Finding("warning", insp.dem_path,
                                    f"{no_dem} pixels of area '{name}' ({100 * share:.2f} %) have no elevation or "
                                    "slope; they are marked invalid"))
        if not (inside & valid).any():
            errors.append(Finding("error", insp.image_path,
                                  f"area '{name}' has no valid pixel (image nodata everywhere); check the image's "
                                  "nodata value and the area's position"))
        landslide_px[split_of[name]] += int((inside & valid & (instances > 0)).sum())
    if not errors and landslide_px.get("train", 0) == 0:
        errors.append(Finding("error", insp.inventory_path,
                              "no landslide pixel lies in a train area: there is nothing to learn from. Check that "
                              "the inventory and the train areas cover the same ground"))
    if not errors and landslide_px.get("test", 0) == 0:
        findings.append(Finding("warning", insp.inventory_path,
                                "no landslide pixel lies in a test area: precision, recall and F1 of the test area "
                                "are undefined (only false positives can be counted)"))
    if errors:
        raise InputError(errors)


def align_layers(profile: Profile, paths: InputPaths, *, out_dir: str | Path) -> AlignedLayers:
    """Check the inputs, bring every layer onto the image grid and write them to ``out_dir``.

    Writes ``dem.tif``, ``slope.tif`` (float32, NaN nodata), ``river_level.tif`` (uint8), ``instances.tif``
    (int32, 1..N in inventory order, ``rasterize`` with ``all_touched=False``), ``valid.tif`` (uint8),
    ``areas.gpkg``, ``inventory.gpkg`` (image CRS, with ``instance_id``), ``image_t2.tif`` (only when the second
    image is on another grid), ``layers.json`` and, last, ``aligned.nc``: every layer in one NetCDF file
    (:func:`landslide_utils.inputs.stack.write_stack`). Nothing is written when a check fails.

    Raises:
        InputError: any input problem (the message lists every problem, naming the file and the fix).
    """
    out_dir = Path(out_dir)
    insp = inspect_inputs(paths, **inspect_options(profile))
    insp.raise_if_errors()
    findings = list(insp.findings)

    # DEM -> slope on the DEM's own (projected) grid -> both bilinear onto the image grid, by the same code that
    # computes them for each window of a scene at prediction time (landslide_utils.inputs.scene_windows).
    shape = (insp.height, insp.width)
    with DemSource(insp.dem_path, image_crs=insp.image_crs) as dem_source:
        dem, slope = dem_source.on_grid(transform=insp.image_transform, shape=shape, crs=insp.image_crs)
        extra, extra_info = extra_factor_layers(profile, insp, dem_source)

    levels = river_levels(insp.rivers, shape=shape, transform=insp.image_transform,
                          buffer_m=profile.factors.river_buffer_m, ring_edges_m=profile.factors.river_ring_edges_m,
                          crs=insp.image_crs)
    inventory, instances = _instances(insp, shape=shape, findings=findings)
    image_valid = _image_valid(insp.image_path)
    has_dem = np.isfinite(dem) & np.isfinite(slope)
    valid = image_valid & has_dem

    _check_areas_on_grid(insp, shape=shape, image_valid=image_valid, has_dem=has_dem, valid=valid,
                         instances=instances, findings=findings)
    image_t2 = _image_t2_on_grid(insp) if insp.image_t2_path is not None else None

    # Write (each file atomically).
    areas = insp.areas
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = {"transform": insp.image_transform, "crs": insp.image_crs}
    write_geotiff(out_dir / "dem.tif", dem, nodata=float("nan"), band_names=["dem"], **grid)
    write_geotiff(out_dir / "slope.tif", slope, nodata=float("nan"), band_names=["slope"], **grid)
    write_geotiff(out_dir / "river_level.tif", levels, band_names=["river_level"], **grid)
    write_geotiff(out_dir / "instances.tif", instances, band_names=["instance_id"], **grid)
    write_geotiff(out_dir / "valid.tif", valid.astype(np.uint8), band_names=["valid"], **grid)
    for name, arr in extra.items():
        write_geotiff(out_dir / f"{name}.tif", arr.astype(np.float32), nodata=float("nan"), band_names=[name], **grid)
    write_vector(out_dir / "areas.gpkg", areas, layer="areas")
    write_vector(out_dir / "inventory.gpkg", inventory, layer="inventory")
    t2_path = insp.image_t2_path
    if image_t2 is not None:
        t2_path = write_geotiff(out_dir / "image_t2.tif", image_t2, **grid)
    write_json(out_dir / "layers.json", {
        "image": str(insp.image_path),
        "image_bands": list(insp.image_bands),
        "image_t2": str(t2_path) if t2_path is not None else None,
        "inputs": {k: str(p) for k, p in paths.items()},
        "findings": [f.as_dict() for f in findings],
        "extra_factors": list(extra),
        "lithology_units": extra_info.get("lithology_units", []),
        "factor_sources": extra_info["sources"],
    })
    write_stack(out_dir, profile=profile)  # the same layers as one georeferenced Dataset (aligned.nc)
    return AlignedLayers(
        image=insp.image_path,
        image_bands=tuple(insp.image_bands),
        **{k: out_dir / f"{k}.tif" for k in ("dem", "slope", "river_level", "instances", "valid")},
        areas=out_dir / "areas.gpkg",
        inventory=out_dir / "inventory.gpkg",
        crs=insp.image_crs,
        transform=insp.image_transform,
        width=insp.width,
        height=insp.height,
        image_t2=t2_path,
        findings=tuple(findings),
        extra={k: out_dir / f"{k}.tif" for k in extra},
        lithology_units=tuple(extra_info.get("lithology_units", [])),
    )
