"""The embedded synthetic study area, a stand-in for Ludian, Yunnan (``docs/methods.md``, "Synthetic study area").

Yang et al. (2022) map landslides of the 2014 Ludian earthquake from a post-event image, a second-date image,
a DEM, OpenStreetMap rivers and an inventory. :func:`generate` writes the same inputs for a synthetic area, as
real GeoTIFF and vector files in a projected CRS, so the code path for real data runs end to end:

1. **Rivers**: a meandering main river across the scene and ``n_tributaries`` side rivers joining it.
2. **Terrain** (on the DEM's own, coarser and shifted grid): valley walls rising with the distance from the
   main river and the tributaries (flat valley floors of varying width, tributary floors rising upstream),
   smooth noise on the slopes and a regional gradient. ``relief_m`` is the elevation range unless that would
   make the terrain implausibly steep for a small scene (95th percentile of slope above 50 degrees); then the
   relief is reduced (recorded in ``synthetic.json``).
3. **Landslides**: rejection sampling on a suitability map computed from the generated DEM, rising with slope
   (Yang et al. 2022, Figure 13), falling with the distance from rivers (Figure 14) and with elevation
   (Figure 12); log-normal areas; oval, tongue (teardrop elongated downslope) and debris-flow shapes oriented
   downslope; grey, brown and reddish scars with noise and downslope streaks. Valid, non-overlapping, inside
   the scene, clear of water, gravel bars and roads.
4. **Confusers** sharing landslide colours on different terrain: muddy river surface, gravel bars, roads along
   the valleys, bare fields and buildings on flat valley floors (also written to ``confusers.gpkg``).
5. **Second date** (``image_t2.tif``): a seasonal colour shift of the whole scene (drier vegetation, clearer
   water) and a share ``revegetated_share`` of landslides partly covered by young vegetation.

Two options add layers for Gao et al. (2021) without changing any of the above (their random numbers come from
streams of their own): ``infrared_bands`` adds near-infrared and short-wave-infrared bands 4 and 5 to
``image_t1.tif`` (:mod:`.infrared`), ``geology`` writes fault lines and lithology polygons (:mod:`.geology`;
:data:`GEOLOGY_FILES`), drawn after the landslides and conditioned on them.

This package's entry (:func:`generate`, :func:`generate_from_profile`, :data:`SYNTHETIC_FILES` - the one list
of the files it writes, which the data preparation reads back -, :data:`GEOLOGY_FILES` - those of them it
writes only with ``geology: true`` -, :func:`synthetic_files` - the files of one spec - and :data:`DEM_NODATA`)
seeds the random streams, calls the steps in a fixed order and writes the files. The steps live in modules by job:
:mod:`.terrain` (grid, rivers, terrain: 1-2), :mod:`.objects` (landslides and confuser polygons: 3-4) and
:mod:`.render` (the t1 and t2 images: colours, textures, the second-date changes of 5).

Everything is deterministic from ``seed`` (NumPy Generators only); rasters are byte-identical for a seed.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from landslide_utils.config.data_schema import AreaSpec, SyntheticSpec, synthetic_bounds
from landslide_utils.config.schema import Profile
from landslide_utils.files.atomic import write_geotiff, write_json, write_vector
from landslide_utils.synthetic.geology import LITHOLOGY_UNITS, geology_stats, make_geology
from landslide_utils.synthetic.infrared import IR_BAND_NAMES, InfraredPainter
from landslide_utils.synthetic.objects import Registry, make_lines, place_blocks, place_landslides, prepared
from landslide_utils.synthetic.render import render_images
from landslide_utils.synthetic.terrain import DEM_MARGIN, Grid, make_rivers, make_terrain

__all__ = ["generate", "generate_from_profile", "SYNTHETIC_FILES", "GEOLOGY_FILES", "LITHOLOGY_UNITS",
           "synthetic_files", "DEM_NODATA"]

#: The outputs :func:`generate` writes only with ``geology: true`` (a scene without geology is complete without
#: them; :func:`synthetic_files` gives the files of one spec).
GEOLOGY_FILES: dict[str, str] = {"faults": "faults.geojson", "lithology": "lithology.gpkg"}
#: File name of every output of :func:`generate`, by key (the keys of the paths it returns), the optional
#: :data:`GEOLOGY_FILES` included.
SYNTHETIC_FILES: dict[str, str] = {
    "image_t1": "image_t1.tif", "image_t2": "image_t2.tif", "dem": "dem.tif", "rivers": "rivers.geojson",
    "inventory": "inventory.gpkg", "areas": "areas.geojson", "confusers": "confusers.gpkg",
    **GEOLOGY_FILES, "meta": "synthetic.json",
}
DEM_NODATA = -9999.0  #: nodata value declared in ``dem.tif`` (the synthetic DEM has no empty cell)


def _default_areas(spec: SyntheticSpec) -> list[tuple[str, str, tuple[float, float, float, float]]]:
    xmin, ymin, xmax, ymax = synthetic_bounds(spec)
    c1, c2 = round(spec.width_px / 3), round(2 * spec.width_px / 3)
    x1, x2 = xmin + c1 * spec.pixel_size_m, xmin + c2 * spec.pixel_size_m
    return [("train_west", "train", (xmin, ymin, x1, ymax)), ("test", "test", (x1, ymin, x2, ymax)),
            ("train_east", "train", (x2, ymin, xmax, ymax))]


def synthetic_files(spec: SyntheticSpec) -> dict[str, str]:
    """File name by key of what :func:`generate` writes for ``spec``: :data:`SYNTHETIC_FILES`, without
    :data:`GEOLOGY_FILES` unless ``spec.geology``."""
    return {k: v for k, v in SYNTHETIC_FILES.items() if spec.geology or k not in GEOLOGY_FILES}


def _write_vectors(paths: dict[str, Path], *, spec: SyntheticSpec, rivers: list[dict], slides: list[dict],
                   reveg: np.ndarray, confusers: list[dict], areas: tuple[AreaSpec, ...] | None) -> None:
    """The vector files of the synthetic area: rivers, the landslide inventory, the train/test areas and the
    look-alike confusers (the last only for the study-area figure; step 01 does not read them)."""
    n = len(slides)
    write_vector(paths["rivers"], gpd.GeoDataFrame(
        [{k: r[k] for k in ("name", "kind", "width_m")} for r in rivers],
        geometry=[r["geometry"] for r in rivers], crs=spec.crs))
    write_vector(paths["inventory"], gpd.GeoDataFrame(
        {"landslide_id": np.arange(1, n + 1, dtype=np.int64),
         "area_m2": np.array([round(s["geometry"].area, 2) for s in slides], float),
         "shape": [s["shape"] for s in slides], "colour": [s["colour"] for s in slides],
         "revegetated_t2": reveg},
        geometry=[s["geometry"] for s in slides], crs=spec.crs), layer="inventory")
    area_rows = ([(a.name, a.split, a.bounds) for a in areas] if areas else _default_areas(spec))
    write_vector(paths["areas"], gpd.GeoDataFrame(
        {"name": [a[0] for a in area_rows], "split": [a[1] for a in area_rows]},
        geometry=[box(*a[2]) for a in area_rows], crs=spec.crs))
    write_vector(paths["confusers"], gpd.GeoDataFrame(
        {"kind": [c["kind"] for c in confusers], "colour": [c["colour"] for c in confusers]},
        geometry=[c["geometry"] for c in confusers], crs=spec.crs), layer="confusers")


def generate(spec: SyntheticSpec, *, seed: int, out_dir: str | Path,
             areas: tuple[AreaSpec, ...] | None = None) -> dict[str, Path]:
    """Write the synthetic study area (``docs/methods.md``, "Synthetic study area") into ``out_dir``.

    Args:
        spec: size, resolution, CRS and object counts (``data.synthetic`` of a profile).
        seed: non-negative seed; the same seed gives byte-identical rasters and identical vectors.
        out_dir: folder to write into (created if missing); files are written atomically.
        areas: train/test areas as bounds (a profile's ``areas``); default: three vertical strips
            ``train_west`` | ``test`` | ``train_east``, the test strip a third of the width (the paper: 43.71 km²
            train vs 21.49 km² test, Yang et al. 2022 section 2.1).

    Returns:
        Paths by key of :func:`synthetic_files`: ``image_t1``, ``image_t2``, ``dem``, ``rivers``, ``inventory``,
        ``areas``, ``confusers``, ``meta`` (``synthetic.json``: seed, spec, object counts, relief actually used,
        DEM grid offset; with the options also ``infrared_bands`` and ``geology``: the association of landslides
        with the lithology units and the faults), with ``geology: true`` also ``faults`` and ``lithology``.
        With ``infrared_bands: true`` ``image_t1.tif`` has five bands: red, green, blue, nir, swir.

    Raises:
        ValueError: a negative seed.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0 (got {seed}); change 'seed' in the profile")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    p, d = spec.pixel_size_m, spec.dem_pixel_size_m
    img = Grid(spec.origin_x, spec.origin_y, p, spec.width_px, spec.height_px)
    wm, hm = spec.width_px * p, spec.height_px * p
    fx, fy = (float(v) for v in rngs[0].uniform(0.2, 0.8, 2))
    dem = Grid(spec.origin_x - (DEM_MARGIN + fx) * d, spec.origin_y + (DEM_MARGIN + fy) * d, d,
                math.ceil(wm / d + 2 * DEM_MARGIN + fx), math.ceil(hm / d + 2 * DEM_MARGIN + fy))
    rivers = make_rivers(rngs[1], spec, dem)
    terr = make_terrain(rngs[2], spec, dem, rivers)
    main = rivers[0]["geometry"]  # lines run downstream: the main river starts at its higher end
    ends = dem.sample(terr["elev"], *np.asarray(main.coords)[[0, -1]].T)
    if ends[0] < ends[-1]:
        rivers[0]["geometry"] = main.reverse()
    lines = make_lines(rngs[3], spec, dem, rivers)
    gap = max(2 * p, 3.0)
    barrier = prepared(shapely.union_all([c["geometry"] for c in lines]).buffer(gap))
    reg = Registry(gap)
    slides = place_landslides(rngs[4], spec, dem, terr, barrier, reg)
    blocks = place_blocks(rngs[5], spec, dem, terr, [c["geometry"] for c in lines if c["kind"] == "road"],
                          barrier, reg)
    confusers = lines + blocks
    n = len(slides)
    if n < spec.n_landslides:
        warnings.warn(f"synthetic area: placed {n} of {spec.n_landslides} landslides (no room left on steep "
                      "ground); lower data.synthetic.n_landslides or landslide_median_area_m2, or enlarge the "
                      "scene", stacklevel=2)
    reveg = np.zeros(n, bool)
    reveg[rngs[6].choice(n, size=round(spec.revegetated_share * n), replace=False)] = True
    ir = InfraredPainter(seed, (img.height, img.width), confusers, slides) if spec.infrared_bands else None
    t1, t2 = render_images(rngs[7], seed, img, dem, terr, confusers, slides, reveg, on_chunk=ir)

    paths = {k: out / v for k, v in synthetic_files(spec).items()}
    rgb = ["red", "green", "blue"]
    if ir is not None:
        write_geotiff(paths["image_t1"], np.concatenate([t1, ir.bands]), transform=img.transform, crs=spec.crs,
                      band_names=rgb + list(IR_BAND_NAMES))
    else:
        write_geotiff(paths["image_t1"], t1, transform=img.transform, crs=spec.crs, band_names=rgb)
    write_geotiff(paths["image_t2"], t2, transform=img.transform, crs=spec.crs, band_names=rgb)
    write_geotiff(paths["dem"], terr["elev"], transform=dem.transform, crs=spec.crs, nodata=DEM_NODATA,
                  band_names=["elevation"])
    _write_vectors(paths, spec=spec, rivers=rivers, slides=slides, reveg=reveg, confusers=confusers, areas=areas)
    extra = {}
    if ir is not None:
        extra["infrared_bands"] = {"image": SYNTHETIC_FILES["image_t1"], "bands": {"4": "nir", "5": "swir"}}
    if spec.geology:
        bounds = synthetic_bounds(spec)
        faults, cells, units = make_geology(seed, bounds, p, slides)
        write_vector(paths["faults"], gpd.GeoDataFrame(
            {"name": [f"F{i}" for i in range(1, len(faults) + 1)]}, geometry=faults, crs=spec.crs))
        write_vector(paths["lithology"], gpd.GeoDataFrame({"lithology": units}, geometry=cells, crs=spec.crs),
                     layer="lithology")
        extra["geology"] = geology_stats(bounds, p, slides, faults, cells, units)
    kinds = [c["kind"] for c in confusers]
    write_json(paths["meta"], {
        "seed": seed, "spec": spec.model_dump(mode="json"),
        "counts": {"landslides": n, "revegetated_t2": int(reveg.sum()), "rivers": len(rivers),
                   **{k: kinds.count(k) for k in ("road", "gravel_bar", "field", "building")}},
        "elevation_range_m": [round(float(terr["elev"].min()), 2), round(float(terr["elev"].max()), 2)],
        "relief_factor": round(terr["relief_factor"], 4),
        "dem_grid": {"origin": [dem.x0, dem.y0], "res": d, "shape": [dem.height, dem.width],
                     "offset_cells": [round(fx, 4), round(fy, 4)]},
        "landslide_share": round(float(sum(s["geometry"].area for s in slides)) / (wm * hm), 5),
        **extra,
    })
    return paths


def generate_from_profile(profile: Profile, out_dir: str | Path) -> dict[str, Path]:
    """:func:`generate` with a profile's ``data.synthetic`` (its ``seed`` included) and ``areas``.

    Raises:
        ValueError: the profile's data source is not ``synthetic``.
    """
    if profile.data.source != "synthetic" or profile.data.synthetic is None:
        raise ValueError(f"profile '{profile.name}' ({profile.source_path}): data.source is "
                         f"'{profile.data.source}'; only a 'synthetic' profile can generate its inputs")
    return generate(profile.data.synthetic, seed=profile.data.synthetic.seed, out_dir=out_dir, areas=profile.areas)
