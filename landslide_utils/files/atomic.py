"""Atomic file output and small raster/vector writing helpers shared by every step.

Every output is written under a temporary name in the destination folder and renamed into place, so an
interrupted run never leaves a half-written file under the final name (docs/architecture.md, "Principles").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine

__all__ = ["atomic_path", "remove_temporaries", "write_csv", "write_json", "write_text", "write_geotiff", "write_vector", "sha256_file"]


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error delete it.

    Args:
        path: the final destination.
        suffix: extension of the temporary file (defaults to the destination's; drivers such as GPKG need it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or (path.suffix + ".tmp" if not path.suffix else path.suffix), dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let the writer create it (some drivers refuse an existing empty file)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


#: the names :func:`atomic_path` gives its temporary files: ``.<final name>.<8 random characters><suffix>``
_TEMPORARY = re.compile(r"^\.(?P<final>.+)\.[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9]+(\.tmp)?)$")


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files that :func:`atomic_path` left below ``folder`` when a run was killed (SIGKILL,
    power loss) before it could clean up; return them. Only names of that exact pattern, whose suffix is the
    final file's, are touched."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.rglob(".*"):
        m = _TEMPORARY.match(p.name)
        if m and p.is_file() and (m["final"].endswith(m["suffix"]) or m["suffix"] == ".tmp"):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NumPy scalars are converted)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(f"cannot serialise {type(o).__name__}")

    return write_text(path, json.dumps(obj, indent=2, default=default) + "\n")


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    *,
    transform: Affine,
    crs: CRS | str | None,
    nodata: float | int | None = None,
    band_names: list[str] | None = None,
    compress: str = "deflate",
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a tiled, compressed GeoTIFF, atomically.

    BigTIFF is switched on automatically when the uncompressed size nears 4 GB.
    """
    arr = array[None] if array.ndim == 2 else array
    count, height, width = arr.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": count,
        "dtype": arr.dtype,
        "transform": transform,
        "compress": compress,
        "BIGTIFF": "IF_SAFER",
    }
    if crs is not None:
        profile["crs"] = CRS.from_user_input(crs)
    if nodata is not None:
        profile["nodata"] = nodata
    if height >= 16 and width >= 16:
        bs = 256 if min(height, width) >= 256 else 16 * (min(height, width) // 16)
        profile.update(tiled=True, blockxsize=bs, blockysize=bs)
    if compress == "deflate" and arr.dtype.kind == "f":
        profile["predictor"] = 3
    elif compress == "deflate":
        profile["predictor"] = 2
    with atomic_path(path, suffix=".tif") as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            if band_names:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, name)
    return Path(path)


def write_vector(path: str | Path, gdf: "Any", *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame (GeoPackage or GeoJSON, chosen by extension) atomically.

    A frame without CRS (the mosaic of a chip dataset has no map coordinates, by design) is written without one
    and without GDAL's warning about it."""
    path = Path(path)
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}.get(
        path.suffix.lower()
    )
    if driver is None:
        raise ValueError(f"{path}: unsupported vector extension; use .gpkg or .geojson")
    with atomic_path(path, suffix=path.suffix) as tmp:
        # GDAL would name the layer after the temporary file; keep the final file's stem instead, and pin
        # the GeoPackage's last-change timestamp so the same data give the same bytes
        kwargs = {"layer": layer or path.stem} if driver != "ESRI Shapefile" else {}

        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
        with warnings.catch_warnings():
            if gdf.crs is None:
                warnings.filterwarnings("ignore", message="'crs' was not provided")
            gdf.to_file(tmp, driver=driver, engine="pyogrio", **kwargs)
    return path


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_csv(path: str | Path, df: "Any", *, index: bool = True, float_format: str = "%.6g") -> Path:
    """Write a pandas DataFrame as CSV atomically."""
    with atomic_path(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=index, float_format=float_format)
    return Path(path)
