"""Road owners: who maintains a road, from OSM or from a road-owner layer, one funnel.

Two sources end in :func:`_normalize_roads` (STYLE rule 1), which returns lines in the
profile's metric CRS with the columns of :data:`ROADS`:

* OSM ways with a ``highway`` tag (:func:`roads_from_osm`): ``ref`` and ``operator`` as
  tagged;
* a road-owner layer the profile names (``road_owners``, e.g. an NVDB *väghållare*
  export; :func:`read_road_owners`): the owner column (``vaghallare``, ``väghållare``,
  ``vaghallartyp``, ``huvudman``, ``owner`` or ``operator``, case-insensitive) and an
  optional road number (``vagnummer``, ``vägnummer``, ``ref``).

The layer only carries the evidence; :func:`walks.responsibility.suggest_responsible`
turns it into a suggested responsible party.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from layers._common import (
    Problem,
    ValidationError,
    clean_geometries,
    finalize,
    source_label,
    to_profile_crs,
)
from layers.io import read_vector
from layers.osm import OsmExtract

if TYPE_CHECKING:
    from layers.profile import Profile

logger = logging.getLogger(__name__)

ROADS_INDEX = "road_id"
ROADS: dict[str, str] = {
    "highway": "OSM highway tag, or empty (road-owner layers)",
    "ref": "road number as tagged or given (e.g. 'E6', '176'), or empty",
    "operator": "operator/owner text as tagged or given (e.g. 'Trafikverket', 'Statlig')",
    "source": "'osm' or the road-owner file name",
}

_OWNER_COLUMNS = ("vaghallare", "väghållare", "vaghallartyp", "väghållartyp", "huvudman",
                  "owner", "operator")
_REF_COLUMNS = ("vagnummer", "vägnummer", "ref", "road_number")


def _normalize_roads(gdf: gpd.GeoDataFrame, crs: str | CRS, src: str) -> gpd.GeoDataFrame:
    """The one funnel for road-owner lines (columns :data:`ROADS`, profile CRS)."""
    gdf = clean_geometries(gdf, ["LineString", "MultiLineString"], "roads")
    gdf = to_profile_crs(gdf, crs, src)
    for col in ROADS:
        if col not in gdf.columns:
            gdf[col] = ""
        gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), "").astype(str).str.strip()
    out = finalize(gdf, list(ROADS), ROADS_INDEX, crs)
    logger.info("roads: %d lines from %s", len(out), src)
    return out


def roads_from_osm(extract: OsmExtract, crs: str | CRS) -> gpd.GeoDataFrame:
    """Every ``highway`` way of an OSM extract with its ``ref`` and ``operator``.

    Returns
    -------
    GeoDataFrame
        Index ``road_id`` (``'w<osm id>'``), columns :data:`ROADS`, profile CRS.
    """
    ways = extract.ways
    sel = ways.loc[ways["highway"].notna()] if "highway" in ways.columns else ways.iloc[:0]
    def tag(key: str) -> object:
        return sel[key].astype(object).to_numpy() if key in sel.columns else ""

    frame = gpd.GeoDataFrame({
        "highway": tag("highway"), "ref": tag("ref"), "operator": tag("operator"),
        "source": "osm"}, geometry=sel.geometry.values, crs=ways.crs,
        index=pd.Index([f"w{i}" for i in sel.index]))
    return _normalize_roads(frame, crs, extract.source)


def read_road_owners(path: str | Path, crs: str | CRS) -> gpd.GeoDataFrame:
    """A road-owner layer (e.g. NVDB väghållare) as road lines.

    Raises
    ------
    ValidationError
        The file has no owner column (the message lists the accepted names).
    """
    path = Path(path)
    src = source_label(path)
    raw = read_vector(path)
    lower = {str(c).casefold(): c for c in raw.columns}
    owner = next((lower[c] for c in _OWNER_COLUMNS if c in lower), None)
    if owner is None:
        raise ValidationError([Problem(src, "", "", "no road-owner column",
                                       f"name the column one of: {', '.join(_OWNER_COLUMNS)}")])
    ref = next((lower[c] for c in _REF_COLUMNS if c in lower), None)
    frame = gpd.GeoDataFrame({
        "highway": "", "ref": raw[ref].astype(object).to_numpy() if ref else "",
        "operator": raw[owner].astype(object).to_numpy(), "source": path.name},
        geometry=raw.geometry.values, crs=raw.crs,
        index=pd.Index([f"r{i}" for i in range(len(raw))]))
    return _normalize_roads(frame, crs, src)


def load_roads(profile: Profile) -> gpd.GeoDataFrame:
    """The profile's road owners: its ``road_owners`` layer, else the roads of its OSM
    file (``sources.osm``), else an empty frame with the :data:`ROADS` columns."""
    from layers.osm import read_osm_file

    if profile.road_owners is not None:
        return read_road_owners(profile.road_owners, profile.crs)
    if profile.sources.osm is not None:
        return roads_from_osm(read_osm_file(profile.sources.osm), profile.crs)
    empty = gpd.GeoDataFrame({c: pd.Series(dtype=str) for c in ROADS},
                             geometry=gpd.GeoSeries([], crs=profile.crs))
    empty.index.name = ROADS_INDEX
    return empty


__all__ = ["ROADS", "ROADS_INDEX", "load_roads", "read_road_owners", "roads_from_osm"]
