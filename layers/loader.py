"""Load every layer a profile names, in the profile's metric CRS, with warnings per layer."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import shapely

from layers.boundary import boundary_from_paths, load_boundary, read_priority_areas
from layers.profile import Profile

logger = logging.getLogger(__name__)

#: Layer names in the order they are loaded and reported.
LAYER_NAMES = ("boundary", "paths", "luminaires", "schools", "crossings", "priority_areas",
               "residences", "walkable")


@dataclass
class LayerReport:
    """What happened while loading one layer: source, warnings and load time in seconds."""

    name: str
    source: str
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Layers:
    """All input layers of one municipality, each in ``profile.crs`` (metres).

    Attributes
    ----------
    profile : Profile
        The profile the layers were loaded for.
    boundary : shapely geometry
        Municipality (Multi)Polygon.
    paths, luminaires, schools, crossings, priority_areas : GeoDataFrame
        See :mod:`layers.schemas` for each layer's columns and index. A layer with no source
        is an empty frame with the right columns.
    reports : dict
        :class:`LayerReport` per layer name.
    residences : GeoDataFrame or None
        Homes where school routes start (:mod:`layers.residences`); empty when the sources
        have none (routes then start from a grid). None only for frames built by hand.
    walkable : GeoDataFrame or None
        Roads a pedestrian may use (:func:`layers.paths.walkable_from_osm`, schema of the
        paths): school routes run over them and the paths, only the paths are scored.
        None when there is no OSM source (routes then use the paths only).
    """

    profile: Profile
    boundary: shapely.Geometry
    paths: gpd.GeoDataFrame
    luminaires: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    priority_areas: gpd.GeoDataFrame
    reports: dict[str, LayerReport] = field(default_factory=dict)
    residences: gpd.GeoDataFrame | None = None
    walkable: gpd.GeoDataFrame | None = None

    def route_origins(self) -> gpd.GeoDataFrame | None:
        """Where school routes start: the homes, or None (a grid) when there are none."""
        if self.residences is None or len(self.residences) == 0:
            return None
        return self.residences

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers as GeoDataFrames by name (the boundary as a one-row frame)."""
        boundary = gpd.GeoDataFrame({"name": [self.profile.name]}, geometry=[self.boundary],
                                    crs=self.profile.crs, index=["boundary"])
        out = {"boundary": boundary, "paths": self.paths, "luminaires": self.luminaires,
               "schools": self.schools, "crossings": self.crossings,
               "priority_areas": self.priority_areas}
        if self.residences is not None:
            out["residences"] = self.residences
        if self.walkable is not None:
            out["walkable"] = self.walkable
        return out


def empty_layer(columns: dict[str, str], index_name: str, crs: str) -> gpd.GeoDataFrame:
    """An empty layer with the schema's columns, index name and CRS."""
    gdf = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=crs)
    gdf.index.name = index_name
    return gdf


def _run(name: str, source: str, fn: Callable[[], Any],
         reports: dict[str, LayerReport]) -> Any:
    report = LayerReport(name, source)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    report.seconds = time.perf_counter() - t0
    for w in caught:
        report.warnings.append(str(w.message))
        # Re-emit so callers that watch warnings still see them.
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    reports[name] = report
    logger.info("loaded %s from %s in %.2f s", name, source, report.seconds)
    return result


def load_layers(profile: Profile) -> Layers:
    """Load all layers named by *profile* through their funnels.

    Paths, schools and crossings come from the OSM source (``sources.osm`` file, else
    ``sources.osm_place`` online via osmnx) unless a file for that layer is given.
    Luminaires come from ``sources.lighting_inventory``, else from OSM street lamps.

    Parameters
    ----------
    profile : Profile
        Loaded municipality profile.

    Returns
    -------
    Layers
        Every layer in ``profile.crs`` (metres), with a :class:`LayerReport` each.
    """
    from layers import schemas
    from layers.crossings import crossings_from_osm, read_crossings_file
    from layers.lighting import luminaires_from_osm, read_inventory
    from layers.osm import OsmExtract, download_osm, read_osm_file
    from layers.paths import paths_from_osm, walkable_from_osm
    from layers.residences import read_residences_file, residences_from_osm
    from layers.schools import read_schools_file, schools_from_osm

    s = profile.sources
    crs = profile.crs
    reports: dict[str, LayerReport] = {}
    boundary: shapely.Geometry | None = None
    if profile.boundary is not None:
        boundary_label = profile.boundary.name
        boundary = _run("boundary", boundary_label, lambda: load_boundary(profile), reports)
    else:
        boundary_label = "convex hull of the paths"

    extract: OsmExtract | None = None
    osm_label = "-"
    osm_file, osm_place = s.osm, s.osm_place
    if osm_file is not None:
        osm_label = osm_file.name
        extract = _run("osm", osm_label, lambda: read_osm_file(osm_file), reports)
    elif osm_place:
        osm_label = f"OSM online: {osm_place}"
        extract = _run("osm", osm_label, lambda: download_osm(osm_place), reports)

    def from_osm_or_empty(fn: Callable[[OsmExtract], gpd.GeoDataFrame],
                          columns: dict[str, str], index: str) -> gpd.GeoDataFrame:
        return fn(extract) if extract is not None else empty_layer(columns, index, crs)

    paths = _run("paths", osm_label, lambda: from_osm_or_empty(
        lambda x: paths_from_osm(x, crs, boundary=boundary,
                                 boundary_label=boundary_label),
        schemas.PATHS, schemas.PATHS_INDEX), reports)
    if boundary is None:
        boundary = _run("boundary", boundary_label, lambda: boundary_from_paths(paths),
                        reports)

    if s.lighting_inventory is not None:
        inv = s.lighting_inventory
        luminaires = _run("luminaires", inv.name, lambda: read_inventory(
            inv, crs, boundary=boundary, column_map=s.lighting_columns or None,
            source_crs=s.lighting_crs, aliases=profile.inventory.columns or None,
            codes=profile.inventory.codes or None, strict=profile.inventory.strict), reports)
    else:
        luminaires = _run("luminaires", osm_label + " (street_lamp)", lambda: from_osm_or_empty(
            lambda x: luminaires_from_osm(x.nodes, crs),
            schemas.LUMINAIRES, schemas.LUMINAIRES_INDEX), reports)

    designated = profile.designated_schools
    if s.schools is not None:
        sch = s.schools
        schools = _run("schools", sch.name, lambda: read_schools_file(
            sch, crs, designated=designated), reports)
    else:
        schools = _run("schools", osm_label, lambda: from_osm_or_empty(
            lambda x: schools_from_osm(x, crs, designated=designated),
            schemas.SCHOOLS, schemas.SCHOOLS_INDEX), reports)

    if s.crossings is not None:
        cr = s.crossings
        crossings = _run("crossings", cr.name, lambda: read_crossings_file(cr, crs), reports)
    else:
        crossings = _run("crossings", osm_label, lambda: from_osm_or_empty(
            lambda x: crossings_from_osm(x, crs), schemas.CROSSINGS,
            schemas.CROSSINGS_INDEX), reports)

    if s.priority_areas is not None:
        pa = s.priority_areas
        areas = _run("priority_areas", pa.name, lambda: read_priority_areas(pa, crs), reports)
    else:
        areas = empty_layer(schemas.AREAS, schemas.AREAS_INDEX, crs)
        reports["priority_areas"] = LayerReport("priority_areas", "-")

    if s.residences is not None:
        res = s.residences
        residences = _run("residences", res.name, lambda: read_residences_file(
            res, crs, boundary=boundary), reports)
    else:
        residences = _run("residences", osm_label + " (building)", lambda: from_osm_or_empty(
            lambda x: residences_from_osm(x, crs, boundary=boundary),
            schemas.RESIDENCES, schemas.RESIDENCES_INDEX), reports)
    walkable = None
    if extract is not None:
        walkable = _run("walkable", osm_label + " (roads)", lambda: walkable_from_osm(
            extract, crs, boundary=boundary), reports)
    return Layers(profile, boundary, paths, luminaires, schools, crossings, areas, reports,
                  residences=residences, walkable=walkable)
