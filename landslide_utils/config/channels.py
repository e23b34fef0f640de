"""The channel vocabulary: the image bands and influencing factors a tile can carry, and the named channel sets
of the experiments (Yang et al. 2022, Tables 3/4: RGB and RGB + factors; Gao et al. 2021: nine factors).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CHANNEL_SETS", "IMAGE_CHANNELS", "FACTOR_CHANNELS", "FACTOR_NEEDS", "channels_problem", "channel_names", "image_band_names"]


CHANNEL_SETS: dict[str, tuple[str, ...]] = {
    "rgb": ("red", "green", "blue"),
    "rgb+factors": ("red", "green", "blue", "dem", "slope", "river_level"),
    # Gao et al. (2021): the nine influencing factors behind the image (their Landsat bands; RGB here)
    "rgb+factors9": ("red", "green", "blue", "dem", "slope", "aspect", "curvature", "ndvi", "mndwi",
                     "river_distance", "fault_distance", "lithology"),
}


#: every channel a tile can carry: image bands (``band<k>`` for the k-th image band beyond RGB) and factors
IMAGE_CHANNELS: tuple[str, ...] = ("red", "green", "blue", "nir", "swir")


FACTOR_CHANNELS: tuple[str, ...] = ("dem", "slope", "river_level", "aspect", "curvature", "ndvi", "mndwi",
                                    "river_distance", "fault_distance", "lithology")


#: what a study needs to give each factor beyond DEM, slope and river level (for messages)
FACTOR_NEEDS: dict[str, str] = {
    "aspect": "a DEM", "curvature": "a DEM", "river_distance": "river lines",
    "ndvi": "a near-infrared image band (factors.nir_band)",
    "mndwi": "a short-wave-infrared image band (factors.swir_band)",
    "fault_distance": "fault lines (data.files.faults; the synthetic area: synthetic.geology: true)",
    "lithology": "lithology polygons (data.files.lithology; the synthetic area: synthetic.geology: true)",
}


def _is_channel_name(name: str) -> bool:
    return name in IMAGE_CHANNELS or name in FACTOR_CHANNELS or re.fullmatch(r"band[4-9]|band[1-9][0-9]+", name) \
        is not None


def channels_problem(channels: Any) -> str | None:
    """Why ``channels`` (an experiment's key) is neither a channel set nor a list of channel names (given as a
    list or joined by ``+``), or None."""
    if isinstance(channels, str):
        if channels in CHANNEL_SETS:
            return None
        names = channels.split("+")
        if not all(_is_channel_name(n) for n in names):
            return (f"unknown channel set {channels!r}; valid: {', '.join(CHANNEL_SETS)}, or a list of channel "
                    f"names ({', '.join(IMAGE_CHANNELS + FACTOR_CHANNELS)} or band<k>, the k-th image band)")
    else:
        names = list(channels)
    if not names:
        return "an empty list of channels; name at least one"
    bad = [n for n in names if not isinstance(n, str) or not _is_channel_name(n)]
    if bad:
        return (f"unknown channel name {bad[0]!r}; valid: {', '.join(IMAGE_CHANNELS + FACTOR_CHANNELS)} or band<k> "
                "(the k-th image band)")
    if len(set(names)) != len(names):
        return f"a channel is named twice in {names}"
    return None


def channel_names(channels: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The channel names of a set name (:data:`CHANNEL_SETS`) or of a list of names, in input order."""
    problem = channels_problem(channels)
    if problem:
        raise ValueError(problem)
    if isinstance(channels, str):
        return CHANNEL_SETS[channels] if channels in CHANNEL_SETS else tuple(channels.split("+"))
    return tuple(channels)


def image_band_names(bands: list[int], infrared: tuple[int | None, int | None]) -> tuple[str, ...]:
    """Names of a tile's image bands (``bands``: the image file's band numbers the tile holds, alpha left out):
    red, green, blue, then ``nir`` / ``swir`` where the file band is the profile's infrared band number and
    ``band<k>`` (the k-th band of the tile) elsewhere."""
    nir, swir = infrared
    names = ["red", "green", "blue"][:len(bands)]
    for k, band in enumerate(bands[3:], start=4):
        names.append("nir" if band == nir else "swir" if band == swir else f"band{k}")
    return tuple(names)
