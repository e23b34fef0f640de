"""A GeoPackage layer written in batches as its features arrive, so that a scene's landslide polygons never have
to be held in memory together; atomic like every other output (the final name appears only when it is complete).
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from landslide_utils.files.atomic import atomic_path

__all__ = ["VectorStream"]


class VectorStream:
    """Append features to one GeoPackage layer, ``batch`` at a time; the file is renamed into place on a clean
    exit and deleted on an error.

    Args:
        path: the ``.gpkg`` to write.
        layer: the layer's name.
        columns: attribute columns and their NumPy dtypes, in order (``landslide_id`` is numbered 1, 2, … here).
        crs: the layer's CRS (None: a layer without map coordinates).
        geometry_type: the layer's declared geometry type.
        batch: features kept before they are written.
    """

    def __init__(self, path: str | Path, *, layer: str, columns: dict[str, str], crs: Any,
                 geometry_type: str = "Polygon", batch: int = 2000) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".gpkg":
            raise ValueError(f"{self.path}: VectorStream writes GeoPackages; use a .gpkg name")
        self.layer, self.columns, self.crs = layer, dict(columns), crs
        self.geometry_type, self.batch = geometry_type, int(batch)
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        self._written = False
        self._atomic: contextlib.AbstractContextManager[Path] | None = None
        self._tmp: Path | None = None

    def __enter__(self) -> "VectorStream":
        self._atomic = atomic_path(self.path, suffix=self.path.suffix)
        self._tmp = self._atomic.__enter__()
        return self

    def add(self, geometry: Any, **attributes: Any) -> None:
        """One feature; its attributes by column name (``landslide_id`` is given here)."""
        self.count += 1
        self._rows.append({"landslide_id": self.count, **attributes, "geometry": geometry})
        if len(self._rows) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._written and not self._rows:
            return
        data = {"landslide_id": np.array([r["landslide_id"] for r in self._rows], np.int64)}
        for name, dtype in self.columns.items():
            data[name] = np.array([r[name] for r in self._rows], dtype=dtype)
        gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries([r["geometry"] for r in self._rows],
                                                                          crs=self.crs), crs=self.crs)
        # pin the GeoPackage's last-change timestamp so the same data give the same bytes (as write_vector)
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
        with warnings.catch_warnings():
            if self.crs is None:
                warnings.filterwarnings("ignore", message="'crs' was not provided")
            pyogrio.write_dataframe(gdf, self._tmp, layer=self.layer, driver="GPKG", append=self._written,
                                    geometry_type=self.geometry_type, promote_to_multi=False)
        self._written = True
        self._rows = []

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._atomic is not None
        if exc_type is None:
            try:
                self._flush()  # the last features, or the empty layer of a scene without landslides
            except BaseException as err:
                self._atomic.__exit__(type(err), err, err.__traceback__)
                raise
        self._atomic.__exit__(exc_type, exc, tb)
