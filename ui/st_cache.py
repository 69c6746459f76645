"""Cached wrappers around the domain packages for the Streamlit pages.

Frames are cached with ``st.cache_data`` keyed on the profile path and the modification
times of its files, so editing an input file invalidates the cache (STYLE rule 11). The
layers, the school routes and the default ranking are also persisted to disk
(``persist="disk"``, in Streamlit's cache folder), so a restarted server renders its first
page without recomputing them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from gis.darkness import commute_darkness_by_month, commute_darkness_by_school, school_day_table
from gis.ranking import RankingResult, rank
from gis.school_routes import layer_route_counts
from gis.segments import segment_paths
from layers import LayerWarning, Profile, load_profile
from layers.basemap import Basemap, read_basemap
from layers.loader import Layers, load_layers

DEFAULT_PROFILE = Path(__file__).resolve().parents[1] / "data" / "stromstad" / "profile.toml"


def profile_path() -> Path:
    """Profile file: ``TRYGGA_PROFILE`` or Strömstad's demo profile."""
    return Path(os.environ.get("TRYGGA_PROFILE", DEFAULT_PROFILE))


#: Cache key of the inputs: file modification times, then the code fingerprint.
InputsKey = tuple[float | str, ...]


@functools.cache
def code_fingerprint() -> str:
    """Hash of the source of the analysis packages (``layers``, ``gis``).

    Part of every cache key, so that results persisted to disk by an older version of the
    code (a changed funnel or score) are never served after an upgrade.
    """
    import gis
    import layers
    from layers.io import source_fingerprint

    return source_fingerprint(layers, gis)


def inputs_key(path: Path) -> InputsKey:
    """Modification times of the profile and every file it names, and the code fingerprint
    (cache key)."""
    prof = load_profile(path)
    files = [path, *([prof.boundary] if prof.boundary else []),
             *[v for v in dataclasses.asdict(prof.sources).values() if isinstance(v, Path)]]
    times: list[float | str] = [f.stat().st_mtime if f.exists() else 0.0 for f in files]
    return (*times, code_fingerprint())


@st.cache_data(show_spinner=False)
def st_profile(path: str, _key: InputsKey = ()) -> Profile:
    """The municipality profile (cached per path and file times)."""
    return load_profile(path)


@st.cache_resource(show_spinner=False, max_entries=4)
def st_layers(path: str, key: InputsKey) -> Layers:
    """All layers of the profile, cached on the profile path and its files' mtimes.

    One shared object per key (``st.cache_resource``): a hit costs nothing, where
    ``st.cache_data`` unpickles a copy (≈ 30 ms of WKB parsing for the demo) on every
    rerun. Callers must not modify it. Misses come from the disk-persisted cache below.
    """
    return _layers_persisted(path, key)


@st.cache_data(show_spinner=False, max_entries=4, persist="disk")
def _layers_persisted(path: str, key: InputsKey) -> Layers:
    """:func:`st_layers`, persisted to Streamlit's disk cache across restarts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return load_layers(load_profile(path))


@st.cache_data(show_spinner=False, max_entries=4, persist="disk")
def st_route_counts(path: str, key: InputsKey) -> pd.Series:
    """School-route counts, once per input network."""
    layers = st_layers(path, key)
    segs = segment_paths(layers.paths, layers.profile.lighting.segment_length_m)
    return layer_route_counts(layers, segs)


@st.cache_data(show_spinner=False, max_entries=4)
def st_darkness(lat: float, lon: float, tz: str) -> pd.DataFrame:
    """Commute darkness by month for the profile's reference point."""
    return commute_darkness_by_month(lat, lon, tz)


@st.cache_data(show_spinner=False, max_entries=4)
def st_school_darkness(path: str, key: InputsKey, year: int) -> pd.DataFrame:
    """Dark commute hours per school day: one row per school (with its school day), one
    column per month (:func:`gis.darkness.commute_darkness_by_school`)."""
    layers = st_layers(path, key)
    prof = layers.profile
    table = school_day_table(layers.schools, prof.school_day)
    if table.empty:
        return pd.DataFrame()
    dark = commute_darkness_by_school(table, prof.timezone, year)["dark_h"].unstack("month")
    dark = dark.reindex(table.index)
    day = [f"{r.start}–{r.end}" for r in table.itertuples()]
    return dark.round(2).assign(school_day=day)


@st.cache_data(show_spinner=False, max_entries=2)
def st_roads(path: str, key: InputsKey) -> gpd.GeoDataFrame:
    """Road owners of the profile (:func:`layers.roads.load_roads`), once per input set."""
    from layers.roads import load_roads

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerWarning)
        return load_roads(st_layers(path, key).profile)


@st.cache_data(show_spinner=False, max_entries=8)
def st_lamp_fault_ids(path: str, store_key: tuple[Any, ...]) -> tuple[str, ...]:
    """Luminaire ids with an open lamp-fault finding (cached per store change): they are
    dark in the app's lighting model until the finding is fixed, as in ``trygga rank``."""
    from walks.service import lamp_faults
    from walks.service import open_store as open_profile_store

    with open_profile_store(load_profile(path)) as store:
        return tuple(sorted(set(lamp_faults(store)["luminaire_id"].astype(str))))


#: One open finding as the ranking sees it: category, severity, E and N (m, profile CRS).
OpenFinding = tuple[str, str, float, float]


@st.cache_data(show_spinner=False, max_entries=8)
def st_open_findings(path: str, store_key: tuple[Any, ...]) -> tuple[OpenFinding, ...]:
    """Open findings of the profile's store as hashable rows (cached per store change).

    The same findings :func:`walks.service.open_findings` gives ``trygga rank``, so the
    map page scores nearby open findings exactly as the command line does.
    """
    from walks.service import open_findings
    from walks.service import open_store as open_profile_store

    with open_profile_store(load_profile(path)) as store:
        f = open_findings(store)
    if f.empty:
        return ()
    xy = shapely.get_coordinates(f.geometry.to_numpy())
    return tuple(zip(f["category"].astype(str), f["severity"].astype(str),
                     xy[:, 0].tolist(), xy[:, 1].tolist(), strict=True))


def findings_frame(rows: tuple[OpenFinding, ...], crs: Any) -> gpd.GeoDataFrame | None:
    """:func:`st_open_findings` rows back as the frame :func:`gis.ranking.rank` takes
    (``None`` when there are none, as ``trygga rank`` passes an empty store)."""
    if not rows:
        return None
    cat, sev, x, y = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"category": list(cat), "severity": list(sev)},
                            geometry=gpd.points_from_xy(x, y), crs=crs)


@st.cache_resource(show_spinner=False, max_entries=16)
def st_ranking(path: str, key: InputsKey, weights: tuple[tuple[str, float], ...],
               school_class: str, faults: tuple[str, ...] = (),
               findings: tuple[OpenFinding, ...] = ()) -> RankingResult:
    """The ranking for a set of weights and a school target class (cached per combination).

    *faults*: luminaire ids with an open lamp fault (:func:`st_lamp_fault_ids`), dark in
    the lighting model. *findings*: the store's open findings (:func:`st_open_findings`),
    scored as in ``trygga rank``. Shared and read-only, like :func:`st_layers`; misses come
    from the disk cache.
    """
    return _ranking_persisted(path, key, weights, school_class, faults, findings)


@st.cache_data(show_spinner=False, max_entries=16, persist="disk")
def _ranking_persisted(path: str, key: InputsKey,
                       weights: tuple[tuple[str, float], ...],
                       school_class: str, faults: tuple[str, ...] = (),
                       findings: tuple[OpenFinding, ...] = ()) -> RankingResult:
    """:func:`st_ranking`, persisted to Streamlit's disk cache across restarts."""
    from layers.lighting import mark_out_of_service

    layers = st_layers(path, key)
    luminaires, _unknown = mark_out_of_service(layers.luminaires, faults)
    prof = layers.profile
    prof = dataclasses.replace(
        prof, weights=dataclasses.replace(prof.weights, **dict(weights)),
        lighting=dataclasses.replace(prof.lighting, school_class=school_class))
    routes = st_route_counts(path, key)
    dark = st_darkness(prof.latitude, prof.longitude, prof.timezone)
    return rank(layers.paths, luminaires, layers.schools, layers.crossings,
                layers.priority_areas, prof, findings=findings_frame(findings, prof.crs),
                route_counts=routes, darkness=dark, origins=layers.route_origins(),
                walkable=layers.walkable)


#: Cell size (m) of the lux overlay on the map; the GeoTIFF download keeps 2 m.
OVERLAY_CELL_M = 4.0


@st.cache_data(show_spinner=False, max_entries=4, persist="disk")
def st_lux_overlay(path: str, key: InputsKey) -> tuple[bytes, tuple[float, ...]]:
    """The modelled illuminance as a map overlay: PNG bytes and lon/lat bounds."""
    from gis.raster_out import illuminance_grid
    from ui.maps import lux_overlay_png

    layers = st_layers(path, key)
    grid = illuminance_grid(layers.paths, layers.luminaires, cell_m=OVERLAY_CELL_M,
                            default_height_m=layers.profile.lighting.default_mounting_height_m)
    return lux_overlay_png(grid.lux, grid.transform, grid.crs)


@functools.cache
def basemap_code() -> str:
    """Hash of the basemap code (:mod:`ui.basemap`, :mod:`layers.basemap`): part of the
    disk cache key of the basemap payload."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for name in ("ui/basemap.py", "layers/basemap.py"):
        h.update((Path(__file__).resolve().parents[1] / name).read_bytes())
    return h.hexdigest()


@st.cache_resource(show_spinner=False, max_entries=4)
def st_basemap(path: str, key: InputsKey) -> Basemap | None:
    """The basemap features of the profile's OSM file (shared, read-only); None without
    an OSM file. Features more than 1 km outside the municipality boundary are left out."""
    return _basemap_persisted(path, key, basemap_code())


@st.cache_data(show_spinner=False, max_entries=4, persist="disk")
def _basemap_persisted(path: str, key: InputsKey, code: str) -> Basemap | None:
    """:func:`st_basemap`, persisted to Streamlit's disk cache."""
    layers = st_layers(path, key)
    osm = layers.profile.sources.osm
    if osm is None:
        return None
    clip = shapely.buffer(layers.boundary, 1000.0)
    return read_basemap(osm, layers.profile.crs, clip_to=clip)


@st.cache_resource(show_spinner=False, max_entries=4)
def st_basemap_js(path: str, key: InputsKey) -> str | None:
    """The offline basemap payload (:func:`ui.basemap.payload_js`), once per inputs."""
    from ui.basemap import basemap_payload, payload_js

    bm = st_basemap(path, key)
    return None if bm is None else payload_js(basemap_payload(bm))


def _named_streets(path: str, key: InputsKey) -> gpd.GeoDataFrame | None:
    bm = st_basemap(path, key)
    if bm is None:
        return None
    return bm.roads[bm.roads["name"].astype(str).ne("")]


@st.cache_data(show_spinner=False, max_entries=8)
def st_places(path: str, key: InputsKey, what: str, _features: gpd.GeoDataFrame,
              max_distance_m: float = 60.0) -> pd.DataFrame:
    """Street or place name of each feature (:func:`gis.context.nearest_name`).

    *what* names the feature set (``"segments"``, ``"luminaires"``), which with the
    inputs key is the cache key: the segments of every ranking share one geometry.
    Segments keep their path's own name (``name``) when it has one.
    """
    from gis.context import nearest_name

    named = _named_streets(path, key)
    if named is None or named.empty:
        return pd.DataFrame({"name": "", "distance_m": np.nan}, index=_features.index)
    own = None
    if what == "segments":
        paths = st_layers(path, key).paths
        own = paths["name"].reindex(_features["path_id"]).set_axis(_features.index)
    return nearest_name(_features, named, own=own, max_distance_m=max_distance_m)


#: Basemap choices of the app's maps (the first is the default).
BASEMAP_CHOICES = ("offline", "osm", "lantmateriet", "none")


def add_app_basemap(m: folium.Map, chosen: str = "offline") -> None:
    """Put the chosen basemap (:data:`BASEMAP_CHOICES`) on an app map made with
    ``ui.maps.base_map(..., "none")``: the offline one from the profile's OSM file,
    optionally under online tiles."""
    from ui.basemap import add_basemaps
    from ui.state import t

    path = profile_path()
    add_basemaps(m, chosen, st_basemap_js(str(path), inputs_key(path)),
                 {k: t(f"basemap_{k}") for k in BASEMAP_CHOICES},
                 t("basemap_failed"))
