"""Check the input files of a study area before anything is computed or written (step 01, docs/methods.md,
"Inputs of a study area").

The same checks serve the embedded synthetic area and the user's own GeoTIFFs and vector files.
:func:`check_inputs` opens every file of an :class:`InputPaths` and returns :class:`Finding` objects (errors,
warnings, notes) whose messages name the file and say what to do; errors raise :class:`InputError`.
:func:`inspect_inputs` is its engine: it also keeps what it read (the image grid, the DEM footprint, the vectors
in the image CRS) in an :class:`Inspection`, which :func:`landslide_utils.inputs.layers.align_layers` then aligns.

Checked are exactly the layers Yang et al. (2022) stack for landslide extraction (their section 2.2): the
post-event RGB image (and optionally the second-date image), the DEM from which slope is derived, the river
lines that give the distance-from-river level (their section 3.4), the landslide inventory and the train/test
areas (section 2.2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import infrared_bands
from landslide_utils.inputs.findings import INVENTORY_MAX_SHARE, Finding, InputPaths, Inspection
from landslide_utils.inputs.raster_checks import check_image, check_infrared, check_other_raster
from landslide_utils.inputs.vector_checks import check_areas, check_lithology, faults_near, read_vector, rivers_near

__all__ = ["inspect_inputs", "inspect_options", "check_inputs"]


def inspect_inputs(paths: InputPaths, *, profile_areas=None, tile_size: int | None = None,  # noqa: ANN001
                   river_reach_m: float | None = None, infrared: dict[str, int] | None = None,
                   lithology_column: str = "lithology", lithology_units: tuple[str, ...] | None = None) -> Inspection:
    """Run every input check and keep what was read (the engine of :func:`check_inputs`); writes nothing.

    ``tile_size`` (the profile's ``tiling.tile_size``) adds the checks of the tile size against the image and the
    areas; ``river_reach_m`` (the outermost ring edge of ``factors.river_ring_edges_m``) the check that some river
    line comes that close to the image; ``infrared`` (``{"nir_band": 4, ...}``) the check that the image has
    those bands; ``lithology_column`` / ``lithology_units`` the checks of the lithology polygons' units."""
    insp = Inspection(source=paths.source, tile_size=tile_size)
    present = {}
    for key, path in paths.items():
        if Path(path).is_dir():
            insp.add("error", path, f"is a folder, not a file ({key}); data.files.{key} must name a file")
            continue
        if Path(path).exists():
            present[key] = Path(path)
            continue
        hint = ("delete the inputs folder and rerun step 01 to regenerate the synthetic area"
                if paths.source == "synthetic" else f"check data.files.{key} in the profile (relative paths are "
                                                    "resolved against the profile's folder)")
        insp.add("error", path, f"file not found ({key}); {hint}")
    if "image_t1" in present:
        check_image(present["image_t1"], insp)
    for key in ("image_t2", "dem"):
        if key in present:
            check_other_raster(key, present[key], insp)
    if "rivers" in present:
        rivers = read_vector(present["rivers"], insp, ("LineString", "MultiLineString"), "river lines")
        if rivers is not None and len(rivers) == 0:
            insp.add("warning", present["rivers"], "has no river lines; every pixel gets the farthest river level")
        insp.rivers = rivers
    if "faults" in present:
        insp.faults = read_vector(present["faults"], insp, ("LineString", "MultiLineString"), "fault lines")
        if insp.faults is not None and len(insp.faults) == 0:
            insp.add("error", present["faults"], "has no fault lines; give the faults of the area, or leave "
                                                 "data.files.faults out (no fault_distance channel then)")
    if "lithology" in present:
        insp.lithology = read_vector(present["lithology"], insp, ("Polygon", "MultiPolygon"), "lithology polygons")
        if insp.lithology is not None and len(insp.lithology) == 0:
            insp.add("error", present["lithology"], "has no polygons; give the lithology map, or leave "
                                                    "data.files.lithology out (no lithology channel then)")
        elif insp.lithology is not None:
            check_lithology(present["lithology"], insp, lithology_column, lithology_units)
        insp.lithology_path = present["lithology"]
    if infrared and insp.image_crs is not None:
        check_infrared(insp, infrared)
    if "inventory" in present:
        path = present["inventory"]
        inv = read_vector(path, insp, ("Polygon", "MultiPolygon"), "landslide polygons")
        if inv is not None and len(inv) == 0:
            insp.add("error", path, "the inventory has no polygons; give one polygon per landslide")
        elif inv is not None and not inv.intersects(insp.image_box).any():
            insp.add("error", path, f"none of its {len(inv)} polygons overlaps the image {insp.image_path}; "
                                    "check the inventory's CRS")
        elif inv is not None and insp.image_box is not None:
            share = inv.geometry.union_all().intersection(insp.image_box).area / insp.image_box.area
            if share >= INVENTORY_MAX_SHARE:
                insp.add("error", path, f"its polygons cover {100 * share:.0f} % of the image {insp.image_path}; "
                                        "landslides cover a small share of a scene: is it the areas file (or "
                                        "another polygon layer)? Give one polygon per landslide in "
                                        "data.files.inventory")
        insp.inventory, insp.inventory_path = inv, path
    if insp.image_crs is not None and tile_size and tile_size > max(insp.width, insp.height):
        insp.add("error", None, f"key 'tiling.tile_size': a tile of {tile_size} pixels is larger than the whole image "
                                f"{insp.image_path} ({insp.width} x {insp.height} pixels); choose a tile size of at "
                                f"most {min(insp.width, insp.height)}")
        tile_size = insp.tile_size = None
    if insp.rivers is not None and len(insp.rivers) and insp.image_box is not None:
        rivers_near(present["rivers"], insp, river_reach_m)
    if insp.faults is not None and len(insp.faults) and insp.image_box is not None:
        faults_near(present["faults"], insp)
    if insp.inventory is not None and len(insp.inventory):
        wkb = insp.inventory.geometry.normalize().to_wkb()
        n_dup = int(pd.Series(wkb).duplicated().sum())
        if n_dup:
            insp.add("warning", insp.inventory_path, f"{n_dup} polygon(s) repeat another polygon exactly (the "
                                                     "inventory given twice?); each landslide counts once, the "
                                                     "repeats are hidden. Delete the repeats")
    if insp.image_crs is not None and ("areas" in present or paths.areas is None):
        check_areas(paths, insp, profile_areas)
    return insp


def inspect_options(profile: Profile | None) -> dict:
    """The keyword arguments of :func:`inspect_inputs` that come from a profile (areas, tile size, river rings)."""
    if profile is None:
        return {}

    nir, swir = infrared_bands(profile)
    infrared = {k: v for k, v in (("nir_band", nir), ("swir_band", swir)) if v is not None}
    return {"profile_areas": profile.areas, "tile_size": profile.tiling.tile_size,
            "river_reach_m": float(profile.factors.river_ring_edges_m[-1]), "infrared": infrared,
            "lithology_column": profile.factors.lithology_column, "lithology_units": profile.factors.lithology_units}


def check_inputs(paths: InputPaths, *, profile: Profile | None = None, raise_errors: bool = True) -> list[Finding]:
    """Check every input file before anything is computed or written.

    Checks: files exist and open (a corrupt GeoTIFF: "re-export it"); rasters and vectors have a CRS; the
    image has >= 3 bands and a projected, north-up grid; nodata is known (else a warning: no pixel is treated
    as nodata); the DEM and the second image overlap the image; the DEM covers every area; rivers are lines;
    the inventory has valid polygons on the image; the areas have a ``split`` of train/test with at least one
    of each, lie on the image and train and test do not overlap. Vectors in another CRS are reprojected.

    Args:
        paths: from :func:`landslide_utils.inputs.layers.load_inputs`.
        profile: gives the area bounds (``areas``) when the profile has them, and the river settings.
        raise_errors: raise :class:`InputError` when any finding is an error (else only return them).

    Returns:
        The findings (warnings and notes; errors too when ``raise_errors`` is False).
    """
    insp = inspect_inputs(paths, **inspect_options(profile))
    if raise_errors:
        insp.raise_if_errors()
    return list(insp.findings)
