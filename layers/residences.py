"""Homes: where school routes start. OSM residential buildings or a file, through one funnel.

Every source ends in :func:`_normalize_residences`, which returns one point per home in the
profile's metric CRS with the columns of :data:`layers.schemas.RESIDENCES` and the index
``residence_id``. The school-route analysis (:func:`gis.school_routes.school_route_counts`)
routes from these points when there are any, and from a regular grid otherwise.

Rules
-----
* OSM: buildings whose ``building`` tag is one of
  :data:`layers.osm.RESIDENTIAL_BUILDINGS` (house, apartments, detached, terrace, ...).
  Holiday cabins and generic ``building=yes`` are not counted as homes. The point is the
  mean of the building outline's vertices (the node for a building mapped as a node).
* File (``sources.residences``): every feature is a home, for example a municipal
  building layer already filtered to dwellings, or address points. Polygons become a point
  on their surface. A ``building``/``andamal``/``type`` column, when present, is kept as
  the kind of building.
* Homes outside the municipality (more than 2 km outside the boundary) are dropped with a
  warning: an extract usually reaches over the border.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from layers import schemas
from layers._common import clean_geometries, finalize, source_label, to_profile_crs, warn_layer
from layers.io import read_vector
from layers.osm import OsmExtract, blank_to_na, feature_ids

logger = logging.getLogger(__name__)

#: File column names (lower case) accepted for the kind of building.
KIND_COLUMNS = ("building", "andamal", "ändamål", "type", "typ", "kind")

#: Homes farther than this (metres) outside the municipal boundary are dropped.
OUTSIDE_TOLERANCE_M = 2_000.0


def _normalize_residences(gdf: gpd.GeoDataFrame, crs: str, src: str,
                          boundary: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """The one funnel for homes.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points and (multi)polygons in any declared CRS, optionally with a ``building``
        column; the index is the home's id.
    crs : str
        The profile's metric CRS.
    src : str
        Source label for messages.
    boundary : shapely geometry, optional
        Municipality boundary in *crs*; homes more than :data:`OUTSIDE_TOLERANCE_M` outside
        it are dropped.

    Returns
    -------
    GeoDataFrame
        Points in *crs* (metres), columns :data:`layers.schemas.RESIDENCES`, index
        ``residence_id``.
    """
    gdf = gdf.copy()
    if "building" not in gdf.columns:
        gdf["building"] = pd.Series(pd.NA, index=gdf.index, dtype="string")
    gdf["building"] = blank_to_na(gdf["building"].astype("string").str.strip()).fillna("")
    gdf = clean_geometries(gdf, ["Point", "Polygon", "MultiPolygon"], "residences")
    gdf = to_profile_crs(gdf, crs, src)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    not_point = shapely.get_type_id(geoms) != shapely.GeometryType.POINT
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    if boundary is not None and len(gdf) and not shapely.is_empty(boundary):
        zone = shapely.buffer(boundary, OUTSIDE_TOLERANCE_M)
        shapely.prepare(zone)
        xy = shapely.get_coordinates(gdf.geometry.values)
        inside = shapely.contains_xy(zone, xy[:, 0], xy[:, 1])
        if not inside.all():
            warn_layer(f"residences ({src}): homes more than {OUTSIDE_TOLERANCE_M:g} m "
                       "outside the municipality were left out of the school routes",
                       gdf.index[~inside])
            gdf = gdf.loc[inside]
    gdf["source"] = pd.Series(src, index=gdf.index, dtype="string")
    logger.info("residences: %d homes from %s", len(gdf), src)
    return finalize(gdf, list(schemas.RESIDENCES), schemas.RESIDENCES_INDEX, crs)


def residences_from_osm(extract: OsmExtract, crs: str | CRS,
                        boundary: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Homes (residential buildings) from an OSM extract.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`layers.osm.read_osm_file` or :func:`layers.osm.download_osm`.
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``.
    boundary : shapely geometry, optional
        Municipality boundary in *crs* (see :func:`_normalize_residences`).

    Returns
    -------
    GeoDataFrame
        Points in *crs* (metres), columns :data:`layers.schemas.RESIDENCES`, index
        ``residence_id`` = OSM id (``'w12'``, ``'n9'``, ``'r3'``).
    """
    res = extract.residences
    gdf = gpd.GeoDataFrame({"building": res["building"].to_numpy()},
                           geometry=res.geometry.values, crs=res.crs,
                           index=pd.Index(res.index.astype(str), name=schemas.RESIDENCES_INDEX))
    return _normalize_residences(gdf, str(crs), extract.source, boundary)


def read_residences_file(path: str | Path, crs: str | CRS,
                         boundary: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Read homes (building polygons or address points) from a vector file.

    Parameters
    ----------
    path : str or Path
        GeoPackage/GeoJSON/Shapefile/FlatGeobuf in which every feature is a home. Ids come
        from ``residence_id``, else ``osm_id``, else the feature number (``'f1'``).
    crs : str or CRS
        The profile's metric CRS.
    boundary : shapely geometry, optional
        Municipality boundary in *crs* (see :func:`_normalize_residences`).

    Returns
    -------
    GeoDataFrame
        As :func:`residences_from_osm`.
    """
    src = source_label(path)
    gdf = read_vector(path)
    gdf = gdf.rename(columns={c: c.strip().lower() for c in gdf.columns if c != "geometry"})
    kind_col = next((c for c in KIND_COLUMNS if c in gdf.columns), None)
    out = gpd.GeoDataFrame(
        {"building": (gdf[kind_col].astype("string") if kind_col else
                      pd.Series(pd.NA, index=gdf.index, dtype="string")).to_numpy()},
        geometry=gdf.geometry.values, crs=gdf.crs,
        index=feature_ids(gdf, schemas.RESIDENCES_INDEX, "w"))
    return _normalize_residences(out, str(crs), src, boundary)
