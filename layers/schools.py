"""School grounds: OSM ``amenity=school`` or a file, through one funnel.

Every source ends in :func:`_normalize_schools`, which returns polygons in the profile's
metric CRS with the columns of :data:`layers.schemas.SCHOOLS` and the index ``school_id``
(the OSM element id, ``'w12'``, ``'r3'``, ``'n9'``; ``'f<n>'`` for file rows without one).

Rules
-----
* School grounds polygons (closed ways and multipolygon relations) are preferred:
  ``geometry_source='polygon'``.
* A school mapped only as a point is buffered by :data:`POINT_BUFFER_M` (50 m) in the
  metric CRS, ``geometry_source='point_buffered'``, with a warning listing them.
* A point inside a school polygon with the same name (case-insensitive; two unnamed
  features count as the same) is the same school mapped twice: the point is dropped.
* A missing name becomes ``'Namnlös skola <id>'`` with a warning.
* ``grades`` comes from ``grades``, else ``isced:level``.
* ``designated`` is True when the name matches one of the profile's designated schools
  (case- and whitespace-insensitive); designated names that match no school are warned
  about, so a typo in the profile does not silently drop a school from the safety walks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from layers import schemas
from layers._common import (
    Problem,
    ValidationError,
    clean_geometries,
    finalize,
    source_label,
    to_profile_crs,
    warn_layer,
)
from layers.io import read_vector
from layers.osm import OsmExtract, blank_to_na, element_ids, feature_ids

logger = logging.getLogger(__name__)

#: Buffer radius in metres for schools mapped only as a point.
POINT_BUFFER_M = 50.0

#: File column names (lower case) accepted for the school name and grades.
NAME_COLUMNS = ("name", "namn", "skola", "skolnamn", "skolenhet")
GRADES_COLUMNS = ("grades", "årskurser", "arskurser", "arskurs", "årskurs", "isced:level")


def _name_key(names: pd.Series) -> pd.Series:
    """Comparable form of a name: case-folded, single spaces; ``<NA>`` when missing."""
    key = names.astype("string").str.strip().str.casefold().str.replace(r"\s+", " ",
                                                                        regex=True)
    return blank_to_na(key)


def _drop_duplicate_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop points that lie inside a school polygon of the same name (vectorised join)."""
    is_point = (gdf.geom_type == "Point").to_numpy()
    if not is_point.any() or is_point.all():
        return gdf
    keys = _name_key(gdf["name"]).fillna("\x00unnamed")
    points = gpd.GeoDataFrame({"key": keys[is_point]}, geometry=gdf.geometry[is_point],
                              crs=gdf.crs)
    polys = gpd.GeoDataFrame({"key": keys[~is_point]}, geometry=gdf.geometry[~is_point],
                             crs=gdf.crs)
    joined = gpd.sjoin(points, polys, predicate="within", how="inner")
    same = joined.index[(joined["key_left"] == joined["key_right"]).to_numpy(bool)].unique()
    if len(same):
        logger.info("schools: dropped %d points inside a polygon of the same school: %s",
                    len(same), ", ".join(map(str, same)))
    return gdf.drop(index=same)


def _normalize_schools(gdf: gpd.GeoDataFrame, crs: str, src: str,
                       designated: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """The one funnel for schools.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points and (multi)polygons in any declared CRS with ``name`` and ``grades``
        columns (may be empty) and optionally ``osm_id``; the index is the school id.
    crs : str
        The profile's metric CRS.
    src : str
        Source label for messages.
    designated : iterable of str
        Names of schools designated for the yearly safety walks.

    Returns
    -------
    GeoDataFrame
        Polygons/MultiPolygons in *crs* (metres), columns :data:`layers.schemas.SCHOOLS`,
        index ``school_id``.
    """
    gdf = gdf.copy()
    for col in ("name", "grades", "osm_id"):
        if col not in gdf.columns:
            gdf[col] = pd.Series(pd.NA, index=gdf.index, dtype="string")
        gdf[col] = blank_to_na(gdf[col].astype("string").str.strip())
    gdf = clean_geometries(gdf, ["Point", "Polygon", "MultiPolygon"], "schools")
    gdf = to_profile_crs(gdf, crs, src)
    gdf = _drop_duplicate_points(gdf)

    is_point = (gdf.geom_type == "Point").to_numpy()
    gdf["geometry_source"] = np.where(is_point, "point_buffered", "polygon")
    gdf["geometry_source"] = gdf["geometry_source"].astype("string")
    if is_point.any():
        warn_layer(f"schools ({src}): schools mapped only as a point were buffered "
                   f"{POINT_BUFFER_M:g} m; map the school grounds as an area for better "
                   "results", gdf.index[is_point])
        geom = gdf.geometry.copy()
        geom[is_point] = geom[is_point].buffer(POINT_BUFFER_M)
        gdf = gdf.set_geometry(geom)

    unnamed = gdf["name"].isna()
    if unnamed.any():
        warn_layer(f"schools ({src}): schools without a name were named "
                   "'Namnlös skola <id>'", gdf.index[unnamed])
        fallback = pd.Series("Namnlös skola " + gdf.index.astype(str), index=gdf.index,
                             dtype="string")
        gdf["name"] = gdf["name"].fillna(fallback)

    wanted = pd.Series(list(designated), dtype="string")
    wanted_keys = set(_name_key(wanted).dropna())
    keys = _name_key(gdf["name"])
    gdf["designated"] = keys.isin(wanted_keys).fillna(False).astype(bool)
    present = set(keys.dropna())
    missing = sorted(str(w) for w, k in zip(wanted, _name_key(wanted), strict=True)
                     if pd.notna(k) and k not in present)
    if missing:
        warn_layer(f"schools ({src}): designated schools not found among the school names "
                   f"(check the spelling in designated_schools, and whether the OSM report "
                   f"lists school grounds cut at the extract's edge): {', '.join(missing)}")
    logger.info("schools: %d schools (%d point-buffered) from %s", len(gdf),
                int(is_point.sum()), src)
    return finalize(gdf, list(schemas.SCHOOLS), schemas.SCHOOLS_INDEX, crs)


def _grades(frame: pd.DataFrame) -> pd.Series:
    grades = blank_to_na(frame["grades"].astype("string").str.strip())
    return grades.fillna(frame["isced:level"].astype("string"))


def schools_from_osm(extract: OsmExtract, crs: str | CRS,
                     designated: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Schools (``amenity=school``) from an OSM extract.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`layers.osm.read_osm_file` or :func:`layers.osm.download_osm`.
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``.
    designated : iterable of str
        The profile's ``designated_schools``.

    Returns
    -------
    GeoDataFrame
        Polygons in *crs* (metres), columns :data:`layers.schemas.SCHOOLS`, index
        ``school_id`` = OSM id (``'w12'``, ``'r3'``, ``'n9'``).
    """
    def is_school(frame: pd.DataFrame) -> np.ndarray:
        amenity = frame["amenity"].astype("string").str.strip().str.lower()
        return (amenity == "school").fillna(False).to_numpy(bool)

    areas = extract.areas.loc[is_school(extract.areas)]
    nodes = extract.nodes.loc[is_school(extract.nodes)]
    ways = extract.ways.loc[is_school(extract.ways)]
    way_ids = element_ids(pd.Series(ways.index.to_numpy(), index=ways.index), "w")
    not_area = ~way_ids.isin(areas.index).to_numpy(bool)
    if not_area.any():
        warn_layer(f"schools ({extract.source}): amenity=school ways that are not closed "
                   "areas were skipped", way_ids[not_area])
    node_ids = element_ids(pd.Series(nodes.index.to_numpy(), index=nodes.index), "n")
    ids = np.concatenate([areas.index.astype(str).to_numpy(),
                          node_ids.astype(str).to_numpy()])
    frame = pd.concat([pd.DataFrame(areas.drop(columns="geometry")),
                       pd.DataFrame(nodes.drop(columns="geometry"))], ignore_index=True)
    gdf = gpd.GeoDataFrame(
        {"name": frame["name"].to_numpy(), "grades": _grades(frame).to_numpy(),
         "osm_id": ids},
        geometry=np.concatenate([areas.geometry.values, nodes.geometry.values]),
        crs=extract.areas.crs or extract.nodes.crs, index=pd.Index(ids, name="school_id"))
    return _normalize_schools(gdf, str(crs), extract.source, designated)


def read_schools_file(path: str | Path, crs: str | CRS,
                      designated: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """Read school grounds (polygons, or points to buffer) from a vector file.

    Parameters
    ----------
    path : str or Path
        GeoPackage/GeoJSON/Shapefile with a name column (``name``, ``namn``, ``skola``,
        ``skolnamn``) and optionally grades (``grades``, ``årskurser``, ``isced:level``).
        Ids come from ``school_id``, else ``osm_id``, else the feature number (``'f1'``).
    crs : str or CRS
        The profile's metric CRS.
    designated : iterable of str
        The profile's ``designated_schools``.

    Returns
    -------
    GeoDataFrame
        As :func:`schools_from_osm`.
    """
    src = source_label(path)
    gdf = read_vector(path)
    gdf = gdf.rename(columns={c: c.strip().lower() for c in gdf.columns if c != "geometry"})
    name_col = next((c for c in NAME_COLUMNS if c in gdf.columns), None)
    if name_col is None:
        raise ValidationError([Problem(
            src, "", "name", "no school name column (found: "
            f"{', '.join(c for c in gdf.columns if c != 'geometry')})",
            f"add a column named one of {', '.join(NAME_COLUMNS)}")])
    grades_col = next((c for c in GRADES_COLUMNS if c in gdf.columns), None)
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype("string").to_numpy(),
         "grades": (gdf[grades_col].astype("string") if grades_col else
                    pd.Series(pd.NA, index=gdf.index, dtype="string")).to_numpy(),
         "osm_id": (element_ids(gdf["osm_id"], "w") if "osm_id" in gdf.columns else
                    pd.Series(pd.NA, index=gdf.index, dtype="string")).to_numpy()},
        geometry=gdf.geometry.values, crs=gdf.crs,
        index=feature_ids(gdf, schemas.SCHOOLS_INDEX, "w"))
    return _normalize_schools(out, str(crs), src, designated)
