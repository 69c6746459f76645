"""The whole ranking on spatial tiles (issue 15): the per-segment steps run tile by tile
(on dask workers), the global steps in the driver; the result equals :func:`gis.ranking.rank`.

Which steps are local and which are global
    Local (per segment, exact on a tile with a halo): :func:`gis.context.segment_context`
    (nearest school and marked crossing, crossings within 50 m, priority area by midpoint,
    findings within 30 m) and :func:`gis.lighting_model.segment_illuminance` (lux at the
    samples, luminaires within 30 m, nearest luminaire, light shares, faults within 30 m).
    Each value of a segment depends only on the segment and the layer features within the
    search distance of that step, and every sum adds its terms in the layers' order, which
    a tile keeps (its subsets are taken in the layers' order). These two steps are most of
    the ranking core's time and all of its peak memory.

    Global, in the driver on the tiles' columns: the school routes (tiled on their own by
    :func:`gis.school_routes.school_route_counts_tiled`, with their 5 km halo), the target
    class and status (cheap, but ``has_inventory`` is a property of the whole luminaire
    layer), the score (``c_route`` is normalised by the largest route count of **all**
    segments), the rank (order and ties over all segments), the work packages (runs of
    segments along a path cross tile borders), the LED plan (each luminaire serves the
    best-ranked segment near it: needs the global ranks), the commute darkness, the
    photometric model when the profile asks for it (rare; kept whole), and the summary.

Tiles and halo
    A segment is **owned** by the tile its midpoint falls in (squares of ``tile_m``
    metres from ``origin``; a square with more than ``max_tile_segments`` owned segments is
    split into quarters, again and again), so the tiles partition the segments whatever the
    grid. A tile gets its owned segments and, per layer, every feature within that layer's
    search distance (:func:`ranking_halo_m`, read from the step functions' defaults and
    constants, plus 1 m) of the owned segments' bounding box, which holds everything any
    owned segment's search can reach. The segments' vertex arrays
    (:class:`gis.fastquery.SegmentArrays`) are made once for all segments in the driver
    and cut per tile, so a tile computes with the same padded arrays as the single run.

All coordinates are metres in the profile's projected CRS.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.context import CROSSING_COUNT_RADIUS_M, geometry_array, segment_context
from gis.fastquery import SegmentArrays, line_vertices, midpoints_and_extent
from gis.lighting_model import (
    COUNT_RADIUS_M,
    NEAREST_MAX_M,
    segment_illuminance,
)
from gis.ranking import RankingResult, finish_ranking
from gis.school_routes import school_route_counts
from gis.segments import segment_paths
from layers.profile import Profile

logger = logging.getLogger(__name__)

#: Side (m) of the square tiles of :func:`rank_tiled`. At the demo's density (≈ 320
#: segments per km²) a full 10 km tile holds ≈ 32 000 segments.
RANK_TILE_M = 10_000.0
#: A tile with more owned segments than this is split into quarters (a city centre).
MAX_TILE_SEGMENTS = 60_000
#: Margin (m) added to every search distance of the halo.
HALO_MARGIN_M = 1.0

#: Luminaire columns :func:`gis.lighting_model.segment_illuminance` reads.
_LUMINAIRE_COLUMNS = ("operating", "light_source", "lumen_lm", "wattage_w",
                      "mounting_height_m", "source")


def _default(fn: Callable[..., Any], name: str) -> float:
    return float(inspect.signature(fn).parameters[name].default)


def ranking_halo_m() -> dict[str, float]:
    """Per layer, the width (m) around a tile's owned segments that holds every feature the
    per-segment steps of :func:`gis.ranking.rank` can use for them.

    Read from the code, not restated: :func:`gis.context.segment_context` as ``rank`` calls
    it (its defaults ``school_cap_m``, ``crossing_cap_m``, ``findings_radius_m`` and
    :data:`gis.context.CROSSING_COUNT_RADIUS_M`), and
    :func:`gis.lighting_model.segment_illuminance` (``cutoff_m``, the reach of a
    luminaire; :data:`~gis.lighting_model.COUNT_RADIUS_M` for counts and faults;
    :data:`~gis.lighting_model.NEAREST_MAX_M` for the nearest luminaire). Priority areas
    are tested on the midpoint (0 m). Each gets :data:`HALO_MARGIN_M`. The largest is the
    school distance cap (2 000 m + 1 m with today's defaults); the route cutoff has its own
    halo in :func:`gis.school_routes.route_halo_m`.

    Returns
    -------
    dict
        ``schools``, ``crossings``, ``findings``, ``priority_areas``, ``luminaires`` (m).
    """
    crossing = max(_default(segment_context, "crossing_cap_m"), CROSSING_COUNT_RADIUS_M)
    luminaire = max(_default(segment_illuminance, "cutoff_m"), COUNT_RADIUS_M, NEAREST_MAX_M)
    return {"schools": _default(segment_context, "school_cap_m") + HALO_MARGIN_M,
            "crossings": crossing + HALO_MARGIN_M,
            "findings": _default(segment_context, "findings_radius_m") + HALO_MARGIN_M,
            "priority_areas": HALO_MARGIN_M,
            "luminaires": luminaire + HALO_MARGIN_M}


def tile_owners(mid_xy: np.ndarray, tile_m: float = RANK_TILE_M,
                origin: tuple[float, float] = (0.0, 0.0),
                max_tile_segments: int = MAX_TILE_SEGMENTS) -> list[np.ndarray]:
    """The tiles as arrays of owned segment positions (ascending), by midpoint.

    Squares of ``tile_m`` metres from ``origin``; a square owning more than
    ``max_tile_segments`` midpoints is split into its four quarters (recursively, down to
    1 m). Every position is in exactly one tile: the keys are ``floor((xy − origin) /
    side)``, one per midpoint.

    Parameters
    ----------
    mid_xy : ndarray, shape (n, 2)
        Segment midpoints, metres.
    """
    if not np.isfinite(tile_m) or tile_m <= 0:
        raise ValueError(f"tile_m must be a positive number of metres, got {tile_m!r}")
    if max_tile_segments < 1:
        raise ValueError(f"max_tile_segments must be ≥ 1, got {max_tile_segments!r}")
    shifted = np.asarray(mid_xy, dtype="float64") - np.asarray(origin, dtype="float64")
    out: list[np.ndarray] = []
    todo: list[tuple[np.ndarray, float]] = [(np.arange(len(shifted)), float(tile_m))]
    while todo:
        pos, side = todo.pop(0)
        if len(pos) == 0:
            continue
        key = np.floor(shifted[pos] / side).astype(np.int64)
        _, cell = np.unique(key, axis=0, return_inverse=True)
        cell = cell.reshape(-1)
        order = np.argsort(cell, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0])
        for members in np.split(pos[order], starts[1:]):
            if len(members) > max_tile_segments and side > 1.0:
                todo.append((members, side / 2.0))  # quarters of this square
            else:
                out.append(np.sort(members))
    out.sort(key=lambda p: int(p[0]))
    return out


@dataclass(frozen=True)
class TileInput:
    """What one tile's worker gets: its owned segments (and sentinels) and the layers'
    features within the halo, each in the layer's order. Metres, one projected CRS."""

    positions: np.ndarray  #: global positions of the owned segments
    segments: gpd.GeoSeries  #: owned segments, then sentinel segments (not owned)
    arrays: SegmentArrays | None  #: their vertex arrays, cut from the global ones
    schools: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    priority_areas: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame | None
    luminaires: gpd.GeoDataFrame
    default_height_m: float


def tile_steps(tile: TileInput) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """The per-segment steps of one tile (runs on a worker): the global positions of its
    owned segments, their :func:`gis.context.segment_context` and their
    :func:`gis.lighting_model.segment_illuminance`, as :func:`gis.ranking.rank` calls
    them."""
    segs = gpd.GeoDataFrame(geometry=tile.segments)
    ctx = segment_context(segs, tile.schools, tile.crossings, tile.priority_areas,
                          tile.findings, arrays=tile.arrays)
    illum = segment_illuminance(segs, tile.luminaires,
                                default_height_m=tile.default_height_m, arrays=tile.arrays)
    n = len(tile.positions)
    return tile.positions, ctx.iloc[:n], illum.iloc[:n]


def _columns(frame: gpd.GeoDataFrame, wanted: Iterable[str]) -> gpd.GeoDataFrame:
    """The *wanted* columns the frame has, and its geometry (a missing one is reported by
    the step on the worker, with the step's own message)."""
    return frame[[*[c for c in wanted if c in frame.columns], frame.geometry.name]]


def _not_plain_points(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    """Positions of rows that are not plain, non-empty Points: every tile gets them, so
    the steps take the same (GEOS) path on a tile as on the whole layer."""
    if frame is None or len(frame) == 0:
        return np.empty(0, dtype=np.intp)
    g = geometry_array(frame)
    return np.flatnonzero((shapely.get_type_id(g) != shapely.GeometryType.POINT)
                          | shapely.is_empty(g))


class _Layer:
    """A layer, an STRtree of it and the rows every tile gets."""

    def __init__(self, frame: gpd.GeoDataFrame, radius_m: float, always: np.ndarray) -> None:
        self.frame = frame
        self.radius = radius_m
        self.always = always
        self.tree = shapely.STRtree(geometry_array(frame))

    def near(self, box: shapely.Geometry) -> gpd.GeoDataFrame:
        pos = self.tree.query(box, predicate="dwithin", distance=self.radius)
        return self.frame.iloc[np.union1d(pos, self.always)]


def tile_inputs(segments: gpd.GeoDataFrame, arrays: SegmentArrays | None,
                luminaires: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                crossings: gpd.GeoDataFrame, priority_areas: gpd.GeoDataFrame,
                findings: gpd.GeoDataFrame | None, profile: Profile, *,
                tile_m: float = RANK_TILE_M, origin: tuple[float, float] = (0.0, 0.0),
                max_tile_segments: int = MAX_TILE_SEGMENTS) -> Iterable[TileInput]:
    """One :class:`TileInput` per tile of :func:`tile_owners`, made one at a time (a
    generator: the driver never holds every tile's copy of the layers).

    Without global vertex ``arrays`` (some segment is not a short plain LineString) every
    tile also gets one such segment as a sentinel, so the steps use GEOS there as in the
    single run; its values are dropped.
    """
    geoms = geometry_array(segments)
    if arrays is not None:
        mid = arrays.mid
    else:
        mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5,
                                                                     normalized=True))
    sentinel = np.empty(0, dtype=np.intp) if arrays is not None else _one_not_plain(geoms)
    halo = ranking_halo_m()
    none = np.empty(0, dtype=np.intp)
    layers = {
        "luminaires": _Layer(_columns(luminaires, _LUMINAIRE_COLUMNS), halo["luminaires"],
                             none),
        "schools": _Layer(_columns(schools, ["name"]), halo["schools"], none),
        "crossings": _Layer(_columns(crossings, ["marked"]), halo["crossings"],
                            _not_plain_points(crossings)),
        "priority_areas": _Layer(_columns(priority_areas, ["name"]),
                                 halo["priority_areas"], none),
    }
    if findings is not None:
        layers["findings"] = _Layer(_columns(findings, ["severity", "category"]),
                                    halo["findings"], _not_plain_points(findings))
    seg_series = gpd.GeoSeries(geoms, crs=segments.crs)
    for owned in tile_owners(mid, tile_m, origin, max_tile_segments):
        with_sentinel = np.concatenate([owned, sentinel[~np.isin(sentinel, owned)]])
        box = shapely.box(*shapely.total_bounds(geoms[owned]))
        near = {name: layer.near(box) for name, layer in layers.items()}
        yield TileInput(
            positions=owned,
            segments=seg_series.iloc[with_sentinel].reset_index(drop=True),
            arrays=arrays.take(with_sentinel) if arrays is not None else None,
            schools=near["schools"], crossings=near["crossings"],
            priority_areas=near["priority_areas"], findings=near.get("findings"),
            luminaires=near["luminaires"],
            default_height_m=profile.lighting.default_mounting_height_m)


def _one_not_plain(geoms: np.ndarray) -> np.ndarray:
    """Position (as a 1-array) of one segment :meth:`SegmentArrays.of` refuses on its own
    (the first not a LineString or with fewer than 2 or more than ``MAX_VERTICES``
    vertices, else the first with a half extent over ``MAX_EXTENT_M``); empty when there
    is none. Vectorised."""
    if len(geoms) == 0:
        return np.empty(0, dtype=np.intp)
    n_coords = shapely.get_num_coordinates(geoms)
    bad = ((shapely.get_type_id(geoms) != shapely.GeometryType.LINESTRING) | (n_coords < 2)
           | (n_coords > SegmentArrays.MAX_VERTICES))
    if not bad.any():
        _, ext = midpoints_and_extent(line_vertices(geoms))
        bad = ext > SegmentArrays.MAX_EXTENT_M
    return np.flatnonzero(bad)[:1].astype(np.intp)


def _assemble(index: pd.Index, parts: list[tuple[np.ndarray, pd.DataFrame, pd.DataFrame]]
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tiles' columns in the segments' order, indexed like the segments."""
    pos = np.concatenate([p[0] for p in parts])
    order = np.argsort(pos, kind="stable")
    if not np.array_equal(pos[order], np.arange(len(index))):
        raise RuntimeError("the tiles do not partition the segments (a bug)")
    def column(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True).take(order)
        frame.index = index
        return frame

    return column([p[1] for p in parts]), column([p[2] for p in parts])


def rank_tiled(paths: gpd.GeoDataFrame, luminaires: gpd.GeoDataFrame,
               schools: gpd.GeoDataFrame, crossings: gpd.GeoDataFrame,
               priority_areas: gpd.GeoDataFrame, profile: Profile,
               findings: gpd.GeoDataFrame | None = None,
               route_counts: pd.Series | None = None, darkness: pd.DataFrame | None = None,
               progress: Callable[[str], None] | None = None,
               origins: gpd.GeoDataFrame | None = None,
               walkable: gpd.GeoDataFrame | None = None, *,
               map_tiles: Callable[..., list[Any]] | None = None,
               tile_m: float = RANK_TILE_M, origin: tuple[float, float] = (0.0, 0.0),
               max_tile_segments: int = MAX_TILE_SEGMENTS) -> RankingResult:
    """:func:`gis.ranking.rank` with its per-segment steps run per spatial tile.

    Same parameters and the same :class:`~gis.ranking.RankingResult` (columns, values,
    order, packages, LED plan, summary) as :func:`gis.ranking.rank`; see the module
    docstring for the tiles, the halo and what stays global.

    Parameters
    ----------
    map_tiles : callable, optional
        ``map_tiles(function, list_of_argument_tuples)`` returning the results in order,
        e.g. :func:`trygga_cli.rank.dask_map` on a ``distributed`` cluster; default: in
        this process, one tile after the other.
    tile_m : float, default :data:`RANK_TILE_M`
        Tile side in metres.
    origin : (float, float)
        Corner of the tile grid, metres.
    max_tile_segments : int, default :data:`MAX_TILE_SEGMENTS`
        Tiles owning more segments are split into quarters.

    Examples
    --------
    >>> result = rank_tiled(*layers, profile, map_tiles=map_tiles)  # doctest: +SKIP
    """
    frames = [("paths", paths), ("luminaires", luminaires), ("schools", schools),
              ("crossings", crossings), ("priority_areas", priority_areas)]
    if findings is not None:
        frames.append(("findings", findings))
    if origins is not None and len(origins) == 0:
        origins = None
    if origins is not None:
        frames.append(("origins", origins))
    require_projected(*frames)
    if len(paths) == 0:
        raise ValueError("paths is empty: nothing to rank. Fix: load an OSM extract (or a "
                         "paths file) that overlaps the municipality's boundary")
    step = _Steps(progress)
    with step("segments"):
        segs = segment_paths(paths, profile.lighting.segment_length_m)
    arrays = SegmentArrays.of(segs.geometry.values)
    with step("tiles"):
        tiles = tile_inputs(segs, arrays, luminaires, schools, crossings, priority_areas,
                            findings, profile, tile_m=tile_m, origin=origin,
                            max_tile_segments=max_tile_segments)
        if map_tiles is None:
            parts = [tile_steps(tile) for tile in tiles]
        else:
            parts = list(map_tiles(tile_steps, ((tile,) for tile in tiles)))
        ctx, illum = _assemble(segs.index, parts)
        del parts
    if route_counts is None:
        with step("school_routes"):
            route_counts = school_route_counts(segs, schools, origins=origins,
                                               walkable=walkable)
    columns = [arrays, ctx, illum]  # handed over: _finish frees them when done
    del arrays, ctx, illum
    return _finish(segs, columns, luminaires, profile, route_counts, darkness,
                   origins, walkable, step)


class _Steps:
    """``with steps("name"):`` times a step into ``steps.timings`` (s) and reports its
    start to *progress*, as :func:`gis.ranking.rank` does."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - t0
        logger.info("%s: %.3f s", name, self.timings[name])


def _finish(segs: gpd.GeoDataFrame, columns: list[Any], luminaires: gpd.GeoDataFrame,
            profile: Profile, route_counts: pd.Series, darkness: pd.DataFrame | None,
            origins: gpd.GeoDataFrame | None, walkable: gpd.GeoDataFrame | None,
            step: _Steps) -> RankingResult:
    """The global steps of :func:`gis.ranking.rank` on the assembled per-segment columns:
    the very same code (:func:`gis.ranking.finish_ranking`), timed by *step*.
    ``columns`` is ``[arrays, context, illuminance]``; emptied there, so these are freed
    once the ranked table exists."""

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        with step(name):
            return fn()

    return finish_ranking(segs, columns, luminaires, profile, route_counts, darkness,
                          origins, walkable, timed, step.timings)
