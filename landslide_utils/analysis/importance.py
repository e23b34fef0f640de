"""Factor analyses of Gao et al. (2021, IEEE JSTARS): frequency ratios per class and random-forest importance.

* :func:`natural_breaks` — Jenks natural breaks (five classes in the paper, as ArcGIS classifies a factor), by
  ``mapclassify.NaturalBreaks`` on a deterministic sample of the values.
* :func:`frequency_ratio` — per class of a factor: its share of the area, its share of the landslide pixels,
  and their ratio (> 1 where landslides are more frequent than on average). Continuous factors are cut by
  natural breaks (or given bounds); categorical ones (aspect classes, lithology units) keep their codes.
* :func:`rf_importance` — the Gini importance (mean decrease in impurity) of each factor in a random forest
  that tells landslide from background pixels (scikit-learn).

All three work on numpy rasters of one grid: the factor(s), the landslide mask (True / instance id > 0 on a
landslide) and the valid mask (the study area's pixels with data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import mapclassify
import numpy as np
import pandas as pd
import rasterio
from sklearn.ensemble import RandomForestClassifier
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from landslide_utils.files.atomic import write_csv
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.inputs.factor_rasters import ASPECT_CLASSES
from landslide_utils.plots.factors import plot_factor_importance, plot_frequency_ratios

__all__ = ["frequency_ratio", "natural_breaks", "rf_importance", "study_factor_analysis", "write_factor_analysis",
           "STUDY_FACTORS"]

FR_COLUMNS = ["class", "lower", "upper", "pixels", "landslide_pixels", "area_share", "landslide_share",
              "frequency_ratio"]


def natural_breaks(values: np.ndarray, *, k: int = 5, seed: int = 0, sample: int = 20000) -> np.ndarray:
    """Upper bounds of ``k`` Jenks natural-breaks classes of the finite values (Gao et al. 2021: k = 5).

    Jenks' natural breaks minimise the squared deviations of the values from their class means, which in one
    dimension is k-means: ``mapclassify.NaturalBreaks`` solves it with scikit-learn's k-means (k-means++
    starts, the best of 10). It is used rather than ``mapclassify.FisherJenks`` (the exact optimum by dynamic
    programming, O(k n^2)) because without numba FisherJenks runs in pure Python: about 3 s for 1000 values,
    and far too slow for a sample large enough to represent a raster. On well separated classes both give the
    same breaks; otherwise k-means reaches the optimum or a near-optimal local one.

    For speed at most ``sample`` finite values are classified: a subset drawn without replacement with
    ``numpy.random.default_rng(seed)`` (plus the minimum and the maximum), like ArcGIS, which samples too. The
    k-means starts are drawn from numpy's global generator seeded with ``seed`` for the call (mapclassify
    offers no seed); its state is restored afterwards. The result is deterministic for given values and
    ``seed``. The k-means runs on one thread (threadpoolctl, for the call), much faster on one dimension. The last bound is the maximum of all the finite values, so every value falls in a class.

    Args:
        values: any array of factor values; NaN / inf are left out.
        k: number of classes (>= 1).
        seed: seed of the sample and of the k-means starts.
        sample: largest number of values classified (>= k).

    Returns:
        float64 array of ``k`` increasing upper bounds; class j holds ``bounds[j-1] < v <= bounds[j]``.

    Raises:
        ValueError: no finite value, fewer distinct values than ``k``, or a bad ``k`` / ``sample``.
    """

    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive number of classes, got {k}")
    k = int(k)
    if sample < k:
        raise ValueError(f"sample ({sample}) must be at least k ({k})")
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite value to classify; check the factor's nodata and the valid mask")
    vmin, vmax = float(v.min()), float(v.max())
    if v.size > sample:
        rng = np.random.default_rng(seed)
        sub = np.concatenate([v[rng.choice(v.size, size=sample - 2, replace=False)], [vmin, vmax]])
    else:
        sub = v
    distinct = np.unique(sub).size
    if distinct < k:
        raise ValueError(f"only {distinct} distinct values {'in the sample ' if sub is not v else ''}to cut into "
                         f"{k} natural-breaks classes; use k <= {distinct}, or give the factor's classes "
                         "(categorical mode)")
    if k == 1:
        return np.array([vmax])
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        with threadpool_limits(limits=1):  # 1-D k-means: one thread is ~10x faster than several
            bins = np.asarray(mapclassify.NaturalBreaks(sub, k=k, initial=10).bins, dtype=np.float64)
    finally:
        np.random.set_state(state)
    bins = np.sort(bins)
    bins[-1] = vmax
    return bins


def _fmt(x: float) -> str:
    return np.format_float_positional(float(x), precision=5, unique=True, fractional=False, trim="-")


def _class_names(classes: Sequence[str] | Mapping[int, str]) -> dict[int, str]:
    if isinstance(classes, Mapping):
        names = {int(c): str(n) for c, n in classes.items()}
    elif isinstance(classes, str):
        raise ValueError(f"classes must be a sequence of names (codes 1..K) or a dict code -> name, got the "
                         f"string {classes!r}")
    else:
        names = {i + 1: str(n) for i, n in enumerate(classes)}
    if not names:
        raise ValueError("classes is empty; give the names of the codes 1..K, or a dict code -> name")
    return names


def _masks(values: np.ndarray, landslide: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, ...]:
    values = np.asarray(values)
    land = np.asarray(landslide)
    if land.shape != values.shape:
        raise ValueError(f"the landslide mask has shape {land.shape}, the factor {values.shape}; put both on one grid")
    if valid is None:
        ok = np.ones(values.shape, bool)
    else:
        ok = np.asarray(valid, dtype=bool)
        if ok.shape != values.shape:
            raise ValueError(f"the valid mask has shape {ok.shape}, the factor {values.shape}; put both on one grid")
    with np.errstate(invalid="ignore"):
        land = land > 0
    return values, land, ok


def frequency_ratio(
    values: np.ndarray,
    landslide: np.ndarray,
    valid: np.ndarray | None,
    *,
    bounds: Sequence[float] | np.ndarray | None = None,
    classes: Sequence[str] | Mapping[int, str] | None = None,
    k: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Frequency ratio of landslides per class of one factor (Gao et al. 2021, frequency analysis).

    Only pixels where ``valid`` is True and the factor is finite count. For class i::

        area_share      = pixels_i / all counted pixels
        landslide_share = landslide pixels_i / all counted landslide pixels
        frequency_ratio = landslide_share / area_share        (NaN for an empty class)

    so that ``sum(area_share * frequency_ratio) == 1``; a ratio above 1 marks a class where landslides are
    more frequent than over the whole area.

    Breaks mode (``classes`` None): class j holds ``upper_{j-1} < v <= upper_j``; the upper bounds are
    ``bounds`` when given, else :func:`natural_breaks` of the counted values with ``k`` and ``seed``. The first
    class's ``lower`` is the smallest counted value (or its upper bound if that is smaller) and it includes it;
    the label is ``"lower–upper"``.

    Categorical mode (``classes`` given; ``bounds`` must then be None): ``values`` are integer codes, named by
    ``classes`` — a sequence of names for codes 1..K, or a dict code -> name (e.g.
    ``dict(enumerate(ASPECT_CLASSES))`` for the aspect classes 0..8). Pixels whose code is not among the
    classes (0 = no lithology polygon, 255 = nodata) are left out, of the totals too. ``lower`` and ``upper``
    are NaN.

    Args:
        values: (rows, cols) factor raster.
        landslide: (rows, cols) landslide mask (bool, or instance ids: > 0 is a landslide).
        valid: (rows, cols) bool, True where the pixel belongs to the study (None: every pixel).
        bounds: increasing upper bounds of the classes (breaks mode); values above the last are an error.
        classes: class names (categorical mode).
        k: number of natural-breaks classes when ``bounds`` is None.
        seed: seed of :func:`natural_breaks`.

    Returns:
        DataFrame with one row per class: class, lower, upper, pixels, landslide_pixels, area_share,
        landslide_share, frequency_ratio.

    Raises:
        ValueError: shapes differ, both ``bounds`` and ``classes`` are given, bad bounds, values above the last
            bound, no counted pixel, or no landslide among them.
    """
    values, land, ok = _masks(values, landslide, valid)
    if classes is not None and bounds is not None:
        raise ValueError("give either bounds (a continuous factor cut into classes) or classes (a categorical "
                         "factor's codes), not both")
    with np.errstate(invalid="ignore"):
        counted = ok & np.isfinite(values.astype(np.float64, copy=False))
    vv = values[counted].astype(np.float64)
    lv = land[counted]
    if classes is not None:
        names = _class_names(classes)
        codes = np.array(sorted(names), dtype=np.float64)
        keep = np.isin(vv, codes)
        vv, lv = vv[keep], lv[keep]
        idx = np.searchsorted(codes, vv)
        labels = [names[int(c)] for c in codes]
        lower = upper = np.full(len(codes), np.nan)
    else:
        if vv.size == 0:
            raise ValueError("no valid pixel with a finite factor value; check the factor's nodata and the valid "
                             "mask")
        if bounds is None:
            ub = natural_breaks(vv, k=k, seed=seed)
        else:
            ub = np.asarray(bounds, dtype=np.float64).ravel()
            if ub.size == 0 or np.isnan(ub).any() or np.any(np.diff(ub) <= 0):
                raise ValueError(f"bounds must be a non-empty, strictly increasing list of upper bounds, got "
                                 f"{ub.tolist()}")
            above = int((vv > ub[-1]).sum())
            if above:
                raise ValueError(f"{above} counted values exceed the last bound {ub[-1]:g} (max {vv.max():g}); "
                                 "append a larger bound (e.g. numpy.inf) to bounds")
        idx = np.searchsorted(ub, vv, side="left")
        upper = ub
        lower = np.concatenate([[min(float(vv.min()), float(ub[0]))], ub[:-1]])
        labels = [f"{_fmt(lo)}–{_fmt(hi)}" for lo, hi in zip(lower, upper)]
    n = len(labels)
    pixels = np.bincount(idx, minlength=n)[:n].astype(np.int64)
    land_px = np.bincount(idx[lv], minlength=n)[:n].astype(np.int64)
    total, total_ls = int(pixels.sum()), int(land_px.sum())
    if total == 0:
        raise ValueError("no valid pixel falls in any of the classes; check the codes against classes and the "
                         "valid mask")
    if total_ls == 0:
        raise ValueError("no landslide pixel among the counted pixels; check that the landslide mask overlaps the "
                         "valid area")
    area_share = pixels / total
    ls_share = land_px / total_ls
    with np.errstate(divide="ignore", invalid="ignore"):
        fr = np.where(pixels > 0, ls_share / area_share, np.nan)
    return pd.DataFrame({"class": labels, "lower": lower, "upper": upper, "pixels": pixels,
                         "landslide_pixels": land_px, "area_share": area_share, "landslide_share": ls_share,
                         "frequency_ratio": fr})[FR_COLUMNS]


def rf_importance(
    features: dict[str, np.ndarray],
    landslide: np.ndarray,
    valid: np.ndarray | None,
    *,
    n_samples: int = 20000,
    n_estimators: int = 100,
    seed: int = 0,
    balance: bool = True,
) -> pd.DataFrame:
    """Gini importance of each factor in a random forest telling landslide from background pixels.

    Pixels count where ``valid`` is True and every factor is finite. A deterministic sample of them
    (``numpy.random.default_rng(seed)``, without replacement) trains scikit-learn's
    ``RandomForestClassifier(n_estimators, random_state=seed, n_jobs=1)``; the importance is its
    ``feature_importances_``, the mean decrease in impurity (Gini), which sums to 1 (all zeros only when no
    tree could split, e.g. constant factors).

    With ``balance`` the sample is stratified: ``n_samples // 2`` landslide and as many background pixels, or,
    when either class has fewer pixels, that many of each (the classes stay equal in number, so the forest
    does not learn the landslides' rarity). Without it, ``n_samples`` pixels are drawn uniformly (the
    landslides in their natural share).

    Args:
        features: factor name -> (rows, cols) raster, all of one shape (categorical factors as codes).
        landslide: (rows, cols) landslide mask (bool, or instance ids > 0).
        valid: (rows, cols) bool, True on the study's pixels (None: every pixel).
        n_samples: pixels sampled in all.
        n_estimators: trees of the forest.
        seed: seed of the sample and of the forest.
        balance: stratify the sample half landslide, half background.

    Returns:
        DataFrame with columns factor, importance, sorted by importance, largest first.

    Raises:
        ValueError: no factor, a factor of another shape (named), no landslide or no background pixel among
            the counted pixels, or a uniform sample without both classes.
    """

    if not features:
        raise ValueError("no factor given; pass a dict of factor name -> raster")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    land = np.asarray(landslide)
    for name, arr in features.items():
        if np.shape(arr) != land.shape:
            raise ValueError(f"factor {name!r} has shape {np.shape(arr)}, the landslide mask {land.shape}; put "
                             "every factor on the landslide mask's grid")
    _, is_land, counted = _masks(land, land, valid)
    counted = counted.copy()  # never the caller's valid mask
    for arr in features.values():
        with np.errstate(invalid="ignore"):
            counted &= np.isfinite(np.asarray(arr, dtype=np.float64))
    pos = np.flatnonzero(counted & is_land)
    neg = np.flatnonzero(counted & ~is_land)
    if pos.size == 0:
        raise ValueError("no landslide pixel among the valid pixels with every factor finite; check the landslide "
                         "mask, the valid mask and the factors' nodata")
    if neg.size == 0:
        raise ValueError("no background (non-landslide) pixel among the valid pixels; the forest needs both")
    rng = np.random.default_rng(seed)
    if balance:
        m = min(n_samples // 2, pos.size, neg.size)
        idx = np.concatenate([rng.choice(pos, size=m, replace=False), rng.choice(neg, size=m, replace=False)])
    else:
        pool = np.flatnonzero(counted)
        idx = rng.choice(pool, size=min(n_samples, pool.size), replace=False)
    idx.sort()
    y = is_land.ravel()[idx]
    if y.all() or not y.any():
        raise ValueError(f"the uniform sample of {idx.size} pixels holds only one class; use balance=True or a "
                         "larger n_samples")
    names = list(features)
    x = np.column_stack([np.asarray(features[n]).ravel()[idx].astype(np.float64) for n in names])
    rf = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1).fit(x, y)
    imp = np.asarray(rf.feature_importances_, dtype=np.float64)
    if imp.sum() > 0:
        imp = imp / imp.sum()
    out = pd.DataFrame({"factor": names, "importance": imp})
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


#: the nine influencing factors of Gao et al. (2021), as the aligned layers name them, with their labels
STUDY_FACTORS: dict[str, str] = {"dem": "elevation (m)", "slope": "slope (°)", "aspect": "aspect",
                                 "curvature": "curvature (1/100 m)", "ndvi": "NDVI", "mndwi": "MNDWI",
                                 "river_distance": "distance to river (m)", "fault_distance": "distance to fault (m)",
                                 "lithology": "lithology"}


def study_factor_analysis(
    aligned_dir: str | Path,
    *,
    k: int = 5,
    n_samples: int = 20000,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Gao et al. (2021)'s two factor analyses over a whole study area: the random-forest (Gini) importance of
    every influencing factor step 01 wrote (:data:`STUDY_FACTORS` that exist in ``aligned_dir``), and the
    frequency ratio of landslides per class of each (``k`` natural-breaks classes for continuous factors; the
    nine aspect classes and the lithology units as categories).

    Pixels count where the study area is valid (``valid.tif``); the landslides are ``instances.tif`` > 0.

    Returns:
        (importance: columns factor, label, importance; largest first), {factor: frequency-ratio table}.

    Raises:
        FileNotFoundError: no aligned layers in ``aligned_dir`` (run step 01).
        ValueError: fewer than two factors, or no landslide / background pixel (from the analyses).
    """

    layers = AlignedLayers.load(aligned_dir)
    files = {"dem": layers.dem, "slope": layers.slope, **layers.extra}
    names = [n for n in STUDY_FACTORS if n in files]
    if len(names) < 2:
        raise ValueError(f"{aligned_dir}: only {names} of the influencing factors were written by step 01; the "
                         "importance needs at least two (give the study a DEM, rivers, faults, lithology or "
                         "infrared bands)")

    def read(path: Path) -> np.ndarray:
        with rasterio.open(path) as src:
            arr = src.read(1, masked=True)
        return np.ma.filled(arr.astype(np.float64), np.nan)

    feats = {n: read(files[n]) for n in names}
    with rasterio.open(layers.valid) as src:
        valid = src.read(1) > 0
    with rasterio.open(layers.instances) as src:
        land = src.read(1) > 0
    imp = rf_importance(feats, land, valid, n_samples=n_samples, seed=seed)
    imp.insert(1, "label", [STUDY_FACTORS[f] for f in imp["factor"]])
    ratios: dict[str, pd.DataFrame] = {}
    for n in names:
        if n == "aspect":
            ratios[n] = frequency_ratio(feats[n], land, valid, classes=dict(enumerate(ASPECT_CLASSES)))
        elif n == "lithology":
            if layers.lithology_units:
                units: dict[int, str] = dict(enumerate(layers.lithology_units, start=1))
            else:  # no names recorded: the codes 1..K themselves (0 = no polygon is left out)
                codes = np.unique(feats[n][np.isfinite(feats[n])])
                units = {int(c): str(int(c)) for c in codes if c > 0}
            ratios[n] = frequency_ratio(feats[n], land, valid, classes=units)
        else:
            ratios[n] = frequency_ratio(feats[n], land, valid, k=k, seed=seed)
    return imp, ratios


def write_factor_analysis(aligned_dir: str | Path, *, tables_dir: str | Path, figures_dir: str | Path, k: int = 5,
                          n_samples: int = 20000, seed: int = 0) -> pd.DataFrame | None:
    """:func:`study_factor_analysis`, written for notebook 08: ``tables_dir/gao2021_factor_importance.csv``,
    ``gao2021_frequency_ratio.csv`` (every factor's classes, a ``factor`` column first) and the figures
    ``factor_importance.png`` and ``frequency_ratio.png`` in ``figures_dir``. Returns the importance table, or None
    when ``aligned_dir`` holds no aligned study area (a chip dataset)."""

    if not (Path(aligned_dir) / "layers.json").is_file():
        return None
    importance, ratios = study_factor_analysis(aligned_dir, k=k, n_samples=n_samples, seed=seed)
    write_csv(Path(tables_dir) / "gao2021_factor_importance.csv", importance, index=False)
    long = pd.concat([t.assign(factor=f) for f, t in ratios.items()], ignore_index=True)
    write_csv(Path(tables_dir) / "gao2021_frequency_ratio.csv", long[["factor", *FR_COLUMNS]], index=False)
    plot_factor_importance(importance, save=Path(figures_dir) / "factor_importance.png")
    plot_frequency_ratios(ratios, labels=STUDY_FACTORS, save=Path(figures_dir) / "frequency_ratio.png")
    return importance
