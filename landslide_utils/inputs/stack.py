"""The aligned study area as one georeferenced xarray Dataset: step 01's ``aligned.nc`` and :func:`open_aligned`.

Step 01 (:func:`landslide_utils.inputs.layers.align_layers`) writes every layer on the post-event image grid as a
GeoTIFF; :func:`write_stack` then gathers them into one NetCDF-4 file beside them (``data/<profile>/aligned/
aligned.nc``, compressed and chunked), which a user opens with ``xr.open_dataset`` or :func:`open_aligned`:

* ``image`` (band, y, x): the image's bands (alpha left out), named ``red``, ``green``, ``blue``, ``nir`` ...;
  ``image_t2`` (band_t2, y, x): the second-date image on the same grid, where the study has one;
* ``elevation`` (m), ``slope`` (degrees, Horn's method on the DEM's grid), ``river_level`` (0..N rings of distance
  from the river lines, in metres), ``instances`` (landslide ids), ``valid`` (1 = usable pixel);
* ``area`` (0 = outside every area, k = the k-th area of ``areas.gpkg``) and ``split`` (0 none, 1 train, 2 test);
* the further influencing factors of Gao et al. (2021) the inputs allow (``aspect``, ``curvature``, ``ndvi``,
  ``mndwi``, ``river_distance``, ``fault_distance``, ``lithology``).

Each variable has ``units``, ``long_name``, ``source`` (the input file) and ``method`` attributes and its CF
``_FillValue`` where it has a nodata value; the coordinates are the pixel centres in the image CRS, written with
rioxarray (``spatial_ref``: CRS and transform), so ``ds.rio.crs`` and ``ds.rio.transform()`` hold after a round
trip. The values are exactly those of the GeoTIFFs (the GeoTIFFs are read back, band by band).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import xarray as xr
from rasterio.enums import ColorInterp
from rasterio.features import rasterize

from landslide_utils import __version__
from landslide_utils.config.channels import image_band_names
from landslide_utils.config.schema import Profile
from landslide_utils.config.study_inputs import infrared_bands
from landslide_utils.files.atomic import atomic_path
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.inputs.grids import grid_coords
from landslide_utils.inputs.terrain import river_level_labels
from landslide_utils.paths import STACK_FILE, StudyPaths

__all__ = ["ENGINE", "build_stack", "write_stack", "open_stack", "open_aligned"]

#: the xarray engine the stack is written and read with (NetCDF-4 through h5py)
ENGINE = "h5netcdf"
_SPLITS = ("train", "test")

#: units, long name and method of each layer (the source file is added from ``layers.json``)
_ATTRS: dict[str, dict[str, str]] = {
    "elevation": {"units": "m", "long_name": "elevation",
                  "method": "the DEM resampled bilinearly onto the image grid (warped to the image CRS first when "
                            "geographic or rotated)"},
    "slope": {"units": "degree", "long_name": "slope",
              "method": "Horn (1981) 3 x 3 gradient on the DEM's grid, then resampled bilinearly onto the image "
                        "grid (Yang et al. 2022, section 2.2)"},
    "instances": {"units": "1", "long_name": "landslide instance id",
                  "method": "inventory polygons rasterised by the pixel-centre rule; id k = row k - 1 of "
                            "inventory.gpkg (column instance_id), 0 = background"},
    "valid": {"units": "1", "long_name": "valid-pixel mask",
              "method": "1 = image data (not nodata, alpha or non-finite) with elevation and slope; 0 = unusable"},
    "aspect": {"units": "1", "long_name": "aspect class",
               "method": "0 = flat, 1..8 = N, NE, E, SE, S, SW, W, NW (Gao et al. 2021), on the DEM's grid, "
                         "nearest neighbour onto the image grid"},
    "curvature": {"units": "1/(100 m)", "long_name": "curvature",
                  "method": "Zevenbergen & Thorne (1987) on the DEM's grid, bilinear onto the image grid"},
    "ndvi": {"units": "1", "long_name": "normalised difference vegetation index", "method": "(nir - red) / (nir + red)"},
    "mndwi": {"units": "1", "long_name": "modified normalised difference water index",
              "method": "(green - swir) / (green + swir)"},
    "river_distance": {"units": "m", "long_name": "distance to the nearest river line",
                       "method": "Euclidean distance from each pixel centre, in metres"},
    "fault_distance": {"units": "m", "long_name": "distance to the nearest fault line",
                       "method": "Euclidean distance from each pixel centre, in metres"},
    "lithology": {"units": "1", "long_name": "lithology unit code", "method": "polygons rasterised, codes 1..K"},
}


def _read(path: Path, band: int = 1) -> tuple[np.ndarray, Any]:
    with rasterio.open(path) as src:
        return src.read(band), src.nodata


def _image_vars(path: Path, *, infrared: tuple[int | None, int | None], dim: str,
                transform: Any) -> tuple[xr.DataArray, Any]:
    """The non-alpha bands of an image on the grid, as (band, y, x), named as in the tiles, and its nodata."""

    with rasterio.open(path) as src:
        if src.transform != transform:
            raise ValueError(f"{path}: not on the grid of the aligned layers; rerun step 01")
        bands = [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha]
        data, nodata = src.read(bands), src.nodata
    labels = list(image_band_names(bands, infrared))
    da = xr.DataArray(data, dims=(dim, "y", "x"), coords={dim: labels})
    da.attrs.update(long_name="image bands", units="digital number", source=str(path),
                    bands=", ".join(f"{n} = file band {b}" for n, b in zip(labels, bands)))
    return da, nodata


def _area_codes(areas: gpd.GeoDataFrame, *, shape: tuple[int, int], transform: Any) -> tuple[np.ndarray, np.ndarray]:
    """``area`` (int16, 0 = outside, k = the k-th area) and ``split`` (uint8, 0 none, 1 train, 2 test), the areas
    rasterised by the pixel-centre rule in file order (a later area wins where two overlap)."""
    area = np.zeros(shape, np.int16)
    split = np.zeros(shape, np.uint8)
    for k, (s, geom) in enumerate(zip(areas["split"], areas.geometry), start=1):
        inside = rasterize([(geom, 1)], out_shape=shape, transform=transform, fill=0, all_touched=False,
                           dtype="uint8").astype(bool)
        area[inside] = k
        split[inside] = _SPLITS.index(s) + 1 if s in _SPLITS else 0
    return area, split


def build_stack(aligned_dir: str | Path, *, profile: Profile | None = None) -> xr.Dataset:
    """The layers step 01 wrote into ``aligned_dir`` as one Dataset (see the module docstring).

    Args:
        aligned_dir: the aligned folder (``layers.json`` and the GeoTIFFs of :func:`align_layers`).
        profile: the study, for the river rings' description and the infrared band names (optional).

    Raises:
        FileNotFoundError: step 01 has not written the folder.
    """

    aligned_dir = Path(aligned_dir)
    layers = AlignedLayers.load(aligned_dir)
    meta = json.loads((aligned_dir / "layers.json").read_text(encoding="utf-8"))
    inputs = meta.get("inputs", {})
    sources = {"elevation": inputs.get("dem"), "slope": inputs.get("dem"), "instances": inputs.get("inventory"),
               "valid": f"{inputs.get('image_t1')} and {inputs.get('dem')}", **meta.get("factor_sources", {})}
    shape, tr = layers.shape, layers.transform
    infrared = infrared_bands(profile) if profile is not None else (None, None)
    image, image_nodata = _image_vars(layers.image, infrared=infrared, dim="band", transform=tr)
    data: dict[str, xr.DataArray] = {"image": image}
    if image_nodata is not None:
        data["image"].encoding["_FillValue"] = image_nodata
    files = {"elevation": layers.dem, "slope": layers.slope, "river_level": layers.river_level,
             "instances": layers.instances, "valid": layers.valid, **layers.extra}
    for name, path in files.items():
        values, nodata = _read(path)
        da = xr.DataArray(values, dims=("y", "x"))
        da.attrs.update(_ATTRS.get(name, {"long_name": name, "units": "1"}))
        if sources.get(name):
            da.attrs["source"] = str(sources[name])
        if nodata is not None:
            da.encoding["_FillValue"] = nodata
        data[name] = da
    river = data["river_level"].attrs
    river.update(units="1", long_name="distance-from-river level", source=str(inputs.get("rivers")))
    if profile is not None:

        river["method"] = ("rings of distance from the river lines, in metres (Yang et al. 2022, section 3.4): "
                           + "; ".join(river_level_labels(profile.factors)))
    else:
        river["method"] = "rings of distance from the river lines, in metres (Yang et al. 2022, section 3.4)"
    if layers.lithology_units:
        data["lithology"].attrs["flag_values"] = np.arange(1, len(layers.lithology_units) + 1, dtype=np.int16)
        data["lithology"].attrs["flag_meanings"] = " ".join(u.replace(" ", "_") for u in layers.lithology_units)
    areas = gpd.read_file(layers.areas)
    area, split = _area_codes(areas, shape=shape, transform=tr)
    data["area"] = xr.DataArray(area, dims=("y", "x"), attrs={
        "units": "1", "long_name": "study area", "source": str(inputs.get("areas") or "the profile's areas"),
        "flag_values": np.arange(1, len(areas) + 1, dtype=np.int16),
        "flag_meanings": " ".join(str(n).replace(" ", "_") for n in areas["name"]),
        "method": "areas.gpkg rasterised by the pixel-centre rule, 0 = outside every area"})
    data["split"] = xr.DataArray(split, dims=("y", "x"), attrs={
        "units": "1", "long_name": "split", "flag_values": np.array([1, 2], np.uint8), "flag_meanings": "train test",
        "method": "the split of the area holding the pixel, 0 = outside every area"})
    if layers.image_t2 is not None:
        t2, t2_nodata = _image_vars(layers.image_t2, infrared=(None, None), dim="band_t2", transform=tr)
        t2.attrs["long_name"] = "second-date image bands"
        if t2_nodata is not None:
            t2.encoding["_FillValue"] = t2_nodata
        data["image_t2"] = t2
    ds = xr.Dataset(data, coords=grid_coords(tr, shape))
    ds.x.attrs.update(units="m" if layers.crs.is_projected else "degree", long_name="x of the pixel centre",
                      standard_name="projection_x_coordinate")
    ds.y.attrs.update(units="m" if layers.crs.is_projected else "degree", long_name="y of the pixel centre",
                      standard_name="projection_y_coordinate")
    ds.attrs.update(title=f"aligned layers of the study area{f' ({profile.name})' if profile else ''}",
                    Conventions="CF-1.8", institution="landslide_utils", source=f"landslide_utils {__version__}, step 01")
    return ds.rio.write_crs(layers.crs).rio.write_transform(tr).rio.write_coordinate_system()


def write_stack(aligned_dir: str | Path, *, profile: Profile | None = None) -> Path:
    """Build the stack of ``aligned_dir`` and write it atomically to ``aligned_dir/aligned.nc`` (NetCDF-4, each
    variable zlib-compressed in chunks of up to 512 x 512 pixels); return the path."""
    ds = build_stack(aligned_dir, profile=profile)
    chunks = {"y": min(512, ds.sizes["y"]), "x": min(512, ds.sizes["x"])}
    encoding = {}
    for name, var in ds.data_vars.items():
        enc = {**var.encoding, "zlib": True, "complevel": 4}
        if var.ndim >= 2:
            enc["chunksizes"] = tuple(1 if d not in chunks else chunks[d] for d in var.dims)
        encoding[name] = enc
    path = Path(aligned_dir) / STACK_FILE
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine=ENGINE, encoding=encoding)
    return path


def open_stack(path: str | Path, **kwargs: Any) -> xr.Dataset:
    """Open a stack written by :func:`write_stack` (lazily: values load on access), with its ``spatial_ref``
    decoded, so ``ds.rio.crs`` and ``ds.rio.transform()`` hold. ``kwargs`` go to ``xr.open_dataset`` (e.g.
    ``chunks={}`` for dask).

    Raises:
        FileNotFoundError: no file at ``path``. ValueError: the file is not a readable stack.
    """
    import rioxarray  # noqa: F401, PLC0415 - registers .rio on the opened Dataset

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no aligned stack here; run step 01 (python -m landslide_utils run "
                                "--profile <profile> --steps 01, with --force when step 01 ran before)")
    try:
        ds = xr.open_dataset(path, engine=ENGINE, decode_coords="all", **kwargs)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable aligned stack ({exc}); delete it and rerun step 01") from exc
    if ds.rio.crs is None or "valid" not in ds:
        ds.close()
        raise ValueError(f"{path}: not an aligned stack of this study (no CRS or no valid mask); delete it and "
                         "rerun step 01")
    return ds


def open_aligned(profile: Profile, *, root: str | Path = ".", **kwargs: Any) -> xr.Dataset:
    """The aligned study area of ``profile`` (written by step 01) as one georeferenced Dataset.

    Example::

        ds = open_aligned(load_profile("params/profiles/quick.yaml"))
        ds.slope.plot()                 # the slope on the image grid, axes in the image CRS
        ds.rio.crs, ds.rio.transform()

    Raises:
        ValueError: a chip dataset (``data.source: chips``: no study area), or an unreadable stack.
        FileNotFoundError: step 01 has not run for the profile.
    """
    if profile.data.source == "chips":
        raise ValueError(f"{profile.source_path}: data.source is 'chips': a chip dataset has no aligned study "
                         "area (its tiles are in data/<profile>/tiles)")
    return open_stack(StudyPaths.of(profile, Path(root)).aligned / STACK_FILE, **kwargs)
