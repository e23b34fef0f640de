"""Figures of the study area: the post-event image with the inventory and the train/test areas, the DEM
hillshade with the rivers (Yang et al. 2022, Figures 1-2), and the two image dates side by side (Figure 19).

Works for the synthetic area and for any folder with the same file names (``image_t1.tif``, ``image_t2.tif``,
``dem.tif``, ``rivers.geojson``, ``inventory.gpkg``, ``areas.geojson``); missing optional layers are skipped.
Axes are in kilometres from the image's south-west corner; each map carries a scale bar in metres.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import rasterio
import shapely
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.windows import Window

from landslide_utils.plots.display import rgb_display
from landslide_utils.synthetic import SYNTHETIC_FILES

__all__ = ["plot_study_area", "plot_second_date"]

_MAX_PX = 1600
_SPLIT_STYLE = {"train": {"color": "#00e5ff", "ls": "--"}, "test": {"color": "#ff00d4", "ls": "-"}}


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found; plot_study_area expects the study-area files "
                                "(image_t1.tif, dem.tif, ...) in this folder - run the data preparation first")
    return path


def _read_rgb(path: Path, window: Window | None = None, max_px: int = _MAX_PX):
    """(H, W, 3) uint8 for display (decimated to ``max_px``) and the (xmin, xmax, ymin, ymax) extent."""
    with rasterio.open(_need(path)) as src:
        win = window or Window(0, 0, src.width, src.height)
        f = max(1, math.ceil(max(win.width, win.height) / max_px))
        shape = (min(3, src.count), max(1, int(win.height // f)), max(1, int(win.width // f)))
        arr = src.read(list(range(1, shape[0] + 1)), window=win, out_shape=shape, resampling=Resampling.average)
        t = src.transform
        b = (t.c + win.col_off * t.a, t.f + (win.row_off + win.height) * t.e,
             t.c + (win.col_off + win.width) * t.a, t.f + win.row_off * t.e)
    if arr.shape[0] < 3:
        arr = np.repeat(arr[:1], 3, axis=0)
    if arr.dtype != np.uint8:  # real imagery: one 2-98 % stretch for the three bands
        arr = (rgb_display(arr).transpose(2, 0, 1) * 255).astype(np.uint8)
    return arr.transpose(1, 2, 0), (b[0], b[2], b[1], b[3])


def _vector(path: Path, crs) -> gpd.GeoDataFrame | None:
    if not path.exists():
        return None
    gdf = gpd.read_file(path)
    return gdf.to_crs(crs) if gdf.crs is not None and crs is not None and gdf.crs != crs else gdf


def _km(ax, ref: tuple[float, float], extent, *, label: bool = True) -> None:
    ax.set_xlim((extent[0] - ref[0]) / 1000, (extent[1] - ref[0]) / 1000)
    ax.set_ylim((extent[2] - ref[1]) / 1000, (extent[3] - ref[1]) / 1000)
    if label:
        ax.set_xlabel(f"km east of {ref[0]:.0f} m E")
        ax.set_ylabel(f"km north of {ref[1]:.0f} m N")


def _scale_bar(ax, width_m: float) -> None:
    """A white-boxed scale bar of a round length (metres) in the lower-left corner; axes are in km."""
    nice = [10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]
    length = max([n for n in nice if n <= width_m / 4] or [nice[0]])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    px, py = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.add_patch(Rectangle((px - 0.01 * (x1 - x0), py - 0.025 * (y1 - y0)), length / 1000 + 0.02 * (x1 - x0),
                           0.09 * (y1 - y0), facecolor="white", alpha=0.8, edgecolor="none", zorder=5))
    ax.plot([px, px + length / 1000], [py, py], color="black", lw=3, zorder=6, solid_capstyle="butt")
    ax.text(px + length / 2000, py + 0.012 * (y1 - y0), f"{length} m", ha="center", va="bottom", fontsize=8,
            zorder=6)


def _shift(gdf: gpd.GeoDataFrame, ref: tuple[float, float]) -> gpd.GeoSeries:
    return gdf.geometry.translate(-ref[0], -ref[1]).scale(1e-3, 1e-3, origin=(0, 0))


def _draw_areas(ax, areas: gpd.GeoDataFrame | None, ref) -> None:
    if areas is None:
        return
    for (_, row), g in zip(areas.iterrows(), _shift(areas, ref)):
        st = _SPLIT_STYLE.get(str(row.get("split")), {"color": "white", "ls": ":"})
        gpd.GeoSeries([g]).boundary.plot(ax=ax, color=st["color"], lw=1.8, linestyle=st["ls"], zorder=4)
        xmin, _, xmax, ymax = g.bounds
        ax.text((xmin + xmax) / 2, ymax, f"{row.get('name', '')}\n({row.get('split', '?')})", ha="center",
                va="top", fontsize=8, color="black", zorder=6,
                bbox={"facecolor": st["color"], "alpha": 0.75, "edgecolor": "none", "pad": 1.5})


def _hillshade(dem_path: Path, dst_crs, dst_extent):
    """Hillshade and elevation computed on the DEM's own grid (Horn), reprojected for display if needed."""
    with rasterio.open(_need(dem_path)) as src:
        z = src.read(1, masked=True).astype(np.float64)
        tr, crs = src.transform, src.crs
    zf = z.filled(np.nan)
    sx, sy = abs(tr.a), abs(tr.e)
    if crs is not None and crs.is_geographic:  # degrees -> metres at the DEM's centre latitude
        lat = math.radians(tr.f + tr.e * z.shape[0] / 2)
        sx, sy = sx * 111320 * math.cos(lat), sy * 110540
    p = np.pad(np.where(np.isnan(zf), np.nanmean(zf), zf), 1, mode="edge")
    gx = ((p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])) / (8 * sx)
    gy = -((p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])) / (8 * sy)
    slope, aspect = np.arctan(np.hypot(gx, gy)), np.arctan2(-gx, -gy)
    az, alt = math.radians(315), math.radians(45)
    shade = np.clip(math.sin(alt) * np.cos(slope) + math.cos(alt) * np.sin(slope) * np.cos(az - aspect), 0, 1)
    shade[np.isnan(zf)] = np.nan
    if dst_crs is not None and crs is not None and crs != dst_crs:
        out_shape = (min(z.shape[0] * 2, 1200), min(z.shape[1] * 2, 1200))
        dtr = rasterio.transform.from_bounds(dst_extent[0], dst_extent[2], dst_extent[1], dst_extent[3],
                                             out_shape[1], out_shape[0])
        res = []
        for a in (shade, zf):
            o = np.full(out_shape, np.nan)
            reproject(a, o, src_transform=tr, src_crs=crs, dst_transform=dtr, dst_crs=dst_crs,
                      resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
            res.append(o)
        shade, zf, tr = res[0], res[1], dtr
    ext = (tr.c, tr.c + tr.a * zf.shape[1], tr.f + tr.e * zf.shape[0], tr.f)
    return shade, zf, ext


def _window(bounds, tr) -> Window:
    """Pixel window (whole pixels) of world bounds (xmin, ymin, xmax, ymax) on a north-up grid."""
    c0, r0 = math.floor((bounds[0] - tr.c) / tr.a), math.floor((bounds[3] - tr.f) / tr.e)
    c1, r1 = math.ceil((bounds[2] - tr.c) / tr.a), math.ceil((bounds[1] - tr.f) / tr.e)
    return Window(c0, r0, max(c1 - c0, 1), max(r1 - r0, 1))


def _busiest_window(inv: gpd.GeoDataFrame | None, extent, frac: float, column: str | None = None,
                    extra: gpd.GeoDataFrame | None = None):
    """Bounds (xmin, ymin, xmax, ymax) of a square window holding most landslides (or most ``column``), plus
    three points per feature of ``extra`` (fields and buildings, so the close-up shows confusers too)."""
    w = h = min((extent[1] - extent[0]) * frac, (extent[3] - extent[2]) * frac * 1.5)
    pts, weights = [], []
    if inv is not None and len(inv):
        sel = inv[inv[column].astype(bool)] if column and column in inv and inv[column].any() else inv
        pts.append(sel.geometry.centroid), weights.append(np.ones(len(sel)))
    if extra is not None and len(extra):
        pts.append(extra.geometry.centroid), weights.append(np.full(len(extra), 3.0))
    best, best_n = (extent[0], extent[3] - h), -1.0
    if pts:
        x = np.concatenate([p.x.to_numpy() for p in pts])
        y = np.concatenate([p.y.to_numpy() for p in pts])
        wt = np.concatenate(weights)
        for x0 in np.linspace(extent[0], extent[1] - w, 12):
            for y0 in np.linspace(extent[2], extent[3] - h, 8):
                n = float(wt[(x > x0) & (x < x0 + w) & (y > y0) & (y < y0 + h)].sum())
                if n > best_n:
                    best, best_n = (x0, y0), n
    return (best[0], best[1], best[0] + w, best[1] + h)


def plot_study_area(input_dir: Path | str, *, save: Path | None = None) -> Figure:
    """Four panels: (a) post-event image with inventory outlines and labelled train/test areas, (b) DEM
    hillshade with elevation colours and rivers, (c)-(d) a full-resolution close-up with and without outlines.

    Args:
        input_dir: folder holding ``image_t1.tif``, ``dem.tif`` and optionally ``inventory.gpkg``,
            ``areas.geojson``, ``rivers.geojson``, ``confusers.gpkg``.
        save: PNG path to write (dpi 150), or None.
    """
    d = Path(input_dir)
    with rasterio.open(_need(d / SYNTHETIC_FILES["image_t1"])) as src:
        crs, ib, itr = src.crs, src.bounds, src.transform
    extent = (ib.left, ib.right, ib.bottom, ib.top)
    ref = (ib.left, ib.bottom)
    inv, areas = _vector(d / SYNTHETIC_FILES["inventory"], crs), _vector(d / SYNTHETIC_FILES["areas"], crs)
    rivers, conf = _vector(d / SYNTHETIC_FILES["rivers"], crs), _vector(d / SYNTHETIC_FILES["confusers"], crs)
    rgb, ext = _read_rgb(d / SYNTHETIC_FILES["image_t1"])
    fig, axs = plt.subplots(2, 2, figsize=(15, 11.5), constrained_layout=True)
    kx = lambda e: ((e[0] - ref[0]) / 1e3, (e[1] - ref[0]) / 1e3, (e[2] - ref[1]) / 1e3, (e[3] - ref[1]) / 1e3)  # noqa
    a = axs[0, 0]
    a.imshow(rgb, extent=kx(ext), interpolation="antialiased")
    if inv is not None and len(inv):
        _shift(inv, ref).boundary.plot(ax=a, color="yellow", lw=0.7, zorder=3)
    _draw_areas(a, areas, ref)
    _km(a, ref, extent)
    n_inv = 0 if inv is None else len(inv)
    a.set_title(f"(a) Post-event image with the inventory ({n_inv} landslides) and the areas")
    handles = [Line2D([], [], color="yellow", lw=1.2, label="landslide (inventory)"),
               Line2D([], [], color=_SPLIT_STYLE["train"]["color"], ls="--", lw=1.8, label="train area"),
               Line2D([], [], color=_SPLIT_STYLE["test"]["color"], lw=1.8, label="test area")]
    a.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.85)
    _scale_bar(a, extent[1] - extent[0])

    b = axs[0, 1]
    shade, z, dext = _hillshade(d / SYNTHETIC_FILES["dem"], crs, extent)
    b.imshow(shade, extent=kx(dext), cmap="gray", vmin=0, vmax=1, interpolation="bilinear")
    cmap = ListedColormap(plt.get_cmap("terrain")(np.linspace(0.25, 1.0, 256)))  # no sea blue on land
    im = b.imshow(z, extent=kx(dext), cmap=cmap, alpha=0.5, interpolation="bilinear",
                  vmin=np.nanmin(z), vmax=np.nanmax(z))
    fig.colorbar(im, ax=b, shrink=0.8, label="elevation (m)")
    if rivers is not None and len(rivers):
        lw = (0.6 + rivers["width_m"].to_numpy() / 10) if "width_m" in rivers else 1.5
        _shift(rivers, ref).plot(ax=b, color="#1f5fff", linewidth=lw, zorder=3)
    if inv is not None and len(inv):
        _shift(inv, ref).boundary.plot(ax=b, color="#d40000", lw=0.6, zorder=3)
    _draw_areas(b, areas, ref)
    _km(b, ref, extent)
    b.set_title("(b) DEM hillshade (on the DEM grid) with rivers and landslides")
    b.legend(handles=[Line2D([], [], color="#1f5fff", lw=2, label="river"),
                      Line2D([], [], color="#d40000", lw=1.2, label="landslide")], loc="lower right", fontsize=8)
    _scale_bar(b, extent[1] - extent[0])

    blocks = conf[conf["kind"].isin(["field", "building"])] if conf is not None and "kind" in conf else None
    zb = _busiest_window(inv, extent, 0.3, extra=blocks)
    win = _window(zb, itr)
    crop, cext = _read_rgb(d / SYNTHETIC_FILES["image_t1"], window=win, max_px=1200)
    colours = {"river_surface": "#3fa9ff", "gravel_bar": "#bbbbbb", "road": "#ff8c00", "field": "#ff4040",
               "building": "#ffffff"}
    for ax, outlines in ((axs[1, 0], True), (axs[1, 1], False)):
        ax.imshow(crop, extent=kx(cext), interpolation="nearest")
        if outlines and inv is not None and len(inv):
            _shift(inv, ref).boundary.plot(ax=ax, color="yellow", lw=1.0, zorder=3)
            hs = [Line2D([], [], color="yellow", lw=1.2, label="landslide")]
            if conf is not None and len(conf):
                for kind, col in colours.items():
                    sel = conf[(conf["kind"] == kind) & conf.intersects(shapely.box(*zb))]
                    if len(sel):
                        _shift(sel, ref).boundary.plot(ax=ax, color=col, lw=0.8, ls=":", zorder=3)
                        hs.append(Line2D([], [], color=col, ls=":", lw=1.2, label=kind.replace("_", " ")))
            ax.legend(handles=hs, loc="lower right", fontsize=7, framealpha=0.85)
        _km(ax, ref, (cext[0], cext[1], cext[2], cext[3]))
        _scale_bar(ax, cext[1] - cext[0])
    axs[1, 0].set_title("(c) Close-up: landslides (yellow) and look-alike confusers (dotted)")
    axs[1, 1].set_title("(d) The same close-up as the model sees it")
    a.add_patch(Rectangle(((zb[0] - ref[0]) / 1e3, (zb[1] - ref[1]) / 1e3), (zb[2] - zb[0]) / 1e3,
                          (zb[3] - zb[1]) / 1e3, fill=False, edgecolor="white", lw=1.2, ls="-.", zorder=5))
    fig.suptitle(f"Study area: {d.resolve().name}", fontsize=13)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig


def plot_second_date(input_dir: Path | str, *, save: Path | None = None) -> Figure:
    """The post-event image (t1) beside the second-date image (t2), whole scene and a close-up where most
    landslides re-vegetated (Yang et al. 2022, Figure 19: 20 Aug 2014 vs 5 May 2015).

    Args:
        input_dir: folder holding ``image_t1.tif``, ``image_t2.tif`` and optionally ``inventory.gpkg``.
        save: PNG path to write (dpi 150), or None.
    """
    d = Path(input_dir)
    with rasterio.open(_need(d / SYNTHETIC_FILES["image_t1"])) as src:
        crs, ib, itr = src.crs, src.bounds, src.transform
    extent, ref = (ib.left, ib.right, ib.bottom, ib.top), (ib.left, ib.bottom)
    inv = _vector(d / SYNTHETIC_FILES["inventory"], crs)
    zb = _busiest_window(inv, extent, 0.3, column="revegetated_t2")
    win = _window(zb, itr)
    fig, axs = plt.subplots(2, 2, figsize=(14, 10.5), constrained_layout=True)
    kx = lambda e: ((e[0] - ref[0]) / 1e3, (e[1] - ref[0]) / 1e3, (e[2] - ref[1]) / 1e3, (e[3] - ref[1]) / 1e3)  # noqa
    for col, (key, label) in enumerate((("image_t1", "t1: post-event"), ("image_t2", "t2: second date"))):
        name = SYNTHETIC_FILES[key]
        rgb, ext = _read_rgb(d / name)
        ax = axs[0, col]
        ax.imshow(rgb, extent=kx(ext))
        ax.add_patch(Rectangle(((zb[0] - ref[0]) / 1e3, (zb[1] - ref[1]) / 1e3), (zb[2] - zb[0]) / 1e3,
                               (zb[3] - zb[1]) / 1e3, fill=False, edgecolor="white", lw=1.2, ls="-.", zorder=5))
        _km(ax, ref, extent)
        _scale_bar(ax, extent[1] - extent[0])
        ax.set_title(f"{label} ({name})")
        crop, cext = _read_rgb(d / name, window=win, max_px=1200)
        ax = axs[1, col]
        ax.imshow(crop, extent=kx(cext), interpolation="nearest")
        if col == 0 and inv is not None and len(inv):
            _shift(inv, ref).boundary.plot(ax=ax, color="yellow", lw=0.6, ls="--", zorder=3)
            if "revegetated_t2" in inv:
                rv = inv[inv["revegetated_t2"].astype(bool)]
                if len(rv):
                    _shift(rv, ref).boundary.plot(ax=ax, color="#ff00d4", lw=0.9, ls="--", zorder=3)
        _km(ax, ref, cext)
        _scale_bar(ax, cext[1] - cext[0])
        ax.set_title(f"{label}: close-up" + (" with the t1 inventory" if col == 0 else " (no outlines)"))
    axs[1, 0].legend(handles=[Line2D([], [], color="yellow", ls="--", label="landslide at t1"),
                              Line2D([], [], color="#ff00d4", ls="--", label="re-vegetated by t2")],
                     loc="lower right", fontsize=8, framealpha=0.85)
    fig.suptitle("Multi-temporal test: the same area at two dates", fontsize=13)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=100, bbox_inches="tight")
    return fig
