"""Figures of step 01: the aligned input layers of an area, and the tile grid (Yang et al. 2022, Figure 3)."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rasterio
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator
from rasterio.enums import ColorInterp
from rasterio.windows import Window

from landslide_utils.plots.display import rgb_display
from landslide_utils.tiles.tiling import area_pixel_bounds, area_window, stitch

__all__ = ["plot_aligned_layers", "plot_tile_grid", "plot_chips", "plot_stack"]

_SPLIT_COLOURS = {"train": "#1f77b4", "test": "#ff7f0e"}


def _save(fig: Figure, save: str | Path | None) -> Figure:
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def _read(path: Path, window: Window, factor: int, bands: list[int] | int = 1) -> np.ndarray:
    h, w = max(1, int(window.height) // factor), max(1, int(window.width) // factor)
    with rasterio.open(path) as src:
        shape = (len(bands), h, w) if isinstance(bands, list) else (h, w)
        return src.read(bands, window=window, out_shape=shape)


def _rgb(path: Path, window: Window, factor: int) -> np.ndarray:
    """(H, W, 3) float in 0..1 for display: uint8 as is, other types stretched to the 2-98 % percentiles."""
    with rasterio.open(path) as src:
        bands = [i for i, ci in enumerate(src.colorinterp, start=1) if ci != ColorInterp.alpha][:3]
        dtype = np.dtype(src.dtypes[0])
    arr = _read(path, window, factor, bands)
    return rgb_display(arr, value_range=(0.0, 255.0) if dtype == np.uint8 else None)


def _scalebar(ax: plt.Axes, extent: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = extent
    span = (x1 - x0) / 4
    nice = 10 ** math.floor(math.log10(span)) if span > 0 else 1
    length = max(m * nice for m in (1, 2, 5) if m * nice <= span) if span >= nice else nice
    xs, ys = x0 + 0.05 * (x1 - x0), y0 + 0.06 * (y1 - y0)
    ax.plot([xs, xs + length], [ys, ys], color="k", lw=3, solid_capstyle="butt")
    ax.plot([xs, xs + length], [ys, ys], color="w", lw=1.2, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(xs + length / 2, ys + 0.02 * (y1 - y0), label, ha="center", va="bottom", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


def _outline(ax: plt.Axes, geoms: "gpd.GeoSeries", colour: str = "magenta") -> None:
    """Draw polygon outlines with plain matplotlib lines (geopandas' plot redraws the figure each call)."""
    for geom in geoms:
        for poly in getattr(geom, "geoms", [geom]):
            for ring in [poly.exterior, *poly.interiors]:
                x, y = ring.xy
                ax.plot(x, y, color=colour, lw=1.2)


def _map_axes(ax: plt.Axes, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("Easting (m)", fontsize=8)
    ax.set_ylabel("Northing (m)", fontsize=8)
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=7)


def plot_aligned_layers(
    aligned: "object",
    areas_gdf: gpd.GeoDataFrame,
    *,
    area: str = "test",
    save: str | Path | None = None,
    max_pixels: int = 1200,
) -> Figure:
    """Image, DEM, slope, river levels, landslide instances and valid pixels over one area (or a split).

    Args:
        aligned: :class:`landslide_utils.inputs.layers.AlignedLayers`.
        areas_gdf: the areas (``name``, ``split``) in the image CRS.
        area: a split (``test``/``train``) or an area name.
        save: where to save the figure (PNG at 150 dpi), or None.
        max_pixels: the longer side is decimated to about this many pixels for display.
    """

    sel = areas_gdf[(areas_gdf["split"] == area) | (areas_gdf["name"] == area)]
    if len(sel) == 0:
        raise ValueError(f"no area or split named {area!r}; choose one of "
                         f"{sorted(set(areas_gdf['split']) | set(areas_gdf['name']))}")
    pb = area_pixel_bounds(tuple(sel.total_bounds), aligned.transform, aligned.shape)
    if pb is None:
        raise ValueError(f"area {area!r} does not overlap the image")
    r0, c0, r1, c1 = pb
    window = Window(c0, r0, c1 - c0, r1 - r0)
    factor = max(1, math.ceil(max(r1 - r0, c1 - c0) / max_pixels))
    x0, y0 = aligned.transform @ (c0, r0)
    x1, y1 = aligned.transform @ (c1, r1)
    extent = (x0, x1, y1, y0)

    rgb = _rgb(aligned.image, window, factor)
    dem = _read(aligned.dem, window, factor).astype(float)
    slope = _read(aligned.slope, window, factor).astype(float)
    levels = _read(aligned.river_level, window, factor)
    inst = _read(aligned.instances, window, factor)
    valid = _read(aligned.valid, window, factor) > 0

    fig, axes = plt.subplots(2, 3, figsize=(15, 9.5), constrained_layout=True)
    ax = axes[0, 0]
    ax.imshow(rgb, extent=extent)
    _map_axes(ax, "Post-event image (RGB)")
    ax = axes[0, 1]
    im = ax.imshow(np.ma.masked_invalid(dem), extent=extent, cmap="terrain")
    fig.colorbar(im, ax=ax, shrink=0.8, label="Elevation (m)")
    _map_axes(ax, "DEM (bilinear onto the image grid)")
    ax = axes[0, 2]
    im = ax.imshow(np.ma.masked_invalid(slope), extent=extent, cmap="YlOrRd", vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="Slope (°)")
    _map_axes(ax, "Slope (Horn's method)")
    ax = axes[1, 0]
    n_lev = int(max(5, levels.max())) + 1
    cmap = ListedColormap(plt.get_cmap("Blues_r")(np.linspace(0.1, 0.95, n_lev)))
    norm = BoundaryNorm(np.arange(-0.5, n_lev + 0.5), n_lev)
    im = ax.imshow(levels, extent=extent, cmap=cmap, norm=norm, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, shrink=0.8, ticks=range(n_lev))
    cb.set_label("Distance-from-river level (0 = river surface)")
    _map_axes(ax, "River levels")
    ax = axes[1, 1]
    ax.imshow(rgb.mean(axis=-1), extent=extent, cmap="gray", vmin=0, vmax=1)
    ids = np.ma.masked_equal(inst, 0)
    if ids.count():
        rng = np.random.default_rng(0)
        colours = ListedColormap(rng.uniform(0.2, 1.0, size=(256, 3)) * [1.0, 0.5, 0.3])
        ax.imshow(ids % 256, extent=extent, cmap=colours, vmin=0, vmax=255, alpha=0.8, interpolation="nearest")
    n_ids = np.unique(inst[inst > 0]).size
    _map_axes(ax, f"Landslide instances ({n_ids} in view)")
    ax = axes[1, 2]
    ax.imshow(valid, extent=extent, cmap=ListedColormap(["#444444", "#dddddd"]), vmin=0, vmax=1,
              interpolation="nearest")
    ax.legend(handles=[Patch(color="#dddddd", label="valid"), Patch(color="#444444", label="nodata")],
              loc="upper right", fontsize=7)
    _map_axes(ax, f"Valid pixels ({100 * valid.mean():.1f} %)")
    for ax in axes.flat:
        _outline(ax, sel.geometry)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        _scalebar(ax, extent)
    fig.suptitle(f"Aligned input layers, {area} ({', '.join(sel['name'])})", fontsize=12)
    return _save(fig, save)


def plot_tile_grid(
    index_gdf: pd.DataFrame,
    image_path: str | Path,
    *,
    save: str | Path | None = None,
    max_pixels: int = 1500,
) -> Figure:
    """The image with every tile's footprint: outline by split, fill by landslide / non-landslide tile.

    Like Figure 3 of Yang et al. (2022) (training areas and test area cut into tiles).
    """
    image_path = Path(image_path)
    with rasterio.open(image_path) as src:
        h, w, tr = src.height, src.width, src.transform
    factor = max(1, math.ceil(max(h, w) / max_pixels))
    rgb = _rgb(image_path, Window(0, 0, w, h), factor)
    x0, y0 = tr @ (0, 0)
    x1, y1 = tr @ (w, h)
    extent = (x0, x1, y1, y0)
    fig, ax = plt.subplots(figsize=(10, 10 * h / max(w, 1) + 1), constrained_layout=True)
    ax.imshow(rgb, extent=extent)
    for _, row in index_gdf.iterrows():
        bx0, by0, bx1, by1 = row.geometry.bounds
        edge = _SPLIT_COLOURS.get(str(row["split"]), "k")
        face = (0.85, 0.1, 0.1, 0.35) if bool(row["has_landslide"]) else (1, 1, 1, 0.08)
        ax.add_patch(Rectangle((bx0, by0), bx1 - bx0, by1 - by0, facecolor=face, edgecolor=edge, lw=1.6))
    handles = [Patch(facecolor="none", edgecolor=c, label=f"{s} tile") for s, c in _SPLIT_COLOURS.items()
               if s in set(index_gdf["split"])]
    handles += [Patch(facecolor=(0.85, 0.1, 0.1, 0.35), edgecolor="k", label="landslide tile"),
                Patch(facecolor=(1, 1, 1, 0.08), edgecolor="k", label="non-landslide tile")]
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    _map_axes(ax, "")
    _scalebar(ax, extent)
    parts = []
    for s in sorted(set(index_gdf["split"]), key=lambda v: (v != "train", v)):
        sel = index_gdf[index_gdf["split"] == s]
        parts.append(f"{s}: {len(sel)} tiles ({int(sel['has_landslide'].sum())} with landslides)")
    ts = int(index_gdf["tile_size"].iloc[0]) if len(index_gdf) else 0
    ax.set_title(f"Tile grid ({ts} × {ts} px) — " + "; ".join(parts), fontsize=10)
    return _save(fig, save)


def plot_chips(index: pd.DataFrame, tiles_dir: str | Path, *, n: int = 8, save: str | Path | None = None) -> Figure:
    """A few chips of a chip dataset as cut into tiles (step 01): RGB with the landslide mask outlined and each
    chip's split; train and test chips alternate (:mod:`landslide_utils.chips.study_tiles`)."""

    names = {s: list(dict.fromkeys(index.loc[index["split"] == s, "area"])) for s in ("train", "test")}
    picked = [x for pair in zip(names["train"], names["test"]) for x in pair]
    picked += [x for s in ("train", "test") for x in names[s] if x not in picked]
    picked = picked[:n]
    cols = min(4, max(len(picked), 1))
    rows = max(1, math.ceil(len(picked) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, name in zip(axes.ravel(), picked):
        sel = index[(index["area"] == name) & index["split"].isin(["train", "test"])]
        win = area_window(sel, name)
        rgb = np.stack([stitch(sel, tiles_dir, band=b, window=win) for b in ("red", "green", "blue")])
        valid = stitch(sel, tiles_dir, band="valid", window=win) > 0.5
        rows_v, cols_v = np.flatnonzero(valid.any(1)), np.flatnonzero(valid.any(0))
        crop = (slice(rows_v[0], rows_v[-1] + 1), slice(cols_v[0], cols_v[-1] + 1))
        land = stitch(sel, tiles_dir, band="instance_id", window=win)[crop] > 0
        shown = rgb_display(rgb[(slice(None), *crop)], valid[crop])
        ax.imshow(shown, interpolation="nearest")
        if land.any():
            ax.contour(land, levels=[0.5], colors="magenta", linewidths=1.0)
        split = sel["split"].iloc[0]
        ax.set_title(f"{name} ({split}, {len(sel)} tile{'s' if len(sel) > 1 else ''})", fontsize=9,
                     color=_SPLIT_COLOURS.get(split, "k"))
    fig.suptitle("Chips as tiled, landslide masks outlined", fontsize=10)
    return _save(fig, save)


#: how :func:`plot_stack` draws each layer: colour map and colour-bar label
_STACK_STYLE = {"elevation": ("terrain", "elevation (m)"), "slope": ("magma_r", "slope (degrees)"),
                "river_level": ("Blues_r", "river level (0 = river surface)")}
#: layers of class codes, drawn with one colour per code
_CLASS_LAYERS = frozenset({"river_level", "aspect", "lithology", "area", "split"})


def plot_stack(ds: "object", *, variables: tuple[str, ...] = ("elevation", "slope", "river_level"),
               max_pixels: int = 1200, save: str | Path | None = None) -> Figure:
    """Layers of the aligned stack (:func:`landslide_utils.inputs.stack.open_aligned`) side by side with xarray's own
    ``DataArray.plot``: axes in the image CRS, the study areas' outlines (``area``) and the landslides
    (``instances``) drawn over each. A layer larger than ``max_pixels`` on a side is shown every k-th pixel."""
    step = max(1, math.ceil(max(ds.sizes["y"], ds.sizes["x"]) / max_pixels))
    crs = ds.rio.crs.to_string() if ds.rio.crs is not None else "image CRS"
    view = ds.isel(x=slice(None, None, step), y=slice(None, None, step))
    fig, axes = plt.subplots(1, len(variables), figsize=(5.2 * len(variables), 4.2), constrained_layout=True,
                             squeeze=False)
    km = FuncFormatter(lambda v, _pos: f"{v / 1000:g}")
    for ax, name in zip(axes[0], variables):
        cmap, label = _STACK_STYLE.get(name, ("viridis", f"{name} ({ds[name].attrs.get('units', '')})"))
        layer = view[name].where(view["valid"] > 0) if "valid" in view else view[name]
        if name in _CLASS_LAYERS:  # class codes: one colour per code
            top = int(np.nanmax(layer.values)) if np.isfinite(layer.values).any() else 0
            layer.plot(ax=ax, cmap=cmap, levels=np.arange(top + 2) - 0.5,
                       cbar_kwargs={"label": label, "shrink": 0.85, "ticks": np.arange(top + 1)})
        else:
            layer.plot(ax=ax, cmap=cmap, cbar_kwargs={"label": label, "shrink": 0.85})
        if "instances" in view:
            view["instances"].where(view["instances"] > 0).notnull().plot.contour(ax=ax, levels=[0.5],
                                                                                  colors="cyan", linewidths=0.6)
        if "area" in view:
            view["area"].plot.contour(ax=ax, levels=np.arange(int(view["area"].max()) + 1) + 0.5, colors="white",
                                      linewidths=1.0, linestyles="--")
        ax.set_aspect("equal")
        ax.set_title(ds[name].attrs.get("long_name", name))
        ax.xaxis.set_major_formatter(km)
        ax.yaxis.set_major_formatter(km)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel(f"x (km, {crs})")
        ax.set_ylabel(f"y (km, {crs})")
    fig.suptitle("the aligned stack (aligned.nc): landslides in cyan, study areas dashed")
    return _save(fig, save)
