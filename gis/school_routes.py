"""School routes: how many shortest routes to school use each segment.

The path segments form an undirected network whose nodes are segment endpoints snapped to
a grid. For each school one Dijkstra search runs from the school's node(s) outwards (the
network is undirected, so the route school→origin equals origin→school); every origin then
contributes one route along the shortest-path tree. The number of routes using a tree edge
equals the number of origins in the subtree below it, so counts are accumulated in one pass
over the tree instead of walking every path.

Children walk on residential streets as well as on paths: with ``walkable`` (the roads a
pedestrian may use, :func:`layers.paths.walkable_from_osm`) the routes run over the whole
walkable network, and only the scored segments get counts. The segments and roads are then
cut where they share a vertex (:func:`gis.segments.split_at_junctions`), so a road that
meets a path in the middle of a segment is connected there; a segment cut into pieces gets
the largest count of its pieces. Segments tagged ``foot=no`` / ``use_sidepath`` are left
out of the walking network (count 0).

All inputs must share one projected (metric) CRS, e.g. EPSG:3007; lengths and distances
are in metres. Unlike :mod:`gis.context`, routing needs the whole network, so run it on the
complete set of segments (not a partition) and cache the result with :func:`network_key`.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis._crs import require_projected
from gis.context import _check_distance, _nearest_positions, geometry_array

if TYPE_CHECKING:  # networkx (0.1 s to import) only when a network is built
    import networkx as nx

    from layers.loader import Layers

logger = logging.getLogger(__name__)

#: Spacing (m) of the default grid of route origins, used when no homes are given.
ROUTE_GRID_SPACING_M = 250.0

#: Node id of the temporary super-source joined to a school's nodes during the search.
_SOURCE = -1


def _endpoint_nodes(segments: gpd.GeoDataFrame | gpd.GeoSeries, snap_m: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usable-segment mask, start node, end node and node coordinates (snapped, metres)."""
    geoms = geometry_array(segments)
    usable = (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
    lines = geoms[usable]
    start = shapely.get_coordinates(shapely.get_point(lines, 0))
    end = shapely.get_coordinates(shapely.get_point(lines, -1))
    keys = np.rint(np.vstack([start, end]) / snap_m).astype(np.int64)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    m = len(lines)
    return usable, inverse[:m], inverse[m:], uniq.astype(float) * snap_m


def build_network(segments: gpd.GeoDataFrame, snap_m: float = 0.1) -> nx.Graph:
    """Build an undirected routing network from path segments.

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments (LineStrings) with a unique index (``segment_id``), in a projected
        CRS (metres). ``length_m`` is used as the edge length when present, else the
        geometry length.
    snap_m : float, default 0.1
        Grid size in metres: endpoints that round to the same grid cell become one node.

    Returns
    -------
    networkx.Graph
        Nodes are ints ``0..n-1`` (ordered by snapped x, then y) with attributes ``x`` and
        ``y`` (metres); edges carry ``segment_id`` and ``length_m``. Where several
        segments join the same two nodes only the shortest becomes an edge; segments whose
        ends snap to one node (loops) and non-LineString or empty geometries are left out
        (the latter with a warning). The graph attributes (``G.graph``) hold ``crs`` and
        ``node_xy`` (an (n, 2) array of node coordinates, row = node id).

    Raises
    ------
    gis._crs.CRSError
        When ``segments`` is in degrees or has no CRS.
    ValueError
        When the segment index is not unique.
    """
    crs = require_projected(("segments", segments))
    _check_distance("snap_m", snap_m, allow_none=False)
    if not segments.index.is_unique:
        dup = segments.index[segments.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"segments index is not unique (e.g. {dup}). Fix: use the "
                         "segment_id index from gis.segments")
    usable, u, v, node_xy = _endpoint_nodes(segments, snap_m)
    if not usable.all():
        bad = segments.index[~usable]
        warnings.warn(f"{len(bad)} segment(s) left out of the network: not a LineString or "
                      f"empty ({', '.join(map(str, bad[:10].tolist()))})", UserWarning,
                      stacklevel=2)
    ids = segments.index[usable]
    if "length_m" in segments.columns:
        lengths = pd.to_numeric(segments["length_m"]).to_numpy(dtype=float)[usable]
        lengths = np.where(np.isfinite(lengths), lengths,
                           shapely.length(geometry_array(segments)[usable]))
    else:
        lengths = shapely.length(geometry_array(segments)[usable])
    keep = u != v
    # Longest first: for parallel segments between the same nodes the shortest is added
    # last and its attributes win.
    order = np.argsort(-lengths[keep], kind="stable")
    u_k, v_k = u[keep][order].tolist(), v[keep][order].tolist()
    ids_k, len_k = ids[keep][order].tolist(), lengths[keep][order].tolist()

    import networkx as nx

    graph = nx.Graph(crs=crs, node_xy=node_xy)
    graph.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(node_xy.tolist()))
    graph.add_edges_from((a, b, {"segment_id": s, "length_m": w})
                     for a, b, s, w in zip(u_k, v_k, ids_k, len_k, strict=True))
    logger.debug("network: %d nodes, %d edges from %d segments",
                 graph.number_of_nodes(), graph.number_of_edges(), len(segments))
    return graph


def network_key(segments: gpd.GeoDataFrame, snap_m: float = 0.1) -> str:
    """A cache key for a segment network: hash of segment ids, coordinates and CRS.

    Coordinates are rounded to ``snap_m`` metres, so the key changes exactly when the
    routing network could change. Parameters of :func:`school_route_counts` (schools,
    origins, distances) are not part of the key: add them to the cache key yourself.

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments in a projected CRS (metres).
    snap_m : float, default 0.1
        Rounding grid in metres, as in :func:`build_network`.

    Returns
    -------
    str
        A 32-character hex digest.
    """
    crs = require_projected(("segments", segments))
    geoms = geometry_array(segments)
    h = hashlib.blake2b(digest_size=16)
    h.update(crs.to_wkt().encode())
    h.update(f"{snap_m!r}|{len(segments)}".encode())
    h.update("\x1f".join(map(str, segments.index.tolist())).encode())
    h.update(shapely.get_num_coordinates(geoms).astype(np.int64).tobytes())
    h.update(np.rint(shapely.get_coordinates(geoms) / snap_m).astype(np.int64).tobytes())
    if "length_m" in segments.columns:
        lengths = pd.to_numeric(segments["length_m"]).to_numpy(dtype=float)
        h.update(np.nan_to_num(np.round(lengths, 2), nan=-1.0).tobytes())
    return h.hexdigest()


def _grid_origins(node_xy: np.ndarray, spacing_m: float) -> np.ndarray:
    """Regular grid points (shapely Points) over the bounds of the network nodes."""
    (minx, miny), (maxx, maxy) = node_xy.min(axis=0), node_xy.max(axis=0)
    xs = np.arange(minx, maxx + spacing_m * 1e-9, spacing_m)
    ys = np.arange(miny, maxy + spacing_m * 1e-9, spacing_m)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.asarray(shapely.points(gx.ravel(), gy.ravel()), dtype=object)


def _routing_lines(segments: gpd.GeoDataFrame, walkable: gpd.GeoDataFrame | None,
                   ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The walking network as lines with a unique integer index, and per line the position
    in *segments* it counts for (-1 for roads).

    Without roads: the segments themselves (positions 0..n-1), so the network is exactly
    the one of :func:`build_network`. With roads: segments (without ``foot=no``) and roads
    cut at their shared vertices.
    """
    from gis.segments import split_at_junctions

    geoms = geometry_array(segments)
    n = len(geoms)
    walk = np.ones(n, dtype=bool)
    if "foot" in segments.columns:
        walk = ~segments["foot"].astype("string").str.strip().str.lower().isin(
            ["no", "use_sidepath"]).fillna(False).to_numpy(dtype=bool)
    if walkable is None or len(walkable) == 0:
        if walk.all():
            lines = gpd.GeoDataFrame({"length_m": segments["length_m"].to_numpy()}
                                     if "length_m" in segments.columns else {},
                                     geometry=geoms, crs=segments.crs)
            return lines, np.arange(n)
        pos = np.flatnonzero(walk)
        lines = gpd.GeoDataFrame(geometry=geoms[pos], crs=segments.crs)
        return lines, pos
    road = np.asarray(walkable.explode(index_parts=False).geometry.values, dtype=object)
    road = road[(shapely.get_type_id(road) == 1) & ~shapely.is_empty(road)]
    usable = walk & (shapely.get_type_id(geoms) == 1) & ~shapely.is_empty(geoms)
    seg_pos = np.flatnonzero(usable)
    all_lines = np.concatenate([geoms[seg_pos], road])
    parts, part_line, _ = split_at_junctions(all_lines)
    owner = np.where(part_line < len(seg_pos), seg_pos[np.minimum(part_line,
                                                                 max(len(seg_pos) - 1, 0))],
                     -1)
    return gpd.GeoDataFrame(geometry=np.asarray(parts, dtype=object), crs=segments.crs), owner


def _tree_counts(pred: dict[int, list[int]], dist: dict[int, float], weight: np.ndarray,
                 graph: nx.Graph, counts: dict[Any, int]) -> None:
    """Add the routes of one shortest-path tree to ``counts`` (segment_id -> routes).

    ``dist`` is in Dijkstra settle order, so every node comes after its predecessors;
    walking it backwards pushes each subtree's origin count to its parent once. Among
    equally short predecessors the lowest node id wins (nodes are ordered by x then y).
    """
    below = weight.copy()
    adj = graph.adj
    for node in reversed(list(dist)):
        if node == _SOURCE:
            continue
        n_routes = below[node]
        if n_routes == 0:
            continue
        parent = min(pred[node])
        if parent == _SOURCE:
            continue
        below[parent] += n_routes
        sid = adj[node][parent]["segment_id"]
        counts[sid] = counts.get(sid, 0) + int(n_routes)


def school_route_counts(segments: gpd.GeoDataFrame, schools: gpd.GeoDataFrame,
                        origins: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                        grid_spacing_m: float = ROUTE_GRID_SPACING_M,
                        max_distance_m: float = 2000.0, *,
                        origin_snap_m: float = 100.0, school_snap_m: float = 30.0,
                        snap_m: float = 0.1,
                        walkable: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Count, per segment, the shortest routes to school that use it.

    For each school, the origins within ``max_distance_m`` straight-line distance of the
    school grounds are routed along the network to the school's nodes (all nodes within
    ``school_snap_m`` of the grounds, else the nearest node) by shortest network length.
    Routes longer than 1.5 × ``max_distance_m`` are cut. Each origin adds one route per
    school it is near; among equally short routes a fixed rule picks one (the
    predecessor node with the lowest id, i.e. the westernmost, then southernmost).

    Parameters
    ----------
    segments : GeoDataFrame
        Path segments (LineStrings), unique index, projected CRS (metres).
    schools : GeoDataFrame
        School grounds (polygons or points), same CRS.
    origins : GeoDataFrame or GeoSeries, optional
        Where routes start, e.g. residential buildings (any geometry), same CRS. Default: a
        regular grid of points ``grid_spacing_m`` apart over the network bounds.
    grid_spacing_m : float, default 250
        Spacing in metres of the default origin grid.
    max_distance_m : float, default 2000
        Straight-line distance in metres from an origin to the school grounds for the
        origin to route to that school.
    origin_snap_m : float, default 100
        Origins farther than this (metres) from every network node are dropped.
    school_snap_m : float, default 30
        Nodes within this distance (metres) of the school grounds are school nodes.
    snap_m : float, default 0.1
        Node snapping grid in metres (see :func:`build_network`).
    walkable : GeoDataFrame, optional
        Roads a pedestrian may use (lines, same CRS), routed over but not counted (module
        docstring). None: the segments alone are the network.

    Returns
    -------
    Series
        Integer route counts named ``'school_routes'``, aligned to ``segments.index``
        (0 for segments no route uses). ``attrs["homes_reached"]`` holds, per school (its
        ``name``, else its id), ``{"near": origins within max_distance_m, "reached":
        those with a route to it within 1.5 × max_distance_m}``.

    Raises
    ------
    gis._crs.CRSError
        When an input is in degrees, has no CRS, or the CRSs differ.
    ValueError
        When a distance is not positive or the segment index is not unique.

    Examples
    --------
    >>> counts = school_route_counts(segments, schools)  # doctest: +SKIP
    >>> counts.sort_values(ascending=False).head()  # doctest: +SKIP
    """
    frames: list[tuple[str, gpd.GeoDataFrame | gpd.GeoSeries]] = [
        ("segments", segments), ("schools", schools)]
    if origins is not None:
        frames.append(("origins", origins))
    if walkable is not None:
        frames.append(("walkable", walkable))
    require_projected(*frames)
    for label, value in (("grid_spacing_m", grid_spacing_m), ("max_distance_m", max_distance_m),
                         ("origin_snap_m", origin_snap_m), ("school_snap_m", school_snap_m)):
        _check_distance(label, value, allow_none=False)

    result = pd.Series(np.zeros(len(segments), dtype=np.int64), index=segments.index,
                       name="school_routes")
    lines, owner = _routing_lines(segments, walkable)
    graph = build_network(lines, snap_m=snap_m)
    node_xy: np.ndarray = graph.graph["node_xy"]
    school_geoms = geometry_array(schools)
    names = (schools["name"].astype(str).tolist() if "name" in schools.columns
             else [str(i) for i in schools.index])
    result.attrs["homes_reached"] = {}
    if graph.number_of_nodes() == 0 or len(school_geoms) == 0:
        return result
    node_points = np.asarray(shapely.points(node_xy), dtype=object)

    # Origins, snapped once to their nearest node.
    origin_geoms = (_grid_origins(node_xy, grid_spacing_m) if origins is None
                    else geometry_array(origins))
    origin_node, _ = _nearest_positions(origin_geoms, node_points, origin_snap_m)
    ok = origin_node >= 0
    origin_geoms, origin_node = origin_geoms[ok], origin_node[ok]
    logger.debug("%d of %d origins within %.0f m of the network", ok.sum(), len(ok),
                 origin_snap_m)

    # Origins near each school (straight line), and school nodes.
    if len(origin_geoms):
        o_school, o_pos = shapely.STRtree(origin_geoms).query(
            school_geoms, predicate="dwithin", distance=max_distance_m)
    else:
        o_school = o_pos = np.empty(0, dtype=np.intp)
    node_tree = shapely.STRtree(node_points)
    s_school, s_node = node_tree.query(school_geoms, predicate="dwithin", distance=school_snap_m)
    fallback, _ = _nearest_positions(school_geoms, node_points, max_distance_m)

    import networkx as nx

    counts: dict[Any, int] = {}
    reached: dict[str, dict[str, int]] = {}
    unreached: list[str] = []
    cutoff = 1.5 * max_distance_m
    n_nodes = len(node_xy)
    for k in range(len(school_geoms)):
        sources = s_node[s_school == k]
        if len(sources) == 0:
            sources = fallback[k:k + 1][fallback[k:k + 1] >= 0]
        if len(sources) == 0:
            unreached.append(str(schools.index[k]))
            continue
        weight = np.bincount(origin_node[o_pos[o_school == k]], minlength=n_nodes)
        entry = reached.setdefault(names[k], {"near": 0, "reached": 0})
        entry["near"] += int(weight.sum())
        if not weight.any():
            continue
        graph.add_edges_from((_SOURCE, int(s), {"length_m": 0.0, "segment_id": None})
                         for s in np.unique(sources))
        try:
            pred, dist = nx.dijkstra_predecessor_and_distance(graph, _SOURCE, cutoff=cutoff,
                                                              weight="length_m")
        finally:
            graph.remove_node(_SOURCE)  # graph is local to this call
        entry["reached"] += int(weight[[n for n in dist if n != _SOURCE]].sum())
        _tree_counts(pred, dist, weight, graph, counts)
    if unreached:
        warnings.warn(f"{len(unreached)} school(s) have no network node within "
                      f"{max_distance_m:g} m and get no routes: {', '.join(unreached[:10])}",
                      UserWarning, stacklevel=2)
    if counts:
        found = pd.Series(counts, dtype=np.int64)
        seg = owner[found.index.to_numpy(dtype=np.int64)]
        on_segment = seg >= 0
        per_segment = (pd.Series(found.to_numpy()[on_segment], index=seg[on_segment])
                       .groupby(level=0).max())
        values = result.to_numpy().copy()
        values[per_segment.index.to_numpy(dtype=np.int64)] = per_segment.to_numpy()
        result = pd.Series(values, index=segments.index, name="school_routes")
    result.attrs["homes_reached"] = reached
    return result


def layer_route_counts(layers: Layers, segments: gpd.GeoDataFrame) -> pd.Series:
    """:func:`school_route_counts` of loaded layers: the schools, the homes (else a grid,
    :meth:`layers.loader.Layers.route_origins`) and the walkable roads. Every caller (the
    ranking, the app, the walk planner, the yearly follow-up) uses this, so they all count
    the same routes.

    Parameters
    ----------
    layers : Layers
        From :func:`layers.loader.load_layers`, in the profile's metric CRS.
    segments : GeoDataFrame
        :func:`gis.segments.segment_paths` of ``layers.paths``.
    """
    return school_route_counts(segments, layers.schools, origins=layers.route_origins(),
                               walkable=layers.walkable)
