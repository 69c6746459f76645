"""One raw OpenStreetMap reader that every OSM-based layer uses.

Two sources produce the same :class:`OsmExtract`:

* :func:`read_osm_file` streams a local extract (``.osm``, ``.osm.bz2``, ``.osm.gz``,
  ``.osm.pbf``) with pyosmium. Node locations are cached, and a key filter runs in C++ so
  that only elements carrying one of :data:`SELECT_KEYS` reach Python; a county extract
  is read once for relations (multipolygon candidates) and once for everything else, and
  never held in memory as a whole.
* :func:`download_osm` asks the Overpass API through osmnx (needs network). All osmnx
  settings are made in one place, :func:`configure_osmnx`, which ``download_osm`` calls;
  nothing is configured at import time.

The extract is raw: tags are kept as found (only :data:`OSM_KEYS`), geometry is in
EPSG:4326 (degrees). Selecting paths, schools or crossings, normalising values and
reprojecting to the profile's metric CRS is the job of each layer's funnel
(:mod:`layers.paths`, :mod:`layers.schools`, :mod:`layers.crossings`).

Which closed ways are areas
---------------------------
A closed way with at least four coordinates is an area when ``area`` is not ``no`` and it
has an ``amenity``, ``building``, ``landuse`` or ``area`` tag, or ``highway`` is one of
the area-like values osmnx also treats as polygons (``services``, ``rest_area``,
``elevator``, ``escape``). This is osmnx's rule restricted to our keys, so both sources
agree. Multipolygon relations become areas when they carry ``amenity`` or ``highway``
(school grounds, pedestrian plazas); pyosmium assembles them from their member ways.
Every way, closed or not, is also in :attr:`OsmExtract.ways` as a LineString.

Features cut at the extract's edge
----------------------------------
A way with nodes missing from the file (cut at the extract's edge) keeps the part inside:
its runs of consecutive nodes that are present, as a LineString (one run) or a
MultiLineString (several). A closed way that would be an area (school grounds) gets the
convex hull of its present nodes as its outline (at least three of them), and a
residential building the mean of its present nodes as its point. Each kind is reported
with its ids in a :class:`~layers._common.LayerWarning`; what cannot be kept (no two
consecutive nodes present, multipolygon relations whose members are missing) is reported
as dropped, with ids.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import osmium
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from layers._common import Problem, ValidationError, source_label, warn_layer

logger = logging.getLogger(__name__)

#: Tag keys kept in the extract (one string column each).
OSM_KEYS: tuple[str, ...] = (
    "highway", "footway", "cycleway", "bicycle", "foot", "segregated", "surface", "name",
    "lit", "crossing", "crossing:markings", "amenity", "isced:level", "grades", "lamp_type",
    "light:method", "light:count", "ref", "operator", "lamp_mount", "height", "light:colour",
    "building", "area", "landuse", "access",
)

#: An element is read only when it carries at least one of these keys. The other
#: :data:`OSM_KEYS` are attributes only (a county's buildings are never materialised).
SELECT_KEYS: tuple[str, ...] = ("highway", "amenity", "footway", "cycleway", "crossing")

#: ``building`` values that are homes: their points are the origins of the school routes
#: (:mod:`layers.residences`). Holiday cabins and generic ``building=yes`` are not homes.
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset({
    "house", "residential", "apartments", "detached", "semidetached_house", "terrace",
    "bungalow", "dormitory", "farm",
})

#: Multipolygon relations carrying one of these keys are assembled into areas.
AREA_RELATION_KEYS: tuple[str, ...] = ("amenity", "highway")

#: Relations the file reader assembles: the area relations, and building relations to give
#: homes their point (:attr:`OsmExtract.residences`; they are not areas).
_ASSEMBLE_KEYS: tuple[str, ...] = (*AREA_RELATION_KEYS, "building")

#: Tags queried from Overpass by :func:`download_osm` (osmnx ``tags`` argument).
DOWNLOAD_TAGS: dict[str, bool | str | list[str]] = {
    "highway": True, "amenity": True, "footway": True, "bicycle": True, "foot": True,
    "building": sorted(RESIDENTIAL_BUILDINGS),
}

#: File name endings :func:`read_osm_file` accepts.
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")

_AREA_HIGHWAYS = frozenset({"services", "rest_area", "elevator", "escape"})
_KEYSET = frozenset(OSM_KEYS)
_WGS84 = "EPSG:4326"

_OVERPASS_DEFAULT = "https://overpass-api.de/api"
_NOMINATIM_DEFAULT = "https://nominatim.openstreetmap.org/"
_OSMNX_NODE_TAGS = ["highway", "junction", "railway", "ref"]
_OSMNX_WAY_TAGS = ["access", "area", "bridge", "est_width", "highway", "junction", "landuse",
                   "lanes", "maxspeed", "name", "oneway", "ref", "service", "tunnel", "width"]


class OsmDownloadError(RuntimeError):
    """OSM data could not be downloaded (no network, server error or nothing found)."""


@dataclass(frozen=True)
class OsmExtract:
    """Raw OSM elements with the tags in :data:`OSM_KEYS`, in EPSG:4326 (degrees).

    Attributes
    ----------
    nodes : GeoDataFrame
        Tagged nodes. Index ``osm_id`` (int64), one ``string`` column per key in
        :data:`OSM_KEYS` (``<NA>`` when missing), Point geometry.
    ways : GeoDataFrame
        Ways, as LineStrings (closed ways too). Index ``osm_id`` (int64), tag columns
        as for *nodes*.
    areas : GeoDataFrame
        Closed ways that are areas and assembled multipolygon relations, as Polygon or
        MultiPolygon. Index ``osm_id`` as a string, ``'w123'`` or ``'r45'``; tag columns
        as for *nodes*.
    source : str
        File name, or ``'overpass'`` for downloaded data.
    residences : GeoDataFrame
        One point per residential building (``building`` in
        :data:`RESIDENTIAL_BUILDINGS`): the mean of its outline's distinct vertices (the
        node itself for a building mapped as a node). Index ``osm_id`` as a string
        (``'w123'``, ``'n5'``, ``'r7'``), column ``building``. Only the points are kept, so
        a county's buildings cost three numbers each.
    """

    nodes: gpd.GeoDataFrame
    ways: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    source: str
    residences: gpd.GeoDataFrame = field(default_factory=lambda: _residence_frame([], [], [], []))


# --------------------------------------------------------------------------- frames


def _frame(ids: Any, tags: Sequence[dict[str, str]] | pd.DataFrame,
           geometry: Any, index_dtype: str) -> gpd.GeoDataFrame:
    """One extract frame: tag columns as ``string`` dtype, index ``osm_id``, EPSG:4326."""
    if isinstance(tags, pd.DataFrame):
        data = tags.reindex(columns=list(OSM_KEYS))
    else:
        data = pd.DataFrame.from_records(list(tags), columns=list(OSM_KEYS))
    raw = np.asarray(ids, dtype=object if index_dtype == "str" else index_dtype)
    index = pd.Index(raw, dtype=index_dtype, name="osm_id")
    data.index = index
    data = data.astype("string")
    geoms = np.asarray(geometry, dtype=object) if len(index) else np.array([], dtype=object)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, index=index, crs=_WGS84),
                            crs=_WGS84)


def _residence_frame(ids: Sequence[str], building: npt.ArrayLike, lon: npt.ArrayLike,
                     lat: npt.ArrayLike) -> gpd.GeoDataFrame:
    """The extract's residences frame: points in EPSG:4326, index ``osm_id`` (str)."""
    index = pd.Index(np.asarray(ids, dtype=object), dtype="str", name="osm_id")
    return gpd.GeoDataFrame(
        {"building": pd.array(np.asarray(building, dtype=object), dtype="string")},
        geometry=gpd.GeoSeries(shapely.points(np.asarray(lon, dtype=float),
                                              np.asarray(lat, dtype=float)) if len(index)
                               else np.array([], dtype=object), index=index, crs=_WGS84),
        index=index, crs=_WGS84)


def _outline_means(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """(n, 2) mean of each polygon's exterior ring vertices, without the closing vertex
    (the same point the file reader takes from a building way's nodes)."""
    rings = shapely.get_exterior_ring(shapely.get_geometry(geoms, 0))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(idx, minlength=len(geoms))
    last = np.cumsum(counts) - 1
    keep = np.ones(len(coords), dtype=bool)
    closed = counts > 1
    keep[last[closed]] = False  # drop each ring's repeated first vertex
    n = np.maximum(np.bincount(idx[keep], minlength=len(geoms)), 1)
    return np.column_stack([np.bincount(idx[keep], weights=coords[keep, 0],
                                        minlength=len(geoms)) / n,
                            np.bincount(idx[keep], weights=coords[keep, 1],
                                        minlength=len(geoms)) / n])


def _areas_from_ways(ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons for the closed ways that are areas (see module docstring). Vectorised."""
    lines = ways.geometry.values
    n_coords = shapely.get_num_coordinates(lines)
    closed = shapely.is_closed(lines) & (n_coords >= 4)
    area_tag = ways["area"].str.strip().str.lower()
    highway = ways["highway"].str.strip().str.lower()
    keyed = (ways["amenity"].notna() | ways["building"].notna() | ways["landuse"].notna()
             | area_tag.notna() | highway.isin(_AREA_HIGHWAYS).fillna(False))
    is_area = closed & keyed.fillna(False).to_numpy(bool) & ~(area_tag == "no").fillna(
        False).to_numpy(bool)
    chosen = ways.loc[is_area]
    if len(chosen):
        coords, idx = shapely.get_coordinates(chosen.geometry.values, return_index=True)
        polygons = shapely.polygons(shapely.linearrings(coords, indices=idx))
    else:
        polygons = np.array([], dtype=object)
    ids: Any = np.char.add("w", chosen.index.to_numpy().astype(str)) if len(chosen) else []
    return _frame(ids, chosen[list(OSM_KEYS)], polygons, "str")


def _concat_areas(frames: Iterable[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    parts = [f for f in frames if len(f)]
    if not parts:
        return _frame([], [], [], "str")
    out = pd.concat(parts)
    out.index.name = "osm_id"
    return gpd.GeoDataFrame(out, geometry="geometry", crs=_WGS84)


# --------------------------------------------------------------------------- files


def _file_problem(src: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Problem(src, "", "", message, fix)])


_FIX_DOWNLOAD = ("download the extract again (for example from download.geofabrik.de) "
                 "and check it with `osmium fileinfo FILE`")


def _check_osm_path(path: Path) -> None:
    src = source_label(path)
    name = path.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        raise _file_problem(src, f"unsupported OpenStreetMap file type '{''.join(path.suffixes)}'",
                            f"use one of {', '.join(OSM_SUFFIXES)}")
    if not path.exists():
        raise _file_problem(src, f"file not found: {path}",
                            "check the path (sources.osm in the profile)")
    if path.stat().st_size == 0:
        raise _file_problem(src, "the file is empty (0 bytes)", _FIX_DOWNLOAD)


def read_osm_file(path: str | Path) -> OsmExtract:
    """Read a local OSM extract with pyosmium, streaming.

    Parameters
    ----------
    path : str or Path
        ``.osm`` (XML), ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.

    Returns
    -------
    OsmExtract
        Elements carrying one of :data:`SELECT_KEYS`, geometry in EPSG:4326 (degrees),
        ``source`` = the file name.

    Raises
    ------
    ValidationError
        Missing, empty or corrupt file, or a file without any element of interest, with
        the file name and the fix in the message.

    Examples
    --------
    >>> ext = read_osm_file("data/stromstad/osm.osm.pbf")  # doctest: +SKIP
    >>> ext.ways.crs.to_epsg()  # doctest: +SKIP
    4326
    """
    path = Path(path)
    src = source_label(path)
    _check_osm_path(path)

    node_ids: list[int] = []
    node_lon: list[float] = []
    node_lat: list[float] = []
    node_tags: list[dict[str, str]] = []
    way_ids: list[int] = []
    way_wkb: list[str] = []
    way_tags: list[dict[str, str]] = []
    broken_ways: list[int] = []
    partial_ways: list[int] = []
    partial_areas: list[int] = []
    pa_tags: list[dict[str, str]] = []
    pa_geoms: list[Any] = []
    partial_homes: list[str] = []
    rel_ids: list[int] = []
    rel_wkb: list[str] = []
    rel_tags: list[dict[str, str]] = []
    broken_relations: list[int] = []
    rel_candidates: list[int] = []
    res_ids: list[str] = []
    res_kind: list[str] = []
    res_lon: list[float] = []
    res_lat: list[float] = []
    keyset = _KEYSET
    select = SELECT_KEYS
    homes = RESIDENTIAL_BUILDINGS
    factory = osmium.geom.WKBFactory()

    processor = (osmium.FileProcessor(str(path))
                 .with_locations()
                 .with_areas(osmium.filter.KeyFilter(*_ASSEMBLE_KEYS))
                 .with_filter(osmium.filter.KeyFilter(*SELECT_KEYS, "building")))
    try:
        for obj in processor:
            tags = obj.tags
            building = tags.get("building")
            if building is not None and not any(k in tags for k in select):
                # A building and nothing else we read: keep one point if it is a home.
                if building.strip().lower() in homes and not _add_residence(
                        obj, building, res_ids, res_kind, res_lon, res_lat):
                    partial_homes.append(res_ids[-1])
                continue
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                if not loc.valid():
                    continue
                node_ids.append(obj.id)
                node_lon.append(loc.lon)
                node_lat.append(loc.lat)
                node_tags.append({t.k: t.v for t in obj.tags if t.k in keyset})
            elif isinstance(obj, osmium.osm.Way):
                try:
                    wkb = factory.create_linestring(obj)
                except (osmium.InvalidLocationError, RuntimeError):
                    tags_kept = {t.k: t.v for t in obj.tags if t.k in keyset}
                    line, hull = _partial_way(obj)
                    if hull is not None and _would_be_area(tags_kept):
                        partial_areas.append(obj.id)
                        pa_tags.append(tags_kept)
                        pa_geoms.append(hull)
                    if line is None:
                        if hull is None or not _would_be_area(tags_kept):
                            broken_ways.append(obj.id)
                        continue
                    partial_ways.append(obj.id)
                    way_ids.append(obj.id)
                    way_wkb.append(shapely.to_wkb(line, hex=True))
                    way_tags.append(tags_kept)
                    continue
                way_ids.append(obj.id)
                way_wkb.append(wkb)
                way_tags.append({t.k: t.v for t in obj.tags if t.k in keyset})
            elif isinstance(obj, osmium.osm.Relation):
                if tags.get("type") == "multipolygon":
                    rel_candidates.append(obj.id)
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                try:
                    wkb = factory.create_multipolygon(obj)
                except (osmium.InvalidLocationError, RuntimeError):
                    broken_relations.append(obj.orig_id())
                    continue
                rel_ids.append(obj.orig_id())
                rel_wkb.append(wkb)
                rel_tags.append({t.k: t.v for t in obj.tags if t.k in keyset})
    except Exception as exc:  # osmium raises RuntimeError/io errors of several kinds
        raise _file_problem(
            src, "cannot be read as OpenStreetMap data "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})",
            "check that the file is complete and of the type its extension says; "
            + _FIX_DOWNLOAD) from exc

    if not (node_ids or way_ids or rel_ids):
        raise _file_problem(
            src, "the file contains no OSM elements with "
            f"{'/'.join(SELECT_KEYS)} tags",
            "check that the extract covers the municipality and was not filtered; "
            + _FIX_DOWNLOAD)
    fix = "use an extract made with `osmium extract --strategy complete_ways` to avoid it"
    if partial_ways:
        warn_layer(f"{src}: kept the part inside the extract of ways cut at its edge (nodes "
                   f"missing); {fix}", [f"w{i}" for i in partial_ways])
    if partial_areas:
        warn_layer(f"{src}: areas cut at the extract's edge: outline from the convex hull "
                   f"of the nodes present; {fix}", [f"w{i}" for i in partial_areas])
    if partial_homes:
        warn_layer(f"{src}: homes cut at the extract's edge: point from the nodes present",
                   partial_homes)
    if broken_ways:
        warn_layer(f"{src}: dropped ways cut at the extract's edge (fewer than two "
                   f"consecutive nodes in the file); {fix}", [f"w{i}" for i in broken_ways])
    assembled = set(rel_ids) | {int(i[1:]) for i in res_ids if i.startswith("r")}
    broken_relations = sorted(set(broken_relations)
                              | (set(rel_candidates) - assembled))
    if broken_relations:
        warn_layer(f"{src}: dropped multipolygon relations whose outline cannot be "
                   f"assembled (members missing from the extract or broken rings); {fix}",
                   [f"r{i}" for i in broken_relations])

    nodes = _frame(node_ids, node_tags, shapely.points(np.asarray(node_lon, dtype=float),
                                                       np.asarray(node_lat, dtype=float))
                   if node_ids else [], "int64")
    ways = _frame(way_ids, way_tags,
                  shapely.from_wkb(np.asarray(way_wkb, dtype=object)) if way_ids else [],
                  "int64")
    relations = _frame([f"r{i}" for i in rel_ids], rel_tags,
                       shapely.from_wkb(np.asarray(rel_wkb, dtype=object)) if rel_ids else [],
                       "str")
    partial = _frame([f"w{i}" for i in partial_areas], pa_tags, pa_geoms, "str")
    areas = _concat_areas([_areas_from_ways(ways), partial, relations])
    residences = _residence_frame(res_ids, res_kind, res_lon, res_lat)
    logger.info("read %d nodes, %d ways, %d areas, %d residential buildings from %s",
                len(nodes), len(ways), len(areas), len(residences), path)
    return OsmExtract(nodes=nodes, ways=ways, areas=areas, source=src, residences=residences)


def _would_be_area(tags: dict[str, str]) -> bool:
    """The tag part of the area rule (module docstring) for one closed way."""
    if tags.get("area", "").strip().lower() == "no":
        return False
    return any(k in tags for k in ("amenity", "building", "landuse", "area")) or (
        tags.get("highway", "").strip().lower() in _AREA_HIGHWAYS)


def _partial_way(obj: Any) -> tuple[shapely.Geometry | None, shapely.Geometry | None]:
    """What is left of a way with nodes missing from the extract.

    Returns the runs of two or more consecutive present nodes (a LineString, a
    MultiLineString for several runs, None for none), and for a way closed by its node ids
    the convex hull of its present nodes (None unless at least three, not all on a line).
    """
    runs: list[list[tuple[float, float]]] = [[]]
    present: list[tuple[float, float]] = []
    for n in obj.nodes:
        loc = n.location
        if loc.valid():
            xy = (loc.lon, loc.lat)
            runs[-1].append(xy)
            present.append(xy)
        elif runs[-1]:
            runs.append([])
    parts = [shapely.LineString(r) for r in runs if len(r) >= 2]
    line = (parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)) if parts else None
    hull = None
    if obj.is_closed() and len(set(present)) >= 3:
        candidate = shapely.convex_hull(shapely.MultiPoint(present))
        hull = candidate if candidate.geom_type == "Polygon" else None
    return line, hull


def _add_residence(obj: Any, building: str, ids: list[str], kinds: list[str],
                   lon: list[float], lat: list[float]) -> bool:
    """Append the point of one residential building mapped as a node, a way or a
    multipolygon relation: the mean of its outline's distinct vertices (outer rings for a
    relation). A way cut at the extract's edge gets the mean of the nodes present.

    Returns False when the point rests on a partial outline (for the report), else True.
    """
    if isinstance(obj, osmium.osm.Node):
        if obj.location.valid():
            ids.append(f"n{obj.id}")
            kinds.append(building)
            lon.append(obj.location.lon)
            lat.append(obj.location.lat)
        return True
    xs: list[float] = []
    ys: list[float] = []
    complete = True
    if isinstance(obj, osmium.osm.Way):
        oid = f"w{obj.id}"
        for n in obj.nodes:
            if n.location.valid():
                xs.append(n.location.lon)
                ys.append(n.location.lat)
            else:
                complete = False  # cut at the extract's edge: the nodes present
        if len(xs) > 1 and xs[0] == xs[-1] and ys[0] == ys[-1]:
            xs.pop()
            ys.pop()
    elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
        oid = f"r{obj.orig_id()}"
        for ring in obj.outer_rings():
            rx = [n.location.lon for n in ring]
            ry = [n.location.lat for n in ring]
            if len(rx) > 1 and rx[0] == rx[-1] and ry[0] == ry[-1]:
                rx.pop()
                ry.pop()
            xs.extend(rx)
            ys.extend(ry)
    else:
        return True  # a closed way's own Area: the way itself gave the point
    if xs:
        ids.append(oid)
        kinds.append(building)
        lon.append(sum(xs) / len(xs))
        lat.append(sum(ys) / len(ys))
    return complete or not xs


# --------------------------------------------------------------------------- osmnx


def _default_cache_folder() -> Path:
    """``$TRYGGA_CACHE_DIR/osmnx``, else ``$XDG_CACHE_HOME/trygga-strak/osmnx``
    (``~/.cache/...``)."""
    if os.environ.get("TRYGGA_CACHE_DIR"):
        return Path(os.environ["TRYGGA_CACHE_DIR"]) / "osmnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trygga-strak" / "osmnx"


def configure_osmnx(overpass_url: str | None = None, nominatim_url: str | None = None,
                    timeout_s: float = 10, cache_folder: str | Path | None = None) -> None:
    """Set every osmnx setting the project relies on. The one place that touches ``ox.settings``.

    Called by :func:`download_osm`; never at import time. Each call sets all values, so a
    ``None`` argument means the public default, not "leave as it was".

    Parameters
    ----------
    overpass_url : str, optional
        Overpass API base URL (without ``/interpreter``). Default: overpass-api.de.
    nominatim_url : str, optional
        Nominatim base URL. Default: nominatim.openstreetmap.org.
    timeout_s : float, default 10
        HTTP timeout in seconds (also the Overpass server-side query timeout). Small, so
        an unreachable network fails fast.
    cache_folder : str or Path, optional
        Folder for osmnx's HTTP response cache; default ``$XDG_CACHE_HOME/trygga-strak/osmnx``
        (``~/.cache/...``). Cached responses make repeated downloads work offline.
    """
    import osmnx as ox

    s = ox.settings
    s.overpass_url = (overpass_url or _OVERPASS_DEFAULT).rstrip("/")
    s.nominatim_url = nominatim_url or _NOMINATIM_DEFAULT
    s.overpass_rate_limit = False  # the status check waits 60 s when offline
    s.doh_url_template = None  # the DNS-over-HTTPS fallback can hang for minutes offline
    s.requests_timeout = timeout_s
    s.use_cache = True
    s.cache_folder = str(Path(cache_folder) if cache_folder else _default_cache_folder())
    s.log_console = False
    s.useful_tags_node = list(dict.fromkeys([*_OSMNX_NODE_TAGS, *OSM_KEYS]))
    s.useful_tags_way = list(dict.fromkeys([*_OSMNX_WAY_TAGS, *OSM_KEYS]))
    logger.debug("osmnx configured: overpass=%s nominatim=%s timeout=%ss cache=%s",
                 s.overpass_url, s.nominatim_url, timeout_s, s.cache_folder)


def _request_url(exc: Any) -> str:
    """The URL a requests exception was about, without its query string."""
    import osmnx as ox

    url = getattr(getattr(exc, "request", None), "url", None) or ox.settings.overpass_url
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _extract_from_osmnx(gdf: gpd.GeoDataFrame) -> OsmExtract:
    """Convert an osmnx features frame (MultiIndex ``element``/``id``) to an OsmExtract."""
    gdf = gdf.to_crs(_WGS84) if gdf.crs is not None and gdf.crs != _WGS84 else gdf
    element = gdf.index.get_level_values(0).astype(str).to_numpy()
    ids = gdf.index.get_level_values(1).to_numpy().astype("int64")
    tags = pd.DataFrame(gdf.drop(columns="geometry")).reindex(columns=list(OSM_KEYS))
    tags.index = pd.RangeIndex(len(gdf))
    geom = gdf.geometry.values
    gtype = shapely.get_type_id(geom)  # 0 point, 1 line, 3 polygon, 6 multipolygon

    is_node = (element == "node") & (gtype == 0)
    nodes = _frame(ids[is_node], tags.loc[is_node], geom[is_node], "int64")

    is_way = (element == "way") & np.isin(gtype, (1, 2, 3))
    way_geom = np.asarray(geom[is_way], dtype=object)
    poly = shapely.get_type_id(way_geom) == 3
    if poly.any():  # osmnx made closed area-like ways polygons: back to their outline
        coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(way_geom[poly]),
                                              return_index=True)
        way_geom[poly] = shapely.linestrings(coords, indices=idx)
    ways = _frame(ids[is_way], tags.loc[is_way], way_geom, "int64")

    has_key = tags[list(AREA_RELATION_KEYS)].notna().any(axis=1).to_numpy(bool)
    is_rel = (element == "relation") & np.isin(gtype, (3, 6)) & has_key
    relations = _frame(np.char.add("r", ids[is_rel].astype(str)) if is_rel.any() else [],
                       tags.loc[is_rel], geom[is_rel], "str")
    areas = _concat_areas([_areas_from_ways(ways), relations])
    building = tags["building"].astype("string").str.strip().str.lower()
    home = building.isin(RESIDENTIAL_BUILDINGS).fillna(False).to_numpy(bool)
    node_rows = np.flatnonzero(home & (gtype == 0))
    area_rows = np.flatnonzero(home & np.isin(gtype, (3, 6)))
    rows = np.concatenate([node_rows, area_rows])
    xy = np.vstack([shapely.get_coordinates(geom[node_rows]),
                    _outline_means(np.asarray(geom[area_rows], dtype=object))
                    if len(area_rows) else np.empty((0, 2))])
    prefix = {"node": "n", "way": "w", "relation": "r"}
    res_ids = [prefix.get(e, e[:1]) + str(i)
               for e, i in zip(element[rows].tolist(), ids[rows].tolist(), strict=True)]
    residences = _residence_frame(res_ids, tags["building"].to_numpy(dtype=object)[rows],
                                  xy[:, 0], xy[:, 1])
    return OsmExtract(nodes=nodes, ways=ways, areas=areas, source="overpass",
                      residences=residences)


def download_osm(polygon_or_place: shapely.Geometry | str, *, crs: str | None = None,
                 tags: dict[str, bool | str | list[str]] | None = None,
                 overpass_url: str | None = None, nominatim_url: str | None = None,
                 timeout_s: float = 10, cache_folder: str | Path | None = None) -> OsmExtract:
    """Download OSM features for a polygon or a place name with osmnx (needs network).

    Parameters
    ----------
    polygon_or_place : shapely Polygon/MultiPolygon or str
        Area to download: a polygon (in *crs*, EPSG:4326 degrees by default) is sent to
        Overpass; a place name (``"Strömstads kommun"``) is first geocoded by Nominatim.
    crs : str, optional
        CRS of the polygon, e.g. the profile's ``"EPSG:3007"``; default EPSG:4326.
    tags : dict, optional
        osmnx ``tags`` query; default :data:`DOWNLOAD_TAGS`.
    overpass_url, nominatim_url, timeout_s, cache_folder
        Passed to :func:`configure_osmnx`.

    Returns
    -------
    OsmExtract
        Same frames as :func:`read_osm_file`, EPSG:4326, ``source='overpass'``.

    Raises
    ------
    OsmDownloadError
        No network (fails within about *timeout_s* seconds), a server error, or nothing
        found; the message suggests a local extract (``sources.osm`` in the profile).
    """
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    polygon: Polygon | MultiPolygon | None = None
    if not isinstance(polygon_or_place, str):
        geom = polygon_or_place
        if crs is not None:
            geom = gpd.GeoSeries([geom], crs=crs).to_crs(_WGS84).iloc[0]
        if not isinstance(geom, (Polygon, MultiPolygon)):
            raise TypeError("download_osm needs a place name or a Polygon/MultiPolygon, got "
                            f"{type(geom).__name__}")
        polygon = geom
    what = "the polygon" if polygon is not None else repr(polygon_or_place)

    configure_osmnx(overpass_url, nominatim_url, timeout_s, cache_folder)
    query_tags = dict(tags or DOWNLOAD_TAGS)
    fix = ("Fix: set `sources.osm` in the profile to a local extract (.osm.pbf, for example "
           "from download.geofabrik.de) and load that instead")
    try:
        if polygon is None:
            gdf = ox.features_from_place(str(polygon_or_place), query_tags)
        else:
            gdf = ox.features_from_polygon(polygon, query_tags)
    except requests.exceptions.ConnectionError as exc:  # includes ConnectTimeout
        raise OsmDownloadError(
            "Cannot download OpenStreetMap data: there is no network connection to "
            f"{_request_url(exc)} ({type(exc).__name__}). {fix}, or try again when the "
            "network is back.") from exc
    except requests.exceptions.Timeout as exc:
        raise OsmDownloadError(
            f"Cannot download OpenStreetMap data: {_request_url(exc)} did not answer within "
            f"{timeout_s} s. {fix}, or try again later.") from exc
    except (InsufficientResponseError, ResponseStatusCodeError, TypeError) as exc:
        # nothing found, a server error, or a place that is not an area
        raise OsmDownloadError(
            f"Cannot download OpenStreetMap data for {what}: {exc} {fix}, or check the "
            "place name / area.") from exc
    logger.info("downloaded %d OSM features", len(gdf))
    return _extract_from_osmnx(gdf)


# --------------------------------------------------------------------------- ids


def blank_to_na(values: pd.Series) -> pd.Series:
    """Empty strings as ``<NA>`` (an empty OSM tag or file cell means "missing")."""
    return values.mask((values == "").fillna(False).astype(bool))


def element_ids(values: pd.Series, default_prefix: str) -> pd.Series:
    """OSM element ids as strings ``'n123'``/``'w123'``/``'r123'``; ``<NA>`` when not an id.

    Parameters
    ----------
    values : Series
        Integers (prefixed with *default_prefix*) or strings such as ``'w123'`` or ``'123'``.
    default_prefix : str
        ``'n'``, ``'w'`` or ``'r'``: the element type of bare numbers.

    Returns
    -------
    Series
        ``string`` dtype, aligned to *values*. Negative numbers (``-1`` = "not from OSM")
        and anything else become ``<NA>``.
    """
    text = values.astype("string").str.strip().str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)  # numbers read as floats
    bare = text.str.fullmatch(r"\d+").fillna(False)
    typed = text.str.fullmatch(r"[nwr]\d+").fillna(False)
    out = pd.Series(pd.NA, index=values.index, dtype="string", name=values.name)
    out[bare] = default_prefix + text[bare]
    out[typed] = text[typed]
    return out


def feature_ids(gdf: pd.DataFrame, id_column: str, default_prefix: str) -> pd.Index:
    """Stable, readable ids for features read from a file.

    Uses *id_column* (for example ``path_id``, as our own exports write it) when present,
    else the ``osm_id`` column as ``'w123'``, else ``'f<feature number>'`` (1-based, in
    file order). Missing values fall back to ``'f<n>'`` too.
    """
    fallback = pd.Series([f"f{i + 1}" for i in range(len(gdf))], index=gdf.index,
                         dtype="string")
    if id_column in gdf.columns:
        ids = blank_to_na(gdf[id_column].astype("string").str.strip())
    elif "osm_id" in gdf.columns:
        ids = element_ids(gdf["osm_id"], default_prefix)
    else:
        ids = fallback
    return pd.Index(ids.fillna(fallback).astype(str).to_numpy(), name=id_column)
