"""Background-map features from the profile's OSM file: roads, buildings, water, land use
and place names, for the app's offline basemap (:mod:`ui.basemap`).

The analysis layers read only what they need from the extract (:mod:`layers.osm`); a
basemap needs more (every highway type, building outlines, water, land use, place
names), so it has its own streaming pass over the same file with pyosmium, run only when a
map asks for it. Everything leaves through one funnel, :func:`_normalize_basemap`, in the
profile's metric CRS (STYLE rules 1 and 2).

Classes
-------
Every feature gets a ``kind`` from small fixed tables (:data:`ROAD_KINDS`,
:data:`LANDUSE_KINDS`, :data:`PLACE_RANK`), so the renderer styles a handful of classes
instead of every OSM value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from layers._common import Problem, ValidationError, source_label

logger = logging.getLogger(__name__)

#: ``highway`` value → road class drawn by the basemap (every line highway type).
ROAD_KINDS: dict[str, str] = {
    **dict.fromkeys(("motorway", "trunk", "primary", "motorway_link", "trunk_link",
                     "primary_link"), "major"),
    **dict.fromkeys(("secondary", "secondary_link"), "secondary"),
    **dict.fromkeys(("tertiary", "tertiary_link"), "tertiary"),
    **dict.fromkeys(("residential", "unclassified", "living_street", "road", "busway"),
                    "minor"),
    "service": "service", "track": "track",
    **dict.fromkeys(("footway", "cycleway", "path", "pedestrian", "steps", "bridleway",
                     "corridor", "sidewalk", "crossing"), "path"),
}
#: Drawing order of road classes, minor first (the renderer draws in this order).
ROAD_ORDER: tuple[str, ...] = ("path", "track", "service", "minor", "tertiary", "secondary",
                               "major")

#: (key, value) → land-use class; ``None`` as value matches every value of the key.
LANDUSE_KINDS: dict[tuple[str, str | None], str] = {
    ("landuse", "residential"): "residential",
    **{("landuse", v): "commercial" for v in ("commercial", "retail")},
    **{("landuse", v): "industrial" for v in ("industrial", "railway", "port", "harbour")},
    **{("landuse", v): "forest" for v in ("forest",)},
    ("natural", "wood"): "forest",
    **{("landuse", v): "grass" for v in ("grass", "meadow", "recreation_ground",
                                         "village_green", "cemetery", "allotments")},
    **{("leisure", v): "grass" for v in ("park", "pitch", "playground", "garden",
                                         "golf_course", "sports_centre", "nature_reserve")},
    **{("natural", v): "grass" for v in ("grassland", "heath", "scrub", "wetland")},
    **{("landuse", v): "farmland" for v in ("farmland", "farmyard", "orchard")},
    **{("natural", v): "rock" for v in ("bare_rock", "scree", "beach", "sand")},
}
#: Drawing order of land-use classes.
LANDUSE_ORDER: tuple[str, ...] = ("farmland", "forest", "grass", "rock", "residential",
                                  "commercial", "industrial")
#: ``place`` value → label rank (1 = biggest text, shown from the lowest zoom).
PLACE_RANK: dict[str, int] = {"city": 1, "town": 1, "village": 2, "suburb": 2,
                              "borough": 2, "island": 2, "quarter": 3, "hamlet": 3,
                              "neighbourhood": 4, "islet": 4, "locality": 4,
                              "isolated_dwelling": 5, "square": 5}
#: Rank of a named school (``amenity=school``): labelled like a neighbourhood.
SCHOOL_RANK = 4
#: Rank of a named water area (lake, bay): labelled like a hamlet.
WATER_RANK = 3

_WATER_AREA = {("natural", "water"), ("natural", "bay"), ("waterway", "riverbank"),
               ("landuse", "reservoir"), ("landuse", "basin"), ("natural", "strait")}
_WATER_LINES = frozenset({"river", "stream", "canal", "ditch", "drain"})
_KEYS = ("highway", "building", "landuse", "natural", "water", "waterway", "place",
         "leisure", "amenity")


@dataclass(frozen=True)
class Basemap:
    """Background-map features in the profile's metric CRS (metres).

    Attributes
    ----------
    roads : GeoDataFrame
        LineStrings; columns ``kind`` (:data:`ROAD_KINDS` value), ``name`` (str, "" when
        unnamed). Index ``w<osm id>``.
    buildings : GeoDataFrame
        Polygons / MultiPolygons of every ``building``; index ``w<id>`` / ``r<id>``.
    water : GeoDataFrame
        Water areas (Polygons) and waterways/coastline (LineStrings); columns ``kind``
        (``"area"`` or ``"line"``) and ``name`` (areas; "" when unnamed).
    landuse : GeoDataFrame
        Polygons; columns ``kind`` (:data:`LANDUSE_KINDS` value) and ``name``.
    places : GeoDataFrame
        Points; columns ``name`` and ``rank`` (:data:`PLACE_RANK`; named schools get
        :data:`SCHOOL_RANK`, named lakes and bays :data:`WATER_RANK`).
    source : str
        File name read.
    """

    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    source: str


def _landuse_kind(tags: osmium.osm.TagList) -> str | None:
    for key in ("landuse", "natural", "leisure"):
        value = tags.get(key)
        if value is not None:
            kind = LANDUSE_KINDS.get((key, value))
            if kind is not None:
                return kind
    return None


def _is_water(tags: osmium.osm.TagList) -> bool:
    return any((k, tags.get(k)) in _WATER_AREA for k in ("natural", "waterway", "landuse")) \
        or tags.get("water") is not None


def read_basemap(path: str | Path, crs: str, clip_to: shapely.Geometry | None = None,
                 ) -> Basemap:
    """Read the basemap features of an OSM file (``.osm``, ``.osm.pbf``, …), streaming.

    Parameters
    ----------
    path : str or Path
        The profile's OSM extract (``sources.osm``).
    crs : str
        The profile's projected CRS (metres), e.g. ``"EPSG:3007"``.
    clip_to : shapely geometry, optional
        An area in *crs* (for example the municipality boundary buffered by 1 km):
        features wholly outside it are dropped.

    Returns
    -------
    Basemap
        Every frame in *crs*.

    Raises
    ------
    ValidationError
        The file is missing or cannot be read, with the file name and the fix.
    """
    path = Path(path)
    src = source_label(path)
    if not path.exists():
        raise ValidationError([Problem(src, "", "", f"file not found: {path}",
                                       "check sources.osm in the profile")])
    factory = osmium.geom.WKBFactory()
    rows: dict[str, list[tuple[str, str, str, str]]] = {
        "roads": [], "buildings": [], "water": [], "landuse": [], "places": []}
    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_areas(osmium.filter.KeyFilter(
                     "building", "landuse", "natural", "water", "waterway", "leisure",
                     "amenity", "place"))
                 .with_filter(osmium.filter.KeyFilter(*_KEYS)))
    try:
        for obj in processor:
            tags = obj.tags
            if isinstance(obj, osmium.osm.Node):
                place = tags.get("place")
                name = tags.get("name")
                if place in PLACE_RANK and name and obj.location.valid():
                    loc = obj.location
                    rows["places"].append((f"n{obj.id}", name, str(PLACE_RANK[place]),
                                           shapely.Point(loc.lon, loc.lat).wkb_hex))
            elif isinstance(obj, osmium.osm.Way):
                highway = tags.get("highway")
                waterway = tags.get("waterway")
                kind = ROAD_KINDS.get(highway or "")
                line_water = waterway in _WATER_LINES or tags.get("natural") == "coastline"
                if kind is None and not line_water:
                    continue
                if kind is not None and tags.get("area") == "yes":
                    continue
                try:
                    wkb = factory.create_linestring(obj)
                except (osmium.InvalidLocationError, RuntimeError):
                    continue
                if kind is not None:
                    rows["roads"].append((f"w{obj.id}", kind, tags.get("name") or "", wkb))
                else:
                    rows["water"].append((f"w{obj.id}", "line", "", wkb))
            elif isinstance(obj, osmium.osm.Area):
                oid = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
                building = tags.get("building")
                landuse = _landuse_kind(tags)
                water = _is_water(tags)
                school = tags.get("amenity") == "school" and tags.get("name")
                place = tags.get("place")
                if not (building or landuse or water or school or place in PLACE_RANK):
                    continue
                try:
                    wkb = factory.create_multipolygon(obj)
                except (osmium.InvalidLocationError, RuntimeError):
                    continue
                if building and building != "no":
                    rows["buildings"].append((oid, "building", "", wkb))
                elif water:
                    rows["water"].append((oid, "area", str(tags.get("name") or ""), wkb))
                elif landuse:
                    rows["landuse"].append((oid, landuse, str(tags.get("name") or ""), wkb))
                if water and tags.get("name") and not building:  # lakes, bays: labelled
                    rows["places"].append((oid, str(tags.get("name")), str(WATER_RANK), wkb))
                elif school:
                    rows["places"].append((oid, str(tags.get("name")), str(SCHOOL_RANK),
                                           wkb))
                elif place in PLACE_RANK and tags.get("name"):
                    rows["places"].append((oid, str(tags.get("name")),
                                           str(PLACE_RANK[str(place)]), wkb))
    except Exception as exc:  # osmium raises RuntimeError/io errors of several kinds
        raise ValidationError([Problem(
            src, "", "", f"cannot be read as OpenStreetMap data ({type(exc).__name__})",
            "check that the file is complete (osmium fileinfo FILE)")]) from exc
    return _normalize_basemap(rows, crs, src, clip_to)


def _frame(rows: list[tuple[str, str, str, str]], crs: str,
           columns: tuple[str, str]) -> gpd.GeoDataFrame:
    """One basemap frame from (id, a, b, wkb) rows, in EPSG:4326 then *crs*."""
    ids = [r[0] for r in rows]
    geoms = shapely.from_wkb(np.asarray([r[3] for r in rows], dtype=object)) if rows \
        else np.array([], dtype=object)
    data = pd.DataFrame({columns[0]: [r[1] for r in rows], columns[1]: [r[2] for r in rows]},
                        index=pd.Index(ids, dtype=object, name="osm_id"))
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, index=data.index,
                                                        crs="EPSG:4326"), crs="EPSG:4326")
    return gdf.to_crs(crs)


def _normalize_basemap(rows: dict[str, list[tuple[str, str, str, str]]], crs: str, src: str,
                       clip_to: shapely.Geometry | None) -> Basemap:
    """The one funnel of the basemap: frames in *crs*, valid, non-empty, unique index.

    Points of areas (a school mapped as an outline) become the outline's representative
    point; features wholly outside *clip_to* are dropped.
    """
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name, cols in (("roads", ("kind", "name")), ("buildings", ("kind", "name")),
                       ("water", ("kind", "name")), ("landuse", ("kind", "name")),
                       ("places", ("name", "rank"))):
        gdf = _frame(rows[name], crs, cols)
        geom = gdf.geometry.values
        bad = ~shapely.is_valid(geom)
        if bad.any():
            geom = geom.copy()
            geom[bad] = shapely.make_valid(geom[bad])
        if name == "places":
            geom = shapely.point_on_surface(geom)
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
        keep = ~gdf.geometry.is_empty.to_numpy() & gdf.geometry.notna().to_numpy()
        if clip_to is not None and len(gdf):
            keep &= shapely.intersects(gdf.geometry.values, clip_to)
        gdf = gdf[keep]
        gdf = gdf[~gdf.index.duplicated()]
        frames[name] = gdf
    places = frames["places"]
    places = places.assign(rank=places["rank"].astype(int))
    logger.info("basemap from %s: %d roads, %d buildings, %d water, %d land use, %d places",
                src, len(frames["roads"]), len(frames["buildings"]), len(frames["water"]),
                len(frames["landuse"]), len(places))
    return Basemap(roads=frames["roads"], buildings=frames["buildings"][["geometry"]],
                   water=frames["water"][["kind", "name", "geometry"]],
                   landuse=frames["landuse"][["kind", "name", "geometry"]],
                   places=places[["name", "rank", "geometry"]], source=src)
