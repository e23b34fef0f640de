"""What a loaded profile's inputs give: the infrared bands, the channels its data can provide (Yang et al. 2022's
factors; Gao et al. 2021's nine), and whether there is a second-date image for the multi-temporal test.
"""

from __future__ import annotations

from landslide_utils.config.channels import FACTOR_NEEDS, channel_names
from landslide_utils.config.schema import Profile

__all__ = ['infrared_bands', 'unavailable_channel', 'has_second_date']


def infrared_bands(profile: "Profile") -> tuple[int | None, int | None]:
    """1-based image bands of near- and short-wave infrared: ``factors.nir_band`` / ``swir_band``, or 4 and 5 for
    the synthetic area generated with ``infrared_bands: true``."""
    f = profile.factors
    syn = profile.data.synthetic
    if profile.data.source == "synthetic" and syn is not None and syn.infrared_bands:
        return (f.nir_band or 4, f.swir_band or 5)
    return (f.nir_band, f.swir_band)


def unavailable_channel(profile: "Profile", channels: str | tuple[str, ...] | list[str]) -> str | None:
    """Why a study's inputs cannot give one of ``channels`` (naming the channel and what to add), or None.

    DEM, slope, river level, aspect, curvature and distance to river come from the DEM and the rivers every
    study area has (chip datasets: only DEM, slope and river level, where the format has a DEM); NDVI and MNDWI
    need the infrared bands, fault distance and lithology their vector layers (Gao et al. 2021)."""
    names = channel_names(channels)
    nir, swir = infrared_bands(profile)
    have = {"dem", "slope", "river_level", "red", "green", "blue"}
    if profile.data.source != "chips":
        have |= {"aspect", "curvature", "river_distance"}
        if nir is not None:
            have |= {"nir", "ndvi"}
        if swir is not None:
            have |= {"swir", "mndwi"}
        files, syn = profile.data.files, profile.data.synthetic
        geology = (syn is not None and syn.geology) if profile.data.source == "synthetic" else False
        if geology or (files is not None and files.faults is not None):
            have.add("fault_distance")
        if geology or (files is not None and files.lithology is not None):
            have.add("lithology")
    for name in names:
        if name in have or name.startswith("band"):
            continue
        need = FACTOR_NEEDS.get(name) or {"nir": FACTOR_NEEDS["ndvi"], "swir": FACTOR_NEEDS["mndwi"]}.get(name, "")
        where = "a chip dataset gives only the image, DEM, slope and river level" if profile.data.source == "chips" \
            else f"it needs {need}"
        return f"the study's inputs give no {name!r} channel: {where}"
    return None


def has_second_date(profile: Profile) -> bool:
    """Whether the study has a second-date image (always for the synthetic area; ``data.files.image_t2``)."""
    if profile.data.source == "synthetic":
        return True
    return profile.data.files is not None and profile.data.files.image_t2 is not None
