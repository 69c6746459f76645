"""The CRS guard of :mod:`gis`: analysis happens in metres, never in degrees (STYLE rule 2)."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS


class CRSError(ValueError):
    """An analysis input is in degrees, has no CRS, or differs from the other inputs' CRS."""


def require_projected(*frames: tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]) -> CRS:
    """Check that every named frame is in the same projected (metric) CRS.

    Parameters
    ----------
    *frames : (name, GeoDataFrame or GeoSeries)
        Inputs to check; empty frames still need a CRS.

    Returns
    -------
    pyproj.CRS
        The common CRS.

    Raises
    ------
    CRSError
        With the fix: reproject with ``.to_crs(profile.crs)`` (e.g. EPSG:3007).
    """
    common: CRS | None = None
    common_name = ""
    for name, gdf in frames:
        crs = gdf.crs
        if crs is None:
            raise CRSError(f"{name} has no CRS; gis/ measures in metres. Fix: load it through "
                           "layers/ or set it with .set_crs(profile.crs)")
        if not crs.is_projected:
            raise CRSError(f"{name} is in degrees ({crs.to_string()}); gis/ measures in metres. "
                           "Fix: reproject with .to_crs(profile.crs), e.g. EPSG:3007")
        if common is None:
            common, common_name = crs, name
        elif crs != common:
            raise CRSError(f"{name} is in {crs.to_string()} but {common_name} is in "
                           f"{common.to_string()}. Fix: reproject both to the profile CRS")
    if common is None:
        raise CRSError("no input given")
    return common
