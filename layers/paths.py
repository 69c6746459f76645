"""Walking and cycling paths: OSM ways or a line file, through one funnel.

Every source ends in :func:`_normalize_paths`, which returns lines in the profile's metric
CRS with the columns of :data:`layers.schemas.PATHS` and a stable index ``path_id``
(``'w<way id>'`` for OSM ways).

Selection (OSM)
---------------
A way is a path when ``highway`` is one of :data:`PATH_HIGHWAYS` (cycleway, footway, path,
pedestrian, steps, living_street, track, bridleway), or ``footway`` is ``sidewalk`` or
``crossing`` on any highway, or any highway way has ``bicycle=designated`` or
``foot=designated`` (a residential street signed as a walking/cycling route). Roads
without a designation are not paths. Pedestrian plazas (closed ``highway=pedestrian``
with ``area=yes``, the town square) are kept as their outline, a closed line: the edge of
a square is where people walk along it and where its lights stand. Other areas (school
grounds, parking) are never paths.

Walkable roads (OSM)
--------------------
Children walk on residential streets too, so school routes run over the whole walkable
network: the paths plus the roads a pedestrian may use (:func:`walkable_from_osm`,
:data:`WALKABLE_ROAD_HIGHWAYS`: residential, service, unclassified, tertiary ... trunk;
never motorways), without the ways tagged ``foot=no`` / ``use_sidepath`` or
``access=no`` / ``private`` (unless ``foot=yes``/``designated``/``permissive``). They go
through the same funnel and schema as the paths, but are not scored.

``path_type``
-------------
``footway=sidewalk`` -> sidewalk; ``footway=crossing`` or ``cycleway=crossing`` ->
crossing; ``highway=cycleway`` or ``highway=path`` + ``bicycle=designated`` -> cycleway;
footway, path, pedestrian, steps, living_street, track as tagged; bridleway -> path;
any other (road) highway with a designation -> road. A file may give ``path_type``
directly; valid values are kept and missing ones derived from the tags.

``lit``
-------
Normalised to :data:`layers.schemas.LIT_VALUES`, ignoring case and surrounding spaces:

* ``yes``, ``24/7``, ``sunset-sunrise``, ``dusk-dawn`` -> ``yes``;
* ``interval``, ``limited`` and time ranges such as ``05:00-01:00`` -> ``limited``
  (lit only part of the night);
* ``disused`` -> ``no`` (the installation is out of use, so the path is dark);
* ``automatic`` -> ``automatic`` (motion-sensor lighting); ``no`` -> ``no``;
* missing (or ``unknown``, as this tool writes it) -> ``unknown``; anything else (``signal``, typos) -> ``unknown`` with a
  :class:`~layers._common.LayerWarning` listing the values, counts and path ids.

The tag as found is kept in ``lit_raw``. A file that already has ``lit`` and ``lit_raw``
(an export of this layer) keeps its ``lit_raw`` and normalises its ``lit``.
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
from layers.osm import OsmExtract, element_ids, feature_ids

logger = logging.getLogger(__name__)

#: ``highway`` values that are walking/cycling infrastructure in themselves.
PATH_HIGHWAYS = ("cycleway", "footway", "path", "pedestrian", "steps", "living_street",
                 "track", "bridleway")

#: ``highway`` values of roads a pedestrian may walk along (when not tagged otherwise).
#: Motorways are not among them; trunk roads are, unless tagged ``foot=no``.
WALKABLE_ROAD_HIGHWAYS = ("residential", "service", "unclassified", "tertiary",
                          "tertiary_link", "secondary", "secondary_link", "primary",
                          "primary_link", "trunk", "trunk_link", "road", "busway")

#: ``foot`` values that forbid walking (``use_sidepath``: walk on the separate sidewalk).
NO_FOOT = ("no", "use_sidepath", "private")

#: ``highway`` values that are never paths, even with a designation (not built, or not a
#: way one walks along).
NOT_PATH_HIGHWAYS = ("proposed", "construction", "abandoned", "disused", "razed",
                     "platform", "bus_stop", "services", "rest_area", "elevator", "escape",
                     "street_lamp", "crossing", "traffic_signals")

#: Raw ``lit`` values (lower case) -> normalised value. Time ranges are handled apart.
LIT_MAP: dict[str, str] = {
    "yes": "yes", "24/7": "yes", "sunset-sunrise": "yes", "dusk-dawn": "yes",
    "interval": "limited", "limited": "limited",
    "disused": "no", "no": "no",
    "automatic": "automatic",
    "unknown": "unknown",  # our own normalised value, in files exported by this tool
}

_TAGS = ("highway", "footway", "cycleway", "bicycle", "foot", "segregated", "surface",
         "name", "lit")
_TIME_RANGE = r"\d{1,2}:\d{2}"


def _lower(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower()


def normalize_lit(lit: pd.Series, layer: str = "paths") -> pd.Series:
    """Normalise raw OSM ``lit`` values to :data:`layers.schemas.LIT_VALUES`.

    See the module docstring for the mapping. Unrecognised values give one
    :class:`~layers._common.LayerWarning` with the values, counts and ids (the index).

    Parameters
    ----------
    lit : Series
        Raw tag values; missing as ``<NA>``/``None``/NaN.
    layer : str
        Layer name for the warning.

    Returns
    -------
    Series
        ``string`` dtype, named ``lit``, aligned to *lit*.
    """
    low = _lower(lit)
    out = low.map(LIT_MAP).astype("string")
    timed = low.str.contains(_TIME_RANGE, regex=True).fillna(False) & out.isna()
    out[timed] = "limited"
    unrecognised = out.isna() & low.notna()
    if unrecognised.any():
        counts = lit[unrecognised].astype(str).value_counts()
        values = ", ".join(f"{v!r} ({n})" for v, n in counts.items())
        warn_layer(f"{layer}: unrecognised lit values treated as 'unknown': {values}",
                   lit.index[unrecognised])
    return out.fillna("unknown").rename("lit")


def _derive_path_type(gdf: pd.DataFrame) -> pd.Series:
    """``path_type`` from the OSM tags (module docstring), ``<NA>`` when not a path."""
    hw = _lower(gdf["highway"]).fillna("")
    fw = _lower(gdf["footway"]).fillna("")
    cw = _lower(gdf["cycleway"]).fillna("")
    bicycle = _lower(gdf["bicycle"]).fillna("")
    rules: list[tuple[pd.Series, pd.Series | str]] = [  # first matching rule wins
        (fw == "sidewalk", "sidewalk"),
        ((fw == "crossing") | (cw == "crossing"), "crossing"),
        ((hw == "cycleway") | ((hw == "path") & (bicycle == "designated")), "cycleway"),
        (hw.isin(("footway", "path", "pedestrian", "steps", "living_street", "track")), hw),
        (hw == "bridleway", "path"),
        (hw != "", "road"),
    ]
    out = pd.Series(pd.NA, index=gdf.index, dtype="string", name="path_type")
    for cond, value in rules:
        out = out.mask(out.isna() & cond.fillna(False).astype(bool), value)
    return out


def _normalize_paths(gdf: gpd.GeoDataFrame, crs: str, src: str) -> gpd.GeoDataFrame:
    """The one funnel for paths.

    Parameters
    ----------
    gdf : GeoDataFrame
        Lines in any declared CRS, with any of the tag columns of
        :data:`layers.schemas.PATHS` (missing ones are empty), optionally ``osm_id``
        (int, -1 when not from OSM) and ``path_type``. The index is the path id.
    crs : str
        The profile's metric CRS, e.g. ``"EPSG:3007"``.
    src : str
        Source label for messages.

    Returns
    -------
    GeoDataFrame
        LineStrings in *crs* (metres), columns :data:`layers.schemas.PATHS`, index
        ``path_id``. Multi-part lines are split into parts ``<id>_1``, ``<id>_2`` ...
    """
    gdf = gdf.copy()
    for col in _TAGS:
        if col not in gdf.columns:
            gdf[col] = pd.Series(pd.NA, index=gdf.index, dtype="string")
        gdf[col] = gdf[col].astype("string")
    if "osm_id" not in gdf.columns:
        gdf["osm_id"] = -1
    gdf["osm_id"] = pd.to_numeric(gdf["osm_id"], errors="coerce").fillna(-1).astype("int64")

    derived = _derive_path_type(gdf)
    if "path_type" in gdf.columns:
        given = _lower(gdf["path_type"])
        bad = given.notna() & ~given.isin(schemas.PATH_TYPES)
        if bad.any():
            raise ValidationError([Problem(
                src, str(i), "path_type", f"unknown path type {gdf['path_type'].loc[i]!r}",
                f"use one of {', '.join(schemas.PATH_TYPES)}, or leave it empty to derive "
                "it from the highway tag") for i in gdf.index[bad]])
        derived = given.fillna(derived)
    gdf["path_type"] = derived
    no_type = gdf["path_type"].isna()
    if no_type.all() and len(gdf):
        raise ValidationError([Problem(
            src, "", "highway", "no feature has a highway tag or a path_type",
            "add a 'highway' column (footway, cycleway, ...) or a 'path_type' column with "
            f"one of {', '.join(schemas.PATH_TYPES)}")])
    if no_type.any():
        warn_layer(f"{src}: dropped lines without highway tag or path_type",
                   gdf.index[no_type])
        gdf = gdf.loc[~no_type]

    # A file exported by this tool carries both: ``lit`` (possibly edited) wins,
    # ``lit_raw`` is kept as found.
    gdf["lit_raw"] = gdf["lit_raw"].astype("string") if "lit_raw" in gdf.columns else gdf["lit"]
    gdf["lit"] = normalize_lit(gdf["lit"], layer=f"paths ({src})")

    gdf = clean_geometries(gdf, ["LineString", "MultiLineString"], "paths", explode_multi=True)
    gdf = to_profile_crs(gdf, crs, src)
    logger.info("paths: %d lines from %s", len(gdf), src)
    return finalize(gdf, list(schemas.PATHS), schemas.PATHS_INDEX, crs)


def select_path_ways(ways: pd.DataFrame) -> pd.Series:
    """Boolean mask of the ways that are walking/cycling paths (module docstring).

    Parameters
    ----------
    ways : DataFrame
        :attr:`layers.osm.OsmExtract.ways` or any frame with the tag columns.

    Returns
    -------
    Series
        Boolean, aligned to *ways*, named ``is_path``.
    """
    hw = _lower(ways["highway"])
    fw = _lower(ways["footway"])
    has_hw = hw.notna() & ~hw.isin(NOT_PATH_HIGHWAYS)
    designated = (_lower(ways["bicycle"]) == "designated") | (_lower(ways["foot"])
                                                              == "designated")
    mask = has_hw & (hw.isin(PATH_HIGHWAYS) | fw.isin(("sidewalk", "crossing")) | designated)
    return mask.fillna(False).astype(bool).rename("is_path")


def select_walkable_roads(ways: pd.DataFrame) -> pd.Series:
    """Boolean mask of the roads (not paths) a pedestrian may use (module docstring)."""
    hw = _lower(ways["highway"])
    foot = _lower(ways["foot"])
    access = (_lower(ways["access"]) if "access" in ways.columns
              else pd.Series(pd.NA, index=ways.index, dtype="string"))
    allowed = foot.isin(("yes", "designated", "permissive"))
    closed = foot.isin(NO_FOOT) | (access.isin(("no", "private")) & ~allowed)
    mask = hw.isin(WALKABLE_ROAD_HIGHWAYS) & ~closed & ~select_path_ways(ways)
    return mask.fillna(False).astype(bool).rename("is_walkable_road")


def walkable_from_osm(extract: OsmExtract, crs: str | CRS,
                      boundary: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """The roads a pedestrian may use (not the paths), for school routes.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`layers.osm.read_osm_file` or :func:`layers.osm.download_osm`.
    crs : str or CRS
        The profile's metric CRS.
    boundary : shapely geometry, optional
        Municipality boundary in *crs* (metres); roads that do not touch it are left out.

    Returns
    -------
    GeoDataFrame
        As :func:`paths_from_osm` (``path_type`` ``road`` or ``living_street`` ...), index
        ``'w<way id>'``; the ways of :func:`select_walkable_roads`.
    """
    ways = extract.ways
    ways = ways.loc[select_walkable_roads(ways).to_numpy()]
    if boundary is not None and len(ways):
        zone = _zone(boundary, crs, ways.crs)
        ways = ways.loc[shapely.intersects(zone, ways.geometry.values)]
    return _normalize_paths(_osm_frame(ways), str(crs), extract.source)


def _zone(boundary: shapely.Geometry, crs: str | CRS, to: object) -> shapely.Geometry:
    """The boundary (in the profile CRS) in the ways' CRS, prepared for predicates."""
    zone = gpd.GeoSeries([boundary], crs=crs).to_crs(to).iloc[0]
    shapely.prepare(zone)
    return zone


def _osm_frame(ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Selected OSM ways as the funnel's input: tag columns, ``osm_id``, ids ``w<id>``."""
    gdf = gpd.GeoDataFrame(ways[list(_TAGS)].copy(), geometry=ways.geometry.values,
                           crs=ways.crs)
    gdf["osm_id"] = ways.index.to_numpy(dtype="int64")
    gdf.index = pd.Index(element_ids(pd.Series(gdf["osm_id"].to_numpy(), index=gdf.index),
                                     "w").to_numpy(dtype=object), name=schemas.PATHS_INDEX)
    return gdf


def paths_from_osm(extract: OsmExtract, crs: str | CRS,
                   boundary: shapely.Geometry | None = None,
                   boundary_label: str = "the boundary") -> gpd.GeoDataFrame:
    """Walking and cycling paths from an OSM extract.

    Parameters
    ----------
    extract : OsmExtract
        From :func:`layers.osm.read_osm_file` or :func:`layers.osm.download_osm`.
    crs : str or CRS
        The profile's metric CRS, e.g. ``"EPSG:3007"``.
    boundary : shapely geometry, optional
        Municipality boundary in *crs* (metres). Ways that do not touch it are left out
        (ways crossing it are kept whole, so ids and geometry stay OSM's).
    boundary_label : str, optional
        What to call the boundary in warnings (its file name).

    Returns
    -------
    GeoDataFrame
        LineStrings in *crs*, columns :data:`layers.schemas.PATHS`, index ``path_id``
        = ``'w<way id>'``.

    Examples
    --------
    >>> paths = paths_from_osm(read_osm_file("tests/fixtures/osm/stromstad_small.osm"),
    ...                        "EPSG:3007")  # doctest: +SKIP
    >>> paths.loc["w102", "path_type"]  # doctest: +SKIP
    'sidewalk'
    """
    ways = extract.ways
    ways = ways.loc[select_path_ways(ways).to_numpy()]
    if not len(ways):
        warn_layer(f"paths ({extract.source}): the extract has no walking or cycling paths "
                   "(highway=footway/cycleway/path/..., sidewalks, crossings); check that it "
                   "covers the municipality and was not filtered")
    if boundary is not None and len(ways):
        zone = _zone(boundary, crs, ways.crs)
        inside = shapely.intersects(zone, ways.geometry.values)
        if not inside.any():
            warn_layer(no_overlap_message(extract.source, boundary_label,
                                          ways.geometry.values, zone, len(ways)))
        ways = ways.loc[inside]
    return _normalize_paths(_osm_frame(ways), str(crs), extract.source)


def no_overlap_message(source: str, boundary_label: str, geoms: np.ndarray,
                       zone: shapely.Geometry, n: int) -> str:
    """Why no path is left: the extract and the boundary do not overlap (bounds in
    degrees, WGS 84, so the user can see which is where)."""
    def box(bounds: np.ndarray) -> str:
        w, s, e, n_ = (float(v) for v in bounds)
        return f"lon {w:.3f}–{e:.3f}, lat {s:.3f}–{n_:.3f}"

    return (f"paths ({source}): none of the {n} paths lies inside the boundary "
            f"({boundary_label}); the extract and the boundary do not overlap (extract "
            f"{box(shapely.total_bounds(geoms))}; boundary {box(shapely.bounds(zone))}). "
            "Use an extract of the municipality, or the right boundary file")


def read_paths_file(path: str | Path, crs: str | CRS) -> gpd.GeoDataFrame:
    """Read paths from a GeoPackage/GeoJSON of lines with OSM-style tag columns.

    Parameters
    ----------
    path : str or Path
        Lines with some of the columns of :data:`layers.schemas.PATHS` (column names are
        matched case-insensitively). Needs ``highway`` or ``path_type``. Ids come from a
        ``path_id`` column, else ``osm_id`` (``'w<id>'``), else the feature number
        (``'f1'``, ``'f2'`` ...).
    crs : str or CRS
        The profile's metric CRS.

    Returns
    -------
    GeoDataFrame
        As :func:`paths_from_osm`.
    """
    src = source_label(path)
    gdf = read_vector(path)
    gdf = gdf.rename(columns={c: c.strip().lower() for c in gdf.columns if c != "geometry"})
    gdf.index = feature_ids(gdf, schemas.PATHS_INDEX, "w")
    if "osm_id" in gdf.columns:
        osm = element_ids(gdf["osm_id"], "w")
        gdf["osm_id"] = pd.to_numeric(osm.str.slice(1).where(osm.str.startswith("w")),
                                      errors="coerce").fillna(-1).astype("int64")
    return _normalize_paths(gdf.drop(columns=[schemas.PATHS_INDEX], errors="ignore"),
                            str(crs), src)
