"""Pedestrian and cycle crossings as points: OSM or a file, through one funnel.

Every source ends in :func:`_normalize_crossings`, which returns points in the profile's
metric CRS with the columns of :data:`layers.schemas.CROSSINGS` and the index
``crossing_id`` (``'n123'`` for a node, ``'w123'`` for a way, ``'f<n>'`` for file rows).

Rules
-----
* ``highway=crossing`` nodes are crossings (``source='node'``), with their ``crossing``
  tag (possibly empty).
* ``footway=crossing`` / ``cycleway=crossing`` ways (the drawn crossing line) are reduced
  to their midpoint, half-way along the line in the metric CRS
  (``source='way'``) — unless a crossing node already lies on that way (within
  :data:`NODE_ON_WAY_M`, 1 m): then only the node is kept, so a crossing mapped both ways
  is counted once.
* ``marked`` is True when ``crossing`` is ``marked``, ``zebra``, ``traffic_signals`` or
  ``uncontrolled``, or ``crossing:markings`` is present and not ``no``. ``crossing=unmarked``
  is never marked, whatever other tags say (iD writes it as a default). Case and
  surrounding spaces are ignored.
* A file may hold points or lines; lines are reduced the same way and a ``marked``
  column in the file (true/false, ja/nej, 1/0) wins over the tags.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
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

#: ``crossing`` values that mean the crossing is marked on the ground or signalled.
MARKED_VALUES = ("marked", "zebra", "traffic_signals", "uncontrolled")

#: A crossing node this close (metres) to a crossing way makes the way redundant.
NODE_ON_WAY_M = 1.0

_TRUE = ("true", "yes", "ja", "1", "t", "y", "j")
_FALSE = ("false", "no", "nej", "0", "f", "n")


def _lower(s: pd.Series) -> pd.Series:
    return blank_to_na(s.astype("string").str.strip().str.lower())


def is_marked(crossing: pd.Series, markings: pd.Series) -> pd.Series:
    """Whether each crossing is marked, from the ``crossing`` and ``crossing:markings`` tags.

    Parameters
    ----------
    crossing, markings : Series
        Raw tag values, aligned; missing as ``<NA>``.

    Returns
    -------
    Series
        Boolean, named ``marked``, aligned to *crossing*.
    """
    c = _lower(crossing)
    m = _lower(markings)
    marked = c.isin(MARKED_VALUES).fillna(False) | (m.notna() & (m != "no")).fillna(False)
    marked &= ~(c == "unmarked").fillna(False)
    return marked.astype(bool).rename("marked")


def _normalize_crossings(gdf: gpd.GeoDataFrame, crs: str, src: str) -> gpd.GeoDataFrame:
    """The one funnel for crossings.

    Parameters
    ----------
    gdf : GeoDataFrame
        Points and/or lines in any declared CRS with ``crossing`` and
        ``crossing:markings`` columns (may be empty), optionally ``source``
        (``'node'``/``'way'``; default ``'file'``), ``osm_id`` and ``marked``. The index
        is the crossing id.
    crs : str
        The profile's metric CRS.
    src : str
        Source label for messages.

    Returns
    -------
    GeoDataFrame
        Points in *crs* (metres), columns :data:`layers.schemas.CROSSINGS`, index
        ``crossing_id``.
    """
    gdf = gdf.copy()
    for col in ("crossing", "crossing:markings", "osm_id"):
        if col not in gdf.columns:
            gdf[col] = pd.Series(pd.NA, index=gdf.index, dtype="string")
        gdf[col] = blank_to_na(gdf[col].astype("string").str.strip())
    if "source" not in gdf.columns:
        gdf["source"] = "file"
    gdf["source"] = gdf["source"].astype("string")

    marked = is_marked(gdf["crossing"], gdf["crossing:markings"])
    if "marked" in gdf.columns:
        given = _lower(gdf["marked"])
        bad = given.notna() & ~given.isin(_TRUE + _FALSE)
        if bad.any():
            raise ValidationError([Problem(
                src, str(i), "marked", f"not a yes/no value: {gdf['marked'].loc[i]!r}",
                "use true/false (or ja/nej), or leave it empty to derive it from the "
                "crossing tag") for i in gdf.index[bad]])
        marked = given.isin(_TRUE).where(given.notna(), marked).astype(bool)
    gdf["marked"] = marked.to_numpy(bool)

    gdf = clean_geometries(gdf, ["Point", "LineString", "MultiLineString"], "crossings")
    gdf = to_profile_crs(gdf, crs, src)

    geom = gdf.geometry.values
    is_line = shapely.get_type_id(geom) != 0
    if is_line.any():
        points = gdf.loc[~is_line]
        lines = gdf.loc[is_line]
        near = gpd.sjoin(lines[["geometry"]], points[["geometry"]], how="inner",
                         predicate="dwithin", distance=NODE_ON_WAY_M)
        covered = near.index.unique()
        if len(covered):
            logger.info("crossings: %d crossing ways already have a crossing node: %s",
                        len(covered), ", ".join(map(str, covered)))
        keep = ~gdf.index.isin(covered)
        gdf = gdf.loc[keep]
        geom = gdf.geometry.values.copy()
        is_line = shapely.get_type_id(geom) != 0
        geom[is_line] = shapely.line_interpolate_point(
            shapely.line_merge(geom[is_line]), 0.5, normalized=True)
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    multi = (shapely.get_type_id(gdf.geometry.values) != 0)
    if multi.any():  # a multi-line that line_merge could not join: no single midpoint
        warn_layer(f"crossings ({src}): dropped crossing lines made of separate parts",
                   gdf.index[multi])
        gdf = gdf.loc[~multi]
    logger.info("crossings: %d crossings (%d marked) from %s", len(gdf),
                int(gdf["marked"].sum()), src)
    return finalize(gdf, list(schemas.CROSSINGS), schemas.CROSSINGS_INDEX, crs)


def _tags_frame(frame: gpd.GeoDataFrame, prefix: str, source: str) -> gpd.GeoDataFrame:
    ids = element_ids(pd.Series(frame.index.to_numpy(), index=frame.index), prefix)
    out = gpd.GeoDataFrame(
        {"crossing": frame["crossing"].to_numpy(),
         "crossing:markings": frame["crossing:markings"].to_numpy(),
         "source": source, "osm_id": ids.to_numpy()},
        geometry=frame.geometry.values, crs=frame.crs,
        index=pd.Index(ids.astype(str).to_numpy(), name=schemas.CROSSINGS_INDEX))
    return out


def crossings_from_osm(extract: OsmExtract, crs: str | CRS) -> gpd.GeoDataFrame:
    """Crossings from an OSM extract: crossing nodes and crossing ways as points.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`layers.osm.read_osm_file` or :func:`layers.osm.download_osm`.
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``.

    Returns
    -------
    GeoDataFrame
        Points in *crs* (metres), columns :data:`layers.schemas.CROSSINGS`, index
        ``crossing_id`` = ``'n123'`` / ``'w123'``.
    """
    nodes = extract.nodes
    node_hw = nodes["highway"].astype("string").str.strip().str.lower()
    nodes = nodes.loc[(node_hw == "crossing").fillna(False).to_numpy(bool)]
    ways = extract.ways
    fw = ways["footway"].astype("string").str.strip().str.lower()
    cw = ways["cycleway"].astype("string").str.strip().str.lower()
    ways = ways.loc[((fw == "crossing") | (cw == "crossing")).fillna(False).to_numpy(bool)]
    parts = [_tags_frame(nodes, "n", "node"), _tags_frame(ways, "w", "way")]
    gdf = gpd.GeoDataFrame(pd.concat(parts), geometry="geometry", crs=extract.nodes.crs)
    return _normalize_crossings(gdf, str(crs), extract.source)


def read_crossings_file(path: str | Path, crs: str | CRS) -> gpd.GeoDataFrame:
    """Read crossings (points, or crossing lines) from a vector file.

    Parameters
    ----------
    path : str or Path
        GeoPackage/GeoJSON/Shapefile with optional columns ``crossing``,
        ``crossing:markings`` and ``marked``. Ids come from ``crossing_id``, else
        ``osm_id``, else the feature number (``'f1'``).
    crs : str or CRS
        The profile's metric CRS.

    Returns
    -------
    GeoDataFrame
        As :func:`crossings_from_osm`, with ``source='file'``.
    """
    src = source_label(path)
    gdf = read_vector(path)
    gdf = gdf.rename(columns={c: c.strip().lower() for c in gdf.columns if c != "geometry"})
    gdf.index = feature_ids(gdf, schemas.CROSSINGS_INDEX, "n")
    if "osm_id" in gdf.columns:
        gdf["osm_id"] = element_ids(gdf["osm_id"], "n")
    gdf["source"] = "file"
    keep = [c for c in ("crossing", "crossing:markings", "marked", "osm_id", "source")
            if c in gdf.columns]
    return _normalize_crossings(gpd.GeoDataFrame(gdf[keep], geometry=gdf.geometry.values,
                                                 crs=gdf.crs, index=gdf.index),
                                str(crs), src)

